# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet.ghcr.ghcr_login through ansible-playbook, with what it writes read by real clients against a real registry."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.support.ansible import assert_no_secret, login_task, run_tasks
from tests.support.authfiles import encode_auth
from tests.support.clients import docker_manifest_inspect, podman_get_login, podman_pull, skopeo_inspect
from tests.support.registry import random_token

SEED_REF = "fleet/hello:1.0"


def paths(home: Path) -> dict[str, str]:
    return {"docker_config_path": str(home / ".docker" / "config.json"), "podman_auth_path": str(home / ".config" / "containers" / "auth.json")}


def login(server, home: Path, user: str = "octocat", secret: str = "{{ pat }}", check_mode: bool = False, **extra: object) -> dict:
    args = {"registry": extra.pop("registry", server.host), "username": user, "password": secret, **paths(home), **extra}
    return {**login_task(**args), "check_mode": check_mode}


def snapshot(path: Path) -> tuple[bytes, int, int]:
    info = path.stat()
    return path.read_bytes(), info.st_mtime_ns, stat.S_IMODE(info.st_mode)


def test_login_check_real_idempotent_then_real_clients_pull(tmp_path: Path, registry, podman_env) -> None:
    home = tmp_path / "home"
    token = registry.users["octocat"]
    run = run_tasks(
        tmp_path / "run",
        [login(registry, home, check_mode=True), login(registry, home), login(registry, home), login(registry, home, check_mode=True)],
        secrets={"pat": token},
        options=["--diff"],
    )
    check, real, again, again_check = run.results
    assert check["changed"] and {f["action"] for f in check["auth_files"]} == {"created"}
    assert real["changed"] and [f["action"] for f in real["auth_files"]] == ["created", "created"]
    assert not again["changed"] and not again_check["changed"]
    docker_file, podman_file = Path(paths(home)["docker_config_path"]), Path(paths(home)["podman_auth_path"])
    for path in (docker_file, podman_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert json.loads(path.read_text()) == {"auths": {registry.host: {"auth": encode_auth("octocat", token)}}}
    assert_no_secret(run.output + run.log + json.dumps(run.results), "octocat", token)

    ref = f"{registry.host}/{SEED_REF}"
    for authfile in (docker_file, podman_file):
        inspected = skopeo_inspect(authfile, ref, registry.cert_dir)
        assert inspected.returncode == 0, inspected.stderr
        assert json.loads(inspected.stdout)["Digest"] == registry.seeded[SEED_REF]
    got = podman_get_login(podman_file, registry.host, podman_env)
    assert got.stdout.strip() == "octocat", got.stderr
    pulled = podman_pull(podman_file, ref, registry.cert_dir, podman_env)
    assert pulled.returncode == 0, pulled.stderr
    manifest = docker_manifest_inspect(docker_file.parent, ref)
    assert manifest.returncode == 0, manifest.stderr


def test_rerun_leaves_bytes_and_mtime_alone(tmp_path: Path, registry) -> None:
    home = tmp_path / "home"
    run_tasks(tmp_path / "first", [login(registry, home)], secrets={"pat": registry.users["octocat"]})
    files = [Path(p) for p in paths(home).values()]
    before = [snapshot(path) for path in files]
    second = run_tasks(tmp_path / "second", [login(registry, home)], secrets={"pat": registry.users["octocat"]})
    assert not second.result["changed"]
    assert [f["action"] for f in second.result["auth_files"]] == ["unchanged", "unchanged"]
    assert [snapshot(path) for path in files] == before


def test_rotation_replaces_a_bad_token_and_shows_only_fingerprints(tmp_path: Path, registry) -> None:
    home = tmp_path / "home"
    old, new = random_token(), registry.users["octocat"]
    run = run_tasks(
        tmp_path / "run",
        [login(registry, home, secret="{{ old }}"), login(registry, home, secret="{{ new }}", backup=True)],
        secrets={"old": old, "new": new},
        options=["--diff"],
    )
    first, rotated = run.results
    assert first["changed"] and rotated["changed"]
    assert [f["action"] for f in rotated["auth_files"]] == ["updated", "updated"]
    before, after = rotated["diff"][0]["before"], rotated["diff"][0]["after"]
    assert before != after and "sha256:" in before and "sha256:" in after
    assert len(rotated["backup_files"]) == 2
    for backup in map(Path, rotated["backup_files"]):
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        assert json.loads(backup.read_text())["auths"][registry.host]["auth"] == encode_auth("octocat", old)
    for secret in (old, new):
        assert_no_secret(run.output + run.log + json.dumps(run.results), "octocat", secret)
    docker_file = Path(paths(home)["docker_config_path"])
    assert skopeo_inspect(docker_file, f"{registry.host}/{SEED_REF}", registry.cert_dir).returncode == 0


def test_a_rejected_token_is_what_real_clients_see_before_rotation(tmp_path: Path, registry) -> None:
    home = tmp_path / "home"
    run_tasks(tmp_path / "run", [login(registry, home, secret="{{ old }}")], secrets={"old": random_token()})
    inspected = skopeo_inspect(paths(home)["podman_auth_path"], f"{registry.host}/{SEED_REF}", registry.cert_dir)
    assert inspected.returncode != 0 and "unauthorized" in inspected.stderr


def test_absent_removes_every_spelling_and_keeps_the_rest(tmp_path: Path, registry, podman_env) -> None:
    home = tmp_path / "home"
    docker_file, podman_file = Path(paths(home)["docker_config_path"]), Path(paths(home)["podman_auth_path"])
    token = registry.users["octocat"]
    for path in (docker_file, podman_file):
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({
            "auths": {
                registry.host: {"auth": encode_auth("octocat", token)},
                f"https://{registry.host}": {"auth": encode_auth("octocat", token)},
                "quay.io": {"auth": encode_auth("q", "keep")},
            },
            "psFormat": "table {{.ID}}",
        }))
        path.chmod(0o600)
    run = run_tasks(tmp_path / "run", [login_task(registry=registry.host, state="absent", **paths(home))] * 2, options=["--diff"])
    removed, again = run.results
    assert [f["action"] for f in removed["auth_files"]] == ["removed", "removed"]
    assert not again["changed"]
    for path in (docker_file, podman_file):
        assert json.loads(path.read_text()) == {"auths": {"quay.io": {"auth": encode_auth("q", "keep")}}, "psFormat": "table {{.ID}}"}
    got = podman_get_login(podman_file, registry.host, podman_env)
    assert got.returncode != 0 and "not logged into" in got.stderr
    assert_no_secret(run.output + run.log, "octocat", token)


def test_unknown_keys_entries_and_style_are_preserved(tmp_path: Path, registry) -> None:
    home = tmp_path / "home"
    docker_file = Path(paths(home)["docker_config_path"])
    docker_file.parent.mkdir(parents=True)
    original = {
        "auths": {"quay.io": {"auth": encode_auth("q", "p"), "email": "q@example.com"}, "registry.example:5000": {}},
        "HttpHeaders": {"User-Agent-Suffix": "fleet"},
        "credHelpers": {"123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"},
        "proxies": {"default": {"httpsProxy": "http://proxy:3128"}},
        "someFutureKey": [1, 2, {"x": None}],
    }
    docker_file.write_text(json.dumps(original, indent=4) + "\n")
    run = run_tasks(tmp_path / "run", [login(registry, home, engines=["docker"])], secrets={"pat": registry.users["octocat"]})
    assert run.result["changed"]
    written = docker_file.read_text()
    assert written.startswith('{\n    "auths"') and written.endswith("}\n"), "indentation and trailing newline are kept"
    doc = json.loads(written)
    assert doc["auths"].pop(registry.host) == {"auth": encode_auth("octocat", registry.users["octocat"])}
    assert doc == original
    assert list(json.loads(written)["auths"]) == ["quay.io", "registry.example:5000", registry.host]


@pytest.mark.parametrize("content", [b"", b'{"auths": {"ghcr.io": {"auth": "x"}', b"[1, 2]"], ids=["empty", "truncated", "not-an-object"])
def test_unparsable_files_are_never_rewritten(tmp_path: Path, registry, content: bytes) -> None:
    home = tmp_path / "home"
    podman_file = Path(paths(home)["podman_auth_path"])
    podman_file.parent.mkdir(parents=True)
    podman_file.write_bytes(content)
    before = snapshot(podman_file)
    run = run_tasks(tmp_path / "run", [login(registry, home)], secrets={"pat": registry.users["octocat"]})
    assert run.result["failed"] and not run.result["changed"]
    assert str(podman_file) in run.result["msg"] and "left unchanged" in run.result["msg"]
    assert snapshot(podman_file) == before
    assert not Path(paths(home)["docker_config_path"]).exists(), "a bad file stops the task before any other file is written"


def test_group_readable_file_is_tightened_with_a_warning(tmp_path: Path, registry) -> None:
    home = tmp_path / "home"
    docker_file = Path(paths(home)["docker_config_path"])
    docker_file.parent.mkdir(parents=True)
    docker_file.write_text('{"auths": {}}')
    docker_file.chmod(0o644)
    run = run_tasks(tmp_path / "run", [login(registry, home, engines=["docker"])], secrets={"pat": registry.users["octocat"]})
    assert run.result["changed"]
    assert stat.S_IMODE(docker_file.stat().st_mode) == 0o600
    assert any("mode 0644" in warning for warning in run.result["warnings"])


def test_sixteen_parallel_writers_lose_nothing(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "config.json"
    task = login_task(
        registry="registry-{{ inventory_hostname | regex_replace('host', '') }}.example:5000",
        username="user-{{ inventory_hostname }}",
        password="{{ pat }}",
        engines=["docker"],
        docker_config_path=str(shared),
    )
    run = run_tasks(tmp_path / "run", [task], secrets={"pat": "ghp_parallel0000000000000000000000000000"}, hosts=16)
    assert all(result.get("changed") for result in run.result["hosts"]), run.output[-3000:]
    auths = json.loads(shared.read_text())["auths"]
    assert sorted(auths) == sorted(f"registry-{index}.example:5000" for index in range(16))
    for index in range(16):
        assert auths[f"registry-{index}.example:5000"] == {"auth": encode_auth(f"user-host{index}", "ghp_parallel0000000000000000000000000000")}
    assert not [p.name for p in shared.parent.iterdir() if p.name != "config.json"], "no temporary or lock file is left behind"


def test_namespaced_key_for_podman(tmp_path: Path, registry, podman_env) -> None:
    home = tmp_path / "home"
    run = run_tasks(
        tmp_path / "run",
        [login(registry, home, registry=f"{registry.host}/fleet", engines=["podman"])],
        secrets={"pat": registry.users["octocat"]},
    )
    assert run.result["registry"] == f"{registry.host}/fleet", run.result
    podman_file = Path(paths(home)["podman_auth_path"])
    assert list(json.loads(podman_file.read_text())["auths"]) == [f"{registry.host}/fleet"]
    pulled = podman_pull(podman_file, f"{registry.host}/{SEED_REF}", registry.cert_dir, podman_env)
    assert pulled.returncode == 0, pulled.stderr


def test_docker_config_json_merges_every_entry(tmp_path: Path, registry) -> None:
    home = tmp_path / "home"
    token = registry.users["octocat"]
    blob = json.dumps({"auths": {f"https://{registry.host}/": {"auth": encode_auth("octocat", token)}, "quay.io": {"auth": encode_auth("q", "p")}}})
    task = login_task(docker_config_json="{{ blob }}", **paths(home))
    run = run_tasks(tmp_path / "run", [task, task], secrets={"blob": blob})
    first, again = run.results
    assert first["changed"] and not again["changed"]
    assert first["registries"] == [registry.host, "quay.io"] and first["registry"] is None
    docker_file = Path(paths(home)["docker_config_path"])
    assert sorted(json.loads(docker_file.read_text())["auths"]) == sorted([registry.host, "quay.io"])
    assert skopeo_inspect(docker_file, f"{registry.host}/{SEED_REF}", registry.cert_dir).returncode == 0
    assert_no_secret(run.output + run.log + json.dumps(run.results), "octocat", token)
