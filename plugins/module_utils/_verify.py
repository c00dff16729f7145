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
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import HelperError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._helpers import CredentialHelper, helper_binary
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import expand_for, lookup_account
from ansible_collections.fleet.ghcr.plugins.module_utils._registry import CheckResult, Endpoint, RegistryChecker, Transport, endpoint_for
from ansible_collections.fleet.ghcr.plugins.module_utils._token import inspect_token

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
    target = open_target(path, account, create_dirs=False)
    data = None
    if target is not None:
        with target:
            data, _info = target.read()
    if data is None:
        raise InputError(f"auth_file {path} does not exist.")
    doc = af.parse_document(data, path)
    host = af.registry_host(af.normalize_registry(registry))
    helper = af.helper_for(doc, host, af.DOCKER)
    found = _from_helper(module, helper, af.file_key(host, af.DOCKER), account, path) if helper else _from_entries(doc, host, path)
    module.no_log_values.update({found[1], af.encode_auth(*found)})
    return found


def _from_entries(doc: dict, host: str, path: str) -> tuple[str, str]:
    auths = doc.get("auths") or {}
    key = af.file_key(host, af.DOCKER)
    candidates = [key] + [other for other in auths if other != key and af.key_host(other) == af.key_host(key)]
    for candidate in candidates:
        entry = auths.get(candidate) or {}
        if entry.get("auth"):
            try:
                return af.decode_auth(entry["auth"])
            except ValueError as exc:
                raise InputError(f"auth_file {path}: the entry {candidate!r} is {exc}; Docker would refuse the whole file.") from None
    raise InputError(f"auth_file {path} holds no credential for {host}.")


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
    return inspect_token(transport, api, secret, check_push), transport.requests


def run_registry(module) -> dict[str, Any]:
    """The ghcr_registry result; ``failed`` and ``msg`` are set when fail_on_error applies."""
    params = module.params
    registry = params["registry"]
    images = params["images"]
    if params["auth_file"]:
        username, secret = credential_from_auth_file(module, registry)
    else:
        username, secret = params["username"], params["password"]
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


__all__ = ("check_credential", "credential_from_auth_file", "failure_message", "run_registry", "token_report")
