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

from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import AuthFile
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import DOCKER, Registry
from ansible_collections.fleet.ghcr.plugins.module_utils._token import clean_token, kind_warning


class PatSourceError(GhcrError):
    """A token source holds something unusable; the message names the source, never the value."""


@dataclass(frozen=True)
class Attempt:
    """One place the lookup looked, and why it gave no token (``found`` is False) or that it gave one."""

    place: str
    outcome: str
    found: bool = False
    source: str = ""  # the place without the host, for warnings that Ansible shows once however many hosts share them

    def __str__(self) -> str:
        return f"{self.place} ({self.outcome})"


def checked_token(value: str, attempt: Attempt) -> tuple[str, str | None]:
    """The token without surrounding whitespace and what to warn about its kind; PatSourceError names the place.

    The warning names the source without the host, so that Ansible shows it once for a fleet sharing the token.
    """
    try:
        token = clean_token(value, attempt.place)[0]
    except GhcrError as exc:
        raise PatSourceError(str(exc)) from None
    return token, kind_warning(token, f"The token from {attempt.source or attempt.place}")


def docker_config_file(environ: Mapping[str, str], home: str) -> str:
    """Where the Docker CLI reads its config: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    directory = environ.get("DOCKER_CONFIG") or os.path.join(home, ".docker")
    return os.path.join(directory, "config.json")


def docker_config_place(path: str, registry: str) -> str:
    return f"Docker config {path} entry for {registry}"


def token_from_docker_config(data: bytes | None, path: str, registry: str) -> tuple[str | None, Attempt]:
    """The token Docker would send to ``registry`` from a Docker config's ``auths``, or None and why there is none.

    ``data`` is the file's content, or None when the file does not exist. The file is read by Docker's rules through
    the collection's one auth-file model: one credential per registry host (a namespaced registry is looked up by its
    host), the exact key first, then another spelling of the host. A registry that the file sends to a credential
    helper (``credHelpers``, ``credsStore``) is not read from ``auths``: Docker would not either.
    """
    try:
        wanted = Registry.parse(registry).whole()
    except GhcrError as exc:
        raise PatSourceError(f"registry: {exc}") from None
    place = docker_config_place(path, wanted.name)
    if data is None:
        return None, Attempt(place, "file does not exist")
    try:
        resolution = AuthFile.parse(data, path, DOCKER).resolve(wanted)
    except GhcrError as exc:
        raise PatSourceError(f"the Docker config {path} cannot be read: {exc}") from None
    if resolution.source == "helper":
        helper = f"docker-credential-{resolution.helper}"
        return None, Attempt(place, f"{resolution.setting} sends it to the credential helper {helper}, which this lookup does not query")
    if resolution.source == "broken":
        raise PatSourceError(f"the Docker config {resolution.problem}.")
    if resolution.source == "entry" and resolution.secret:
        return resolution.secret, Attempt(docker_config_place(path, resolution.key or ""), "found", found=True)
    return None, Attempt(place, "the entry has no 'auth' value" if resolution.key else "no entry")


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
    "checked_token",
    "docker_config_file",
    "docker_config_place",
    "missing_message",
    "token_from_docker_config",
)
