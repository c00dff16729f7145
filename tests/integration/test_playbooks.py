# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shipped playbooks (login, rotate, logout, verify) as operators run them, on a local fleet against the GHCR-like stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ansible import REPO_ROOT, assert_no_secret, run_playbook, vault_encrypt_string
from tests.support.authfiles import encode_auth

PLAYBOOKS = REPO_ROOT / "playbooks"
HELLO = "fleet/hello:1.0"


@pytest.fixture(autouse=True)
def clean_stack(ghcr) -> Iterator[None]:
    ghcr.reset()
    yield
    ghcr.reset()


@pytest.fixture
def fleet(tmp_path: Path, ghcr) -> dict:
    """An inventory of two local hosts with ghcr_username and a vault-encrypted ghcr_pat."""
    inventory = tmp_path / "inventory"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    password = tmp_path / "vault-pass.txt"
    password.write_text("playbook-test-vault\n")
    (inventory / "hosts.yml").write_text(json.dumps({"all": {"hosts": {"alpha": {}, "beta": {}}}}))
    settings = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_become": False,
        "ghcr_username": "octocat",
        "registry_auth_registry": ghcr.host,
        "registry_auth_ca_path": str(ghcr.ca_file),
        "registry_auth_verify_images": [HELLO],
        "registry_auth_users": [{
            "name": "root",
            "docker_config_path": f"{tmp_path}/homes/{{{{ inventory_hostname }}}}/docker/config.json",
            "podman_auth_path": f"{tmp_path}/homes/{{{{ inventory_hostname }}}}/containers/auth.json",
        }],
    }
    (inventory / "group_vars" / "all" / "main.yml").write_text(json.dumps(settings))
    return {"inventory": inventory, "password": password, "root": tmp_path}


def set_token(fleet: dict, token: str) -> None:
    (fleet["inventory"] / "group_vars" / "all" / "vault.yml").write_text(vault_encrypt_string("ghcr_pat", token, fleet["password"]))


def play(fleet: dict, name: str, *options: str, vault: bool = True):
    options = (*(("--vault-password-file", str(fleet["password"])) if vault else ()), *options)
    return run_playbook(fleet["root"] / f"run-{name}", PLAYBOOKS / name, fleet["inventory"], options=list(options))


def test_login_rotate_verify_logout(fleet: dict, ghcr) -> None:
    good, new = ghcr.tokens["good"], ghcr.tokens["push"]
    set_token(fleet, good)
    returncode, output, log = play(fleet, "login.yml")
    assert returncode == 0, output[-3000:]
    docker_file = fleet["root"] / "homes" / "alpha" / "docker" / "config.json"
    assert json.loads(docker_file.read_text())["auths"][ghcr.host] == {"auth": encode_auth("octocat", good)}

    set_token(fleet, new)
    ghcr.reset_counters()
    returncode, output, log = play(fleet, "rotate.yml", "-vvvv")
    assert returncode == 0, output[-3000:]
    assert json.loads(docker_file.read_text())["auths"][ghcr.host] == {"auth": encode_auth("octocat", new)}
    assert "Fail a host whose files do not hold the new credential" in output
    assert ghcr.counters["token"] == 1 + 2, "one check of the new token, then one proof from each sample host (both hosts here)"
    for token in (good, new):
        assert_no_secret(output + log, "octocat", token)

    report = fleet["root"] / "audit.json"
    ghcr.reset_counters()
    returncode, output, log = play(fleet, "verify.yml", "-e", f"registry_audit_report={report}", "-vvv")
    assert returncode == 0, output[-3000:]
    rows = json.loads(report.read_text())
    assert len(rows) == 4 and all(row["works"] for row in rows)
    assert all(row["current"] is True for row in rows), "every file holds the credential now in inventory"
    assert len({row["proven_by"] for row in rows}) == 1, "one distinct credential, proven from one host"
    assert "4 credential(s) on 2 host(s): 4 work, 0 fail" in output
    assert ghcr.counters["token"] == 2, "one proof of the credential the files hold, one question about the inventory credential"
    assert ghcr.counters["api"] == 0, "the GitHub API is asked only for ghcr.io (or inspect_token=always)"
    assert_no_secret(output + log, "octocat", new)

    returncode, output, _log = play(fleet, "logout.yml")
    assert returncode == 0, output[-3000:]
    assert json.loads(docker_file.read_text())["auths"] == {}


def test_verify_reports_failures_and_problems_without_failing(fleet: dict, ghcr) -> None:
    """alpha: a revoked token in a group-readable file; beta: an unparsable Podman file. The audit runs to the end."""
    homes = fleet["root"] / "homes"
    alpha = homes / "alpha" / "docker" / "config.json"
    alpha.parent.mkdir(parents=True)
    alpha.write_text(json.dumps({"auths": {ghcr.host: {"auth": encode_auth("octocat", ghcr.tokens["revoked"])}}}))
    alpha.chmod(0o644)
    beta = homes / "beta" / "containers" / "auth.json"
    beta.parent.mkdir(parents=True)
    beta.write_text('{"auths": ')
    report = fleet["root"] / "audit.json"
    returncode, output, log = play(fleet, "verify.yml", "-e", f"registry_audit_report={report}")
    assert returncode == 0, output[-3000:]
    rows = {(row["host"], row["engine"]): row for row in json.loads(report.read_text())}
    revoked = rows[("alpha", "docker")]
    assert revoked["works"] is False and revoked["error"]["code"] == "unauthorized"
    assert any("mode 0644" in problem for problem in revoked["problems"])
    assert any("not valid JSON" in problem for problem in rows[("beta", "podman")]["problems"])
    assert "1 credential(s) on 2 host(s): 0 work, 1 fail; 2 file(s) with problems" in output
    assert "unauthorized: unauthenticated: User cannot be authenticated with the token provided." in output
    assert_no_secret(output + log + report.read_text(), "octocat", ghcr.tokens["revoked"])
    assert alpha.stat().st_mode & 0o777 == 0o644, "the audit changes nothing"


def test_rotate_in_check_mode_changes_nothing(fleet: dict, ghcr) -> None:
    """--check neither fails on files it did not write nor proves the old ones: only the new token is checked."""
    good, new = ghcr.tokens["good"], ghcr.tokens["push"]
    set_token(fleet, good)
    returncode, output, _log = play(fleet, "rotate.yml", "--check")
    assert returncode == 0, output[-3000:]
    assert not (fleet["root"] / "homes").exists()

    assert play(fleet, "login.yml")[0] == 0
    docker_file = fleet["root"] / "homes" / "alpha" / "docker" / "config.json"
    before = docker_file.read_text()
    set_token(fleet, new)
    ghcr.reset_counters()
    returncode, output, log = play(fleet, "rotate.yml", "--check", "--diff")
    assert returncode == 0, output[-3000:]
    assert docker_file.read_text() == before
    assert ghcr.counters["token"] == 1, "the new token is checked once; the files still hold the old one and are not proven"
    assert_no_secret(output + log, "octocat", new)


def test_logout_needs_no_vault_password(fleet: dict, ghcr) -> None:
    """ghcr_pat is an inline !vault value; logout.yml runs without any vault secret and removes the entries."""
    set_token(fleet, ghcr.tokens["good"])
    assert play(fleet, "login.yml")[0] == 0
    ghcr.reset_counters()
    returncode, output, _log = play(fleet, "logout.yml", vault=False)
    assert returncode == 0, output[-3000:]
    for host in ("alpha", "beta"):
        assert json.loads((fleet["root"] / "homes" / host / "docker" / "config.json").read_text())["auths"] == {}
        assert json.loads((fleet["root"] / "homes" / host / "containers" / "auth.json").read_text())["auths"] == {}
    assert ghcr.counters == {"registry": 0, "token": 0, "api": 0}


def test_verify_gates_a_pipeline_and_lists_every_host(fleet: dict, ghcr) -> None:
    """fail_on makes the exit code the verdict; an unreachable host is in the report with its reason; stale files show."""
    good, old = ghcr.tokens["good"], ghcr.tokens["push"]
    set_token(fleet, good)
    assert play(fleet, "login.yml")[0] == 0
    hosts = json.loads((fleet["inventory"] / "hosts.yml").read_text())
    hosts["all"]["hosts"]["gamma"] = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_user": "nobody"}
    (fleet["inventory"] / "hosts.yml").write_text(json.dumps(hosts))
    report = fleet["root"] / "audit.json"

    returncode, output, _log = play(fleet, "verify.yml", "-e", f"registry_audit_report={report}")
    assert returncode == 0, output[-3000:]
    rows = json.loads(report.read_text())
    gamma = [row for row in rows if row["host"] == "gamma"]
    assert len(gamma) == 1 and gamma[0]["status"] == "unreachable" and gamma[0]["error"]["code"] == "unreachable", gamma
    assert "All items completed" not in gamma[0]["error"]["message"], "the connection error itself is the reason"

    returncode, output, _log = play(fleet, "verify.yml", "-e", f"registry_audit_report={report}", "-e", '{"registry_audit_fail_on": ["failing"]}')
    assert returncode != 0 and "The audit found failing" in output, output[-3000:]
    assert json.loads(report.read_text()), "the report is written before the play fails"

    hosts["all"]["hosts"].pop("gamma")
    (fleet["inventory"] / "hosts.yml").write_text(json.dumps(hosts))
    set_token(fleet, old)  # inventory moves on; the files still hold the previous token
    ghcr.reset_counters()
    returncode, output, _log = play(fleet, "verify.yml", "-e", f"registry_audit_report={report}", "-e", '{"registry_audit_fail_on": ["stale"]}')
    assert returncode != 0 and "The audit found stale" in output, output[-3000:]
    assert all(row["current"] is False for row in json.loads(report.read_text()))
    assert ghcr.counters["token"] == 2, "requests do not grow with hosts or files"
    returncode, output, _log = play(fleet, "verify.yml", "-e", f"registry_audit_report={report}", "-e", '{"registry_audit_fail_on": ["missing", "problems"]}')
    assert returncode == 0, output[-3000:]
    assert_no_secret(output, "octocat", good)
    assert_no_secret(output, "octocat", old)


def test_verify_fails_on_missing_and_problems(fleet: dict, ghcr) -> None:
    homes = fleet["root"] / "homes"
    alpha = homes / "alpha" / "docker" / "config.json"
    alpha.parent.mkdir(parents=True)
    alpha.write_text(json.dumps({"auths": {ghcr.host: {"auth": encode_auth("octocat", ghcr.tokens["good"])}}}))
    alpha.chmod(0o644)
    set_token(fleet, ghcr.tokens["good"])
    report = fleet["root"] / "audit.json"
    for condition, expected in (("missing", "missing"), ("problems", "problems")):
        returncode, output, _log = play(fleet, "verify.yml", "-e", f"registry_audit_report={report}", "-e", json.dumps({"registry_audit_fail_on": [condition]}))
        assert returncode != 0 and f"The audit found {expected}" in output, output[-3000:]


def test_verify_fails_on_an_expiring_inventory_credential(fleet: dict, ghcr) -> None:
    set_token(fleet, ghcr.tokens["soon"])
    assert play(fleet, "login.yml")[0] == 0
    settings_path = fleet["inventory"] / "group_vars" / "all" / "main.yml"
    settings = json.loads(settings_path.read_text())
    settings.update(registry_auth_inspect_token="always", registry_auth_github_api_url=ghcr.github_api_url)
    settings_path.write_text(json.dumps(settings))
    report = fleet["root"] / "audit.json"
    ghcr.reset_counters()
    returncode, output, _log = play(fleet, "verify.yml", "-e", f"registry_audit_report={report}", "-e", '{"registry_audit_fail_on": ["expiring"]}')
    assert returncode != 0 and "The audit found expiring" in output, output[-3000:]
    assert ghcr.counters["api"] == 1, "one GitHub API request for the one inventory credential"
    assert all(row["expires_at"] for row in json.loads(report.read_text()))


def big_fleet(fleet: dict, hosts: int) -> list[str]:
    names = [f"host{index}" for index in range(hosts)]
    (fleet["inventory"] / "hosts.yml").write_text(json.dumps({"all": {"hosts": {name: {} for name in names}}}))
    return names


def test_rotation_stays_within_a_token_budget_whatever_the_fleet_size(fleet: dict, ghcr) -> None:
    hosts = big_fleet(fleet, 6)
    set_token(fleet, ghcr.tokens["good"])
    assert play(fleet, "login.yml")[0] == 0
    set_token(fleet, ghcr.tokens["push"])
    ghcr.reset_counters()
    returncode, output, _log = play(fleet, "rotate.yml", "-e", "registry_auth_rotate_sample=2")
    assert returncode == 0, output[-3000:]
    assert ghcr.counters["token"] == 1 + 2, "one check of the new token, one proof from each of the two sample hosts"
    for host in hosts:
        docker_file = fleet["root"] / "homes" / host / "docker" / "config.json"
        assert json.loads(docker_file.read_text())["auths"][ghcr.host] == {"auth": encode_auth("octocat", ghcr.tokens["push"])}
        backups = list(docker_file.parent.glob("config.json.*.ghcr~"))
        assert len(backups) == 1 and encode_auth("octocat", ghcr.tokens["good"]) in backups[0].read_text(), "backups on by default"


def test_a_failed_proof_puts_the_previous_credential_back(fleet: dict, ghcr) -> None:
    hosts = big_fleet(fleet, 4)
    set_token(fleet, ghcr.tokens["good"])
    assert play(fleet, "login.yml")[0] == 0
    new = ghcr.tokens["push"]
    (fleet["inventory"] / "group_vars" / "all" / "vault.yml").write_text(
        vault_encrypt_string("ghcr_pat", new, fleet["password"]) + vault_encrypt_string("registry_auth_previous_pat", ghcr.tokens["good"], fleet["password"])
    )
    returncode, output, log = play(fleet, "rotate.yml", "-e", "registry_auth_rotate_sample=2", "-e", '{"registry_auth_rotate_images": ["fleet/missing:1.0"]}')
    assert returncode != 0 and "The previous credential was put back" in output, output[-3000:]
    for index, host in enumerate(hosts):
        entry = json.loads((fleet["root"] / "homes" / host / "docker" / "config.json").read_text())["auths"][ghcr.host]
        expected = ghcr.tokens["good"] if index < 2 else new  # the two sample hosts failed their proof and were restored
        assert entry == {"auth": encode_auth("octocat", expected)}, host
    assert_no_secret(output + log, "octocat", new)
    assert_no_secret(output + log, "octocat", ghcr.tokens["good"])


def test_rollout_in_batches_and_by_tags(fleet: dict, ghcr) -> None:
    hosts = big_fleet(fleet, 4)
    set_token(fleet, ghcr.tokens["good"])
    returncode, output, _log = play(fleet, "login.yml", "--tags", "registry_auth_check")
    assert returncode == 0 and ghcr.counters["token"] == 1, output[-3000:]
    assert not (fleet["root"] / "homes").exists(), "--tags registry_auth_check proves without writing"

    returncode, output, _log = play(fleet, "login.yml", "--tags", "registry_auth_write")
    assert returncode != 0 and "was not proven in this run" in output, output[-3000:]
    assert not (fleet["root"] / "homes").exists()

    ghcr.reset_counters()
    returncode, output, _log = play(fleet, "login.yml", "-e", "registry_auth_serial=1", "-e", "registry_auth_max_fail_percentage=0")
    assert returncode == 0, output[-3000:]
    assert output.count("PLAY [Log hosts in to the container registry]") == 4, "one batch per host"
    assert ghcr.counters["token"] == 1, "later batches reuse the proof of the first"
    for host in hosts:
        assert (fleet["root"] / "homes" / host / "docker" / "config.json").exists()


def test_node_consumers_logged_in_verified_and_logged_out(fleet: dict, ghcr) -> None:
    """registry_auth_node_consumers through the playbooks, on hosts without systemd (the handler restarts nothing)."""
    good = ghcr.tokens["good"]
    set_token(fleet, good)
    node = f"{fleet['root']}/nodes/{{{{ inventory_hostname }}}}"
    group_vars = fleet["inventory"] / "group_vars" / "all" / "main.yml"
    settings = json.loads(group_vars.read_text())
    settings.update(
        registry_auth_node_consumers=["kubelet", "k3s"],
        registry_auth_node_paths={"kubelet_config_path": f"{node}/kubelet/config.json", "k3s_registries_path": f"{node}/k3s/registries.yaml"},
    )
    group_vars.write_text(json.dumps(settings))
    returncode, output, log = play(fleet, "login.yml")
    assert returncode == 0, output[-3000:]
    assert "RUNNING HANDLER [fleet.ghcr.registry_auth : Find which services of the changed node consumers run]" in output
    k3s_file = fleet["root"] / "nodes" / "alpha" / "k3s" / "registries.yaml"
    assert f"password: \"{good}\"" in k3s_file.read_text()

    report = fleet["root"] / "audit.json"
    returncode, output, log = play(fleet, "verify.yml", "-e", f"registry_audit_report={report}")
    assert returncode == 0, output[-3000:]
    node_rows = [row for row in json.loads(report.read_text()) if row["kind"] == "node"]
    assert sorted((row["host"], row["user"], row["engine"]) for row in node_rows) == [
        ("alpha", "node:k3s", "k3s"), ("alpha", "node:kubelet", "kubelet"), ("beta", "node:k3s", "k3s"), ("beta", "node:kubelet", "kubelet"),
    ]
    assert all(row["current"] is True and row["registry"] == ghcr.host and row["username"] == "octocat" for row in node_rows)
    assert_no_secret(output + log, "octocat", good)

    returncode, output, _log = play(fleet, "logout.yml")
    assert returncode == 0, output[-3000:]
    assert k3s_file.read_text() == "{}\n"
    assert json.loads((fleet["root"] / "nodes" / "beta" / "kubelet" / "config.json").read_text())["auths"] == {}
