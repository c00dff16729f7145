# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Prove the GHCR-faithful stack with real clients (skopeo) and raw HTTP (urllib + the test CA)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support import clients
from tests.support.authfiles import write_auth_json
from tests.support.ghcr_stack import EXPIRATION_FORMAT, GhcrStack, GhcrStackError, parse_scope

PRIVATE = "fleet/hello:1.0"
PUBLIC = "fleet/public:1.0"
REPO_ROOT = Path(__file__).resolve().parents[2]
UNAUTHENTICATED = {"errors": [{"code": "UNAUTHORIZED", "message": "unauthenticated: User cannot be authenticated with the token provided."}]}
DENIED = {"errors": [{"code": "DENIED", "message": "denied"}]}
MANIFEST_ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture
def stack(ghcr: GhcrStack) -> GhcrStack:
    """The session stack with zeroed counters, an empty token log and no pending injection."""
    ghcr.reset()
    return ghcr


def http(stack: GhcrStack, url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, context=stack.ssl_context(), timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def basic(token: str, user: str = "octocat") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}


def get_token(stack: GhcrStack, token: str | None, *scopes: str) -> tuple[int, dict[str, str], bytes]:
    query = urllib.parse.urlencode([("service", stack.service), *(("scope", scope) for scope in scopes)])
    return http(stack, f"{stack.token_url}?{query}", basic(token) if token else None)


def skopeo(stack: GhcrStack, tmp_path: Path, token: str | None, ref: str) -> subprocess.CompletedProcess:
    """skopeo inspect through the front; ``token`` None: --no-creds (anonymous)."""
    if token is None:
        return clients.run(["skopeo", "inspect", "--no-creds", "--cert-dir", stack.cert_dir, f"docker://{stack.host}/{ref}"], env=clients.clean_env())
    authfile = stack.write_authfile(tmp_path / "auth.json", token)
    return clients.skopeo_inspect(authfile, f"{stack.host}/{ref}", stack.cert_dir)


def test_stack_shape_and_challenge(stack: GhcrStack) -> None:
    assert stack.host.startswith("127.0.0.1:") and stack.url == f"https://{stack.host}"
    assert stack.seeded[PRIVATE].startswith("sha256:") and stack.seeded[PUBLIC].startswith("sha256:")
    assert (stack.cert_dir / "ca.crt").read_bytes() == stack.ca_file.read_bytes()
    for name, token in stack.tokens.items():
        pattern = r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}" if name == "finegrained" else r"ghp_[A-Za-z0-9]{36}"
        assert re.fullmatch(pattern, token), name
    assert stack.pat(stack.tokens["unknown"]) is None
    status, headers, body = http(stack, f"{stack.url}/v2/")
    assert status == 401
    assert headers["www-authenticate"] == f'Bearer realm="{stack.token_url}",service="{stack.service}"'
    assert headers["docker-distribution-api-version"] == "registry/2.0"
    assert json.loads(body)["errors"][0]["code"] == "UNAUTHORIZED"


def test_skopeo_with_good_pat_reads_the_digest(stack: GhcrStack, tmp_path: Path) -> None:
    result = skopeo(stack, tmp_path, stack.tokens["good"], PRIVATE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Digest"] == stack.seeded[PRIVATE]
    requests = stack.token_requests
    assert requests and all(entry["authenticated"] and entry["user"] == "octocat" for entry in requests)
    assert {entry["service"] for entry in requests} == {stack.service}  # taken from the challenge
    assert {"type": "repository", "name": "fleet/hello", "actions": ["pull"]} in requests[-1]["granted"]
    counters = stack.counters
    assert counters["registry"] >= 3 and counters["token"] >= 1 and counters["api"] == 0


@pytest.mark.parametrize("name", ["noscope", "stranger"])
def test_skopeo_without_package_access_is_denied(stack: GhcrStack, tmp_path: Path, name: str) -> None:
    result = skopeo(stack, tmp_path, stack.tokens[name], PRIVATE)
    assert result.returncode != 0
    assert "denied" in result.stderr and "permission_denied: read_package" in result.stderr, result.stderr
    assert stack.token_requests[-1]["status"] == 200  # the token is issued, with no actions
    assert stack.token_requests[-1]["granted"] == [{"type": "repository", "name": "fleet/hello", "actions": []}]


def test_front_turns_insufficient_scope_into_ghcr_denials(stack: GhcrStack) -> None:
    status, _headers, body = get_token(stack, stack.tokens["good"], "repository:fleet/hello:pull,push")
    assert status == 200 and set(json.loads(body)) == {"token"}  # no expires_in, like GHCR
    bearer = {"Authorization": "Bearer " + json.loads(body)["token"], "Accept": MANIFEST_ACCEPT}
    assert stack.token_requests[-1]["granted"][0]["actions"] == ["pull"]
    status, headers, _body = http(stack, f"{stack.url}/v2/fleet/hello/manifests/1.0", bearer, "HEAD")
    assert status == 200 and headers["docker-content-digest"] == stack.seeded[PRIVATE]
    status, headers, body = http(stack, f"{stack.url}/v2/fleet/hello/blobs/uploads/", bearer, "POST")
    assert (status, json.loads(body)) == (403, {"errors": [{"code": "DENIED", "message": "permission_denied: write_package"}]})
    assert "www-authenticate" not in headers
    bearer["Authorization"] = "Bearer " + json.loads(get_token(stack, stack.tokens["noscope"], "repository:fleet/hello:pull")[2])["token"]
    status, _headers, body = http(stack, f"{stack.url}/v2/fleet/hello/manifests/1.0", bearer, "HEAD")
    assert (status, body) == (403, b"")
    # Distribution itself answers 401 + error="insufficient_scope" (the front rewrites it).
    backend = urllib.request.Request(f"{stack.backend_url}/v2/fleet/hello/manifests/1.0", headers=bearer, method="GET")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(backend, timeout=30)
    assert raised.value.code == 401 and 'error="insufficient_scope"' in raised.value.headers["WWW-Authenticate"]


def test_push_token_may_start_an_upload(stack: GhcrStack) -> None:
    status, _headers, body = get_token(stack, stack.tokens["push"], "repository:fleet/hello:pull,push")
    assert status == 200 and stack.token_requests[-1]["granted"][0]["actions"] == ["pull", "push"]
    bearer = {"Authorization": "Bearer " + json.loads(body)["token"]}
    status, headers, _body = http(stack, f"{stack.url}/v2/fleet/hello/blobs/uploads/", bearer, "POST")
    assert status == 202 and headers["location"].startswith("/v2/fleet/hello/blobs/uploads/")
    http(stack, f"{stack.url}{headers['location']}", bearer, "DELETE")


def test_expired_pat_is_denied_at_the_token_endpoint(stack: GhcrStack, tmp_path: Path) -> None:
    status, _headers, body = get_token(stack, stack.tokens["expired"], "repository:fleet/public:pull")
    assert (status, json.loads(body)) == (403, DENIED)
    result = skopeo(stack, tmp_path, stack.tokens["expired"], PUBLIC)  # stale credentials break even public pulls
    assert result.returncode != 0 and "403" in result.stderr, result.stderr


@pytest.mark.parametrize("name", ["revoked", "unknown", "finegrained"])
def test_bad_pats_are_unauthenticated(stack: GhcrStack, name: str) -> None:
    status, headers, body = get_token(stack, stack.tokens[name], "repository:fleet/hello:pull")
    assert (status, json.loads(body)) == (401, UNAUTHENTICATED)
    assert headers["www-authenticate"].startswith("Basic realm=")
    assert stack.token_requests[-1]["authenticated"] is False


def test_anonymous_pull_of_public_image_only(stack: GhcrStack, tmp_path: Path) -> None:
    result = skopeo(stack, tmp_path, None, PUBLIC)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Digest"] == stack.seeded[PUBLIC]
    assert stack.token_requests and not any(entry["authenticated"] for entry in stack.token_requests)
    result = skopeo(stack, tmp_path, None, PRIVATE)
    assert result.returncode != 0 and "denied" in result.stderr


def test_injected_429_then_normal_service(stack: GhcrStack) -> None:
    stack.inject_429(count=2, retry_after_header=1)
    for _attempt in range(2):
        status, headers, body = http(stack, f"{stack.url}/v2/")
        assert status == 429 and headers["retry-after"] == "1"
        assert json.loads(body) == {"errors": [{"code": "TOOMANYREQUESTS", "message": "retry-after: 22.625684ms, allowed: 2000/minute"}]}
    assert http(stack, f"{stack.url}/v2/")[0] == 401
    stack.inject_429(message="retry-after: 1.16676ms, allowed: 44000/minute", target="token")
    status, headers, body = get_token(stack, stack.tokens["good"], "repository:fleet/hello:pull")
    assert status == 429 and "retry-after" not in headers and "44000/minute" in body.decode()
    assert get_token(stack, stack.tokens["good"], "repository:fleet/hello:pull")[0] == 200
    assert stack.counters == {"registry": 3, "token": 2, "api": 0}


def test_injected_5xx_then_skopeo_succeeds(stack: GhcrStack, tmp_path: Path) -> None:
    stack.inject_status(503, count=1, target="api")
    status, _headers, body = http(stack, f"{stack.github_api_url}/user", {"Authorization": "Bearer " + stack.tokens["good"]})
    assert status == 503 and json.loads(body) == {"message": "Service Unavailable"}
    stack.inject_status(502, count=1)
    status, _headers, body = http(stack, f"{stack.url}/v2/")
    assert status == 502 and json.loads(body)["errors"][0]["code"] == "UNKNOWN"
    assert skopeo(stack, tmp_path, stack.tokens["good"], PRIVATE).returncode == 0
    assert stack.pending_injections("registry") == 0


def test_fake_github_api(stack: GhcrStack) -> None:
    good = stack.pat(stack.tokens["good"])
    status, headers, body = http(stack, f"{stack.github_api_url}/user", {"Authorization": "Bearer " + good.token})
    assert status == 200 and json.loads(body)["login"] == "octocat"
    assert headers["x-oauth-scopes"] == "read:packages"
    expiry = dt.datetime.strptime(headers["github-authentication-token-expiration"], EXPIRATION_FORMAT).replace(tzinfo=dt.timezone.utc)
    assert expiry == good.expires_at and dt.timedelta(days=59) < expiry - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(days=60)
    status, headers, _body = http(stack, f"{stack.github_api_url}/user", {"Authorization": "token " + stack.tokens["broad"]})
    assert status == 200 and headers["x-oauth-scopes"] == "read:packages, write:packages, delete:packages, repo, admin:org"
    assert "github-authentication-token-expiration" not in headers
    status, headers, _body = http(stack, f"{stack.github_api_url}/user", {"Authorization": "Bearer " + stack.tokens["finegrained"]})
    assert status == 200 and "x-oauth-scopes" not in headers and headers["github-authentication-token-expiration"].endswith(" UTC")
    for name in ("expired", "revoked", "unknown"):
        status, _headers, body = http(stack, f"{stack.github_api_url}/user", {"Authorization": "Bearer " + stack.tokens[name]})
        assert (status, json.loads(body)["message"]) == (401, "Bad credentials"), name
    assert stack.counters["api"] == 6


def test_scope_parsing() -> None:
    assert parse_scope("repository:fleet/hello:pull,push") == ("repository", "fleet/hello", ("pull", "push"))
    assert parse_scope("repository(plugin):localhost:5000/a/b:pull") == ("repository", "localhost:5000/a/b", ("pull",))
    assert parse_scope("registry:catalog:*") == ("registry", "catalog", ("*",))
    assert parse_scope("repository:fleet/hello:") == ("repository", "fleet/hello", ())
    assert parse_scope("nonsense") is None


def test_stop_after_a_failed_start_leaves_nothing_running(tmp_path: Path) -> None:
    class Broken(GhcrStack):
        def _start_distribution(self, bundle: Path) -> None:
            raise GhcrStackError("broken on purpose")

    before = {thread.name for thread in threading.enumerate()}
    broken = Broken(tmp_path / "broken")
    with pytest.raises(GhcrStackError, match="on purpose"):
        broken.start()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("ghcr-") and t.name not in before]
    broken.stop()  # idempotent


def test_script_mode_serves_until_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.ghcr_stack", "start", "--state-dir", str(tmp_path / "state")],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    watchdog = threading.Timer(60, process.kill)  # a hung start must not hang the test run
    watchdog.start()
    try:
        info = json.loads(process.stdout.readline() or "null")
        assert info, process.stderr.read() if process.poll() is not None else "no JSON line"
        assert {"host", "ca", "token_url", "github_api_url", "tokens"} <= set(info)
        assert json.loads((tmp_path / "state" / "ghcr.json").read_text()) == info
        assert oct((tmp_path / "state" / "ghcr.json").stat().st_mode & 0o777) == "0o600"
        authfile = write_auth_json(tmp_path / "auth.json", {info["host"]: ("octocat", info["tokens"]["good"])})
        result = clients.skopeo_inspect(authfile, f"{info['host']}/{PRIVATE}", info["cert_dir"])
        assert result.returncode == 0, result.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=20) == 0, process.stderr.read()
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
