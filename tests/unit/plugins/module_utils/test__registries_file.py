# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The target's half of registries.yaml: the payload checked, and a file written only if it is still the one read."""

from __future__ import annotations

import base64
import json
import os
import pwd
from pathlib import Path

import pytest

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import lookup_account
from ansible_collections.fleet.ghcr.plugins.module_utils._registries_file import (
    RegistriesWrite,
    digest,
    parse_payload,
    read_registries,
    write_registries,
)

ACCOUNT = lookup_account(pwd.getpwuid(os.geteuid()).pw_name)


def test_the_payload_names_only_the_task_files() -> None:
    paths = {"/etc/rancher/k3s/registries.yaml": "k3s"}
    assert parse_payload('{"read": true}', paths) is True
    write = {"path": "/etc/rancher/k3s/registries.yaml", "consumer": "k3s", "sha256": None, "content": "{}\n"}
    assert parse_payload(json.dumps({"write": [write]}), paths) == [RegistriesWrite(write["path"], "k3s", None, b"{}\n")]
    for bad in ("", "[]", '{"write": 1}', json.dumps({"write": [{**write, "path": "/etc/passwd"}]}), json.dumps({"write": [{**write, "consumer": "rke2"}]})):
        with pytest.raises(InputError, match="do not set it"):
            parse_payload(bad, paths)


def test_read_returns_the_bytes_or_none(tmp_path: Path) -> None:
    present, missing = tmp_path / "k3s.yaml", tmp_path / "no" / "rke2.yaml"
    present.write_bytes(b"configs: {}\n")
    present.chmod(0o644)
    found = read_registries({str(present): "k3s", str(missing): "rke2"}, ACCOUNT)
    assert found == [
        {"path": str(present), "consumer": "k3s", "data": base64.b64encode(b"configs: {}\n").decode(), "mode": "0644", "owner": ACCOUNT.name},
        {"path": str(missing), "consumer": "rke2", "data": None, "mode": None, "owner": None},
    ]


def test_a_file_changed_since_it_was_read_is_left_to_its_writer(tmp_path: Path) -> None:
    path = tmp_path / "registries.yaml"
    path.write_bytes(b"configs: {}\n")
    item = RegistriesWrite(str(path), "k3s", digest(b"mirrors: {}\n"), b"new\n")
    with pytest.raises(AuthFileError, match="changed while this task ran"):
        write_registries(item, ACCOUNT, present=True, check_mode=False, backup=False)
    assert path.read_bytes() == b"configs: {}\n"
    gone = RegistriesWrite(str(tmp_path / "none" / "registries.yaml"), "k3s", digest(b"x"), b"new\n")
    with pytest.raises(AuthFileError, match="removed while this task ran"):
        write_registries(gone, ACCOUNT, present=True, check_mode=False, backup=False)


def test_write_creates_0600_and_check_mode_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "rancher" / "k3s" / "registries.yaml"
    item = RegistriesWrite(str(path), "k3s", None, b"configs: {}\n")
    checked = write_registries(item, ACCOUNT, present=True, check_mode=True, backup=False)
    assert (checked.action, checked.content_changed) == ("created", True) and not path.parent.exists()
    written = write_registries(item, ACCOUNT, present=True, check_mode=False, backup=False)
    assert written.action == "created" and path.read_bytes() == b"configs: {}\n" and path.stat().st_mode & 0o777 == 0o600


def test_a_readable_file_is_tightened_and_backed_up(tmp_path: Path) -> None:
    path = tmp_path / "registries.yaml"
    path.write_bytes(b"old\n")
    path.chmod(0o644)
    unchanged = RegistriesWrite(str(path), "k3s", digest(b"old\n"), None)
    outcome = write_registries(unchanged, ACCOUNT, present=True, check_mode=False, backup=True)
    assert (outcome.action, outcome.content_changed, outcome.loosened_mode) == ("updated", False, 0o644)
    assert path.stat().st_mode & 0o777 == 0o600 and Path(outcome.backup).read_bytes() == b"old\n"
    logout = RegistriesWrite(str(path), "k3s", digest(b"old\n"), b"{}\n")
    removed = write_registries(logout, ACCOUNT, present=False, check_mode=False, backup=False)
    assert (removed.action, removed.backup, path.read_bytes()) == ("removed", None, b"{}\n")
