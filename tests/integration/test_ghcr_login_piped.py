# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ghcr_login piped to the target's Python (plugins/action/ghcr_login.py) against the module run as Ansible runs it.

Every other integration test of ghcr_login and the role runs the piped path too, since it is the default without
become; these tests pin down when each path is taken, that both give the same result and files, and that the piped
one leaves no trace of the token on any command line or in the remote temporary directory.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.ansible import CommandLineWatcher, assert_no_secret, login_task, run_tasks
from tests.support.clients import skopeo_inspect

SEED_REF = "fleet/hello:1.0"
MODULE_TRANSFER = "AnsiballZ_ghcr_login.py"


def login(server, home: Path, **extra: object) -> dict:
    args = {
        "registry": server.host,
        "username": "octocat",
        "password": "{{ pat }}",
        "docker_config_path": str(home / ".docker" / "config.json"),
        "podman_auth_path": str(home / ".config" / "containers" / "auth.json"),
        **extra,
    }
    return login_task(**args)


def remote_tmp_env(root: Path, **extra: str) -> dict[str, str]:
    return {"ANSIBLE_REMOTE_TMP": str(root / "remote-tmp"), **extra}


def leftovers(root: Path) -> list[Path]:
    return sorted(path for path in (root / "remote-tmp").rglob("*")) if (root / "remote-tmp").exists() else []


def comparable(result: dict) -> dict:
    return {key: value for key, value in result.items() if key not in {"invocation"}}


def test_without_become_the_login_is_one_command_and_the_token_is_never_on_a_command_line(tmp_path: Path, registry) -> None:
    token = registry.users["octocat"]
    home = tmp_path / "home"
    with CommandLineWatcher() as watcher:
        tasks = [login(registry, home), login(registry, home)]
        run = run_tasks(tmp_path / "run", tasks, secrets={"pat": token}, options=["-vvv"], env=remote_tmp_env(tmp_path))
    first, again = run.results
    assert first["changed"] is True and again["changed"] is False, run.output[-3000:]
    assert MODULE_TRANSFER not in run.output and "EXEC /bin/sh -c '/usr/bin/python3" in run.output
    assert '"password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in run.output, "the invocation shown at -vvv, as AnsibleModule's"
    assert any("ansible-playbook" in line for line in watcher.seen), "the watcher saw the run"
    assert_no_secret("\n".join(watcher.seen), "octocat", token)
    assert_no_secret(run.output + run.log + json.dumps(run.results), "octocat", token)
    assert [path for path in leftovers(tmp_path) if path.is_file()] == [], "nothing was written under the remote tmp"
    inspected = skopeo_inspect(home / ".config" / "containers" / "auth.json", f"{registry.host}/{SEED_REF}", registry.cert_dir)
    assert inspected.returncode == 0, inspected.stderr


def test_the_piped_login_and_the_module_give_the_same_result_and_files(tmp_path: Path, registry) -> None:
    token = registry.users["octocat"]
    results, files = [], []
    for name, env in (("piped", {}), ("module", {"ANSIBLE_KEEP_REMOTE_FILES": "1"})):
        home = tmp_path / name / "home"
        (home / ".docker").mkdir(parents=True)
        (home / ".docker" / "config.json").write_text(json.dumps({"auths": {"other.example": {"auth": "b3RoZXI6c2VjcmV0"}}, "psFormat": "table"}, indent=4))
        tasks = [{**login(registry, home), "check_mode": True}, login(registry, home), login(registry, home, state="absent")]
        run = run_tasks(tmp_path / name / "run", tasks, secrets={"pat": token}, options=["--diff", "-vvv"], env=remote_tmp_env(tmp_path / name, **env))
        assert (MODULE_TRANSFER in run.output) is (name == "module"), f"{name}: the expected path ran"
        results.append([comparable(result) for result in run.results])
        files.append((home / ".docker" / "config.json").read_bytes())
    piped, module = results
    assert json.dumps(piped).replace(str(tmp_path / "piped"), "ROOT") == json.dumps(module).replace(str(tmp_path / "module"), "ROOT")
    assert files[0] == files[1]


def test_under_become_the_module_runs_unless_pipelining_is_enabled(tmp_path: Path, registry) -> None:
    token = registry.users["octocat"]
    for pipelining, expect_module in (("False", True), ("True", False)):
        root = tmp_path / pipelining
        home = root / "home"
        task = {**login(registry, home), "become": True}
        run = run_tasks(root / "run", [task], secrets={"pat": token}, options=["-vvv"], env=remote_tmp_env(root, ANSIBLE_PIPELINING=pipelining))
        assert run.result["changed"] is True, run.output[-3000:]
        assert (MODULE_TRANSFER in run.output) is expect_module, f"pipelining={pipelining}"
        assert_no_secret(run.output + run.log, "octocat", token)


def test_verify_and_bad_input_are_the_modules(tmp_path: Path, registry) -> None:
    token = registry.users["octocat"]
    home = tmp_path / "home"
    tasks = [login(registry, home, verify=True, ca_path=str(registry.ca_file)), login(registry, home, state="sideways")]
    run = run_tasks(tmp_path / "run", tasks, secrets={"pat": token}, options=["-vvv"])
    verified, refused = run.results
    assert verified["changed"] is True and verified["verification"], run.output[-3000:]
    assert refused["failed"] is True and "state" in refused["msg"] and "sideways" in refused["msg"]
    assert run.output.count(MODULE_TRANSFER) >= 2
