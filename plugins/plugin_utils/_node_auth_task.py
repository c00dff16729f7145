# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""One ghcr_node_auth task as an action runs it: k3s's and RKE2's registries.yaml are parsed and rendered here.

Targets often lack PyYAML; the controller always has it (ansible-core needs it). For the consumers k3s and rke2 the
module runs twice: once to read the files (their bytes, under the module's path and size rules), then, with the new
content decided here, to write everything of the task in one run: the other consumers' files as usual, and each
registries.yaml only if its bytes are still those read (else the module refuses: "run again"). Without k3s or rke2
the module runs once, as any module does.

Used by the ghcr_node_auth action and by the registry_auth role's write step; ``execute`` runs the module with the
given arguments on the task's host and returns its result.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Callable

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import node_module_kwargs
from ansible_collections.fleet.ghcr.plugins.module_utils._authwrite import PRESENT, credentials_from
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.module_utils._node_auth import REGISTRIES_YAML_CONSUMERS, registries_paths
from ansible_collections.fleet.ghcr.plugins.plugin_utils._registries_yaml import RegistriesYaml, host_key

NODE_MODULE = "fleet.ghcr.ghcr_node_auth"
PAYLOAD = "registries_yaml"

Execute = Callable[[dict[str, Any]], dict[str, Any]]


def consumers_of(value: Any) -> list[str]:
    """The consumers as AnsibleModule would read a list option (a list, or text separated by commas)."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return [str(item) for item in value] if isinstance(value, list) else []


def needs_controller(args: dict[str, Any]) -> bool:
    return any(consumer in REGISTRIES_YAML_CONSUMERS for consumer in consumers_of(args.get("consumers")))


def run_node_auth_task(execute: Execute, args: dict[str, Any], *, diff: bool) -> dict[str, Any]:
    """The task's result: the module's, with the registries.yaml diffs and warnings decided here."""
    if PAYLOAD in args:
        return {"failed": True, "changed": False, "msg": f"{PAYLOAD} is set by the action on the controller; do not set it."}
    if not needs_controller(args):
        return execute(args)
    try:
        planned = _plan(execute, args)
    except GhcrError as exc:
        return {"failed": True, "changed": False, "msg": str(exc)}
    if isinstance(planned, dict):
        return planned  # the read failed
    outcome = execute({**args, PAYLOAD: json.dumps({"write": [item["write"] for item in planned]})})
    if diff and not outcome.get("failed"):
        outcome["diff"] = [*outcome.get("diff", []), *(item["diff"] for item in planned)]
    warnings = [item["warning"] for item in planned if item["warning"]]
    if warnings:
        outcome["warnings"] = [*outcome.get("warnings", []), *warnings]
    return outcome


def describe_registries(execute: Execute, args: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
    """ghcr_auth_info's reports of the k3s/RKE2 files in ``node_consumers``: read by ghcr_node_auth, parsed here.

    A failed read is returned as is (a dict); a file that cannot be parsed is reported with its problem.
    """
    params = _params({**args, "consumers": args.get("node_consumers")})
    paths = registries_paths(params, params["consumers"])
    if not paths:
        return []
    read = _read(execute, paths)
    if "failed" in read:
        return read
    return [_describe(found) for found in read["registries_files"]]


def _read(execute: Execute, paths: dict[str, str]) -> dict[str, Any]:
    """ghcr_node_auth's read of these registries.yaml files (path -> consumer); a failure as a failed result."""
    read = execute(
        {
            "consumers": sorted(set(paths.values())),
            **{f"{consumer}_registries_path": path for path, consumer in paths.items()},
            "state": "absent",
            "registry": "ghcr.io",  # the module's argument check needs one; a read does not use it
            PAYLOAD: json.dumps({"read": True}),
        }
    )
    if read.get("failed"):
        return {"failed": True, "changed": False, "msg": read.get("msg", "Reading registries.yaml failed.")}
    return {"registries_files": read["registries_files"]}


def _describe(found: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = {
        "path": found["path"], "engine": found["consumer"], "consumer": found["consumer"], "kind": "node", "exists": found["data"] is not None,
        "mode": found["mode"], "owner": found["owner"], "registries": [], "problems": [],
    }
    if found["data"] is None:
        return report
    if int(found["mode"], 8) & 0o077:
        report["problems"].append(f"readable or writable by group or others (mode {found['mode']}); it should be 0600")
    if found["owner"] != "root":
        report["problems"].append(f"owned by {found['owner']}, not root")
    try:
        report["registries"] = RegistriesYaml.parse(base64.b64decode(found["data"]), found["path"]).entries()
    except GhcrError as exc:
        report["problems"].append(str(exc).replace("; it was left unchanged", ""))
    return report


def _params(args: dict[str, Any]) -> dict[str, Any]:
    """The module's parameters with their defaults, as far as the controller needs them."""
    spec = node_module_kwargs()["argument_spec"]
    params = {name: option.get("default") for name, option in spec.items()}
    params.update(args)
    params["consumers"] = consumers_of(args.get("consumers"))
    return params


def _plan(execute: Execute, args: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
    """Read each registries.yaml through the module and decide its new content; a failed read is returned as is."""
    params = _params(args)
    paths = registries_paths(params, params["consumers"])
    credentials = credentials_from(params, lambda _message: None)  # the module warns in the write run
    read = _read(execute, paths)
    if "failed" in read:
        return read
    planned = []
    for found in read["registries_files"]:
        consumer = found["consumer"]
        data = base64.b64decode(found["data"]) if found["data"] is not None else None
        keys = [host_key(credential.registry, consumer) for credential in credentials]
        planned.append(_decide(found["path"], consumer, data, list(zip(keys, credentials)), params["state"] == PRESENT))
    return planned


def _decide(path: str, consumer: str, data: bytes | None, entries: list[tuple[str, Any]], present: bool) -> dict[str, Any]:
    before = RegistriesYaml.parse(data, path)
    after = before
    for key, credential in entries:
        after = after.with_auth(key, *credential.pair()) if present else after.without_auth(key)
    content = after.serialize() if after is not before or (data is None and present) else None
    warning = None
    if content is not None and before.had_comments:
        warning = f"{path} had comments; they are gone, since the file had to be rewritten (its content is kept; comments cannot be)."
    return {
        "write": {
            "path": path,
            "consumer": consumer,
            "sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
            "content": content.decode("utf-8") if content is not None else None,
        },
        "diff": {"before_header": path, "after_header": path, "before": before.redacted() if data is not None else "", "after": after.redacted()},
        "warning": warning,
    }


__all__ = ("NODE_MODULE", "consumers_of", "describe_registries", "needs_controller", "run_node_auth_task")
