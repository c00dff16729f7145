"""Unit tests for plugins/module_utils/_ghcr_login.py, driven through the small module interface it documents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import encode_auth
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._ghcr_login import run_login
from tests.support.params import login_params

TOKEN = "ghp_unit000000000000000000000000000000000"


class StandInModule:
    """Provides exactly what the backend says it uses: params, check_mode, _diff, warn, no_log_values, get_bin_path."""

    def __init__(self, params: dict, check_mode: bool = False, diff: bool = False) -> None:
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.warnings: list[str] = []
        self.no_log_values: set[str] = set()

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    @staticmethod
    def get_bin_path(name: str) -> str | None:
        return shutil.which(name)


def params(home: Path, **changes: object) -> dict:
    return login_params(**{
        "username": "octocat",
        "password": TOKEN,
        "docker_config_path": str(home / "docker" / "config.json"),
        "podman_auth_path": str(home / "containers" / "auth.json"),
        "sync_runtime_auth": False,
        **changes,
    })


def test_check_mode_predicts_and_touches_nothing(tmp_path: Path) -> None:
    module = StandInModule(params(tmp_path), check_mode=True, diff=True)
    result = run_login(module)
    assert result["changed"] and [f["action"] for f in result["auth_files"]] == ["created", "created"]
    assert list(tmp_path.iterdir()) == []
    assert result["diff"][0]["before"] == "" and "sha256:" in result["diff"][0]["after"]


def test_encoded_credential_is_masked_by_ansible(tmp_path: Path) -> None:
    module = StandInModule(params(tmp_path))
    run_login(module)
    assert {TOKEN, encode_auth("octocat", TOKEN)} <= module.no_log_values


def test_present_then_absent_round_trip(tmp_path: Path) -> None:
    assert run_login(StandInModule(params(tmp_path)))["changed"]
    docker_file = tmp_path / "docker" / "config.json"
    assert json.loads(docker_file.read_text()) == {"auths": {"ghcr.io": {"auth": encode_auth("octocat", TOKEN)}}}
    removed = run_login(StandInModule(params(tmp_path, state="absent")))
    assert [f["action"] for f in removed["auth_files"]] == ["removed", "removed"]
    assert json.loads(docker_file.read_text()) == {"auths": {}}
    assert not run_login(StandInModule(params(tmp_path, state="absent")))["changed"]


def test_absent_with_no_files_changes_nothing_and_creates_nothing(tmp_path: Path) -> None:
    result = run_login(StandInModule(params(tmp_path, state="absent")))
    assert not result["changed"] and list(tmp_path.iterdir()) == []


def test_a_failure_reports_what_was_already_done(tmp_path: Path) -> None:
    """The preflight stops on a bad file before writing; a later failure still reports the partial result."""
    bad = tmp_path / "containers" / "auth.json"
    bad.parent.mkdir()
    bad.write_text("{")
    with pytest.raises(AuthFileError, match="not valid JSON") as caught:
        run_login(StandInModule(params(tmp_path)))
    assert caught.value.result["changed"] is False and caught.value.result["auth_files"] == []
    assert not (tmp_path / "docker").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"registry": "ghcr.io/org"}, "Docker keeps one credential per registry host"),
        ({"user": "no-such-user-fleet-ghcr"}, "does not exist"),
        ({"engines": []}, "at least one"),
        ({"docker_config_path": "rel/config.json"}, "absolute path"),
    ],
)
def test_bad_input_raises_before_any_file(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        run_login(StandInModule(params(tmp_path, **changes)))
    assert list(tmp_path.iterdir()) == []


def test_tilde_means_the_target_users_home(tmp_path: Path) -> None:
    module = StandInModule(params(tmp_path, engines=["docker"], docker_config_path="~/x/config.json"), check_mode=True)
    result = run_login(module)
    assert result["auth_files"][0]["path"].endswith("/x/config.json") and not result["auth_files"][0]["path"].startswith("~")


@pytest.mark.parametrize(("state", "missing_user"), [("present", "skip"), ("present", "warn"), ("absent", "fail"), ("absent", "skip")])
def test_a_missing_user_is_left_alone_when_asked_and_on_logout(tmp_path: Path, state: str, missing_user: str) -> None:
    module = StandInModule(params(tmp_path, user="no-such-user-fleet-ghcr", state=state, missing_user=missing_user))
    result = run_login(module)
    assert not result["changed"] and result["auth_files"] == [] and "does not exist" in result["msg"]
    assert result.get("skipped", False) is (state == "present")
    assert len(module.warnings) == (1 if (state, missing_user) == ("present", "warn") else 0)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_user_still_gets_input_errors_first(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is empty"):
        run_login(StandInModule(params(tmp_path, user="no-such-user-fleet-ghcr", password=" ", missing_user="skip")))
