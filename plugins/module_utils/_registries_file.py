# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The target's half of k3s's and RKE2's ``registries.yaml``: read the files, then write what the controller decided.

The YAML is parsed and rendered on the controller (plugin_utils/_registries_yaml.py), because targets often lack
PyYAML. The ghcr_node_auth action sends the module one of two payloads in its internal ``registries_yaml`` option
(JSON text):

- ``{"read": true}``: the module returns each file's bytes (base64) and changes nothing;
- ``{"write": [{"path", "consumer", "sha256", "content"}]}``: under the directory lock, each file whose SHA-256
  (None: missing) is still the one the controller read gets ``content`` (None: no change), atomically, with a
  backup if asked for; a file that changed since is refused ("run again"), never overwritten.
"""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from typing import Any, NamedTuple

from ansible_collections.fleet.ghcr.plugins.module_utils._atomic import NEW_FILE_MODE, open_target
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import Account, user_name


class RegistriesWrite(NamedTuple):
    path: str
    consumer: str
    sha256: str | None  # of the bytes the controller read; None: the file did not exist
    content: bytes | None  # the new bytes; None: the content stays


def digest(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def parse_payload(text: str, paths: dict[str, str]) -> bool | list[RegistriesWrite]:
    """True for a read; the writes otherwise. ``paths`` maps each registries file of the task to its consumer."""
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and payload.get("read") is True:
        return True
    writes = payload.get("write") if isinstance(payload, dict) else None
    if not isinstance(writes, list):
        raise InputError("registries_yaml is set by the fleet.ghcr.ghcr_node_auth action on the controller; do not set it.")
    found = []
    for item in writes:
        if not isinstance(item, dict) or paths.get(str(item.get("path"))) != item.get("consumer"):
            raise InputError("registries_yaml names a file the task does not: it is set by the action on the controller; do not set it.")
        content = item.get("content")
        found.append(RegistriesWrite(item["path"], item["consumer"], item.get("sha256"), content.encode("utf-8") if isinstance(content, str) else None))
    return found


def read_registries(paths: dict[str, str], account: Account) -> list[dict[str, Any]]:
    """Each file's bytes as base64, mode and owner (None when missing), read under the rules of every write."""
    found = []
    for path, consumer in paths.items():
        target = open_target(path, account, create_dirs=False)
        data, info = None, None
        if target is not None:
            with target:
                data, info = target.read()
        found.append(
            {
                "path": path,
                "consumer": consumer,
                "data": base64.b64encode(data).decode() if data is not None else None,
                "mode": f"{stat.S_IMODE(info.st_mode):04o}" if info else None,
                "owner": user_name(info.st_uid) if info else None,
            }
        )
    return found


class RegistriesOutcome(NamedTuple):
    action: str  # created, updated, removed, unchanged
    content_changed: bool
    backup: str | None
    leftovers: list[str]
    loosened_mode: int | None  # the group/other-readable mode that was (or would be) tightened


def write_registries(item: RegistriesWrite, account: Account, *, present: bool, check_mode: bool, backup: bool) -> RegistriesOutcome:
    creating = item.content is not None and item.sha256 is None and not check_mode  # it was missing when read
    target = open_target(item.path, account, create_dirs=creating)
    if target is None and item.sha256 is not None:
        raise AuthFileError(f"{item.path} was removed while this task ran (another writer): run the task again.")
    if target is None:  # a missing directory: only in check mode, or when nothing is to be written
        return RegistriesOutcome("created" if item.content is not None else "unchanged", item.content is not None, None, [], None)
    with target, target.locked():
        data, info = target.read()
        if digest(data) != item.sha256:
            raise AuthFileError(f"{item.path} changed while this task ran (another writer); it was left as that writer left it: run the task again.")
        leftovers = target.leftovers()
        mode = stat.S_IMODE(info.st_mode) if info else NEW_FILE_MODE
        loose = mode if present and info is not None and mode & 0o077 else None
        new_mode = mode & ~0o077 if present else mode
        if check_mode:
            return RegistriesOutcome(_action(item, data, present, loose), item.content is not None, None, leftovers, loose)
        swept = target.sweep(leftovers)
        saved = target.backup(data, info) if backup and info is not None and data is not None and (item.content is not None or loose) else None
        try:
            if item.content is not None:
                uid, gid = (info.st_uid, info.st_gid) if info else (account.uid, account.gid)
                target.replace(item.content, mode=new_mode, uid=uid, gid=gid)
            elif loose is not None:
                target.chmod(new_mode)
        except BaseException:
            if saved:
                target.remove(saved)
            raise
    return RegistriesOutcome(_action(item, data, present, loose), item.content is not None, saved, swept, loose)


def _action(item: RegistriesWrite, data: bytes | None, present: bool, loose: int | None) -> str:
    if item.content is None:
        return "updated" if loose is not None else "unchanged"
    if not present:
        return "removed"
    return "created" if data is None else "updated"


__all__ = ("RegistriesOutcome", "RegistriesWrite", "digest", "parse_payload", "read_registries", "write_registries")
