# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The ghcr_node_auth backend: the node-wide files that the kubelet and CRI-O read, written by _authwrite's runner.

- kubelet: ``/var/lib/kubelet/config.json``, Docker's format read by the kubelet's rules (KUBELET engine).
- crio: a containers-auth.json file (Podman's format; CRI-O reads it through containers/image) and a drop-in that
  sets CRI-O's ``global_auth_file`` to it. CRI-O reads the auth file at every pull, the drop-in only at start: the
  result names ``crio`` in ``restart`` exactly when the drop-in's bytes changed.
- k3s, rke2: ``registries.yaml``, parsed and rendered on the controller by the module's action; this side reads the
  files and writes what the action decided (_registries_file.py). Both read it only at start: ``restart`` names
  the consumer when the file's bytes changed.

From the ModuleLike object called ``module``: ``params``, ``check_mode``, ``_diff``, ``warn``, ``no_log_values`` and
``get_bin_path``.
"""

from __future__ import annotations

import os
import stat
from typing import Any, Callable, NamedTuple

from ansible_collections.fleet.ghcr.plugins.module_utils._atomic import open_target
from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import encode_auth
from ansible_collections.fleet.ghcr.plugins.module_utils._authwrite import PRESENT, LoginRequest, LoginRunner, credentials_from
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, GhcrError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._module import ModuleLike
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import Account, FileSpec, lookup_account
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import KUBELET, PODMAN
from ansible_collections.fleet.ghcr.plugins.module_utils._registries_file import parse_payload, read_registries, write_registries

KUBELET_CONSUMER = "kubelet"
CRIO = "crio"
K3S = "k3s"
RKE2 = "rke2"
CONSUMERS = (KUBELET_CONSUMER, CRIO, K3S, RKE2)
REGISTRIES_YAML_CONSUMERS = (K3S, RKE2)
DROPIN_MODE = 0o644  # CRI-O's own drop-ins are world-readable; this one holds a path, not a secret


class NodeRequest(NamedTuple):
    login: LoginRequest
    consumer_of: dict[str, str]  # auth file path -> consumer
    dropin: str | None
    dropin_text: bytes | None
    registries: dict[str, str]  # registries.yaml path -> k3s or rke2


def registries_paths(params: dict[str, Any], consumers: list[str], taken: dict[str, str] | None = None) -> dict[str, str]:
    """The registries.yaml file of each k3s/RKE2 consumer asked for, checked: path -> consumer."""
    found: dict[str, str] = {}
    for consumer in consumers:
        if consumer not in REGISTRIES_YAML_CONSUMERS:
            continue
        option = f"{consumer}_registries_path"
        path = _absolute(params, option)
        if path in found or path in (taken or {}):
            raise InputError(f"{option} ({path}) is also the file of another consumer; each consumer needs a file of its own.")
        found[path] = consumer
    return found


def dropin_text(auth_path: str) -> bytes:
    """The whole CRI-O drop-in: it only points ``global_auth_file`` at the auth file."""
    return (
        "# Written by fleet.ghcr (ghcr_node_auth): CRI-O reads the registry credentials for image pulls from\n"
        "# global_auth_file. CRI-O reads this drop-in when it starts; the auth file at every pull.\n"
        "[crio.image]\n"
        f'global_auth_file = "{auth_path}"\n'
    ).encode()


def _absolute(params: dict[str, Any], option: str) -> str:
    value = params[option]
    if not isinstance(value, str) or not os.path.isabs(value):
        raise InputError(f"{option} must be an absolute path; got {value!r}.")
    if any(char in value for char in '"\\') or any(not char.isprintable() for char in value):
        raise InputError(f"{option} must not contain quotes, backslashes or control characters (it is written into a TOML string).")
    return os.path.normpath(value)


def build_node_request(params: dict[str, Any], warn: Callable[[str], None]) -> NodeRequest:
    """Validate every option before anything is touched; raises InputError with what to fix."""
    consumers = list(dict.fromkeys(params["consumers"] or []))
    if not consumers:
        raise InputError(f"consumers must name at least one of {', '.join(CONSUMERS)}.")
    credentials = credentials_from(params, warn)
    files: list[FileSpec] = []
    consumer_of: dict[str, str] = {}
    dropin = text = None
    if KUBELET_CONSUMER in consumers:
        path = _absolute(params, "kubelet_config_path")
        files.append(FileSpec(KUBELET, path, True))
        consumer_of[path] = KUBELET_CONSUMER
    if CRIO in consumers:
        path = _absolute(params, "crio_auth_path")
        if path in consumer_of:
            raise InputError(f"crio_auth_path and kubelet_config_path are the same file ({path}); the two consumers read different formats.")
        files.append(FileSpec(PODMAN, path, True))
        consumer_of[path] = CRIO
        dropin = _absolute(params, "crio_dropin_path")
        if dropin in consumer_of:
            raise InputError(f"crio_dropin_path must be a file of its own, not {dropin}.")
        dropin_dir = os.path.dirname(dropin)
        if os.path.commonpath([dropin_dir, path]) == dropin_dir:
            raise InputError(
                f"crio_auth_path ({path}) must not be in the drop-in directory {dropin_dir}: CRI-O reads every file there as"
                " TOML, and would not start."
            )
        text = dropin_text(path)
    registries = registries_paths(params, consumers, {**consumer_of, **({dropin: CRIO} if dropin else {})})
    login = LoginRequest(
        state=params["state"],
        credentials=credentials,
        account=lookup_account("root"),
        files=files,
        credential_helpers=True,  # CRI-O honours credHelpers in its auth file; the kubelet's file has none (KUBELET)
        backup=params["backup"],
    )
    return NodeRequest(login, consumer_of, dropin, text, registries)


class DropinOutcome(NamedTuple):
    action: str  # created, updated, unchanged
    before: bytes | None
    leftovers: list[str]  # temporary files of killed runs beside it: removed, or to be removed in check mode


def apply_dropin(path: str, text: bytes, account: Account, check_mode: bool) -> DropinOutcome:
    """Write the drop-in when its bytes differ; never a backup beside it, since CRI-O parses every file in its directory."""
    target = open_target(path, account, create_dirs=not check_mode)
    if target is None:
        return DropinOutcome("created", None, [])
    with target, target.locked():
        data, info = target.read()
        leftovers = target.leftovers()
        action = "unchanged" if data == text else "created" if data is None else "updated"
        if check_mode:
            return DropinOutcome(action, data, leftovers)
        swept = target.sweep(leftovers)
        if action != "unchanged":
            mode = stat.S_IMODE(info.st_mode) if info else DROPIN_MODE
            uid, gid = (info.st_uid, info.st_gid) if info else (account.uid, account.gid)
            target.replace(text, mode=mode, uid=uid, gid=gid)
    return DropinOutcome(action, data, swept)


def run_node_auth(module: ModuleLike) -> dict[str, Any]:
    """The task result; a GhcrError raised here carries the message up to the failure."""
    request = build_node_request(module.params, module.warn)
    writes: list[Any] = []
    if request.registries:
        payload = module.params["registries_yaml"]
        if payload is None:
            raise InputError(
                "k3s and rke2 are handled by this module's action, which reads registries.yaml on the controller: run"
                " fleet.ghcr.ghcr_node_auth as a task of a play or an ad hoc command, not as a bare module."
            )
        parsed = parse_payload(payload, request.registries)
        if parsed is True:
            return {"changed": False, "registries_files": _read(request)}
        writes = parsed if isinstance(parsed, list) else []
    for credential in request.login.credentials:
        if credential.secret is not None:
            module.no_log_values.update({credential.secret, encode_auth(*credential.pair())})
    _warn_about_shadowing(module, request)
    result = LoginRunner(module, request.login).run()
    del result["user"]
    for item in result["auth_files"]:
        del item["engine"]
        item["consumer"] = request.consumer_of[item["path"]]
    result["config_files"] = []
    result["restart"] = []
    for item in writes:
        _apply_registries(module, request, item, result)
    if request.dropin and request.dropin_text is not None and request.login.state == PRESENT:
        try:
            outcome = apply_dropin(request.dropin, request.dropin_text, request.login.account, module.check_mode)
        except OSError as exc:
            raise AuthFileError(f"Cannot update {request.dropin}: {exc.strerror}. The node's files need root: add become: true.") from None
        result["config_files"].append({"path": request.dropin, "consumer": CRIO, "action": outcome.action})
        result["leftovers_removed"] += outcome.leftovers
        if outcome.leftovers:
            result["changed"] = True
            done = "would be removed" if module.check_mode else "were removed"
            module.warn(f"{len(outcome.leftovers)} temporary file(s) that a killed run left beside {request.dropin} {done}.")
        if outcome.action != "unchanged":
            result["changed"] = True
            result["restart"].append(CRIO)
            if module._diff:
                before = outcome.before.decode("utf-8", "replace") if outcome.before is not None else ""
                result["diff"].append(
                    {"before_header": request.dropin, "after_header": request.dropin, "before": before, "after": request.dropin_text.decode("utf-8")}
                )
    return result


def _read(request: NodeRequest) -> list[dict[str, Any]]:
    try:
        return read_registries(request.registries, request.login.account)
    except OSError as exc:
        raise AuthFileError(f"Cannot read {exc.filename or 'registries.yaml'}: {exc.strerror}. The node's files need root: add become: true.") from None


def _apply_registries(module: ModuleLike, request: NodeRequest, item: Any, result: dict[str, Any]) -> None:
    present = request.login.state == PRESENT
    try:
        outcome = write_registries(item, request.login.account, present=present, check_mode=module.check_mode, backup=request.login.backup)
    except OSError as exc:
        raise AuthFileError(f"Cannot update {item.path}: {exc.strerror}. The node's files need root: add become: true.", result) from None
    except GhcrError as exc:  # what was written before this file is reported with the failure
        raise AuthFileError(str(exc), result) from None
    result["auth_files"].append({"path": item.path, "consumer": item.consumer, "action": outcome.action, "via": "file"})
    result["leftovers_removed"] += outcome.leftovers
    if outcome.backup:
        result["backup_files"].append(outcome.backup)
    if outcome.loosened_mode is not None:
        mode, done = outcome.loosened_mode, "would become" if module.check_mode else "is now"
        module.warn(f"{item.path} was readable by group or others (mode {mode:04o}); it holds credentials, so its mode {done} {mode & ~0o077:04o}.")
    if outcome.leftovers:
        done = "would be removed" if module.check_mode else "were removed"
        module.warn(f"{len(outcome.leftovers)} temporary file(s) that a killed run left beside {item.path} (they may hold credentials) {done}.")
    if outcome.action != "unchanged" or outcome.leftovers:
        result["changed"] = True
    if outcome.content_changed and item.consumer not in result["restart"]:
        result["restart"].append(item.consumer)


def _warn_about_shadowing(module: ModuleLike, request: NodeRequest) -> None:
    """The kubelet reads the first Docker config it finds: a new one in its root dir hides the ones it read before.

    After its root dir, the kubelet looks in its working directory and its home: under systemd, without HOME, that is
    ``/config.json`` and ``/.docker/config.json``; started with HOME=/root, root's Docker file.
    """
    if request.login.state != PRESENT:
        return
    for path, consumer in request.consumer_of.items():
        if consumer != KUBELET_CONSUMER or os.path.exists(path):
            continue
        home_file = os.path.join(request.login.account.home, ".docker", "config.json")
        hidden = [other for other in ("/config.json", "/.docker/config.json", home_file) if os.path.isfile(other)]
        if hidden:
            module.warn(
                f"The kubelet reads the first Docker config it finds, and {path} comes first: from now on it ignores"
                f" {', '.join(hidden)} (if it read {'them' if len(hidden) > 1 else 'it'}). Give their credentials to this module"
                " (docker_config_json) if the kubelet needs them."
            )


__all__ = (
    "CONSUMERS",
    "CRIO",
    "K3S",
    "KUBELET_CONSUMER",
    "REGISTRIES_YAML_CONSUMERS",
    "RKE2",
    "build_node_request",
    "dropin_text",
    "registries_paths",
    "run_node_auth",
)
