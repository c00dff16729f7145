# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ghcr_login with Docker credential helpers: a real docker-credential-pass, the real Docker CLI reading it back."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.support.ansible import assert_no_secret, login_task, run_tasks
from tests.support.authfiles import encode_auth
from tests.support.clients import docker_manifest_inspect

SEED_REF = "fleet/hello:1.0"


def docker_login(registry, config: Path, **extra: object) -> dict:
    args = {"registry": registry.host, "username": "octocat", "password": "{{ pat }}", "engines": ["docker"], "docker_config_path": str(config), **extra}
    return login_task(**args)


def write_config(config: Path, doc: dict) -> None:
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(doc, indent="\t"))
    config.chmod(0o600)


def test_creds_store_pass_round_trip_read_by_the_docker_cli(tmp_path: Path, registry, pass_store) -> None:
    config = tmp_path / "docker" / "config.json"
    token = registry.users["octocat"]
    write_config(config, {"auths": {registry.host: {"auth": encode_auth("octocat", "ghp_stale")}}, "credsStore": "pass"})
    env = pass_store.env
    run = run_tasks(
        tmp_path / "login",
        [docker_login(registry, config), docker_login(registry, config), docker_login(registry, config, state="absent")],
        secrets={"pat": token},
        env=env,
        options=["--diff", "-vvvv"],
    )
    stored, again, removed = run.results
    assert stored["changed"] and stored["auth_files"] == [{"path": str(config), "engine": "docker", "action": "updated", "via": "helper", "helper": "pass"}]
    assert not again["changed"], "the helper already holds the same credential"
    assert removed["changed"] and removed["auth_files"][0]["action"] == "removed"
    assert_no_secret(run.output + run.log + json.dumps(run.results), "octocat", token)
    assert_no_secret(run.output, "octocat", "ghp_stale")

    got = pass_store.helper_get(registry.host)
    assert got.returncode != 0 or json.loads(got.stdout)["Secret"] == "", "absent erased the helper's copy"
    assert json.loads(config.read_text()) == {"auths": {}, "credsStore": "pass"}


def test_the_docker_cli_pulls_with_what_the_helper_holds(tmp_path: Path, registry, pass_store) -> None:
    config = tmp_path / "docker" / "config.json"
    token = registry.users["octocat"]
    write_config(config, {"credsStore": "pass"})
    run = run_tasks(tmp_path / "login", [docker_login(registry, config)], secrets={"pat": token}, env=pass_store.env)
    assert run.result["changed"], run.result
    doc = json.loads(config.read_text())
    assert doc == {"credsStore": "pass", "auths": {registry.host: {}}}, "only the Docker CLI's empty placeholder is in the file"
    got = json.loads(pass_store.helper_get(registry.host).stdout)
    assert (got["Username"], got["Secret"]) == ("octocat", token)
    manifest = docker_manifest_inspect(config.parent, f"{registry.host}/{SEED_REF}", env=pass_store.full_env())
    assert manifest.returncode == 0, manifest.stderr


def test_cred_helpers_entry_wins_over_creds_store(tmp_path: Path, registry, pass_store) -> None:
    config = tmp_path / "docker" / "config.json"
    write_config(config, {"credsStore": "missing-store", "credHelpers": {registry.host: "pass"}})
    run = run_tasks(tmp_path / "login", [docker_login(registry, config)], secrets={"pat": registry.users["octocat"]}, env=pass_store.env)
    assert run.result["auth_files"][0]["helper"] == "pass", run.result


def test_a_missing_helper_binary_is_a_clear_error_and_nothing_changes(tmp_path: Path, registry) -> None:
    config = tmp_path / "docker" / "config.json"
    write_config(config, {"auths": {}, "credsStore": "nosuchstore"})
    before = config.read_bytes(), config.stat().st_mtime_ns
    run = run_tasks(tmp_path / "login", [docker_login(registry, config)], secrets={"pat": registry.users["octocat"]})
    assert run.result["failed"]
    assert "docker-credential-nosuchstore is not installed" in run.result["msg"] and "credential_helpers=false" in run.result["msg"]
    assert (config.read_bytes(), config.stat().st_mtime_ns) == before


def test_credential_helpers_false_writes_inline_and_warns(tmp_path: Path, registry) -> None:
    config = tmp_path / "docker" / "config.json"
    write_config(config, {"credsStore": "nosuchstore"})
    run = run_tasks(tmp_path / "login", [docker_login(registry, config, credential_helpers=False)], secrets={"pat": registry.users["octocat"]})
    assert run.result["changed"]
    assert any("will ignore the credential written into the file" in warning for warning in run.result["warnings"])
    assert json.loads(config.read_text())["auths"][registry.host] == {"auth": encode_auth("octocat", registry.users["octocat"])}


SPY = """#!/usr/bin/python3
import json, os, sys
data = sys.stdin.read()
with open(os.environ["SPY_LOG"], "a") as log:
    log.write(json.dumps({"argv": sys.argv, "stdin": data}) + "\\n")
if sys.argv[1] == "get":
    print("credentials not found in native keychain")
    sys.exit(1)
"""


def test_secrets_reach_the_helper_on_stdin_only(tmp_path: Path, registry) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    spy = bindir / "docker-credential-spy"
    spy.write_text(SPY)
    spy.chmod(0o755)
    spy_log = tmp_path / "spy.log"
    config = tmp_path / "docker" / "config.json"
    write_config(config, {"credsStore": "spy"})
    token = registry.users["octocat"]
    env = {"PATH": f"{bindir}:{os.environ['PATH']}", "SPY_LOG": str(spy_log)}
    run = run_tasks(tmp_path / "login", [docker_login(registry, config)], secrets={"pat": token}, env=env)
    assert run.result["changed"], run.result
    calls = [json.loads(line) for line in spy_log.read_text().splitlines()]
    assert [call["argv"][1:] for call in calls] == [["get"], ["store"]]
    assert calls[0]["stdin"] == registry.host, "get receives the bare server URL, no newline"
    assert json.loads(calls[1]["stdin"]) == {"ServerURL": registry.host, "Username": "octocat", "Secret": token}
    for call in calls:
        assert_no_secret(" ".join(call["argv"]), "octocat", token)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_a_missing_helper_in_the_second_file_stops_the_task_before_the_first_is_written(tmp_path: Path, registry) -> None:
    docker_config = tmp_path / "docker" / "config.json"
    podman_auth = tmp_path / "containers" / "auth.json"
    write_config(podman_auth, {"auths": {}, "credHelpers": {registry.host: "nosuchhelper"}})
    task = login_task(
        registry=registry.host, username="octocat", password="{{ pat }}", docker_config_path=str(docker_config), podman_auth_path=str(podman_auth)
    )
    run = run_tasks(tmp_path / "login", [task], secrets={"pat": registry.users["octocat"]})
    assert run.result["failed"] and "docker-credential-nosuchhelper is not installed" in run.result["msg"]
    assert not docker_config.exists(), "nothing was written before the problem was found"
