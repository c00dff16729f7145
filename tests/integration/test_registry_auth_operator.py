# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What an operator meets on a real fleet: fail-closed token sources, scopes checked by default, mixed fleets."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_registry_auth_role import Fleet
from tests.support.ansible import assert_no_secret
from tests.support.authfiles import encode_auth


@pytest.fixture(autouse=True)
def clean_stack(ghcr) -> Iterator[None]:
    ghcr.reset()
    yield
    ghcr.reset()


def test_a_host_without_ghcr_pat_does_not_fall_back_to_the_controllers_environment(tmp_path: Path, ghcr, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = Fleet(tmp_path, ghcr, None, hosts=2)
    monkeypatch.setenv("GHCR_PAT", ghcr.tokens["good"])
    monkeypatch.setenv("GITHUB_TOKEN", ghcr.tokens["good"])
    returncode, output, _log = fleet.run()
    assert returncode != 0 and "no token found" in output and "ghcr_pat" in output, output[-2000:]
    assert not (tmp_path / "homes").exists(), "nothing was written"
    assert_no_secret(output, "octocat", ghcr.tokens["good"])

    fleet.write_vars(token_env=["GHCR_PAT"])
    returncode, output, _log = fleet.run()
    assert returncode == 0, output[-3000:]
    assert fleet.entries("host1") == [{"auth": encode_auth("octocat", ghcr.tokens["good"])}] * 2
    assert_no_secret(output, "octocat", ghcr.tokens["good"])


def api_vars(ghcr) -> dict:
    return {"verify_images": [], "inspect_token": "always", "github_api_url": ghcr.github_api_url}


def test_a_pat_without_read_packages_fails_the_default_run_before_any_host_changes(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["noscope"], hosts=3)
    fleet.write_vars(**api_vars(ghcr))
    returncode, output, _log = fleet.run()
    assert returncode != 0 and "lacks the read:packages scope" in output, output[-3000:]
    assert not (tmp_path / "homes").exists()
    assert ghcr.counters["api"] == 1, "the GitHub API is asked once, not once per host"

    fleet.write_vars(**api_vars(ghcr), require_read_packages=False)
    returncode, output, _log = fleet.run()
    assert returncode == 0, output[-3000:]
    assert "[WARNING]: The token lacks the read:packages scope" in output.replace("\n", " ").replace("  ", " ") or "lacks the read:packages scope" in output


def test_an_unreachable_github_api_fails_closed(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=2)
    fleet.write_vars(verify_images=[], inspect_token="always", github_api_url="https://127.0.0.1:9/")
    returncode, output, _log = fleet.run()
    assert returncode != 0 and "could not confirm that the token may pull" in output, output[-3000:]
    assert not (tmp_path / "homes").exists()


def test_token_warnings_are_real_warnings_once_per_credential(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["soon"], hosts=4)
    fleet.write_vars(**api_vars(ghcr))
    returncode, output, _log = fleet.run()
    assert returncode == 0, output[-3000:]
    assert output.count("[WARNING]: The token expires in") == 1, output[-3000:]


def test_unknown_keys_in_a_user_entry_are_refused_before_anything_is_written(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=2)
    fleet.write_vars(users=[{"name": "root", "engine": ["podman"]}])
    returncode, output, _log = fleet.run()
    assert returncode != 0 and "unknown key(s) engine" in output and "allowed: name, engines" in output, output[-3000:]
    assert ghcr.counters["token"] == 0 and not (tmp_path / "homes").exists()

    fleet.write_vars(users=[{"name": "root", "engines": ["podmann"]}])
    returncode, output, _log = fleet.run()
    assert returncode != 0 and "engines must be a non-empty list of docker and podman" in output, output[-3000:]


@pytest.mark.parametrize("missing_user", ["skip", "warn"])
def test_a_user_missing_on_a_host_is_skipped_when_asked_and_never_blocks_logout(tmp_path: Path, ghcr, missing_user: str) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=2)
    users = [{"name": "no-such-user-fleet-ghcr"}]
    fleet.write_vars(users=users)
    returncode, output, _log = fleet.run()
    assert returncode != 0 and "does not exist" in output

    fleet.write_vars(users=users, missing_user=missing_user)
    returncode, output, _log = fleet.run()
    assert returncode == 0 and "failed=0" in output, output[-3000:]
    assert ("[WARNING]" in output and "does not exist" in output) is (missing_user == "warn")
    assert not (tmp_path / "homes").exists()

    fleet.write_vars(users=users, state="absent")
    returncode, output, _log = fleet.run(vault=False)
    assert returncode == 0, output[-3000:]


def test_the_connecting_user_is_the_default(tmp_path: Path, ghcr) -> None:
    """Without registry_auth_users the role logs in the user Ansible connects as (here root), at that user's home."""
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=1)
    settings_path = fleet.inventory / "group_vars" / "all" / "main.yml"
    settings = json.loads(settings_path.read_text())
    settings.pop("registry_auth_users")
    settings_path.write_text(json.dumps(settings))
    home = Path(os.path.expanduser("~root"))
    config = home / ".docker" / "config.json"
    before = config.read_bytes() if config.exists() else None
    try:
        returncode, output, _log = fleet.run("--check", "--diff")
        assert returncode == 0, output[-3000:]
        assert str(config) in output, "check mode names the connecting user's file"
    finally:
        if before is None:
            assert not config.exists(), "check mode wrote nothing"


def test_a_wrong_vault_password_is_one_error_not_one_per_host(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=6)
    fleet.password_file.write_text("not-the-password\n")
    returncode, output, _log = fleet.run()
    assert returncode != 0 and output.count("fatal:") == 1, output[-3000:]
    assert "none of the vault secrets given could decrypt it" in output
    assert not (tmp_path / "homes").exists()


@pytest.mark.parametrize("token", ["revoked", "good"])
def test_strategy_free_never_writes_an_unproven_credential(tmp_path: Path, ghcr, token: str) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens[token], hosts=6, play={"strategy": "free"})
    returncode, output, _log = fleet.run()
    written = {host: fleet.entries(host) for host in fleet.hosts}
    if token == "revoked":
        assert returncode != 0
        assert all(entries == [None, None] for entries in written.values()), written
    else:
        for host, entries in written.items():
            assert entries in ([None, None], [{"auth": encode_auth("octocat", ghcr.tokens["good"])}] * 2), (host, entries)
        if returncode != 0:
            assert "was not proven in this run" in output, output[-3000:]


def test_strategy_free_after_a_linear_play_never_writes_an_unproven_credential(tmp_path: Path, ghcr) -> None:
    """A check result left over from an earlier play must not stand in for a proof of another credential."""
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=4)
    role = {"role": "fleet.ghcr.registry_auth"}
    second = {"name": "Free", "hosts": "fleet", "gather_facts": False, "strategy": "free",
              "roles": [{**role, "vars": {"registry_auth_pat": ghcr.tokens["revoked"]}}]}
    plays = [*json.loads(fleet.playbook.read_text()), second]
    fleet.playbook.write_text(json.dumps(plays))
    returncode, output, _log = fleet.run()
    assert returncode != 0
    revoked = encode_auth("octocat", ghcr.tokens["revoked"])
    for host in fleet.hosts:
        assert all(entry is None or entry.get("auth") != revoked for entry in fleet.entries(host)), host
    assert_no_secret(output, "octocat", ghcr.tokens["revoked"])


def test_a_check_only_run_refuses_bad_input_too(tmp_path: Path, ghcr) -> None:
    """--tags registry_auth_check runs no write step, so the prove step refuses the input the write step would have."""
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=2)
    fleet.set_host_vars("host1", registry_auth_users=[{"name": "root", "shell": "/bin/sh"}])
    returncode, output, _log = fleet.run("--tags", "registry_auth_check")
    assert returncode != 0 and "host1: registry_auth_users entry root has unknown key(s) shell" in output, output[-3000:]
    assert not (tmp_path / "homes").exists()

    returncode, output, _log = fleet.run()
    assert returncode != 0 and "unknown key(s) shell" in output
    assert fleet.entries("host0")[0] is not None, "a full run fails only the host with bad input"
    assert not fleet.home("host1").exists()


def test_under_become_the_connecting_user_is_still_the_default(tmp_path: Path, ghcr) -> None:
    """With become the write step asks the host who Ansible connects as (id -un, without become): here root again."""
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=1, play={"become": True})
    settings_path = fleet.inventory / "group_vars" / "all" / "main.yml"
    settings = json.loads(settings_path.read_text())
    settings.pop("registry_auth_users")
    settings_path.write_text(json.dumps(settings))
    returncode, output, _log = fleet.run("--check", "-vvv")
    assert returncode == 0, output[-3000:]
    assert "id -un" in output and "/root/.docker/config.json" in output
