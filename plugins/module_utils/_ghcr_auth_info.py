# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What a user's auth files hold, and what is wrong with them, without ever returning a secret.

From the object called ``module``, only ``module.params[]`` is used.
"""

from __future__ import annotations

import pwd
import stat
from typing import Any

from ansible_collections.fleet.ghcr.plugins.module_utils import _authfile as af
from ansible_collections.fleet.ghcr.plugins.module_utils._atomic import open_target
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._login import FileSpec, file_specs
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import Account, lookup_account


def describe_entries(doc: dict, engine: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The registries a document holds (user names only) and the problems a client would have with them."""
    entries, problems = [], []
    for key, entry in (doc.get("auths") or {}).items():
        try:
            registry = af.normalize_registry(key)
        except InputError:
            registry = key
        found = {"key": key, "registry": registry, "username": None, "via": "file", "helper": None}
        helper = af.helper_for(doc, af.registry_host(registry), engine) if not af.is_namespaced(registry) or engine == af.PODMAN else None
        if helper:
            found.update(via="helper", helper=helper[0])
        elif entry.get("auth"):
            try:
                found["username"] = af.decode_auth(entry["auth"])[0]
            except ValueError as exc:
                found["via"] = "broken"
                problems.append(f"the entry {key!r} is {exc}; Docker refuses the whole file because of it")
        else:
            found["via"] = "none"
        entries.append(found)
    return entries, problems


def permission_problems(info, account: Account) -> list[str]:
    problems = []
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        problems.append(f"readable or writable by group or others (mode {mode:04o}); it should be 0600")
    if info.st_uid != account.uid:
        problems.append(f"owned by {_user_name(info.st_uid)}, not {account.name}, so {account.name}'s clients may not read it")
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
        target = open_target(spec.path, account, create_dirs=False)
        data = info = None
        if target is not None:
            with target:
                data, info = target.read()
        if data is None:
            return report
        report.update(exists=True, mode=f"{stat.S_IMODE(info.st_mode):04o}", owner=_user_name(info.st_uid))
        report["problems"] += permission_problems(info, account)
        report["registries"], problems = describe_entries(af.parse_document(data, spec.path), spec.engine)
        report["problems"] += problems
    except (AuthFileError, OSError) as exc:
        report["problems"].append(str(exc))
    return report


def shadowing(files: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Registries that a Podman runtime file holds as well as the persistent file: Podman reads the runtime one first."""
    persistent = {
        entry["registry"]: file["path"]
        for file in files
        if file["engine"] == af.PODMAN and file["kind"] == "persistent"
        for entry in file["registries"]
    }
    found = []
    for file in files:
        if file["engine"] == af.PODMAN and file["kind"] == "runtime":
            for entry in file["registries"]:
                if entry["registry"] in persistent:
                    found.append({"registry": entry["registry"], "runtime_path": file["path"], "persistent_path": persistent[entry["registry"]]})
    return found


def run_info(module) -> dict[str, Any]:
    params = module.params
    account = lookup_account(params["user"])
    specs = file_specs({**params, "sync_runtime_auth": True}, params["engines"], account)
    files = [describe_file(spec, account) for spec in specs]
    files = [file for file in files if file["exists"] or file["kind"] == "persistent"]
    return {"changed": False, "user": account.name, "files": files, "shadowed": shadowing(files)}


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


__all__ = ("describe_entries", "describe_file", "permission_problems", "run_info", "shadowing")
