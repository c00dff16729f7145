# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure logic of the registry_auth role's steps: input checks, the check fingerprint, module arguments, results.

The role's variables reach these functions as one mapping (``ROLE_VARIABLES``, templated for one host); the token is
passed separately and only ever leaves as a SHA-256 inside the fingerprint or as a module
argument Ansible masks.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

# What the steps read, and the role variable each comes from. The action templates each variable's own value rather than
# one mapping of "{{ variable }}" expressions: most are plain values, and every expression costs a Jinja compile in
# every worker process, that is on every host.
ROLE_VARIABLES = {
    "state": "registry_auth_state",
    "registry": "registry_auth_registry",
    "username": "registry_auth_username",
    "users": "registry_auth_users",
    "engines": "registry_auth_engines",
    "verify": "registry_auth_verify",
    "images": "registry_auth_verify_images",
    "validate_certs": "registry_auth_validate_certs",
    "ca_path": "registry_auth_ca_path",
    "inspect_token": "registry_auth_inspect_token",
    "github_api_url": "registry_auth_github_api_url",
    "require_read_packages": "registry_auth_require_read_packages",
    "missing_user": "registry_auth_missing_user",
    "backup": "registry_auth_backup",
    "node_consumers": "registry_auth_node_consumers",
    "node_paths": "registry_auth_node_paths",
}
TOKEN_VARIABLE = "registry_auth__pat"  # roles/registry_auth/vars: the token; templated only when a host logs in

USER_KEYS = ("name", "engines", "docker_config_path", "podman_auth_path")
NODE_PATH_KEYS = ("kubelet_config_path", "crio_auth_path", "crio_dropin_path", "k3s_registries_path", "rke2_registries_path")
ENGINES = ("docker", "podman")
VERIFY_MODES = ("once", "each_host", "never")
_REGISTRY_FORM = re.compile(r"^[a-z0-9][a-z0-9.:\[\]-]*(/[a-z0-9._-]+)*$")


# The types the steps need. Role variables that mirror a module option take that option's type and choices from the
# modules' argument specs; Ansible's argument check of the role validates the variables but does not convert them
# ("false" from -e or an INI inventory stays a string), so the steps convert them with the same rules.
def _step_spec() -> dict[str, dict[str, Any]]:
    from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import login_module_kwargs, node_module_kwargs, registry_module_kwargs

    options = {**registry_module_kwargs()["argument_spec"], **login_module_kwargs()["argument_spec"]}
    node_consumers = node_module_kwargs()["argument_spec"]["consumers"]
    mirrored = (
        "state", "username", "engines", "images", "validate_certs", "inspect_token", "github_api_url", "require_read_packages", "missing_user", "backup"
    )
    spec = {key: {name: value for name, value in options[key].items() if name in ("type", "elements", "choices")} for key in mirrored}
    spec.update(
        registry={"type": "raw"},  # its form is checked below, with a message about the form
        users={"type": "list", "elements": "raw"},
        verify={"type": "str", "choices": list(VERIFY_MODES)},
        ca_path={"type": "str"},  # a path on the controller (once) or on each host (each_host): expanded where it is used
        node_consumers={name: node_consumers[name] for name in ("type", "elements", "choices")},
        node_paths={"type": "dict"},
    )
    return spec


_STEP_SPEC = _step_spec()


def converted(args: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The role input with Ansible's type conversions applied, and what could not be converted (naming the variable)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    given = {key: value for key, value in args.items() if value is not None}
    outcome = ArgumentSpecValidator(_STEP_SPEC).validate(given)
    values: dict[str, Any] = {key: None for key in _STEP_SPEC}
    values.update(outcome.validated_parameters)
    for key in ("users", "engines", "images", "node_consumers"):
        values[key] = values[key] or []
    values["node_paths"] = values["node_paths"] or {}
    values["ca_path"] = values["ca_path"] or ""
    messages = [_name_variables(message) for message in outcome.error_messages]
    return values, messages


def _name_variables(message: str) -> str:
    for key in sorted(_STEP_SPEC, key=len, reverse=True):
        message = re.sub(rf"(?<![\w.]){key}(?![\w])", ROLE_VARIABLES[key], message)
    return message


def role_input(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """One host's role variables, converted, and everything wrong with them; the steps act only when nothing is."""
    args, problems = converted(raw)
    return args, problems + input_problems(args)


def input_problems(args: Mapping[str, Any]) -> list[str]:
    """What is wrong with one host's role input, in words that name the variable to fix; empty when nothing is."""
    problems = []
    registry = args.get("registry")
    if not isinstance(registry, str) or not _REGISTRY_FORM.match(registry):
        problems.append(
            "Give registry_auth_registry as host[:port][/namespace], lower-case, without a scheme or a trailing slash"
            " (for example ghcr.io): the playbooks compare it with what the files hold."
        )
    if args.get("state") == "present" and not args.get("username"):
        problems.append(
            "Set ghcr_username in inventory (or registry_auth_username): the registry user name,"
            " for GHCR the GitHub login that owns the token in ghcr_pat."
        )
    unknown = sorted(str(key) for key in args.get("node_paths") or {} if key not in NODE_PATH_KEYS)
    if unknown:
        problems.append(f"registry_auth_node_paths has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(NODE_PATH_KEYS)}.")
    users = args.get("users")
    if not isinstance(users, list):
        problems.append("registry_auth_users must be a list of user names or dicts.")
        return problems
    for index, entry in enumerate(users, start=1):
        problems.extend(_user_problems(index, entry))
    return problems


def _user_problems(index: int, entry: Any) -> list[str]:
    if isinstance(entry, str) and entry:
        return []
    if not isinstance(entry, Mapping):
        return [f"registry_auth_users entry {index} must be a user name or a dict with name (and engines, docker_config_path, podman_auth_path)."]
    problems = []
    label = entry.get("name") or index
    unknown = sorted(str(key) for key in entry if key not in USER_KEYS)
    if unknown:
        problems.append(f"registry_auth_users entry {label} has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(USER_KEYS)}.")
    if not isinstance(entry.get("name"), str) or not entry.get("name"):
        problems.append(f"registry_auth_users entry {index} needs a name (the Unix user).")
    engines = entry.get("engines", ["docker"])
    if not isinstance(engines, list) or not engines or any(engine not in ENGINES for engine in engines):
        problems.append(f"registry_auth_users entry {label}: engines must be a non-empty list of docker and podman.")
    return problems


def check_fingerprint(args: Mapping[str, Any], token: str) -> str:
    """A hash of what a check proves: hosts with equal fingerprints share one check; the token enters only as its SHA-256."""
    proven = {
        "registry": args["registry"],
        "username": args["username"],
        "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
        "images": sorted(set(args["images"])),
        "validate_certs": args["validate_certs"],
        "ca_path": args["ca_path"],
        "inspect_token": args["inspect_token"],
        "github_api_url": args["github_api_url"],
        "require_read_packages": args["require_read_packages"],
    }
    return hashlib.sha256(json.dumps(proven, sort_keys=True).encode()).hexdigest()


def check_args(args: Mapping[str, Any], token: str, on_controller: bool) -> dict[str, Any]:
    """ghcr_registry's arguments for the check of one host; from a host, the GitHub API is not asked."""
    module_args: dict[str, Any] = {
        "registry": args["registry"],
        "username": args["username"],
        "password": token,
        "images": list(args["images"]),
        "validate_certs": args["validate_certs"],
        "inspect_token": args["inspect_token"] if on_controller else "never",
    }
    if args["ca_path"]:
        module_args["ca_path"] = args["ca_path"]
    if on_controller:
        module_args.update(github_api_url=args["github_api_url"], require_read_packages=args["require_read_packages"])
    return module_args


def login_args(args: Mapping[str, Any], token: str | None, user: Any) -> dict[str, Any]:
    """ghcr_login's arguments for one entry of registry_auth_users (or ``None``: the user the module runs as)."""
    entry = user if isinstance(user, Mapping) else {"name": user}
    module_args: dict[str, Any] = {
        "registry": args["registry"],
        "state": args["state"],
        "engines": list(entry.get("engines", args["engines"])),
    }
    if entry["name"]:
        module_args["user"] = entry["name"]
    for option in ("docker_config_path", "podman_auth_path"):
        if entry.get(option):
            module_args[option] = entry[option]
    if args["state"] == "present":
        module_args.update(username=args["username"], password=token, missing_user=args["missing_user"], backup=args["backup"])
    return module_args


def node_args(args: Mapping[str, Any], token: str | None) -> dict[str, Any]:
    """ghcr_node_auth's arguments for the host's registry_auth_node_consumers."""
    module_args: dict[str, Any] = {
        "registry": args["registry"],
        "state": args["state"],
        "consumers": list(args["node_consumers"]),
        **{key: value for key, value in args["node_paths"].items() if value},
    }
    if args["state"] == "present":
        module_args.update(username=args["username"], password=token, backup=args["backup"])
    return module_args


def unproven_message(host: str) -> str:
    return (
        f"The credential for {host} was not proven in this run, so it is not written. With registry_auth_verify=once the"
        " role's prove step (tag registry_auth_check) must run before the write: do not run --tags registry_auth_write"
        " alone or skip registry_auth_check, and do not put a condition on the role's tasks that the prove step fails"
        " (use registry_auth_verify=never to write without a check)."
    )


__all__ = (
    "ROLE_VARIABLES",
    "TOKEN_VARIABLE",
    "check_args",
    "check_fingerprint",
    "converted",
    "input_problems",
    "login_args",
    "node_args",
    "role_input",
    "unproven_message",
)
