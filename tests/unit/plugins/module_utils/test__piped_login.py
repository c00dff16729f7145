# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for plugins/module_utils/_piped_login.py: what AnsibleModule would do around run_login, without it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ansible_collections.fleet.ghcr.plugins.module_utils import _piped_login
from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import encode_auth
from ansible_collections.fleet.ghcr.plugins.module_utils._piped_login import MASK, PipedModule, masked, run
from tests.support.params import login_params

TOKEN = "ghp_piped00000000000000000000000000000000"


def request(home: Path, check_mode: bool = False, diff: bool = False, **changes: object) -> dict:
    params = login_params(**{
        "username": "octocat",
        "password": TOKEN,
        "docker_config_path": str(home / "docker" / "config.json"),
        "podman_auth_path": str(home / "containers" / "auth.json"),
        "sync_runtime_auth": False,
        **changes,
    })
    return {"params": params, "path_options": ["ca_path"], "check_mode": check_mode, "diff": diff, "secrets": [TOKEN]}


def test_a_login_writes_both_files_and_returns_no_secret(tmp_path: Path) -> None:
    result = run(request(tmp_path))
    assert result["changed"] is True and [entry["action"] for entry in result["auth_files"]] == ["created", "created"]
    docker = json.loads((tmp_path / "docker" / "config.json").read_text())
    assert docker["auths"]["ghcr.io"]["auth"] == encode_auth("octocat", TOKEN)
    assert stat.S_IMODE((tmp_path / "docker" / "config.json").stat().st_mode) == 0o600
    assert TOKEN not in json.dumps(result) and encode_auth("octocat", TOKEN) not in json.dumps(result)


def test_check_mode_and_diff_are_the_modules(tmp_path: Path) -> None:
    result = run(request(tmp_path, check_mode=True, diff=True))
    assert result["changed"] is True and list(tmp_path.iterdir()) == []
    assert result["diff"][0]["before"] == "" and "sha256:" in result["diff"][0]["after"]
    assert TOKEN not in json.dumps(result)


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    run(request(tmp_path))
    before = (tmp_path / "docker" / "config.json").read_bytes()
    result = run(request(tmp_path))
    assert result["changed"] is False and (tmp_path / "docker" / "config.json").read_bytes() == before


def test_an_input_error_is_a_failed_result_with_what_was_done(tmp_path: Path) -> None:
    result = run(request(tmp_path, username="bad:name"))
    assert result["failed"] is True and result["changed"] is False and "username" in result["msg"]
    assert not (tmp_path / "docker").exists()


def test_an_unparsable_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    config.write_text('{"auths": ')
    result = run(request(tmp_path))
    assert result["failed"] is True and str(config) in result["msg"]
    assert config.read_text() == '{"auths": '


def test_a_crash_is_a_failed_result_with_the_secrets_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible_collections.fleet.ghcr.plugins.module_utils import _ghcr_login

    def crash(_module: object) -> dict:
        raise RuntimeError(f"boom near {TOKEN}")

    monkeypatch.setattr(_ghcr_login, "run_login", crash)
    result = run(request(tmp_path))
    assert result["failed"] is True and "RuntimeError" in result["msg"] and "Traceback" in result["exception"]
    assert TOKEN not in json.dumps(result) and MASK in result["msg"]


def test_warnings_are_returned_masked(tmp_path: Path) -> None:
    result = run(request(tmp_path, verify_image="ghcr.io/acme/app:1"))
    assert any("verify_image" in warning for warning in result["warnings"])


def test_path_options_are_expanded_on_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPED_CA_DIR", str(tmp_path))
    seen = {}

    def record(module: PipedModule) -> dict:
        seen.update(module.params)
        return {"changed": False}

    monkeypatch.setattr("ansible_collections.fleet.ghcr.plugins.module_utils._ghcr_login.run_login", record)
    run(request(tmp_path, ca_path="$PIPED_CA_DIR/ca.pem", docker_config_path="~/docker.json"))
    assert seen["ca_path"] == f"{tmp_path}/ca.pem"
    assert seen["docker_config_path"] == "~/docker.json"  # not a path option: the backend resolves ~ for the target user


def test_masked_replaces_secrets_in_keys_and_values_longest_first() -> None:
    secrets = {"abc", "abcdef"}
    assert masked({"x abcdef": ["abc", 1, ("abcdef",)]}, secrets) == {f"x {MASK}": [MASK, 1, [MASK]]}


def test_get_bin_path_searches_opt_dirs_then_path_then_sbin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second):
        directory.mkdir()
        tool = directory / "docker-credential-x"
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o755)
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "docker-credential-x").write_text("not executable")
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path / "plain"), str(second)]))
    module = PipedModule({}, False, False, [])
    assert module.get_bin_path("docker-credential-x", opt_dirs=[str(first)]) == str(first / "docker-credential-x")
    assert module.get_bin_path("docker-credential-x") == str(second / "docker-credential-x")
    assert module.get_bin_path("docker-credential-none") is None
    with pytest.raises(_piped_login.GhcrError, match="docker-credential-none"):
        module.get_bin_path("docker-credential-none", required=True)
