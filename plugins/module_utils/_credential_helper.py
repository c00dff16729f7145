# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The docker-credential-helpers protocol: ``docker-credential-NAME get|store|erase`` with data on stdin only."""

from __future__ import annotations

import json
import os
import subprocess

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import HelperError
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import Account

HELPER_TIMEOUT = 60
NOT_FOUND = "credentials not found in native keychain"
_KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE")


def helper_binary(name: str) -> str:
    return f"docker-credential-{name}"


class CredentialHelper:
    """One helper program, run as the account whose store it is, exactly as the Docker CLI runs it."""

    def __init__(self, name: str, executable: str, account: Account) -> None:
        self.name = name
        self.binary = helper_binary(name)
        self.executable = executable
        self.account = account

    def get(self, server: str) -> tuple[str, str] | None:
        """``(username, secret)`` stored for ``server``, or ``None``."""
        returncode, stdout = self._call("get", server.encode())
        if returncode != 0:
            if stdout.strip() == NOT_FOUND:
                return None
            raise HelperError(f"{self.binary} get {server} failed (exit {returncode}): {_first_line(stdout)}")
        try:
            found = json.loads(stdout)
            username, secret = found.get("Username", ""), found.get("Secret", "")
        except (ValueError, AttributeError):
            raise HelperError(f"{self.binary} get {server} did not answer with the JSON the protocol defines.") from None
        return (username, secret) if username or secret else None

    def store(self, server: str, username: str, secret: str) -> None:
        payload = json.dumps({"ServerURL": server, "Username": username, "Secret": secret}).encode()
        returncode, stdout = self._call("store", payload)
        if returncode != 0:
            raise HelperError(f"{self.binary} store {server} failed (exit {returncode}): {_first_line(stdout)}")

    def erase(self, server: str) -> None:
        returncode, stdout = self._call("erase", server.encode())
        if returncode != 0 and stdout.strip() != NOT_FOUND:
            raise HelperError(f"{self.binary} erase {server} failed (exit {returncode}): {_first_line(stdout)}")

    def _call(self, action: str, stdin: bytes) -> tuple[int, str]:
        try:
            completed = subprocess.run(
                [self.executable, action],
                input=stdin,
                capture_output=True,
                timeout=HELPER_TIMEOUT,
                check=False,
                **run_as(self.account),
            )
        except subprocess.TimeoutExpired:
            raise HelperError(
                f"{self.binary} {action} did not answer within {HELPER_TIMEOUT} s; it may be waiting for a passphrase"
                " or a desktop keyring that this session cannot reach."
            ) from None
        except OSError as exc:
            raise HelperError(f"Cannot run {self.executable} as {self.account.name}: {exc.strerror}.") from None
        stdout = completed.stdout.decode("utf-8", "replace")
        if completed.returncode != 0 and not stdout.strip():
            stdout = completed.stderr.decode("utf-8", "replace")
        return completed.returncode, stdout


def run_as(account: Account) -> dict:
    """``subprocess`` arguments that run a program as ``account`` with that account's environment.

    For the account this process already runs as, the environment is inherited unchanged (so a task's
    ``environment:`` reaches the helper). For another account, the process must be root; the helper then
    gets a clean environment pointing at that account's home and session.
    """
    if account.uid == os.geteuid():
        return {}
    if os.geteuid() != 0:
        raise HelperError(f"Running a credential helper as {account.name} needs root: add become: true to the task.")
    environment = {name: os.environ[name] for name in _KEPT_VARIABLES if name in os.environ}
    environment.update(HOME=account.home, USER=account.name, LOGNAME=account.name)
    runtime_dir = f"/run/user/{account.uid}"
    if os.path.isdir(runtime_dir):
        environment["XDG_RUNTIME_DIR"] = runtime_dir
        if os.path.exists(f"{runtime_dir}/bus"):
            environment["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={runtime_dir}/bus"
    return {
        "user": account.uid,
        "group": account.gid,
        "extra_groups": os.getgrouplist(account.name, account.gid),
        "env": environment,
        "cwd": account.home if os.path.isdir(account.home) else "/",
    }


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:300] if lines else "no message"


__all__ = ("NOT_FOUND", "CredentialHelper", "helper_binary", "run_as")
