# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Which Unix account a login is for, and which auth files that account's engines read and write."""

from __future__ import annotations

import os
import posixpath
import pwd
from typing import NamedTuple

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import InputError, MissingUserError
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import DOCKER, PODMAN


class Account(NamedTuple):
    name: str
    uid: int
    gid: int
    home: str


def lookup_account(name: str | None) -> Account:
    """The account named ``name`` from the passwd database, or the one this process runs as."""
    try:
        entry = pwd.getpwnam(name) if name else pwd.getpwuid(os.geteuid())
    except KeyError:
        raise MissingUserError(f"user {name!r} does not exist on this host (not in the passwd database): create it first or fix the name.") from None
    return Account(name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid, home=entry.pw_dir)


def expand_for(account: Account, path: str, option: str) -> str:
    """An absolute path where a leading ``~`` means the home of ``account``, not of whoever runs the module."""
    if path == "~" or path.startswith("~/"):
        path = account.home + path[1:]
    if not posixpath.isabs(path):
        raise InputError(f"{option} must be an absolute path or start with ~/ (the home of {account.name}); got {path!r}.")
    return posixpath.normpath(path)


def missing_home_message(account: Account) -> str:
    return (
        f"The home directory {account.home} of {account.name} does not exist, and it is not created for the user:"
        " create the account's home first (for example with ansible.builtin.user), or give paths outside it."
    )


def docker_config_path(account: Account) -> str:
    return posixpath.join(account.home, ".docker", "config.json")


def podman_auth_path(account: Account) -> str:
    """Podman's persistent file, which survives reboots, unlike its default under /run."""
    return posixpath.join(account.home, ".config", "containers", "auth.json")


def podman_runtime_auth_paths(account: Account) -> list[str]:
    """The tmpfs files Podman reads before the persistent one.

    Rootless Podman uses ``$XDG_RUNTIME_DIR`` (``/run/user/UID``); root uses ``/run/containers/0`` when
    ``XDG_RUNTIME_DIR`` is unset (services) and ``/run/user/0`` when a login shell sets it.
    """
    per_user = f"/run/user/{account.uid}/containers/auth.json"
    if account.uid == 0:
        return ["/run/containers/0/auth.json", per_user]
    return [per_user]


class FileSpec(NamedTuple):
    engine: str
    path: str
    primary: bool  # created if missing; a runtime file is only touched when it already holds the registry


def file_specs(params: dict, account: Account, runtime: bool) -> list[FileSpec]:
    """The files of ``params['engines']`` for ``account``: the path options or the defaults, then Podman's runtime files."""
    engines = params["engines"]
    if not engines:
        raise InputError("engines must name at least one of docker and podman.")
    specs = []
    if DOCKER in engines:
        path = params["docker_config_path"]
        specs.append(FileSpec(DOCKER, expand_for(account, path, "docker_config_path") if path else docker_config_path(account), True))
    if PODMAN in engines:
        path = params["podman_auth_path"]
        specs.append(FileSpec(PODMAN, expand_for(account, path, "podman_auth_path") if path else podman_auth_path(account), True))
        if runtime:
            specs.extend(FileSpec(PODMAN, runtime_path, False) for runtime_path in podman_runtime_auth_paths(account))
    return specs


def user_name(uid: int) -> str:
    """The name of ``uid`` in the passwd database, or the number when it has none."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


__all__ = (
    "Account",
    "FileSpec",
    "docker_config_path",
    "expand_for",
    "file_specs",
    "lookup_account",
    "missing_home_message",
    "podman_auth_path",
    "podman_runtime_auth_paths",
    "user_name",
)
