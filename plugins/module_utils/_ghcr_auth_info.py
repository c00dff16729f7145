# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What a user's auth files hold, and what is wrong with them, without ever returning a secret.

From the ModuleLike object called ``module``, only ``params`` is used.
"""

from __future__ import annotations

import stat
from typing import Any

from ansible_collections.fleet.ghcr.plugins.module_utils._atomic import read_file
from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import AuthFile, fingerprint
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._module import ModuleLike
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import Account, FileSpec, file_specs, lookup_account, user_name
from ansible_collections.fleet.ghcr.plugins.module_utils._redaction import hide_userinfo
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import KUBELET, PODMAN, Registry


def describe_entries(document: AuthFile) -> tuple[list[dict[str, Any]], list[str]]:
    """The registries a document holds (user names only) and the problems its client would have with them.

    Each key is judged by the rules of the file's client: whether a credential helper answers for its registry,
    whether its own entry decodes, and whether it is the entry the client uses (another spelling may win).
    """
    entries, problems = [], []
    load_problem = document.load_problem()
    if load_problem:
        problems.append(f"Docker cannot load the file: {load_problem}")
    for key in document.auths:
        try:
            registry: Registry | None = Registry.parse(key, "key")
        except InputError:
            registry = None
        shown = hide_userinfo(key)
        found: dict[str, Any] = {
            "key": shown, "registry": registry.name if registry else shown, "username": None, "fingerprint": None, "via": "none", "helper": None,
        }
        resolution = document.resolve(registry) if registry else None
        helper = document.helper_for(registry) if registry else None
        own = document.entry(key)
        if helper:
            found.update(via="helper", helper=helper[0])
        elif own.source == "entry":
            found.update(via="file", username=own.username, fingerprint=fingerprint(own.secret) if own.secret else None)
        elif own.source == "token":
            found["via"] = "token"
        elif own.source == "broken":
            found["via"] = "broken"
            if not load_problem:
                problems.append((own.problem or "").split(": ", 1)[-1])
        found["used"] = resolution is not None and resolution.key == key
        if resolution is not None and resolution.source == "broken" and resolution.key is None and not load_problem:
            problems.append(resolution.problem or "")
        entries.append(found)
    return entries, list(dict.fromkeys(problems))


def permission_problems(info, account: Account) -> list[str]:
    problems = []
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        problems.append(f"readable or writable by group or others (mode {mode:04o}); it should be 0600")
    if info.st_uid != account.uid:
        problems.append(f"owned by {user_name(info.st_uid)}, not {account.name}, so {account.name}'s clients may not read it")
    return problems


def describe_file(spec: FileSpec, account: Account) -> dict[str, Any]:
    report: dict[str, Any] = {
        "path": spec.path,
        "engine": spec.engine,
        "kind": "persistent" if spec.primary else "runtime",
        "exists": False,
        "mode": None,
        "owner": None,
        "registries": [],
        "problems": [],
    }
    try:
        data, info = read_file(spec.path, account, with_status=True)
        if data is None:
            return report
        report.update(exists=True, mode=f"{stat.S_IMODE(info.st_mode):04o}", owner=user_name(info.st_uid))
        report["problems"] += permission_problems(info, account)
        report["registries"], problems = describe_entries(AuthFile.parse(data, spec.path, spec.engine))
        report["problems"] += problems
    except (AuthFileError, OSError) as exc:
        report["problems"].append(str(exc))
    return report


def shadowing(files: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Registries that a Podman runtime file holds as well as the persistent file: Podman reads the runtime one first."""
    persistent = {
        entry["registry"]: file["path"]
        for file in files
        if file["engine"] == PODMAN and file["kind"] == "persistent"
        for entry in file["registries"]
    }
    found = []
    for file in files:
        if file["engine"] == PODMAN and file["kind"] == "runtime":
            for entry in file["registries"]:
                if entry["registry"] in persistent:
                    found.append({"registry": entry["registry"], "runtime_path": file["path"], "persistent_path": persistent[entry["registry"]]})
    return found


def node_files(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The kubelet's and CRI-O's files of ``node_consumers``, as root's; k3s's and RKE2's YAML is the action's to read."""
    root = lookup_account("root")
    found = []
    for consumer, engine, option in (("kubelet", KUBELET, "kubelet_config_path"), ("crio", PODMAN, "crio_auth_path")):
        if consumer in params["node_consumers"]:
            report = describe_file(FileSpec(engine, params[option], True), root)
            report.update(consumer=consumer, kind="node")
            found.append(report)
    return found


def run_info(module: ModuleLike) -> dict[str, Any]:
    params = module.params
    account = lookup_account(params["user"])
    node_only = params["node_consumers"] and not params["engines"]  # engines=[]: the node's files alone
    specs = [] if node_only else file_specs(params, account, runtime=True)
    files = [describe_file(spec, account) for spec in specs]
    files = [file for file in files if file["exists"] or file["kind"] == "persistent"]
    return {"changed": False, "user": account.name, "files": files, "shadowed": shadowing(files), "node_files": node_files(params)}


__all__ = ("describe_entries", "describe_file", "node_files", "permission_problems", "run_info", "shadowing")
