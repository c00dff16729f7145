# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for plugins/plugin_utils/_piped.py: the request checked here, and the program run by a real Python."""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import encode_auth
from ansible_collections.fleet.ghcr.plugins.plugin_utils import _piped
from ansible_collections.fleet.ghcr.plugins.plugin_utils._piped import login_request, program
from tests.support.ansible import assert_no_secret

TOKEN = "ghp_piped11111111111111111111111111111111"


def login_args(home: Path, **changes: object) -> dict:
    return {
        "registry": "ghcr.io",
        "username": "octocat",
        "password": TOKEN,
        "docker_config_path": str(home / "docker.json"),
        "podman_auth_path": str(home / "auth.json"),
        "sync_runtime_auth": False,
        **changes,
    }


def run_program(payload: bytes, *python: str) -> subprocess.CompletedProcess:
    """What the write step's one command does: the target's Python reads the program from standard input."""
    return subprocess.run([*(python or (sys.executable,))], input=payload, capture_output=True, check=False, cwd="/", env={"PATH": "/usr/bin:/bin"})


def test_the_request_has_the_modules_defaults_and_no_path_expanded_here(tmp_path: Path) -> None:
    request = login_request(login_args(tmp_path, ca_path="~/ca.pem"), check_mode=True, diff=False)
    assert request is not None
    assert request["params"]["engines"] == ["docker", "podman"] and request["params"]["state"] == "present"
    assert request["params"]["ca_path"] == "~/ca.pem" and request["path_options"] == ["ca_path"]
    encoded = encode_auth("octocat", TOKEN)
    assert request["check_mode"] is True and request["secrets"] == [TOKEN, encoded, encoded.rstrip("=")]
    assert request["no_log_options"] == ["password"] and request["warnings"] == []


@pytest.mark.parametrize("changes", [{"verify": True}, {"state": "sideways"}, {"username": None}, {"nonsense": 1}])
def test_bad_input_and_verify_are_left_to_the_module(tmp_path: Path, changes: dict) -> None:
    args = {key: value for key, value in login_args(tmp_path, **changes).items() if value is not None}
    assert login_request(args, check_mode=False, diff=False) is None


def test_the_program_logs_in_with_the_targets_python_and_prints_one_json_result(tmp_path: Path) -> None:
    request = login_request(login_args(tmp_path), check_mode=False, diff=True)
    done = run_program(program(request))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["changed"] is True and [entry["action"] for entry in result["auth_files"]] == ["created", "created"]
    assert json.loads((tmp_path / "docker.json").read_text())["auths"]["ghcr.io"]["auth"] == encode_auth("octocat", TOKEN)
    assert TOKEN not in done.stdout.decode() and TOKEN not in done.stderr.decode()


def test_the_program_loads_no_ansible_code_on_the_target(tmp_path: Path) -> None:
    """Not loading AnsibleModule is what makes it fast; a module_utils import of ansible.* would also fail there."""
    request = login_request(login_args(tmp_path), check_mode=True, diff=False)
    probe = program(request) + b"\nsys.stderr.write(json.dumps(sorted(name for name in sys.modules if name.startswith('ansible'))))\n"
    done = run_program(probe)
    loaded = json.loads(done.stderr)
    assert "ansible_collections.fleet.ghcr.plugins.module_utils._ghcr_login" in loaded
    assert [name for name in loaded if name.startswith("ansible.") or name == "ansible"] == []


def test_the_program_ignores_modules_planted_in_its_working_directory(tmp_path: Path) -> None:
    (tmp_path / "json.py").write_text("raise SystemExit('planted module imported')\n")
    request = login_request(login_args(tmp_path), check_mode=True, diff=False)
    done = subprocess.run([sys.executable], input=program(request), capture_output=True, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changed"] is True


def test_the_program_says_which_python_it_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_piped, "MINIMUM_PYTHON", (99, 0))
    done = run_program(program(login_request(login_args(tmp_path), check_mode=False, diff=False)))
    result = json.loads(done.stdout)
    assert result["failed"] is True and "Python 99.0 or newer" in result["msg"] and "ansible_python_interpreter" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_the_program_holds_the_backend_and_its_lazy_imports_only() -> None:
    sources = json.loads(_piped.zlib.decompress(_piped.base64.b64decode(_piped._sources_blob())))
    names = {name.rsplit(".", 1)[-1] for name in sources}
    assert {"_piped_login", "_ghcr_login", "_atomic", "_authfile", "_credential_helper", "_docker_config_json"} <= names
    assert not {"_ghcr_registry", "_argspec", "_registry_check", "_registry"} & names, "verify is never piped: no HTTP code is sent"


def other_python(version: str) -> str:
    """An interpreter of another version (pyenv's, on the machines this project runs on); not run without one."""
    found = sorted(glob.glob(str(Path.home() / ".pyenv" / "versions" / f"{version}.*" / "bin" / "python"))) or [shutil.which(f"python{version}")]
    if not found[-1]:
        pytest.skip(f"not run: no Python {version} on this machine")
    return str(found[-1])


@pytest.mark.parametrize("version", ["3.9", "3.10", "3.12", "3.13"])
def test_the_program_runs_on_every_python_the_modules_claim(tmp_path: Path, version: str) -> None:
    request = login_request(login_args(tmp_path), check_mode=False, diff=True)
    done = run_program(program(request), other_python(version))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["changed"] is True and [entry["action"] for entry in result["auth_files"]] == ["created", "created"], result


@pytest.mark.parametrize("version", ["2.7", "3.6", "3.8"])
def test_an_older_python_gets_a_clear_failure_not_a_traceback(tmp_path: Path, version: str) -> None:
    done = run_program(program(login_request(login_args(tmp_path), check_mode=False, diff=False)), other_python(version))
    result = json.loads(done.stdout)
    assert result["failed"] is True and f"this is Python {version}" in result["msg"] and done.stderr == b""
    assert list(tmp_path.iterdir()) == []


def test_the_program_logs_the_invocation_without_secrets_unless_told_not_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible_collections.fleet.ghcr.plugins.module_utils import _piped_login

    logged: list[str] = []
    monkeypatch.setattr("syslog.syslog", lambda _priority, message: logged.append(message))
    request = login_request(login_args(tmp_path), check_mode=True, diff=False, log={"facility": "LOG_USER", "info": "run=42"})
    result = _piped_login.run(request)
    assert len(logged) == 1 and logged[0].startswith("run=42 Invoked with registry=ghcr.io username=octocat password=NOT_LOGGING_PARAMETER")
    assert_no_secret(logged[0], "octocat", TOKEN)
    assert result["invocation"]["module_args"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    _piped_login.run(login_request(login_args(tmp_path), check_mode=True, diff=False, log=None))
    assert len(logged) == 1, "no_log or no_target_syslog: nothing logged"


def test_the_program_ends_its_result_with_a_newline(tmp_path: Path) -> None:
    done = run_program(program(login_request(login_args(tmp_path), check_mode=True, diff=False)))
    assert done.stdout.endswith(b"}\n") and done.stdout.count(b"\n") == 1


def test_every_documented_return_value_of_ghcr_login_survives_the_key_filter() -> None:
    import yaml

    from ansible_collections.fleet.ghcr.plugins.modules import ghcr_login

    assert set(yaml.safe_load(ghcr_login.RETURN)) <= _piped.RESULT_KEYS


def test_the_result_is_the_last_json_line_and_text_around_it_is_ignored() -> None:
    done = {"rc": 0, "stdout": 'Welcome to web1\n{"changed": true, "add_host": {"host_name": "x"}}\nlogout\n', "stderr": ""}
    assert _piped.read_result(done, "/usr/bin/python3", b"") == {"changed": True}


def test_no_result_is_a_failure_that_names_a_missing_interpreter() -> None:
    done = {"rc": 127, "stdout": "", "stderr": "/bin/sh: 1: /opt/py/bin/python3: not found\n"}
    result = _piped.read_result(done, "/opt/py/bin/python3", b"")
    assert result["failed"] is True and "'/opt/py/bin/python3' was not found" in result["msg"] and result["rc"] == 127
    other = _piped.read_result({"rc": 1, "stdout": "{not json", "stderr": "boom"}, "/usr/bin/python3", b"")
    assert "deserialization failed" in other["msg"] and other["module_stderr"] == "boom"
