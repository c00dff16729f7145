# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Bad input fails clearly before any file is touched, and no secret shows at any verbosity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.ansible import assert_no_secret, login_task, run_tasks

TOKEN = "ghp_inputs0000000000000000000000000000000"


def files_under(home: Path) -> list[Path]:
    return sorted(path for path in home.rglob("*")) if home.exists() else []


BAD_INPUTS = {
    "empty-token": ({"password": ""}, "the token from the password option is empty"),
    "blank-token": ({"password": "  \n"}, "the token from the password option is empty"),
    "inner-whitespace": ({"password": "ghp_abc def"}, "whitespace or control characters inside it"),
    "empty-username": ({"username": ""}, "username must not be empty"),
    "colon-username": ({"username": "octo:cat"}, "must not contain ':'"),
    "malformed-registry": ({"registry": "ghcr.io/Org/app:1.0"}, "is malformed"),
    "bad-scheme": ({"registry": "ftp://ghcr.io"}, "only http:// and https://"),
    "namespaced-for-docker": ({"registry": "ghcr.io/my-org"}, "Docker keeps one credential per registry host"),
    "unknown-user": ({"user": "no-such-user-fleet-ghcr"}, "user 'no-such-user-fleet-ghcr' does not exist"),
    "no-engines": ({"engines": []}, "engines must name at least one"),
    "relative-path": ({"docker_config_path": "relative/config.json"}, "must be an absolute path"),
    "no-password": ({"password": None}, "parameters are required together: username, password"),
    "bad-blob": ({"docker_config_json": "{not json", "username": None, "password": None}, "docker_config_json is not valid JSON"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_fails_before_anything_is_touched(tmp_path: Path, case: str) -> None:
    changes, message = BAD_INPUTS[case]
    home = tmp_path / "home"
    args = {
        "username": "octocat",
        "password": "{{ pat }}",
        "docker_config_path": str(home / ".docker" / "config.json"),
        "podman_auth_path": str(home / ".config" / "containers" / "auth.json"),
        **changes,
    }
    args = {key: value for key, value in args.items() if value is not None}
    run = run_tasks(tmp_path / "run", [login_task(**args)], secrets={"pat": TOKEN}, options=["-vvvv"])
    assert run.result.get("failed"), run.result
    assert message in run.result["msg"]
    assert files_under(home) == []
    assert_no_secret(run.output + run.log + json.dumps(run.results), "octocat", TOKEN)


def test_no_secret_at_vvvv_across_every_path(tmp_path: Path, registry) -> None:
    """Create, re-run, rotate in check and diff mode, rotate, a failure after reading, and logout, all at -vvvv."""
    home = tmp_path / "home"
    old, new = registry.users["other"], registry.users["octocat"]
    paths = {"docker_config_path": str(home / ".docker" / "config.json"), "podman_auth_path": str(home / ".config" / "containers" / "auth.json")}
    unparsable = tmp_path / "broken" / "auth.json"
    unparsable.parent.mkdir()
    unparsable.write_text('{"auths": ')

    def task(secret: str, **extra: object) -> dict:
        return login_task(registry=registry.host, username="octocat", password=secret, **{**paths, **extra})

    tasks = [
        task("  {{ old }}\n"),
        task("{{ old }}"),
        {**task("{{ new }}"), "check_mode": True},
        task("{{ new }}", backup=True),
        task("{{ new }}", podman_auth_path=str(unparsable)),
        login_task(registry=registry.host, state="absent", **paths),
    ]
    run = run_tasks(tmp_path / "run", tasks, secrets={"old": old, "new": new}, options=["-vvvv", "--diff"])
    created, rerun, check, rotated, failed, removed = run.results
    assert created["changed"] and any("Removed whitespace" in warning for warning in created["warnings"])
    assert not rerun["changed"] and check["changed"] and rotated["changed"] and removed["changed"]
    assert failed["failed"] and "not valid JSON" in failed["msg"]
    assert "sha256:" in run.output, "the diff was printed, with fingerprints"
    everything = run.output + run.log + json.dumps(run.results)
    for secret in (old, new):
        assert_no_secret(everything, "octocat", secret)


def test_the_scan_catches_a_leak(tmp_path: Path) -> None:
    """Canary: the same scan fails when a task really prints the token, so its passes above mean something."""
    leak = {"name": "leak on purpose", "ansible.builtin.debug": {"msg": "{{ 'octocat:' ~ pat | b64encode }} {{ pat }}"}}
    run = run_tasks(tmp_path / "run", [leak], secrets={"pat": TOKEN}, options=["-vvvv"])
    with pytest.raises(AssertionError, match="secret form"):
        assert_no_secret(run.output, "octocat", TOKEN)
