# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for the fleet.ghcr.ghcr_login action, loaded through ansible-core's action loader.

The piped program really runs (with this Python); module runs and the connection are the recorders of
test_registry_auth_step.py. tests/integration/test_ghcr_login_piped.py runs both paths through ansible-playbook.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ansible.plugins.loader import action_loader

from ansible_collections.fleet.ghcr.plugins.plugin_utils._piped import PipedLogin
from tests.support.ansible import assert_no_secret
from tests.unit.plugins.action.test_registry_auth_step import FakeConnection, PipingConnection, Recorder, recorded_action

TOKEN = "ghp_action0000000000000000000000000000000"


def make_action(args: dict[str, Any], recorder: Recorder, connection: FakeConnection, check_mode: bool = False):
    action = recorded_action("fleet.ghcr.ghcr_login", args, recorder, connection, {})
    action._task.check_mode = check_mode
    task = action._task  # NormalAction runs the task's own module with the task's own arguments
    action._execute_module = lambda task_vars=None, wrap_async=False, **_kwargs: recorder.execute_module(task.action, dict(task.args), task_vars)
    return action


def login_args(home: Path, **changes: Any) -> dict[str, Any]:
    return {
        "username": "octocat",
        "password": TOKEN,
        "docker_config_path": str(home / "docker.json"),
        "podman_auth_path": str(home / "auth.json"),
        "sync_runtime_auth": False,
        **changes,
    }


def test_the_action_is_found_by_the_modules_name_and_pipes() -> None:
    action = action_loader.get("fleet.ghcr.ghcr_login", class_only=True)
    assert action is not None and issubclass(action, PipedLogin)


def test_a_piped_login_writes_the_files_and_returns_the_modules_result(tmp_path: Path) -> None:
    recorder = Recorder()
    result = make_action(login_args(tmp_path), recorder, PipingConnection()).run(task_vars={})
    assert recorder.modules == [] and len(recorder.programs) == 1
    assert result["changed"] is True and [entry["action"] for entry in result["auth_files"]] == ["created", "created"]
    assert result["invocation"]["module_args"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert json.loads((tmp_path / "docker.json").read_text())["auths"]["ghcr.io"]
    assert_no_secret(repr(result), "octocat", TOKEN)


def test_check_mode_reaches_the_piped_program(tmp_path: Path) -> None:
    result = make_action(login_args(tmp_path), Recorder(), PipingConnection(), check_mode=True).run(task_vars={})
    assert result["changed"] is True and list(tmp_path.iterdir()) == []


def test_without_pipelining_async_or_with_verify_the_module_runs(tmp_path: Path) -> None:
    cases = [(FakeConnection(), {}, 0), (PipingConnection(), {}, 30), (PipingConnection(), {"verify": True}, 0)]
    for connection, changes, async_val in cases:
        recorder = Recorder()
        action = make_action(login_args(tmp_path, **changes), recorder, connection)
        action._task.async_val = async_val
        action._task.poll = 0
        action.run(task_vars={})
        assert [name for name, _args in recorder.modules] == ["fleet.ghcr.ghcr_login"] and recorder.programs == [], (changes, async_val)


def test_arguments_the_module_refuses_are_left_to_the_module(tmp_path: Path) -> None:
    recorder = Recorder()
    make_action(login_args(tmp_path, state="sideways"), recorder, PipingConnection()).run(task_vars={})
    assert [name for name, _args in recorder.modules] == ["fleet.ghcr.ghcr_login"] and recorder.programs == []
