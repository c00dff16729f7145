"""Unit tests for plugins/module_utils/_registry.py: challenge and message parsing, scopes, the error taxonomy."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleet.ghcr.plugins.module_utils._reference import Registry
from ansible_collections.fleet.ghcr.plugins.module_utils._registry import (
    Endpoint,
    Response,
    classify,
    mask,
    parse_challenge,
    parse_go_duration,
    registry_errors,
    registry_message,
    retry_after,
    scope_for,
)


def test_parse_challenge_reads_realm_and_service_as_given() -> None:
    header = 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull"'
    assert parse_challenge(header) == ("bearer", {"realm": "https://ghcr.io/token", "service": "ghcr.io", "scope": "repository:user/image:pull"})


def test_parse_challenge_variants() -> None:
    assert parse_challenge('Basic realm="Registry Realm"') == ("basic", {"realm": "Registry Realm"})
    assert parse_challenge('Bearer realm="https://a/token",error="insufficient_scope"')[1]["error"] == "insufficient_scope"
    assert parse_challenge("Bearer realm=https://a/token") == ("bearer", {"realm": "https://a/token"})
    assert parse_challenge(None) == ("", {})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("22.625684ms", 0.022625684), ("1.5s", 1.5), ("1m30s", 90.0), ("500us", 0.0005), ("10µs", 0.00001), ("2h", 7200.0)],
)
def test_parse_go_duration(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "ms", "5", "5 s", "five seconds", "1.5sx"])
def test_parse_go_duration_refuses(text: str) -> None:
    assert parse_go_duration(text) is None


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["ms", "s", "m"]))
def test_parse_go_duration_of_whole_numbers(number: int, unit: str) -> None:
    assert parse_go_duration(f"{number}{unit}") == pytest.approx(number * {"ms": 1e-3, "s": 1.0, "m": 60.0}[unit])


def response(status: int, body: object = b"", **headers: str) -> Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(status, {key.lower().replace("_", "-"): value for key, value in headers.items()}, data)


def ghcr_errors(code: str, message: str) -> dict:
    return {"errors": [{"code": code, "message": message}]}


def test_retry_after_reads_ghcrs_message_and_the_header() -> None:
    message = "retry-after: 22.625684ms, allowed: 2000/minute"
    assert retry_after(response(429), message) == pytest.approx(0.022625684)
    assert retry_after(response(429, retry_after="2"), message) == 2.0, "the larger wait wins"
    assert retry_after(response(429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"), "") is None
    assert retry_after(response(429), "slow down") is None


def test_registry_message_is_verbatim() -> None:
    assert registry_message(response(403, ghcr_errors("DENIED", "permission_denied: read_package"))) == ("DENIED", "permission_denied: read_package")
    assert registry_message(response(502, b"<html>Bad Gateway</html>")) == ("", "<html>Bad Gateway</html>")
    assert registry_message(response(404)) == ("", "HTTP 404")


CLASSIFY = [
    (response(401, ghcr_errors("UNAUTHORIZED", "unauthenticated: User cannot be authenticated with the token provided.")), "token", "unauthorized"),
    (response(403, ghcr_errors("DENIED", "denied")), "token", "denied"),
    (response(429, ghcr_errors("TOOMANYREQUESTS", "retry-after: 1ms, allowed: 2000/minute")), "token", "rate_limited"),
    (response(403, ghcr_errors("DENIED", "permission_denied: read_package")), "pull", "denied"),
    (response(401, ghcr_errors("UNAUTHORIZED", "authentication required"), www_authenticate='Bearer realm="x",error="insufficient_scope"'), "pull", "denied"),
    (response(401, ghcr_errors("UNAUTHORIZED", "authentication required")), "pull", "unauthorized"),
    (response(404, ghcr_errors("NAME_UNKNOWN", "repository name not known to registry")), "pull", "name_unknown"),
    (response(404, ghcr_errors("MANIFEST_UNKNOWN", "manifest unknown")), "pull", "manifest_unknown"),
    (response(404), "pull", "manifest_unknown"),
    (response(403, ghcr_errors("DENIED", "permission_denied: write_package")), "push", "denied"),
    (response(503, b"upstream connect error"), "pull", "server_error"),
    (response(418), "pull", "server_error"),
]


@pytest.mark.parametrize(("answer", "stage", "code"), CLASSIFY)
def test_classify(answer: Response, stage: str, code: str) -> None:
    problem = classify(answer, stage)
    assert problem.code == code
    assert problem.message == registry_message(answer)[1]
    assert problem.hint and problem.status == answer.status


def test_hints_follow_the_troubleshooting_table() -> None:
    assert "read:packages" in classify(response(403, ghcr_errors("DENIED", "x")), "pull").hint
    assert "expired" in classify(response(403, ghcr_errors("DENIED", "denied")), "token").hint
    assert "tag" in classify(response(404, ghcr_errors("MANIFEST_UNKNOWN", "x")), "pull").hint
    assert "write:packages" in classify(response(403, ghcr_errors("DENIED", "x")), "push").hint


def test_scope_strings() -> None:
    assert scope_for("my-org/app", push=False) == "repository:my-org/app:pull"
    assert scope_for("my-org/app", push=True) == "repository:my-org/app:pull,push"


def test_endpoint_uses_http_only_when_asked() -> None:
    cases = [
        ("ghcr.io", "https://ghcr.io"),
        ("https://ghcr.io/", "https://ghcr.io"),
        ("http://localhost:5000", "http://localhost:5000"),
        ("ghcr.io/my-org", "https://ghcr.io"),
    ]
    for given_value, base in cases:
        endpoint = Endpoint.of(Registry.parse(given_value), timeout=5.0)
        assert endpoint.base == base and endpoint.timeout == 5.0


@pytest.mark.parametrize(
    "echo",
    ["ghp_SecretValue123", "GHP_SECRETVALUE123", "ghp_secretvalue123", "g h p _ S e c r e t V a l u e 1 2 3", 'ghp_Secret"Value\\123'],
)
def test_mask_hides_a_secret_in_any_case_or_split_form(echo: str) -> None:
    assert mask(f"bad credential {echo} here", ["ghp_SecretValue123"]) == "bad credential ******** here"


def test_mask_leaves_other_text_alone() -> None:
    assert mask("authentication required", ["ghp_SecretValue123", "", "ab"]) == "authentication required"


def test_hostile_answers_are_not_crashes() -> None:
    assert retry_after(response(429, b"", retry_after="\u00b2"), "") is None
    assert retry_after(response(429, b"", retry_after="2.5"), "") == 2.5
    assert registry_errors(b"[" * 200000) == []
    assert registry_message(response(401, b"[" * 200000))[0] == ""
