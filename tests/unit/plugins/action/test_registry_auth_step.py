# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for the fleet.ghcr.registry_auth_step action, loaded through ansible-core's action loader.

Module executions and remote commands are replaced by recorders; the role's variables are given to a real Templar as
the role's vars/main.yml would give them. tests/integration/test_registry_auth_role.py runs the role for real.
"""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.block import Block
from ansible.playbook.play import Play
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import action_loader
from ansible.template import Templar, trust_as_template

from ansible_collections.fleet.ghcr.plugins.plugin_utils._registry_auth import ROLE_VARIABLES, check_fingerprint
from tests.support.ansible import assert_no_secret
from tests.unit.plugins.plugin_utils.test__registry_auth import TOKEN, role_args


class FakeShell:
    tmpdir = None

    @staticmethod
    def build_module_command(env_string: str, shebang: str, cmd: str, **_kwargs: Any) -> str:
        return f"{env_string} {shebang.removeprefix('#!')} {cmd}"


class FakeConnection:
    """A connection without pipelining: the write step runs ghcr_login as a module (see PipingConnection)."""

    _shell = FakeShell()
    has_pipelining = False
    has_native_async = False
    pipelining = False
    pipelining_origin = "default"
    tty = False

    def is_pipelining_enabled(self, wrap_async: bool = False) -> bool:
        return self.has_pipelining and self.pipelining and not self.tty and not wrap_async

    def get_option_and_origin(self, option: str) -> tuple[Any, str]:
        assert option == "pipelining"
        return self.pipelining, self.pipelining_origin

    def _is_tty_requested(self) -> bool:
        return self.tty


class PipingConnection(FakeConnection):
    has_pipelining = True


class Recorder:
    """What the action asked for: module runs (with their arguments) and remote commands."""

    def __init__(self, module_results: list[dict[str, Any]] | None = None, user: str = "deploy") -> None:
        self.modules: list[tuple[str, dict[str, Any]]] = []
        self.commands: list[tuple[str, bool]] = []
        self.module_results = module_results
        self.user = user

    def execute_module(self, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        self.modules.append((module_name, module_args))
        if self.module_results:
            return dict(self.module_results.pop(0))
        return {"changed": True, "user": module_args.get("user", self.user), "invocation": {"module_args": {"password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}}}

    def low_level(self, cmd: str, sudoable: bool = True, in_data: bytes | None = None, **_kwargs: Any) -> dict[str, Any]:
        self.commands.append((cmd, sudoable))
        if in_data is not None:  # the piped program: run it with this Python, as the target's would
            self.programs.append(in_data)
            done = subprocess.run([sys.executable], input=in_data, capture_output=True, check=False, cwd="/")
            return {"rc": done.returncode, "stdout": done.stdout.decode(), "stderr": done.stderr.decode()}
        return {"rc": 0, "stdout": f"{self.user}\n", "stderr": ""}

    programs: list[bytes]

    def configure_module(self, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any]) -> tuple[Any, str]:
        self.configured.append(module_name)
        return SimpleNamespace(shebang="#!/usr/bin/python3", serialization_profile="legacy"), f"{module_name}.py"

    configured: list[str]


def recorded_action(name: str, args: dict[str, Any], recorder: Recorder, connection: FakeConnection, variables: dict[str, Any], **play: Any):
    """Action ``name`` from the action loader, for a task with ``args``; its module runs and commands go to ``recorder``.

    ``play`` holds the play's keywords (strategy) and the play context's become.
    """
    become = play.pop("become", False)
    task = Task(block=Block(play=Play.load({"name": "unit", "hosts": "all", "gather_facts": False, **play})))
    task.action, task.args = name, args
    play_context = PlayContext()
    play_context.become = become
    loader = DataLoader()
    action = action_loader.get(
        name,
        task=task,
        connection=connection,
        play_context=play_context,
        loader=loader,
        templar=Templar(loader=loader, variables=variables),
        shared_loader_obj=None,
    )
    action._execute_module = recorder.execute_module
    action._low_level_execute_command = recorder.low_level
    action._remove_tmp_path = lambda *_args, **_kwargs: None
    action._configure_module = recorder.configure_module
    action._compute_environment_string = lambda *_args: "LANG=C.UTF-8"
    recorder.programs, recorder.configured = [], []
    return action


def make_action(
    step: str, variables: dict[str, Any], recorder: Recorder, become: bool = False, strategy: str = "linear", connection: FakeConnection | None = None
):
    connection = connection or FakeConnection()
    return recorded_action("fleet.ghcr.registry_auth_step", {"step": step}, recorder, connection, variables, strategy=strategy, become=become)


def host_vars(token: str | None = TOKEN, proven: list[str] | None = None, **changes: Any) -> dict[str, Any]:
    variables: dict[str, Any] = {"inventory_hostname": "web1", **{ROLE_VARIABLES[key]: value for key, value in role_args(**changes).items()}}
    if token is not None:
        variables["registry_auth__pat"] = token
    else:
        variables["registry_auth__pat"] = trust_as_template("{{ undefined_token_variable }}")
    if proven is not None:
        variables["registry_auth__proof"] = {"proven": proven}
    return variables


def proven_for(**changes: Any) -> list[str]:
    return [check_fingerprint(role_args(**changes), TOKEN)]


def test_the_action_is_found_by_its_collection_name() -> None:
    assert action_loader.find_plugin("fleet.ghcr.registry_auth_step") is not None


def test_write_logs_each_listed_user_in_with_the_proven_credential() -> None:
    users = ["root", {"name": "deploy", "engines": ["podman"]}]
    recorder = Recorder()
    variables = host_vars(users=users, proven=proven_for(users=users))
    result = make_action("write", variables, recorder).run(task_vars=variables)
    assert [args["user"] for _name, args in recorder.modules] == ["root", "deploy"]
    assert {name for name, _args in recorder.modules} == {"fleet.ghcr.ghcr_login"}
    assert recorder.modules[1][1]["engines"] == ["podman"] and recorder.modules[0][1]["password"] == TOKEN
    assert result["changed"] is True and [item["item"] for item in result["results"]] == users
    assert all("invocation" not in item for item in result["results"])
    assert TOKEN not in repr(result)


def test_write_refuses_a_credential_not_proven_in_this_run() -> None:
    recorder = Recorder()
    for proven in (None, [], proven_for(username="someone-else")):
        variables = host_vars(proven=proven)
        with pytest.raises(AnsibleActionFail, match="was not proven in this run"):
            make_action("write", variables, recorder).run(task_vars=variables)
    assert recorder.modules == []


@pytest.mark.parametrize("verify", ["never", "each_host"])
def test_write_needs_no_once_proof_in_other_modes(verify: str) -> None:
    recorder = Recorder()
    variables = host_vars(verify=verify)
    make_action("write", variables, recorder).run(task_vars=variables)
    assert len(recorder.modules) == 1


def test_write_refuses_bad_input_before_any_module_runs() -> None:
    recorder = Recorder()
    variables = host_vars(registry="https://ghcr.io", users=[{"name": "deploy", "shell": "/bin/sh"}])
    with pytest.raises(AnsibleActionFail) as raised:
        make_action("write", variables, recorder).run(task_vars=variables)
    assert "registry_auth_registry" in str(raised.value) and "unknown key(s) shell" in str(raised.value)
    assert recorder.modules == [] and recorder.commands == []


def test_logging_out_never_templates_the_token() -> None:
    recorder = Recorder()
    variables = host_vars(token=None, state="absent", username="")
    result = make_action("write", variables, recorder).run(task_vars=variables)
    assert recorder.modules == [("fleet.ghcr.ghcr_login", {"registry": "ghcr.io", "state": "absent", "engines": ["docker", "podman"]})]
    assert result["results"][0]["item"] == "deploy", "the user the module ran as"


def test_logging_in_with_an_unreadable_token_fails() -> None:
    variables = host_vars(token=None, verify="never")
    with pytest.raises(AnsibleError):
        make_action("write", variables, Recorder()).run(task_vars=variables)


def test_the_connecting_user_is_asked_for_only_under_become() -> None:
    recorder = Recorder(user="ansible")
    variables = host_vars(verify="never")
    make_action("write", variables, recorder).run(task_vars=variables)
    assert recorder.commands == [] and "user" not in recorder.modules[0][1]

    make_action("write", variables, recorder, become=True).run(task_vars=variables)
    assert recorder.commands == [("id -un", False)], "asked without become"
    assert recorder.modules[1][1]["user"] == "ansible"


def test_warnings_and_diffs_of_the_users_are_the_task_s() -> None:
    results = [
        {"changed": True, "user": "root", "warnings": ["w1"], "diff": [{"before": "a", "after": "b"}]},
        {"changed": False, "user": "deploy", "warnings": ["w2"], "diff": [{"before": "c", "after": "c"}]},
    ]
    variables = host_vars(verify="never", users=["root", "deploy"])
    result = make_action("write", variables, Recorder(module_results=results)).run(task_vars=variables)
    assert result["warnings"] == ["w1", "w2"]
    assert result["diff"] == [{"before": "a", "after": "b"}], "only the diffs of users that changed"


def test_a_failing_user_fails_the_task_with_its_message() -> None:
    results = [{"changed": False, "user": "root"}, {"failed": True, "msg": "user 'ghost' does not exist", "changed": False}]
    variables = host_vars(verify="never", users=["root", "ghost"])
    result = make_action("write", variables, Recorder(module_results=results)).run(task_vars=variables)
    assert result["failed"] is True and "ghost" in result["msg"]


def use_others(monkeypatch: pytest.MonkeyPatch, action: Any, others: dict[str, dict[str, Any]]) -> None:
    """The variables of the batch's other hosts, which the action otherwise gets from Ansible's variable manager."""

    def templar_for(host: str, _task_vars: dict[str, Any]) -> Templar:
        return action._templar if host == "web1" else Templar(loader=DataLoader(), variables=others[host])

    monkeypatch.setattr(action, "_templar_for", templar_for)


def test_prove_checks_each_distinct_credential_once(monkeypatch: pytest.MonkeyPatch) -> None:
    variables = {**host_vars(), "ansible_play_batch": ["web1", "web2", "web3", "web4"]}
    others = {
        "web2": host_vars(),  # the same credential as web1
        "web3": host_vars(username="other"),
        "web4": host_vars(state="absent"),
    }
    action = make_action("prove", variables, Recorder())
    use_others(monkeypatch, action, others)
    checked: list[tuple[str, str]] = []
    monkeypatch.setattr(action, "_check_on_controller", lambda args, token: checked.append(args["username"]))
    result = action.run(task_vars=variables)
    assert checked == ["octocat", "other"]
    assert result["proven"] == [check_fingerprint(role_args(), TOKEN), check_fingerprint(role_args(username="other"), TOKEN)]
    assert result["skipped_hosts"] == {"web4": "it does not check"} and result["each_host"] == []
    assert TOKEN not in repr(result)


@pytest.mark.parametrize(
    ("tags", "fails"),
    [
        ({}, False),
        ({"ansible_run_tags": ["registry_auth_check"]}, True),
        ({"ansible_run_tags": ["registry_auth_check", "registry_auth_write"]}, False),
        ({"ansible_skip_tags": ["registry_auth_write"]}, True),
    ],
)
def test_prove_refuses_bad_input_itself_when_no_write_step_runs(monkeypatch: pytest.MonkeyPatch, tags: dict[str, Any], fails: bool) -> None:
    variables = {**host_vars(), "ansible_play_batch": ["web1", "web2"], **tags}
    action = make_action("prove", variables, Recorder())
    use_others(monkeypatch, action, {"web2": host_vars(registry="https://ghcr.io")})
    monkeypatch.setattr(action, "_check_on_controller", lambda *_args: None)
    if fails:
        with pytest.raises(AnsibleActionFail, match="web2: Give registry_auth_registry"):
            action.run(task_vars=variables)
    else:
        assert "web2" in action.run(task_vars=variables)["skipped_hosts"]


@pytest.mark.parametrize("strategy", ["free", "ansible.builtin.host_pinned", "mitogen_free"])
def test_under_strategy_free_each_host_proves_its_own_credential_in_its_write_step(monkeypatch: pytest.MonkeyPatch, strategy: str) -> None:
    """Every host runs the run_once steps itself there, and a run_once result lands on every host: the prove step steps aside."""
    variables = {**host_vars(), "ansible_play_batch": ["web1", "web2"]}
    action = make_action("prove", variables, Recorder(), strategy=strategy)
    monkeypatch.setattr(action, "_check_on_controller", lambda *_args: pytest.fail("the prove step checks nothing under free"))
    assert action.run(task_vars=variables)["proven"] == []

    recorder = Recorder()
    action = make_action("write", host_vars(), recorder, strategy=strategy)
    checked: list[str] = []
    monkeypatch.setattr(action, "_check_on_controller", lambda args, token: checked.append(token) and None)
    assert action.run(task_vars=host_vars())["changed"] is True
    assert checked == [TOKEN] and len(recorder.modules) == 1

    recorder = Recorder()
    action = make_action("write", host_vars(), recorder, strategy=strategy)
    monkeypatch.setattr(action, "_check_on_controller", lambda *_args: "unauthenticated: bad token")
    result = action.run(task_vars=host_vars())
    assert result["failed"] is True and "unauthenticated: bad token" in result["msg"] and recorder.modules == []


def test_a_failed_check_of_any_host_s_credential_fails_the_prove_step(monkeypatch: pytest.MonkeyPatch) -> None:
    variables = {**host_vars(), "ansible_play_batch": ["web1", "web2"]}
    action = make_action("prove", variables, Recorder())
    use_others(monkeypatch, action, {"web2": host_vars(username="other")})
    monkeypatch.setattr(action, "_check_on_controller", lambda args, token: "unauthenticated: no" if args["username"] == "other" else None)
    with pytest.raises(AnsibleActionFail, match=r"The credential of web2 .* failed its check: unauthenticated: no"):
        action.run(task_vars=variables)


def test_hosts_whose_static_conditions_are_false_are_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """import_role (or a block) with when: the batch holds hosts that skip the role; their credentials are not checked."""
    variables = {**host_vars(), "ansible_play_batch": ["web1", "web2"], "runs_role": True}
    action = make_action("prove", variables, Recorder())
    action._task.when = [trust_as_template("runs_role | default(false)")]
    use_others(monkeypatch, action, {"web2": host_vars(username="other")})
    checked: list[str] = []
    monkeypatch.setattr(action, "_check_on_controller", lambda args, token: checked.append(args["username"]))
    result = action.run(task_vars=variables)
    assert checked == ["octocat"] and result["skipped_hosts"] == {"web2": "it skips the role"}


def test_another_host_s_unreadable_variables_leave_it_out(monkeypatch: pytest.MonkeyPatch) -> None:
    variables = {**host_vars(), "ansible_play_batch": ["web1", "web2"]}
    action = make_action("prove", variables, Recorder())
    broken = {**host_vars(), "registry_auth_users": trust_as_template("{{ no_such_variable }}")}
    use_others(monkeypatch, action, {"web2": broken})
    monkeypatch.setattr(action, "_check_on_controller", lambda *_args: None)
    assert action.run(task_vars=variables)["skipped_hosts"]["web2"].startswith("its variables or token cannot be read")


def test_prove_skips_what_an_earlier_batch_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    earlier = check_fingerprint(role_args(), TOKEN)
    variables = {**host_vars(), "ansible_play_batch": ["web1"], "hostvars": {"localhost": {"registry_auth__proven": [earlier]}}}
    action = make_action("prove", variables, Recorder())
    monkeypatch.setattr(action, "_check_on_controller", lambda *_args: pytest.fail("proven already"))
    result = action.run(task_vars=variables)
    assert result["proven"] == [earlier] and result["checked"] == []


def test_prove_fails_on_the_first_host_s_token_and_skips_another_s(monkeypatch: pytest.MonkeyPatch) -> None:
    variables = {**host_vars(token=None), "ansible_play_batch": ["web1", "web2"]}
    with pytest.raises(AnsibleError):
        make_action("prove", variables, Recorder()).run(task_vars=variables)

    variables = {**host_vars(), "ansible_play_batch": ["web1", "web2", "web3"]}
    others = {"web2": host_vars(token=None), "web3": host_vars(verify="each_host")}
    action = make_action("prove", variables, Recorder())
    use_others(monkeypatch, action, others)
    monkeypatch.setattr(action, "_check_on_controller", lambda *_args: None)
    result = action.run(task_vars=variables)
    assert result["skipped_hosts"]["web2"].startswith("its variables or token cannot be read") and result["each_host"] == ["web3"]


def test_an_unknown_step_is_refused() -> None:
    with pytest.raises(AnsibleActionFail, match="step must be one of"):
        make_action("sideways", host_vars(), Recorder()).run(task_vars=host_vars())


def test_facts_and_deprecations_of_the_users_are_the_task_s() -> None:
    """The discovered interpreter must reach the host's facts, or every later task discovers it again."""
    results = [{"changed": False, "user": "root", "ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}, "deprecations": [{"msg": "d"}]}]
    variables = host_vars(verify="never", users=["root"])
    result = make_action("write", variables, Recorder(module_results=results)).run(task_vars=variables)
    assert result["ansible_facts"] == {"discovered_interpreter_python": "/usr/bin/python3"} and result["deprecations"] == [{"msg": "d"}]
    assert "ansible_facts" not in result["results"][0]


def test_a_failing_id_command_says_what_to_do() -> None:
    recorder = Recorder()
    recorder.low_level = lambda *_args, **_kwargs: {"rc": 1, "stdout": "", "stderr": "id: not found"}
    variables = host_vars(verify="never")
    with pytest.raises(AnsibleActionFail, match=r"id -un: id: not found.*list registry_auth_users"):
        make_action("write", variables, recorder, become=True).run(task_vars=variables)


def test_the_controller_check_masks_every_secret_it_met(monkeypatch: pytest.MonkeyPatch) -> None:
    """AnsibleModule would mask what the check added to no_log_values; the check in the action must too."""
    from ansible_collections.fleet.ghcr.plugins.module_utils import _ghcr_registry
    from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError

    def failing(module: Any) -> None:
        module.no_log_values.add("c2VjcmV0")
        module.warn(f"the realm echoed {TOKEN}")
        raise GhcrError(f"denied: token {TOKEN} and c2VjcmV0 were refused")

    monkeypatch.setattr(_ghcr_registry, "run_registry", failing)
    warned: list[str] = []
    from ansible_collections.fleet.ghcr.plugins.action import registry_auth_step  # the module the loader gives, by its collection name

    monkeypatch.setattr(registry_auth_step.display, "warning", warned.append)
    action = make_action("prove", host_vars(), Recorder())
    problem = action._check_on_controller(role_args(), TOKEN)
    assert problem is not None and "denied" in problem
    assert warned and TOKEN not in problem + " ".join(warned) and "c2VjcmV0" not in problem


# ---------------------------------------------------------------------- the login piped to the target's Python


def piped_vars(home: Path, **changes: Any) -> dict[str, Any]:
    users = [{"name": getpass.getuser(), "docker_config_path": str(home / "docker.json"), "podman_auth_path": str(home / "auth.json")}]
    changes.setdefault("users", users)
    return host_vars(proven=proven_for(**changes), **changes)


def test_with_pipelining_possible_each_user_is_one_command_that_holds_no_secret(tmp_path: Path) -> None:
    variables = piped_vars(tmp_path)
    recorder = Recorder()
    result = make_action("write", variables, recorder, connection=PipingConnection()).run(task_vars=variables)
    assert recorder.modules == [] and recorder.configured == ["ansible.builtin.ping"], "configured for its interpreter only"
    assert [command for command, _sudoable in recorder.commands] == ["LANG=C.UTF-8 /usr/bin/python3"]
    assert TOKEN.encode() not in recorder.commands[0][0].encode() and len(recorder.programs) == 1
    assert result["changed"] is True and result["results"][0]["auth_files"][0]["action"] == "created"
    assert json.loads((tmp_path / "docker.json").read_text())["auths"]
    assert TOKEN not in repr(result)


def test_a_piped_rerun_changes_nothing_and_check_mode_writes_nothing(tmp_path: Path) -> None:
    variables = piped_vars(tmp_path)
    action = make_action("write", variables, Recorder(), connection=PipingConnection())
    action._task.check_mode = True
    assert action.run(task_vars=variables)["changed"] is True and list(tmp_path.iterdir()) == []
    make_action("write", variables, Recorder(), connection=PipingConnection()).run(task_vars=variables)
    again = make_action("write", variables, Recorder(), connection=PipingConnection()).run(task_vars=variables)
    assert again["changed"] is False


def test_under_become_the_login_is_piped_only_where_pipelining_is_enabled(tmp_path: Path) -> None:
    variables = piped_vars(tmp_path)
    recorder = Recorder()
    make_action("write", variables, recorder, become=True, connection=PipingConnection()).run(task_vars=variables)
    assert [name for name, _args in recorder.modules] == ["fleet.ghcr.ghcr_login"] and recorder.programs == []
    enabled = PipingConnection()
    enabled.pipelining = True
    recorder = Recorder()
    make_action("write", variables, recorder, become=True, connection=enabled).run(task_vars=variables)
    assert recorder.modules == [] and len(recorder.programs) == 1
    assert recorder.commands[-1][1] is True, "the login itself runs with become"


def test_keep_remote_files_and_verify_run_the_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    variables = piped_vars(tmp_path)
    recorder = Recorder()
    monkeypatch.setattr(C, "DEFAULT_KEEP_REMOTE_FILES", True)
    make_action("write", variables, recorder, connection=PipingConnection()).run(task_vars=variables)
    assert [name for name, _args in recorder.modules] == ["fleet.ghcr.ghcr_login"]
    monkeypatch.undo()
    recorder = Recorder()
    action = make_action("write", variables, recorder, connection=PipingConnection())
    action._task.module_defaults = [{"fleet.ghcr.ghcr_login": {"verify": True}}]
    action.run(task_vars=variables)
    assert [name for name, _args in recorder.modules] == ["fleet.ghcr.ghcr_login"] and recorder.programs == []


def test_a_program_that_cannot_run_is_reported_with_its_output_masked(tmp_path: Path) -> None:
    variables = piped_vars(tmp_path)
    recorder = Recorder()

    def broken(cmd: str, sudoable: bool = True, in_data: bytes | None = None, **_kwargs: Any) -> dict[str, Any]:
        return {"rc": 127, "stdout": "", "stderr": f"/usr/bin/python3: not found (after {TOKEN})"}

    action = make_action("write", variables, recorder, connection=PipingConnection())
    action._low_level_execute_command = broken
    result = action.run(task_vars=variables)
    assert result["failed"] is True and "'/usr/bin/python3' was not found" in result["msg"]
    assert "not found" in result["results"][0]["module_stderr"] and TOKEN not in repr(result)


def test_a_discovered_interpreter_is_returned_as_a_fact(tmp_path: Path) -> None:
    variables = piped_vars(tmp_path)
    action = make_action("write", variables, Recorder(), connection=PipingConnection())
    action._discovered_interpreter_key, action._discovered_interpreter = "discovered_interpreter_python", "/usr/bin/python3"
    result = action.run(task_vars=variables)
    assert result["ansible_facts"] == {"discovered_interpreter_python": "/usr/bin/python3"}


def test_a_connection_that_asks_for_a_terminal_or_pipelining_turned_off_runs_the_module(tmp_path: Path) -> None:
    variables = piped_vars(tmp_path)
    for setting in ("tty", "explicitly off"):
        connection = PipingConnection()
        if setting == "tty":
            connection.tty = True  # a terminal would echo the program, token included
        else:
            connection.pipelining_origin = "/etc/ansible/ansible.cfg"
        recorder = Recorder()
        make_action("write", variables, recorder, connection=connection).run(task_vars=variables)
        assert [name for name, _args in recorder.modules] == ["fleet.ghcr.ghcr_login"] and recorder.programs == [], setting


def test_what_the_target_prints_cannot_add_hosts_or_notify_handlers(tmp_path: Path) -> None:
    variables = piped_vars(tmp_path)
    recorder = Recorder()
    hostile = {
        "changed": False,
        "add_host": {"host_name": "injected", "groups": ["pwned"]},
        "add_group": "pwned",
        "_ansible_notify": ["restart everything"],
        "ansible_facts": {"discovered_interpreter_python": "/tmp/evil", "planted": 1},
    }

    def target(cmd: str, sudoable: bool = True, in_data: bytes | None = None, **_kwargs: Any) -> dict[str, Any]:
        return {"rc": 0, "stdout": json.dumps(hostile) + "\n", "stderr": ""}

    action = make_action("write", variables, recorder, connection=PipingConnection())
    action._low_level_execute_command = target
    item = action.run(task_vars=variables)["results"][0]
    assert not {"add_host", "add_group", "_ansible_notify", "ansible_facts"} & set(item), item


def test_a_terminal_that_echoes_the_program_returns_no_secret_in_any_form(tmp_path: Path) -> None:
    variables = piped_vars(tmp_path)
    recorder = Recorder()

    def echoing(cmd: str, sudoable: bool = True, in_data: bytes | None = None, **_kwargs: Any) -> dict[str, Any]:
        return {"rc": 1, "stdout": in_data.decode() + "\nSyntaxError: invalid syntax\n", "stderr": ""}

    action = make_action("write", variables, recorder, connection=PipingConnection())
    action._low_level_execute_command = echoing
    result = action.run(task_vars=variables)
    assert result["failed"] is True and "SyntaxError" in result["results"][0]["module_stdout"]
    assert_no_secret(repr(result), "octocat", TOKEN)


def test_an_option_given_under_two_names_warns_as_the_module_would(tmp_path: Path) -> None:
    variables = piped_vars(tmp_path)
    action = make_action("write", variables, Recorder(), connection=PipingConnection())
    action._task.module_defaults = [{"fleet.ghcr.ghcr_login": {"token": TOKEN}}]
    result = action.run(task_vars=variables)
    assert "Both option password and its alias token are set." in result["warnings"]
