# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Throwaway Unix users for the tests that run the modules as root on behalf of another account."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER_BINARIES = ("useradd", "userdel", "runuser", "skopeo")


@dataclass(frozen=True)
class UnixUser:
    name: str
    uid: int
    gid: int
    home: Path

    @property
    def docker_file(self) -> Path:
        return self.home / ".docker" / "config.json"

    @property
    def podman_file(self) -> Path:
        return self.home / ".config" / "containers" / "auth.json"

    @property
    def runtime_file(self) -> Path:
        return Path(f"/run/user/{self.uid}/containers/auth.json")


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("these tests create Unix users and run the module as root for them: run pytest as root", pytrace=False)
    missing = [name for name in USER_BINARIES if shutil.which(name) is None]
    if missing:
        pytest.fail(f"these tests need {', '.join(missing)} on PATH", pytrace=False)


def unused_name() -> str:
    while True:
        name = f"ghcrt{secrets.token_hex(4)}"
        try:
            pwd.getpwnam(name)
        except KeyError:
            return name


def user_factory() -> Iterator[Callable[[], UnixUser]]:
    """A factory of throwaway users (``useradd -m -s /bin/sh ghcrtXXXXXXXX``), all removed with ``userdel -r``."""
    require_root()
    created: list[str] = []

    def make() -> UnixUser:
        name = unused_name()
        proc = subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            pytest.fail(f"useradd {name} failed (exit {proc.returncode}): {proc.stderr}", pytrace=False)
        created.append(name)
        entry = pwd.getpwnam(name)
        return UnixUser(entry.pw_name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))

    try:
        yield make
    finally:
        problems = []
        for name in reversed(created):
            home = Path(pwd.getpwnam(name).pw_dir)
            proc = subprocess.run(["userdel", "-r", name], capture_output=True, text=True, check=False)
            if home.is_dir() or home.is_symlink():  # userdel -r does not follow links; finish its job if it gave up
                shutil.rmtree(home, ignore_errors=True)
            if proc.returncode != 0 and "not found" not in proc.stderr:
                problems.append(f"userdel -r {name}: exit {proc.returncode}: {proc.stderr.strip()}")
        if problems:
            pytest.fail("; ".join(problems), pytrace=False)


__all__ = ("USER_BINARIES", "UnixUser", "require_root", "unused_name", "user_factory")
