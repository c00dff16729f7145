# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""GitHub token kinds (by prefix only: lengths change) and what the GitHub API says of a PAT's scopes and expiry."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import InputError

if TYPE_CHECKING:  # the lookup uses token_kind on the controller without loading any HTTP code
    from ansible_collections.fleet.ghcr.plugins.module_utils._registry import Transport

GITHUB_API_URL = "https://api.github.com"
EXPIRY_WARNING_DAYS = 14
_PREFIXES = (
    ("github_pat_", "fine_grained"),
    ("ghp_", "classic"),
    ("gho_", "oauth"),
    ("ghu_", "app_user"),
    ("ghs_", "app_installation"),
    ("ghr_", "refresh"),
)
PULL_SCOPES = frozenset({"read:packages"})
PUSH_SCOPES = frozenset({"read:packages", "write:packages"})


def token_kind(token: str) -> str:
    """``classic``, ``fine_grained``, ``oauth``, ``app_user``, ``app_installation``, ``refresh`` or ``unknown``.

    Prefixes only: GitHub changes token lengths (``ghs_`` tokens became variable-length), so none is checked.
    """
    for prefix, kind in _PREFIXES:
        if token.startswith(prefix):
            return kind
    return "unknown"


def parse_scopes(header: str | None) -> list[str] | None:
    """``X-OAuth-Scopes`` as a list; None when the header is absent (not a classic PAT), [] when empty."""
    if header is None:
        return None
    return [scope.strip() for scope in header.split(",") if scope.strip()]


def parse_expiry(header: str | None) -> datetime | None:
    """``GitHub-Authentication-Token-Expiration`` (``2026-12-01 10:00:00 UTC``) as an aware datetime."""
    if not header:
        return None
    text = header.strip()
    for layout in ("%Y-%m-%d %H:%M:%S UTC", "%Y-%m-%d %H:%M:%S %z"):
        try:
            parsed = datetime.strptime(text, layout)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def scope_warnings(scopes: list[str] | None, needs_push: bool) -> list[str]:
    """What is wrong with a classic PAT's scopes for pulling (or pushing) packages."""
    if scopes is None:
        return []
    granted = set(scopes)
    warnings = []
    if not granted & {"read:packages", "write:packages"}:
        warnings.append("The token lacks the read:packages scope: GHCR will issue it a token but refuse every private pull (denied).")
    if needs_push and "write:packages" not in granted:
        warnings.append("The token lacks the write:packages scope, which pushing needs.")
    extra = sorted(granted - (PUSH_SCOPES if needs_push else PULL_SCOPES | {"write:packages"}))
    if extra:
        warnings.append(f"The token has scopes this job does not need ({', '.join(extra)}): a pull-only PAT with read:packages limits the damage if it leaks.")
    return warnings


def expiry_warnings(expires_at: datetime | None, now: datetime) -> list[str]:
    if expires_at is None:
        return []
    left = expires_at - now
    if left.total_seconds() <= 0:
        return [f"The token expired on {expires_at:%Y-%m-%d}: GHCR refuses it, even for public images, until it is rotated."]
    if left.days < EXPIRY_WARNING_DAYS:
        return [f"The token expires in {left.days} day(s), on {expires_at:%Y-%m-%d}: rotate it soon."]
    return []


_KIND_NAMES = {
    "fine_grained": "a fine-grained personal access token (github_pat_)",
    "oauth": "an OAuth app access token (gho_)",
    "app_user": "a GitHub App user access token (ghu_)",
    "app_installation": "a GitHub App installation access token (ghs_)",
    "refresh": "a GitHub App refresh token (ghr_)",
}


def clean_token(value: str | None, source: str) -> tuple[str, bool]:
    """The token without surrounding whitespace, and whether any was removed; InputError names ``source``.

    Only the prefix of a token means anything: GitHub changes token lengths, so none is checked.
    """
    token = (value or "").strip()
    if not token:
        raise InputError(f"the token from {source} is empty: give the personal access token, for example from the vault-encrypted ghcr_pat.")
    if any(char.isspace() or not char.isprintable() for char in token):
        raise InputError(
            f"the token from {source} contains whitespace or control characters inside it:"
            " check that it holds the whole token and nothing else (one token, no 'user:token', no quotes)."
        )
    return token, token != value


def kind_warning(token: str, subject: str = "The token") -> str | None:
    """What to warn about a token's kind, judged by its prefix alone; None for a classic PAT (``ghp_``).

    ``subject`` names the token in the sentence, for example ``The token from environment variable GHCR_PAT``.
    """
    kind = token_kind(token)
    if kind == "classic":
        return None
    if kind == "unknown":
        return (
            f"{subject} does not look like a GitHub token (no ghp_, github_pat_, gho_, ghu_ or ghs_ prefix):"
            " fine for another registry, but ghcr.io expects a classic personal access token (ghp_)."
        )
    if kind == "fine_grained":
        return (
            f"{subject} is {_KIND_NAMES[kind]}: GitHub documents only classic personal access tokens (ghp_)"
            " with read:packages for ghcr.io, so logins may be refused."
        )
    if kind == "refresh":
        return f"{subject} is {_KIND_NAMES[kind]}: it only renews user access tokens and cannot log in to a registry."
    return (
        f"{subject} is {_KIND_NAMES[kind]}, not a personal access token: it is short-lived or tied to an app,"
        " so credentials written from it stop working; ghcr.io documents classic personal access tokens (ghp_)."
    )


def inspect_token(transport: Transport, api_url: str, token: str, needs_push: bool, now: datetime | None = None) -> dict[str, Any]:
    """Kind, scopes, expiry and warnings of ``token``, asking ``GET {api_url}/user`` for classic and fine-grained PATs."""
    now = now or datetime.now(timezone.utc)
    kind = token_kind(token)
    warning = kind_warning(token) if kind != "unknown" else None
    report: dict[str, Any] = {"kind": kind, "scopes": None, "expires_at": None, "warnings": [warning] if warning else [], "answered": None}
    if kind not in ("classic", "fine_grained"):
        return report
    report["answered"] = False
    answer = transport.send("GET", api_url.rstrip("/") + "/user", {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"})
    if answer.status == 401:
        report["warnings"].append(f"The GitHub API refused the token (HTTP 401: {_api_message(answer.body, token)}): it is revoked, expired or mistyped.")
        return report
    if answer.status != 200:
        report["warnings"].append(f"The GitHub API gave no answer about the token (HTTP {answer.status}: {_api_message(answer.body, token)}).")
        return report
    scopes = parse_scopes(answer.header("x-oauth-scopes")) if kind == "classic" else None
    expires_at = parse_expiry(answer.header("github-authentication-token-expiration"))
    report["answered"] = True
    report["scopes"] = scopes
    report["expires_at"] = expires_at.isoformat() if expires_at else None
    report["warnings"] += scope_warnings(scopes, needs_push) + expiry_warnings(expires_at, now)
    return report


def read_packages_problem(report: dict[str, Any]) -> str | None:
    """Why a token cannot be trusted to pull, when the GitHub API was asked: a classic PAT without read:packages, or no answer.

    Only classic PATs expose their scopes; other kinds are judged by their warnings alone.
    """
    if report.get("kind") != "classic" or report.get("answered") is None:
        return None
    if not report["answered"]:
        reasons = "; ".join(report["warnings"]) or "no answer"
        return f"The GitHub API could not confirm that the token may pull ({reasons}). It fails closed: fix the access or turn the requirement off."
    if not set(report["scopes"] or []) & {"read:packages", "write:packages"}:
        return "The classic personal access token lacks the read:packages scope: GHCR would refuse every private pull. Create one with read:packages."
    return None


def _api_message(body: bytes, token: str) -> str:
    from ansible_collections.fleet.ghcr.plugins.module_utils._registry import mask

    try:
        return mask(str(json.loads(body.decode("utf-8")).get("message", "no message")), [token])[:300]
    except (ValueError, AttributeError, UnicodeDecodeError, RecursionError):
        return "no message"


__all__ = (
    "GITHUB_API_URL",
    "clean_token",
    "expiry_warnings",
    "inspect_token",
    "kind_warning",
    "parse_expiry",
    "parse_scopes",
    "read_packages_problem",
    "scope_warnings",
    "token_kind",
)
