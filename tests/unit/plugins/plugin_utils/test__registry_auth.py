# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for the pure logic of the registry_auth role's steps."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.fleet.ghcr.plugins.plugin_utils._registry_auth import (
    check_args,
    check_fingerprint,
    input_problems,
    login_args,
    node_args,
    role_input,
)

TOKEN = "ghp_" + "a" * 36


def role_args(**changes: Any) -> dict[str, Any]:
    """The role's defaults, as the steps read them (keys of ROLE_VARIABLES)."""
    args: dict[str, Any] = {
        "state": "present",
        "registry": "ghcr.io",
        "username": "octocat",
        "users": [],
        "engines": ["docker", "podman"],
        "verify": "once",
        "images": [],
        "validate_certs": True,
        "ca_path": "",
        "inspect_token": "auto",
        "github_api_url": "https://api.github.com",
        "require_read_packages": True,
        "missing_user": "fail",
        "backup": False,
        "node_consumers": [],
        "node_paths": {},
    }
    args.update(changes)
    return args


@pytest.mark.parametrize("registry", ["ghcr.io", "ghcr.io/my-org", "registry.example.com:5000", "127.0.0.1:5000/a/b"])
def test_registry_forms_the_playbooks_compare_are_accepted(registry: str) -> None:
    assert input_problems(role_args(registry=registry)) == []


@pytest.mark.parametrize("registry", ["https://ghcr.io", "GHCR.io", "ghcr.io/", "", None, 5, "ghcr.io/Org"])
def test_other_registry_forms_are_refused_with_the_variable_to_fix(registry: Any) -> None:
    problems = input_problems(role_args(registry=registry))
    assert len(problems) == 1 and "registry_auth_registry" in problems[0]


def test_a_user_name_is_needed_to_log_in_but_not_to_log_out() -> None:
    assert "ghcr_username" in input_problems(role_args(username=""))[0]
    assert input_problems(role_args(username="", state="absent")) == []


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"name": "deploy", "engine": ["docker"]}, "unknown key(s) engine"),
        ({"engines": ["docker"]}, "entry 1 needs a name"),
        ({"name": "deploy", "engines": "docker"}, "non-empty list"),
        ({"name": "deploy", "engines": []}, "non-empty list"),
        ({"name": "deploy", "engines": ["crio"]}, "non-empty list"),
        ("", "must be a user name or a dict"),
        (7, "must be a user name or a dict"),
    ],
)
def test_bad_user_entries_are_named(entry: Any, words: str) -> None:
    problems = input_problems(role_args(users=[entry]))
    assert any(words in problem for problem in problems), problems


def test_good_user_entries_pass() -> None:
    users = ["root", {"name": "deploy", "engines": ["podman"], "podman_auth_path": "/etc/containers/auth.json"}]
    assert input_problems(role_args(users=users)) == []


def test_an_unknown_verify_mode_is_refused() -> None:
    assert "registry_auth_verify must be one of" in role_input(role_args(verify="sometimes"))[1][0]


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("no", False), ("0", False), ("true", True), ("yes", True), (True, True)])
def test_booleans_are_converted_as_ansible_converts_them(value: Any, expected: bool) -> None:
    """-e key=value and INI inventories give strings; bool("false") would be True."""
    args, problems = role_input(role_args(validate_certs=value, require_read_packages=value, backup=value))
    assert problems == [] and args["validate_certs"] is expected and args["require_read_packages"] is expected and args["backup"] is expected


def test_a_single_image_or_engine_becomes_a_list_not_its_characters() -> None:
    args, problems = role_input(role_args(images="owner/app:1", engines="podman"))
    assert problems == [] and args["images"] == ["owner/app:1"] and args["engines"] == ["podman"]


@pytest.mark.parametrize(("changes", "words"), [
    ({"validate_certs": "maybe"}, "registry_auth_validate_certs"),
    ({"engines": ["crio"]}, "registry_auth_engines"),
    ({"state": "gone"}, "registry_auth_state"),
    ({"missing_user": "ignore"}, "registry_auth_missing_user"),
])
def test_values_that_cannot_be_converted_are_refused_naming_the_variable(changes: dict[str, Any], words: str) -> None:
    _args, problems = role_input(role_args(**changes))
    assert problems and words in " ".join(problems), problems


def test_missing_values_are_not_a_traceback() -> None:
    args, problems = role_input({**role_args(), "images": None, "engines": None, "users": None})
    assert problems == [] and args["images"] == [] and args["users"] == []


def test_the_fingerprint_hashes_what_the_check_proves_and_never_holds_the_token() -> None:
    key = check_fingerprint(role_args(images=["a/b:1", "c/d:2"]), TOKEN)
    assert len(key) == 64 and int(key, 16) >= 0
    assert key == check_fingerprint(role_args(images=["c/d:2", "a/b:1", "a/b:1"]), TOKEN), "image order and repeats do not matter"
    assert key == check_fingerprint(role_args(images=["a/b:1", "c/d:2"], users=["x"], backup=True), TOKEN), "write settings do not matter"
    for changed in ({"registry": "ghcr.io/org"}, {"username": "other"}, {"images": []}, {"validate_certs": False}, {"ca_path": "/ca.pem"},
                    {"inspect_token": "never"}, {"github_api_url": "https://ghe.example/api/v3"}, {"require_read_packages": False}):
        assert check_fingerprint(role_args(**{"images": ["a/b:1", "c/d:2"], **changed}), TOKEN) != key, changed
    assert check_fingerprint(role_args(images=["a/b:1", "c/d:2"]), TOKEN + "x") != key


def test_the_check_on_the_controller_asks_the_github_api_and_from_a_host_it_does_not() -> None:
    on_controller = check_args(role_args(ca_path="/ca.pem", images=["a/b:1"]), TOKEN, on_controller=True)
    assert on_controller == {
        "registry": "ghcr.io", "username": "octocat", "password": TOKEN, "images": ["a/b:1"], "validate_certs": True, "ca_path": "/ca.pem",
        "inspect_token": "auto", "github_api_url": "https://api.github.com", "require_read_packages": True,
    }
    from_host = check_args(role_args(), TOKEN, on_controller=False)
    assert from_host["inspect_token"] == "never" and "github_api_url" not in from_host and "ca_path" not in from_host


def test_login_arguments_per_user_entry() -> None:
    entry = {"name": "deploy", "engines": ["podman"], "podman_auth_path": "/etc/containers/auth.json"}
    assert login_args(role_args(backup=True), TOKEN, entry) == {
        "registry": "ghcr.io", "state": "present", "engines": ["podman"], "user": "deploy", "podman_auth_path": "/etc/containers/auth.json",
        "username": "octocat", "password": TOKEN, "missing_user": "fail", "backup": True,
    }
    assert login_args(role_args(), TOKEN, "root")["engines"] == ["docker", "podman"]
    assert "user" not in login_args(role_args(), TOKEN, None), "no user: the module's own, which is the connecting user without become"


def test_logging_out_passes_no_credential() -> None:
    assert login_args(role_args(state="absent"), None, "root") == {"registry": "ghcr.io", "state": "absent", "engines": ["docker", "podman"], "user": "root"}


def test_node_consumers_get_ghcr_node_auth_arguments_with_their_paths() -> None:
    args = role_args(node_consumers=["kubelet", "k3s"], node_paths={"k3s_registries_path": "/etc/k3s.yaml", "crio_auth_path": ""})
    assert node_args(args, TOKEN) == {
        "registry": "ghcr.io", "state": "present", "consumers": ["kubelet", "k3s"], "k3s_registries_path": "/etc/k3s.yaml",
        "username": "octocat", "password": TOKEN, "backup": False,
    }
    assert "password" not in node_args(role_args(state="absent", node_consumers=["k3s"]), None)


def test_node_consumers_and_paths_are_checked() -> None:
    _args, problems = role_input(role_args(node_consumers=["kubelet", "containerd"]))
    assert any("registry_auth_node_consumers" in problem and "containerd" in problem for problem in problems)
    _args, problems = role_input(role_args(node_paths={"kubelet_path": "/x"}))
    assert problems == ["registry_auth_node_paths has unknown key(s) kubelet_path; allowed: kubelet_config_path, crio_auth_path, crio_dropin_path,"
                        " k3s_registries_path, rke2_registries_path."]
