# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Controller-side, pure helpers of the ``fleet.ghcr.ghcr_pat`` lookup: token checks, the Docker config source, messages.

Nothing here reads variables, the environment or files by itself, and no message ever contains a token: callers pass
in what they read and get back a token or an explanation of why there was none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import (
    DOCKER,
    decode_auth,
    file_key,
    helper_for,
    key_host,
    normalize_registry,
    parse_document,
    registry_host,
)
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.module_utils._token import token_kind

# What to call each kind of token in a warning; the kinds come from the one prefix table in _token.
_KIND_NAMES = {
    "classic": "a classic personal access token",
    "fine_grained": "a fine-grained personal access token",
    "oauth": "an OAuth app access token (gho_)",
    "app_user": "a GitHub App user access token (ghu_)",
    "app_installation": "a GitHub App installation access token (ghs_)",
    "refresh": "a GitHub App refresh token (ghr_)",
}


class PatSourceError(GhcrError):
    """A token source holds something unusable; the message names the source, never the value."""


@dataclass(frozen=True)
class Attempt:
    """One place the lookup looked, and why it gave no token (``found`` is False) or that it gave one."""

    place: str
    outcome: str
    found: bool = False

    def __str__(self) -> str:
        return f"{self.place} ({self.outcome})"


def clean_token(value: str, source: str) -> str:
    """``value`` without surrounding whitespace; an empty value or whitespace inside it is an error naming ``source``."""
    token = value.strip()
    if not token:
        raise PatSourceError(f"the token from {source} is empty.")
    if any(char.isspace() or not char.isprintable() for char in token):
        raise PatSourceError(
            f"the token from {source} contains whitespace or control characters inside it:"
            " check that it holds the whole token and nothing else (one token, no 'user:token', no quotes)."
        )
    return token


def token_warning(token: str, source: str) -> str | None:
    """What to warn about a token's kind, judged by its prefix alone; None for a classic PAT (``ghp_``)."""
    kind = token_kind(token)
    if kind == "classic":
        return None
    if kind == "fine_grained":
        return (
            f"The token from {source} is a fine-grained personal access token (github_pat_): GitHub documents only"
            " classic personal access tokens (ghp_) with read:packages for ghcr.io, so logins may be refused."
        )
    if kind == "unknown":
        return (
            f"The token from {source} does not look like a GitHub token (no ghp_, github_pat_, gho_, ghu_ or ghs_ prefix):"
            " fine for another registry, but ghcr.io expects a classic personal access token (ghp_)."
        )
    name = _KIND_NAMES[kind]
    if kind == "refresh":
        return f"The token from {source} is {name}: it only renews user access tokens and cannot log in to a registry."
    return (
        f"The token from {source} is {name}, not a personal access token: it is short-lived or tied to an app,"
        " so credentials written from it stop working; ghcr.io documents classic personal access tokens (ghp_)."
    )


def docker_config_file(environ: Mapping[str, str], home: str) -> str:
    """Where the Docker CLI reads its config: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    directory = environ.get("DOCKER_CONFIG") or os.path.join(home, ".docker")
    return os.path.join(directory, "config.json")


def docker_config_place(path: str, registry: str) -> str:
    return f"Docker config {path} entry for {registry}"


def token_from_docker_config(data: bytes | None, path: str, registry: str) -> tuple[str | None, Attempt]:
    """The token stored inline for ``registry`` in a Docker config's ``auths``, or None and why there is none.

    ``data`` is the file's content, or None when the file does not exist. Docker keeps one credential per registry
    host, so a namespaced registry (``ghcr.io/org``) is looked up by its host. The exact key wins; otherwise the
    first key that Docker would read for the same host (``https://ghcr.io``, ``ghcr.io/v2/``). A registry that the
    file sends to a credential helper (``credHelpers``, ``credsStore``) is not read from ``auths``: Docker would not
    either, so an inline entry there would be stale.
    """
    try:
        host = registry_host(normalize_registry(registry))
    except GhcrError as exc:
        raise PatSourceError(f"registry: {exc}") from None
    place = docker_config_place(path, host)
    if data is None:
        return None, Attempt(place, "file does not exist")
    try:
        doc = parse_document(data, path)
    except GhcrError as exc:
        raise PatSourceError(f"the Docker config {path} cannot be read: {exc}") from None
    helper = helper_for(doc, host, DOCKER)
    if helper:
        name, setting = helper
        return None, Attempt(place, f"{setting} sends it to the credential helper docker-credential-{name}, which this lookup does not query")
    auths = doc.get("auths") or {}
    key = file_key(host, DOCKER)
    candidates = [key] if key in auths else [other for other in auths if key_host(other) == key_host(key)]
    for candidate in candidates:
        value = auths[candidate].get("auth")
        if not value:
            continue
        if not isinstance(value, str):
            raise PatSourceError(f"the Docker config {path}: the 'auth' value of {candidate!r} is not a string.")
        try:
            _username, secret = decode_auth(value)
        except ValueError as exc:
            raise PatSourceError(f"the Docker config {path}: the 'auth' value of {candidate!r} is {exc}.") from None
        return secret, Attempt(docker_config_place(path, candidate), "found", found=True)
    if candidates:
        return None, Attempt(place, "the entry has no 'auth' value")
    return None, Attempt(place, "no entry")


def missing_message(host: str | None, attempts: list[Attempt], hints: list[str]) -> str:
    """The 'nothing found' text: every place tried, in order, and how to add one."""
    who = f"host {host}" if host else "this play (no host)"
    tried = "; ".join(f"{index}. {attempt}" for index, attempt in enumerate(attempts, start=1))
    text = f"no token found for {who}. Tried, in order: {tried}."
    if hints:
        text += " " + " ".join(hints)
    return text


__all__ = (
    "Attempt",
    "PatSourceError",
    "clean_token",
    "docker_config_file",
    "docker_config_place",
    "missing_message",
    "token_from_docker_config",
    "token_kind",
    "token_warning",
)
