# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Proving one credential against a registry: shared by ghcr_registry and by ghcr_login's ``verify``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import Registry
from ansible_collections.fleet.ghcr.plugins.module_utils._registry import CheckResult, Endpoint, RegistryChecker, RegistryProblem, Transport, mask
from ansible_collections.fleet.ghcr.plugins.module_utils._token import GITHUB_API_URL, inspect_token, token_kind

MAX_TIMEOUT = 3600.0
MAX_RETRIES = 10


def check_connection(params: dict[str, Any]) -> None:
    """Refuse connection options that would make a check endless or meaningless; InputError says what to give."""
    timeout = params["timeout"]
    if not (timeout > 0 and timeout <= MAX_TIMEOUT):  # also refuses NaN
        raise InputError(f"timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}; got {timeout}.")
    if not 0 <= params["retries"] <= MAX_RETRIES:
        raise InputError(f"retries must be from 0 to {MAX_RETRIES}; got {params['retries']}.")


def connection(params: dict[str, Any]) -> dict[str, Any]:
    """The connection options of a task, as Endpoint takes them."""
    return {name: params[name] for name in ("validate_certs", "ca_path", "timeout", "retries")}


def check_credential(
    params: dict[str, Any], registry: Registry, username: str | None, secret: str | None, images: list[str], check_push: bool
) -> tuple[CheckResult, int]:
    """The check and the number of HTTP requests it made; a malformed image is an InputError before any request."""
    named = [(image, registry.image(image)) for image in images]
    transport = Transport(Endpoint.of(registry, **connection(params)), budget=check_budget(params, len(images), check_push))
    result = RegistryChecker(transport, username, secret).check(named, check_push)
    return result, transport.requests


def check_budget(params: dict[str, Any], images: int, check_push: bool) -> float:
    """Seconds a whole check may take: timeout * (retries + 1) for each request it can make.

    Two requests log in; each image needs up to three to be proven pullable and two more for the push probe.
    """
    requests = 2 + images * (3 + (2 if check_push else 0))
    return params["timeout"] * (params["retries"] + 1) * requests


def failure_message(host: str, result: CheckResult, check_push: bool) -> str | None:
    """One sentence for the first problem, in the registry's words plus a hint; None when all is well."""
    if result.error:
        return f"{host}: {result.error['code']}: {result.error['message']}. {result.error['hint']}"
    for image in result.images:
        if not image.pullable or (check_push and not image.pushable):
            what = "cannot be pulled" if not image.pullable else "cannot be pushed"
            error = image.error or {}
            return f"{host}/{image.ref} {what}: {error.get('code')}: {error.get('message')}. {error.get('hint')}"
    return None


def token_report(params: dict[str, Any], registry: Registry, secret: str | None, check_push: bool) -> tuple[dict | None, int]:
    """What the GitHub API says of the token, when ``inspect_token`` asks for it; and the requests made."""
    wanted = params["inspect_token"] == "always" or (params["inspect_token"] == "auto" and registry.host == "ghcr.io")
    if not (wanted and secret):
        return None, 0
    api = params["github_api_url"]
    options = connection(params)
    if api.rstrip("/") == GITHUB_API_URL:
        options["ca_path"] = None  # a CA given for a private registry does not apply to api.github.com
    transport = Transport(Endpoint(host=urlparse(api).netloc, **options))
    try:
        return inspect_token(transport, api, secret, check_push), transport.requests
    except RegistryProblem as problem:
        message = f"Could not ask the GitHub API about the token: {mask(problem.problem.message, [secret])}"
        return {"kind": token_kind(secret), "scopes": None, "expires_at": None, "warnings": [message], "answered": False}, transport.requests


__all__ = ("check_budget", "check_connection", "check_credential", "connection", "failure_message", "token_report")
