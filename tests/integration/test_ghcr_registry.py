# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet.ghcr.ghcr_registry (and ghcr_login's verify) through ansible-playbook against the GHCR-faithful stack."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ansible import assert_no_secret, login_task, run_tasks

HELLO = "fleet/hello:1.0"


@pytest.fixture(autouse=True)
def clean_stack(ghcr) -> Iterator[None]:
    """Tests share one stack: drop injected faults and counts after each."""
    yield
    ghcr.reset()


def check_task(ghcr, *, token: str | None = "good", **extra: object) -> dict:
    args: dict[str, object] = {
        "registry": ghcr.host,
        "ca_path": str(ghcr.ca_file),
        "inspect_token": "always",
        "github_api_url": ghcr.github_api_url,
        "fail_on_error": False,
        "timeout": 5,
    }
    if token:
        args.update(username="octocat", password=f"{{{{ tokens['{token}'] }}}}")
    args.update(extra)
    return {"name": "ghcr_registry under test", "fleet.ghcr.ghcr_registry": args}


def run_checks(tmp_path: Path, ghcr, tasks: list[dict], options: list[str] | None = None):
    tokens = dict(ghcr.tokens)
    tokens["oauth"] = "gho_" + "x" * 36
    run = run_tasks(tmp_path / "run", tasks, secrets={"tokens": tokens}, options=["-vvvv", *(options or [])])
    for value in tokens.values():
        assert_no_secret(run.output + run.log + json.dumps(run.results), "octocat", value)
    return run


def test_a_good_pat_pulls_and_reports_the_registrys_digest(tmp_path: Path, ghcr) -> None:
    ghcr.reset_counters()
    result = run_checks(tmp_path, ghcr, [check_task(ghcr, images=[HELLO])]).result
    assert result["authenticated"] and result["error"] is None, result
    image = result["images"][0]
    assert image["pullable"] and image["pushable"] is None and image["error"] is None
    assert image["digest"] == ghcr.seeded[HELLO]
    assert result["token"]["kind"] == "classic" and result["token"]["scopes"] == ["read:packages"]
    assert result["token"]["warnings"] == []
    assert ghcr.counters["token"] == 1, "one token request covers the handshake and every image"
    assert result["requests"] == ghcr.counters["registry"] + ghcr.counters["token"] + ghcr.counters["api"]


FAILURES = {
    "revoked": ("revoked", [HELLO], "unauthorized", "unauthenticated: User cannot be authenticated with the token provided."),
    "unknown": ("unknown", [HELLO], "unauthorized", "unauthenticated: User cannot be authenticated with the token provided."),
    "expired": ("expired", [HELLO], "denied", "denied"),
}


@pytest.mark.parametrize("case", list(FAILURES), ids=list(FAILURES))
def test_a_rejected_credential_is_classified_in_the_registrys_words(tmp_path: Path, ghcr, case: str) -> None:
    token, images, code, message = FAILURES[case]
    result = run_checks(tmp_path, ghcr, [check_task(ghcr, token=token, images=images)]).result
    assert not result["authenticated"]
    assert result["error"]["code"] == code and result["error"]["message"] == message, result["error"]
    assert result["error"]["hint"]
    assert result["images"][0]["pullable"] is False


def test_missing_read_packages_gets_a_token_but_is_denied_at_the_manifest(tmp_path: Path, ghcr) -> None:
    result = run_checks(tmp_path, ghcr, [check_task(ghcr, token="noscope", images=[HELLO])]).result
    assert result["authenticated"] and result["error"] is None
    error = result["images"][0]["error"]
    assert error["code"] == "denied" and error["message"] == "permission_denied: read_package"
    assert "read:packages" in error["hint"]
    assert any("lacks the read:packages" in warning for warning in result["token"]["warnings"])


def test_unknown_name_and_unknown_tag(tmp_path: Path, ghcr) -> None:
    ghcr.grant("octocat", "fleet/missing", ("pull",))
    result = run_checks(tmp_path, ghcr, [check_task(ghcr, images=["fleet/missing:1.0", "fleet/hello:nope", HELLO])]).result
    missing, no_tag, good = result["images"]
    assert missing["error"]["code"] == "name_unknown", missing
    assert no_tag["error"]["code"] == "manifest_unknown", no_tag
    assert good["pullable"]


def test_fail_on_error_fails_the_task_with_the_registrys_message(tmp_path: Path, ghcr) -> None:
    result = run_checks(tmp_path, ghcr, [check_task(ghcr, token="noscope", images=[HELLO], fail_on_error=True)]).result
    assert result["failed"]
    assert "denied: permission_denied: read_package" in result["msg"] and "read:packages" in result["msg"]


def test_rate_limit_then_success(tmp_path: Path, ghcr) -> None:
    ghcr.inject_429(count=1, target="registry")
    ghcr.inject_429(count=1, target="token")
    ghcr.reset_counters()
    result = run_checks(tmp_path, ghcr, [check_task(ghcr, images=[HELLO], inspect_token="never")]).result
    assert result["error"] is None and result["images"][0]["pullable"], result
    assert ghcr.counters["token"] == 2, "the 429 at the token endpoint was retried once"


def test_rate_limit_beyond_the_retry_budget(tmp_path: Path, ghcr) -> None:
    ghcr.inject_429(count=10, target="registry")
    started = time.monotonic()
    result = run_checks(tmp_path, ghcr, [check_task(ghcr, images=[HELLO], retries=2, inspect_token="never")]).result
    assert result["error"]["code"] == "rate_limited"
    assert result["error"]["message"] == "retry-after: 22.625684ms, allowed: 2000/minute"
    assert result["requests"] == 3, "one try and two retries"
    assert time.monotonic() - started < 30


def test_retry_after_header_is_honoured(tmp_path: Path, ghcr) -> None:
    ghcr.inject_429(count=1, target="registry", message="slow down", retry_after_header="1")
    started = time.monotonic()
    result = run_checks(tmp_path, ghcr, [check_task(ghcr, images=[HELLO], inspect_token="never")]).result
    assert result["error"] is None and result["images"][0]["pullable"], result
    assert time.monotonic() - started >= 1.0


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers, to prove the timeout."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_unreachable_within_the_timeout(tmp_path: Path, ghcr, silent_port: int) -> None:
    started = time.monotonic()
    run = run_checks(tmp_path, ghcr, [check_task(ghcr, registry=f"127.0.0.1:{silent_port}", timeout=2, images=[HELLO], inspect_token="never")])
    assert run.result["error"]["code"] == "unreachable", run.result
    assert time.monotonic() - started < 20


def test_closed_port_is_unreachable(tmp_path: Path, ghcr) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_checks(tmp_path, ghcr, [check_task(ghcr, registry=f"127.0.0.1:{port}", inspect_token="never")]).result
    assert result["error"]["code"] == "unreachable" and "Connection refused" in result["error"]["message"]


def test_tls_failure_without_the_ca(tmp_path: Path, ghcr) -> None:
    result = run_checks(tmp_path, ghcr, [check_task(ghcr, ca_path=None, images=[HELLO], inspect_token="never")]).result
    assert result["error"]["code"] == "tls_error", result
    assert "ca_path" in result["error"]["hint"]


def test_push_probe(tmp_path: Path, ghcr) -> None:
    ghcr.reset_counters()
    run = run_checks(tmp_path, ghcr, [check_task(ghcr, token="push", images=[HELLO], check_push=True), check_task(ghcr, images=[HELLO], check_push=True)])
    can_push, cannot_push = run.results
    assert can_push["images"][0]["pushable"] is True and can_push["images"][0]["error"] is None, can_push
    assert cannot_push["images"][0]["pullable"] is True and cannot_push["images"][0]["pushable"] is False
    assert cannot_push["images"][0]["error"]["code"] == "denied"
    assert "write:packages" in cannot_push["images"][0]["error"]["hint"]


def test_token_inspection_for_each_kind(tmp_path: Path, ghcr) -> None:
    names = ["soon", "broad", "finegrained", "oauth", "revoked"]
    run = run_checks(tmp_path, ghcr, [check_task(ghcr, token=name) for name in names])
    soon, broad, finegrained, oauth, revoked = (result["token"] for result in run.results)
    assert any("expires in" in warning for warning in soon["warnings"]) and soon["expires_at"]
    assert any("does not need" in warning and "admin:org" in warning for warning in broad["warnings"])
    assert finegrained["kind"] == "fine_grained" and finegrained["scopes"] is None
    assert any("fine-grained" in warning for warning in finegrained["warnings"])
    assert oauth["kind"] == "oauth" and oauth["scopes"] is None
    assert any("refused the token" in warning for warning in revoked["warnings"])


def test_anonymous_pull_of_a_public_image(tmp_path: Path, ghcr) -> None:
    result = run_checks(tmp_path, ghcr, [check_task(ghcr, token=None, images=["fleet/public:1.0", HELLO])]).result
    public, private = result["images"]
    assert not result["authenticated"] and result["error"] is None
    assert public["pullable"] and not private["pullable"]


def login_args(ghcr, home: Path, token: str, **extra: object) -> dict:
    return {
        "registry": ghcr.host,
        "username": "octocat",
        "password": f"{{{{ tokens['{token}'] }}}}",
        "docker_config_path": str(home / ".docker" / "config.json"),
        "podman_auth_path": str(home / ".config" / "containers" / "auth.json"),
        "ca_path": str(ghcr.ca_file),
        **extra,
    }


def test_auth_file_mode_reads_what_ghcr_login_wrote(tmp_path: Path, ghcr) -> None:
    home = tmp_path / "home"
    tasks = [
        login_task(**login_args(ghcr, home, "good")),
        check_task(ghcr, token=None, auth_file=str(home / ".docker" / "config.json"), images=[HELLO]),
        check_task(ghcr, token=None, auth_file=str(home / ".config" / "containers" / "auth.json"), images=[HELLO]),
    ]
    login, docker, podman = run_checks(tmp_path, ghcr, tasks).results
    assert login["changed"]
    for result in (docker, podman):
        assert result["authenticated"] and result["images"][0]["pullable"], result
        assert result["token"]["kind"] == "classic"


def test_verify_refuses_a_bad_pat_and_changes_no_file(tmp_path: Path, ghcr) -> None:
    home = tmp_path / "home"
    tasks = [
        login_task(**login_args(ghcr, home, "revoked", verify=True)),
        login_task(**login_args(ghcr, home, "noscope", verify=True, verify_image=HELLO)),
    ]
    revoked, noscope = run_checks(tmp_path, ghcr, tasks).results
    assert revoked["failed"] and "unauthorized" in revoked["msg"] and not revoked["changed"]
    assert revoked["verification"][0]["error"]["code"] == "unauthorized"
    assert noscope["failed"] and "permission_denied: read_package" in noscope["msg"]
    assert not home.exists(), "no file or directory was created"


def test_verify_then_write(tmp_path: Path, ghcr) -> None:
    home = tmp_path / "home"
    result = run_checks(tmp_path, ghcr, [login_task(**login_args(ghcr, home, "good", verify=True, verify_image=HELLO))], options=["-vvvv"]).result
    assert result["changed"], result
    assert result["verification"][0]["images"][0]["digest"] == ghcr.seeded[HELLO]
    assert (home / ".docker" / "config.json").exists()


def test_auth_file_mode_reads_through_the_credential_helper(tmp_path: Path, ghcr, pass_store) -> None:
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    config.write_text('{"credsStore": "pass"}')
    tasks = [
        login_task(**{**login_args(ghcr, tmp_path, "good"), "engines": ["docker"], "docker_config_path": str(config)}),
        check_task(ghcr, token=None, auth_file=str(config), images=[HELLO]),
    ]
    tokens = {"good": ghcr.tokens["good"]}
    run = run_tasks(tmp_path / "run", tasks, secrets={"tokens": tokens}, env=pass_store.env, options=["-vvvv"])
    login, check = run.results
    assert login["auth_files"][0]["via"] == "helper", login
    assert json.loads(config.read_text())["auths"][ghcr.host] == {}, "the file holds only the placeholder"
    assert check["authenticated"] and check["images"][0]["pullable"], check
    assert_no_secret(run.output + run.log + json.dumps(run.results), "octocat", ghcr.tokens["good"])


def test_an_empty_password_is_refused_not_checked_anonymously(tmp_path: Path, ghcr) -> None:
    run = run_checks(tmp_path, ghcr, [check_task(ghcr, token=None, username="octocat", password="", images=[HELLO])])
    assert run.result["failed"] and "the token from the password option is empty" in run.result["msg"]


def test_an_unreachable_github_api_is_a_warning_not_a_failure(tmp_path: Path, ghcr) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_checks(tmp_path, ghcr, [check_task(ghcr, images=[HELLO], github_api_url=f"https://127.0.0.1:{port}")]).result
    assert result["images"][0]["pullable"], result
    assert any("Could not ask the GitHub API" in warning for warning in result["token"]["warnings"])


def test_auth_file_is_read_by_the_rules_of_its_client(tmp_path: Path, ghcr) -> None:
    """Podman takes the most specific key per image; Docker one credential per host. The check proves what each would send."""
    auths = {
        f"{ghcr.host}/fleet/hello": {"auth": base64.b64encode(f"octocat:{ghcr.tokens['good']}".encode()).decode()},
        ghcr.host: {"auth": base64.b64encode(f"octocat:{ghcr.tokens['revoked']}".encode()).decode()},
    }
    podman_file, docker_file = tmp_path / "auth.json", tmp_path / "docker" / "config.json"
    docker_file.parent.mkdir()
    for path in (podman_file, docker_file):
        path.write_text(json.dumps({"auths": auths}))
        path.chmod(0o600)
    tasks = [
        check_task(ghcr, token=None, auth_file=str(podman_file), images=[HELLO]),
        check_task(ghcr, token=None, auth_file=str(docker_file), images=[HELLO]),
        check_task(ghcr, token=None, auth_file=str(docker_file), auth_file_engine="podman", images=[HELLO, "fleet/public:1.0"]),
    ]
    podman, docker, mixed = run_checks(tmp_path, ghcr, tasks).results
    assert podman["authenticated"] and podman["images"][0]["pullable"], podman
    assert not docker["authenticated"] and docker["error"]["code"] in ("unauthorized", "denied"), docker
    assert [image["ref"] for image in mixed["images"]] == [HELLO, "fleet/public:1.0"]
    assert mixed["images"][0]["pullable"] and not mixed["images"][1]["pullable"], mixed
    assert mixed["error"]["code"] in ("unauthorized", "denied"), "the host-level credential is the revoked one"
