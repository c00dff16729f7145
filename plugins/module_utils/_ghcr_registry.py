# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Proving a credential against a registry, for ghcr_registry and for ghcr_login's ``verify``.

From the object called ``module``, only the following are used:
 - module.params[]
 - module.no_log_values (a set; secrets read from auth files are added)
 - module.get_bin_path(name: str) -> str | None (for credential helpers named in an auth file)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from ansible_collections.fleet.ghcr.plugins.module_utils import _authfile as af
from ansible_collections.fleet.ghcr.plugins.module_utils._atomic import open_target
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, HelperError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._helpers import CredentialHelper, helper_binary
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import expand_for, lookup_account
from ansible_collections.fleet.ghcr.plugins.module_utils._registry import (
    CheckResult,
    Endpoint,
    RegistryChecker,
    RegistryProblem,
    Transport,
    endpoint_for,
)
from ansible_collections.fleet.ghcr.plugins.module_utils._token import inspect_token, token_kind

DEFAULT_API = "https://api.github.com"


def endpoint(params: dict[str, Any], registry: str) -> Endpoint:
    scheme, host = endpoint_for(registry)
    return Endpoint(
        host=host,
        scheme=scheme,
        validate_certs=params["validate_certs"],
        ca_path=params["ca_path"],
        timeout=params["timeout"],
        retries=params["retries"],
    )


def check_credential(
    params: dict[str, Any], registry: str, username: str | None, secret: str | None, images: list[str], check_push: bool
) -> tuple[CheckResult, int]:
    """The check and the number of HTTP requests it made."""
    transport = Transport(endpoint(params, registry))
    result = RegistryChecker(transport, username, secret).check(images, check_push)
    return result, transport.requests


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


def credential_from_auth_file(module, registry: str) -> tuple[str, str]:
    """The username and secret that the auth file gives ``registry``, as Docker would find them."""
    params = module.params
    account = lookup_account(params["user"])
    path = expand_for(account, params["auth_file"], "auth_file")
    data = _read(path, account)
    if data is None:
        raise InputError(f"auth_file {path} does not exist.")
    doc = af.parse_document(data, path)
    wanted = af.normalize_registry(registry)
    host = af.registry_host(wanted)
    helper = af.helper_for(doc, host, af.DOCKER)
    found = _from_helper(module, helper, af.file_key(host, af.DOCKER), account, path) if helper else _from_entries(doc, wanted, path)
    mask(module, *found)
    return found


def mask(module, username: str, secret: str) -> None:
    """Have Ansible mask the secret and base64(user:secret) in everything the task returns."""
    module.no_log_values.update({secret, af.encode_auth(username, secret)})


def _read(path: str, account) -> bytes | None:
    try:
        target = open_target(path, account, create_dirs=False)
        if target is None:
            return None
        with target:
            return target.read()[0]
    except OSError as exc:
        raise AuthFileError(f"Cannot read auth_file {path}: {exc.strerror}.") from None


def _lookup_order(auths: dict, registry: str) -> list[str]:
    """Keys in the order clients try them: the most specific namespace first (as Podman does), then the host,
    then any other spelling of the host (as Docker's fallback scan does)."""
    parts = registry.split("/")
    specific = ["/".join(parts[:count]) for count in range(len(parts), 0, -1)]
    host = af.file_key(parts[0], af.DOCKER)
    spellings = [key for key in auths if key not in specific and key != host and af.key_host(key) == af.key_host(host)]
    return list(dict.fromkeys([*specific, host, *spellings]))


def _from_entries(doc: dict, registry: str, path: str) -> tuple[str, str]:
    auths = doc.get("auths") or {}
    for candidate in _lookup_order(auths, registry):
        entry = auths.get(candidate) or {}
        if entry.get("auth"):
            try:
                return af.decode_auth(entry["auth"])
            except ValueError as exc:
                raise InputError(f"auth_file {path}: the entry {candidate!r} is {exc}; Docker would refuse the whole file.") from None
    raise InputError(f"auth_file {path} holds no credential for {registry}.")


def _from_helper(module, helper: tuple[str, str], server: str, account, path: str) -> tuple[str, str]:
    executable = module.get_bin_path(helper_binary(helper[0]))
    if not executable:
        raise HelperError(f"auth_file {path} keeps the credential in {helper_binary(helper[0])} ({helper[1]}), which is not installed or not on PATH.")
    found = CredentialHelper(helper[0], executable, account).get(server)
    if not found:
        raise InputError(f"auth_file {path} sends {server} to {helper_binary(helper[0])} ({helper[1]}), which holds no credential for it.")
    return found


def token_report(params: dict[str, Any], registry: str, secret: str | None, check_push: bool) -> tuple[dict | None, int]:
    """What the GitHub API says of the token, when ``inspect_token`` asks for it; and the requests made."""
    host = endpoint_for(registry)[1]
    wanted = params["inspect_token"] == "always" or (params["inspect_token"] == "auto" and host == "ghcr.io")
    if not (wanted and secret):
        return None, 0
    api = params["github_api_url"]
    api_host = urlparse(api).netloc
    custom_api = api.rstrip("/") != DEFAULT_API
    transport = Transport(Endpoint(
        host=api_host,
        validate_certs=params["validate_certs"],
        ca_path=params["ca_path"] if custom_api else None,
        timeout=params["timeout"],
        retries=params["retries"],
    ))
    try:
        return inspect_token(transport, api, secret, check_push), transport.requests
    except RegistryProblem as problem:
        message = f"Could not ask the GitHub API about the token: {problem.problem.message}"
        return {"kind": token_kind(secret), "scopes": None, "expires_at": None, "warnings": [message]}, transport.requests


def run_registry(module) -> dict[str, Any]:
    """The ghcr_registry result; ``failed`` and ``msg`` are set when fail_on_error applies."""
    params = module.params
    registry = params["registry"]
    images = params["images"]
    if params["auth_file"]:
        username, secret = credential_from_auth_file(module, registry)
    else:
        username, secret = params["username"], params["password"]
        if username is not None:
            af.check_username(username)
            secret = af.check_secret(secret)[0]
            mask(module, username, secret)
    result, requests = check_credential(params, registry, username, secret, images, params["check_push"])
    token, api_requests = token_report(params, registry, secret, params["check_push"])
    host = endpoint_for(registry)[1]
    output: dict[str, Any] = {
        "changed": False,
        "registry": host,
        "authenticated": result.authenticated,
        "error": result.error,
        "images": [image.as_dict() for image in result.images],
        "token": token,
        "requests": requests + api_requests,
    }
    problem = failure_message(host, result, params["check_push"])
    if problem and params["fail_on_error"]:
        output.update(failed=True, msg=problem)
    return output


__all__ = ("check_credential", "credential_from_auth_file", "failure_message", "mask", "run_registry", "token_report")
