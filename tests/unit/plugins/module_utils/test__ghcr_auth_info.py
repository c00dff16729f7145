"""Unit tests for plugins/module_utils/_ghcr_auth_info.py: what files hold and what is wrong with them, without secrets."""

from __future__ import annotations

import json
import os

from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import AuthFile, encode_auth
from ansible_collections.fleet.ghcr.plugins.module_utils._ghcr_auth_info import describe_entries, permission_problems, shadowing
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import Account

ALICE = Account(name="alice", uid=1500, gid=1500, home="/home/alice")


def test_describe_entries_reports_user_names_only() -> None:
    doc = {
        "auths": {
            "ghcr.io": {"auth": encode_auth("octocat", "ghp_secret")},
            "https://quay.io": {},
            "registry.example:5000": {"auth": "bm9jb2xvbg=="},
            "gcr.io": {},
        },
        "credHelpers": {"gcr.io": "gcloud"},
    }
    entries, problems = describe_entries(AuthFile(doc, "docker", "f"))
    assert [(e["registry"], e["username"], e["via"], e["helper"], e["used"]) for e in entries] == [
        ("ghcr.io", "octocat", "file", None, False),
        ("quay.io", None, "none", None, False),
        ("registry.example:5000", None, "broken", None, False),
        ("gcr.io", None, "helper", "gcloud", False),
    ]
    assert len(problems) == 1 and "Docker cannot load the file" in problems[0] and "refuses the whole file" in problems[0]
    assert "ghp_secret" not in json.dumps([entries, problems])


def test_describe_entries_tells_which_spelling_the_client_uses() -> None:
    doc = {"auths": {"ghcr.io": {}, "https://ghcr.io": {"auth": encode_auth("octocat", "ghp_secret")}, "ghcr.io/org": {"auth": encode_auth("o", "s")}}}
    for engine in ("docker", "podman"):
        entries, problems = describe_entries(AuthFile(doc, engine, "f"))
        expected = [("ghcr.io", "none", True), ("https://ghcr.io", "file", False), ("ghcr.io/org", "file", engine == "podman")]
        assert [(e["key"], e["via"], e["used"]) for e in entries] == expected
        assert problems == []


def test_permission_problems() -> None:
    fine = os.stat_result((0o100600, 0, 0, 1, 1500, 1500, 0, 0, 0, 0))
    loose = os.stat_result((0o100644, 0, 0, 1, 0, 0, 0, 0, 0, 0))
    assert permission_problems(fine, ALICE) == []
    problems = permission_problems(loose, ALICE)
    assert any("mode 0644" in problem for problem in problems) and any("not alice" in problem for problem in problems)


def test_shadowing_names_runtime_files_that_podman_reads_first() -> None:
    files = [
        {"path": "/home/a/.config/containers/auth.json", "engine": "podman", "kind": "persistent", "registries": [{"registry": "ghcr.io"}]},
        {
            "path": "/run/user/1500/containers/auth.json",
            "engine": "podman",
            "kind": "runtime",
            "registries": [{"registry": "ghcr.io"}, {"registry": "quay.io"}],
        },
        {"path": "/home/a/.docker/config.json", "engine": "docker", "kind": "persistent", "registries": [{"registry": "quay.io"}]},
    ]
    assert shadowing(files) == [
        {"registry": "ghcr.io", "runtime_path": "/run/user/1500/containers/auth.json", "persistent_path": "/home/a/.config/containers/auth.json"}
    ]
