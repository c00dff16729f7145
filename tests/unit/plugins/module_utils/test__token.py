"""Unit tests for plugins/module_utils/_token.py: token checks, kinds by prefix, scope and expiry warnings."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._token import (
    clean_token,
    expiry_warnings,
    kind_warning,
    parse_expiry,
    parse_scopes,
    read_packages_problem,
    scope_warnings,
    token_kind,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("ghp_" + "a" * 36, "classic"),
        ("ghp_short", "classic"),  # no length checks: formats change
        ("github_pat_" + "b" * 82, "fine_grained"),
        ("gho_x", "oauth"),
        ("ghu_x", "app_user"),
        ("ghs_123_" + "c" * 500, "app_installation"),
        ("0123456789abcdef0123456789abcdef01234567", "unknown"),
    ],
)
def test_token_kind(token: str, kind: str) -> None:
    assert token_kind(token) == kind


def test_parse_scopes() -> None:
    assert parse_scopes("read:packages, repo") == ["read:packages", "repo"]
    assert parse_scopes("") == []
    assert parse_scopes(None) is None


def test_parse_expiry() -> None:
    assert parse_expiry("2026-12-01 10:00:00 UTC") == datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    assert parse_expiry("2026-12-01 10:00:00 +0100") == datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    assert parse_expiry(None) is None and parse_expiry("soon") is None


def test_scope_warnings() -> None:
    assert scope_warnings(["read:packages"], needs_push=False) == []
    assert scope_warnings(["read:packages", "write:packages"], needs_push=True) == []
    assert "lacks the read:packages" in scope_warnings(["repo"], needs_push=False)[0]
    broad = scope_warnings(["read:packages", "repo", "admin:org"], needs_push=False)
    assert len(broad) == 1 and "admin:org, repo" in broad[0]
    assert any("write:packages" in warning for warning in scope_warnings(["read:packages"], needs_push=True))
    assert scope_warnings(None, needs_push=False) == [], "no header: not a classic PAT, not 'no scopes'"


def test_expiry_warnings() -> None:
    assert expiry_warnings(NOW + timedelta(days=60), NOW) == []
    assert "expires in 7 day(s)" in expiry_warnings(NOW + timedelta(days=7, hours=1), NOW)[0]
    assert "expired on 2026-11-21" in expiry_warnings(NOW - timedelta(days=1), NOW)[0]
    assert expiry_warnings(None, NOW) == []


def test_kind_warning() -> None:
    assert "fine-grained" in kind_warning("github_pat_x")
    assert kind_warning("ghp_x") is None
    assert kind_warning("gho_x", "The token from X").startswith("The token from X is an OAuth app access token (gho_)")


def test_clean_token_strips_and_says_so() -> None:
    assert clean_token("ghp_abc", "the password option") == ("ghp_abc", False)
    assert clean_token("  ghp_abc\n", "the password option") == ("ghp_abc", True)


@pytest.mark.parametrize(("secret", "message"), [("", "is empty"), (None, "is empty"), ("  \n", "is empty"), ("ghp_a b", "whitespace")])
def test_clean_token_rejects(secret: str | None, message: str) -> None:
    with pytest.raises(InputError, match=f"the token from the password option {message}|{message}") as caught:
        clean_token(secret, "the password option")
    assert not (secret or "").strip() or secret not in str(caught.value)


@pytest.mark.parametrize(
    ("report", "problem"),
    [
        ({"kind": "classic", "answered": True, "scopes": ["read:packages"], "warnings": []}, None),
        ({"kind": "classic", "answered": True, "scopes": ["write:packages", "repo"], "warnings": []}, None),
        ({"kind": "classic", "answered": True, "scopes": ["repo"], "warnings": []}, "lacks the read:packages scope"),
        ({"kind": "classic", "answered": True, "scopes": [], "warnings": []}, "lacks the read:packages scope"),
        ({"kind": "classic", "answered": False, "scopes": None, "warnings": ["Could not ask the GitHub API: timeout"]}, "fails closed"),
        ({"kind": "fine_grained", "answered": True, "scopes": None, "warnings": []}, None),
        ({"kind": "oauth", "answered": None, "scopes": None, "warnings": []}, None),
    ],
)
def test_read_packages_problem(report: dict, problem: str | None) -> None:
    found = read_packages_problem(report)
    assert (found is None) if problem is None else (problem in found)
