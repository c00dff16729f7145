# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet.ghcr.ghcr_auth_info through ansible-playbook: what files hold, by each client's rules, and never a secret."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tests.support.ansible import assert_no_secret, run_tasks
from tests.support.authfiles import encode_auth


def info_task(home: Path, **extra: object) -> dict:
    args = {
        "docker_config_path": str(home / ".docker" / "config.json"),
        "podman_auth_path": str(home / ".config" / "containers" / "auth.json"),
        **extra,
    }
    return {"name": "ghcr_auth_info under test", "fleet.ghcr.ghcr_auth_info": args}


def write(path: Path, content: object, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent="\t"))
    os.chmod(path, mode)
    return path


def by_path(result: dict) -> dict[str, dict]:
    return {Path(file["path"]).name: file for file in result["files"]}


def test_reports_each_file_by_its_clients_rules_without_secrets(tmp_path: Path) -> None:
    home = tmp_path / "home"
    docker_file = write(
        home / ".docker" / "config.json",
        {
            "auths": {
                "ghcr.io": {},
                "https://ghcr.io": {"auth": encode_auth("octocat", "ghp_SECRETinline")},
                "ghcr.io/org": {"auth": encode_auth("orguser", "ghp_SECRETorg")},
                "gcr.io": {},
            },
            "credHelpers": {"gcr.io": "gcloud"},
        },
        mode=0o644,
    )
    podman_file = write(home / ".config" / "containers" / "auth.json", {"auths": {"ghcr.io/org": {"auth": encode_auth("orguser", "ghp_SECRETorg")}}})
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in (docker_file, podman_file)}
    run = run_tasks(tmp_path / "run", [info_task(home), {**info_task(home), "check_mode": True}], options=["-vvvv"])
    result, checked = run.results
    assert not result.get("failed") and not result["changed"], result
    assert checked["files"] == result["files"], "check mode reports the same"
    files = by_path(result)
    docker = files["config.json"]
    assert (docker["exists"], docker["mode"], docker["engine"], docker["kind"]) == (True, "0644", "docker", "persistent")
    assert [(entry["key"], entry["via"], entry["username"], entry["used"], entry.get("helper")) for entry in docker["registries"]] == [
        ("ghcr.io", "none", None, True, None),
        ("https://ghcr.io", "file", "octocat", False, None),
        ("ghcr.io/org", "file", "orguser", False, None),
        ("gcr.io", "helper", None, False, "gcloud"),
    ]
    assert any("mode 0644" in problem for problem in docker["problems"])
    expected = "sha256:" + hashlib.sha256(b"ghp_SECRETinline").hexdigest()[:12]
    assert [entry["fingerprint"] for entry in docker["registries"]] == [None, expected, "sha256:" + hashlib.sha256(b"ghp_SECRETorg").hexdigest()[:12], None]
    podman = files["auth.json"]
    assert [(entry["registry"], entry["username"], entry["used"]) for entry in podman["registries"]] == [("ghcr.io/org", "orguser", True)]
    assert podman["problems"] == []
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in before} == before, "the module only reads"
    shown = run.output + run.log + json.dumps(run.results)
    assert_no_secret(shown, "octocat", "ghp_SECRETinline")
    assert_no_secret(shown, "orguser", "ghp_SECRETorg")


def test_problems_are_reported_not_raised(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write(home / ".docker" / "config.json", {"auths": {"ghcr.io": {"auth": encode_auth("octocat", "ghp_SECRETx")}, "quay.io": {"auth": "%%%"}}})
    write(home / ".config" / "containers" / "auth.json", '{"auths": {}, "auths": {}}')
    run = run_tasks(tmp_path / "run", [info_task(home)])
    files = by_path(run.result)
    assert not run.result.get("failed"), run.result
    assert any("Docker cannot load the file" in problem and "'quay.io'" in problem for problem in files["config.json"]["problems"])
    assert any("appears twice" in problem for problem in files["auth.json"]["problems"])
    assert_no_secret(run.output + json.dumps(run.results), "octocat", "ghp_SECRETx")


def test_a_fifo_or_a_directory_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    home = tmp_path / "home"
    fifo = home / ".docker" / "config.json"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    (home / ".config" / "containers" / "auth.json").mkdir(parents=True)
    run = run_tasks(tmp_path / "run", [info_task(home)], timeout=120)
    files = by_path(run.result)
    assert any("not a regular file" in problem for problem in files["config.json"]["problems"]), files
    assert any("not a regular file" in problem for problem in files["auth.json"]["problems"]), files


def test_missing_files_are_listed_as_missing(tmp_path: Path) -> None:
    run = run_tasks(tmp_path / "run", [info_task(tmp_path / "nobody", engines=["podman"])])
    assert [(file["engine"], file["exists"], file["registries"]) for file in run.result["files"]] == [("podman", False, [])]


def fingerprint_of(token: str) -> str:
    return f"sha256:{hashlib.sha256(token.encode()).hexdigest()[:12]}"


def test_node_files_are_reported_with_k3s_yaml_parsed_on_the_controller(tmp_path: Path) -> None:
    from tests.integration.test_ghcr_node_auth import no_pyyaml_python  # a target Python without PyYAML

    kubelet_token, crio_token, k3s_token, other = "kubelet-token-1", "crio-token-2", "k3s-token-3", "other-token-4"
    node = tmp_path / "node"
    kubelet = write(node / "kubelet" / "config.json", {"auths": {"ghcr.io": {"auth": encode_auth("kube", kubelet_token)}}})
    crio = write(node / "crio" / "registry-auth.json", {"auths": {"ghcr.io": {"auth": encode_auth("crio", crio_token)}}})
    k3s = write(
        node / "k3s" / "registries.yaml",
        f"mirrors:\n  docker.io: {{endpoint: [https://mirror.example]}}\nconfigs:\n  ghcr.io:\n    auth: {{username: octo, password: {k3s_token}}}\n"
        f"  other.example:\n    auth: {{auth: {encode_auth('legacy', other)}}}\n  tls-only.example:\n    tls: {{insecure_skip_verify: true}}\n",
        mode=0o644,
    )
    args = {
        "engines": [], "node_consumers": ["kubelet", "crio", "k3s", "rke2"], "kubelet_config_path": str(kubelet), "crio_auth_path": str(crio),
        "k3s_registries_path": str(k3s), "rke2_registries_path": str(node / "rke2" / "registries.yaml"),
    }
    task = {"fleet.ghcr.ghcr_auth_info": args, "vars": {"ansible_python_interpreter": no_pyyaml_python(tmp_path)}}
    run = run_tasks(tmp_path / "run", [task])
    assert run.returncode == 0, run.output
    result = run.results[0]
    assert result["files"] == []
    files = {file["consumer"]: file for file in result["node_files"]}
    assert list(files) == ["kubelet", "crio", "k3s", "rke2"]
    assert [(entry["username"], entry["fingerprint"]) for entry in files["kubelet"]["registries"]] == [("kube", fingerprint_of(kubelet_token))]
    assert [(entry["username"], entry["fingerprint"]) for entry in files["crio"]["registries"]] == [("crio", fingerprint_of(crio_token))]
    assert [(entry["registry"], entry["username"], entry["fingerprint"], entry["via"]) for entry in files["k3s"]["registries"]] == [
        ("ghcr.io", "octo", fingerprint_of(k3s_token), "file"),
        ("other.example", "legacy", fingerprint_of(other), "file"),
    ]
    assert files["k3s"]["problems"] == ["readable or writable by group or others (mode 0644); it should be 0600"]
    assert files["rke2"]["exists"] is False and files["rke2"]["registries"] == []
    for token in (kubelet_token, crio_token, k3s_token, other):
        assert token not in run.output + json.dumps(run.results)
