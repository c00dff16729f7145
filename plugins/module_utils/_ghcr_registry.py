# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The ghcr_registry backend: prove a credential, given or read from an auth file as its client would read it.

From the ModuleLike object called ``module``, only ``params``, ``no_log_values`` (secrets read from auth files
are added), ``warn`` (what the GitHub API says of the token) and ``get_bin_path`` (for credential helpers named in an
auth file) are used.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ansible_collections.fleet.ghcr.plugins.module_utils._atomic import read_file
from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import AuthFile, Resolution, check_username, encode_auth
from ansible_collections.fleet.ghcr.plugins.module_utils._credential_helper import CredentialHelper, helper_binary
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError, HelperError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._module import ModuleLike
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import Account, expand_for, lookup_account
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import DOCKER, PODMAN, Registry
from ansible_collections.fleet.ghcr.plugins.module_utils._registry import CheckResult
from ansible_collections.fleet.ghcr.plugins.module_utils._registry_check import check_connection, check_credential, failure_message, token_report
from ansible_collections.fleet.ghcr.plugins.module_utils._token import clean_token, read_packages_problem


def auth_file_engine(path: str, choice: str) -> str:
    """Whose rules a file is read by: ``auto`` takes a file named ``config.json`` for Docker's, any other for Podman's."""
    if choice != "auto":
        return choice
    return DOCKER if posixpath.basename(path) == "config.json" else PODMAN


class AuthFileSource:
    """The credentials one auth file gives, per registry or image, exactly as the file's client resolves them."""

    def __init__(self, module: ModuleLike, path: str, engine: str, account: Account) -> None:
        self.module = module
        self.engine = engine
        self.account = account
        data = read_file(path, account)
        if data is None:
            raise InputError(f"auth_file {path} does not exist.")
        self.document = AuthFile.parse(data, path, engine)

    def credential(self, registry: Registry) -> tuple[str, str]:
        found = self._from(self.document.resolve(registry), registry)
        if not found[1]:
            raise InputError(f"auth_file {self.document.path} gives {registry} a user name without a password or token: nothing to prove.")
        self.module.no_log_values.update({found[1], encode_auth(*found)})
        return found

    def _from(self, resolution: Resolution, registry: Registry) -> tuple[str, str]:
        path = self.document.path
        if resolution.source == "entry":
            return resolution.username or "", resolution.secret or ""
        if resolution.source == "broken":
            raise InputError(f"auth_file: {resolution.problem}.")
        if resolution.source == "helper":
            helper = resolution.helper or ""
            binary = helper_binary(helper)
            executable = self.module.get_bin_path(binary)
            if not executable:
                raise HelperError(
                    f"auth_file {path} keeps the credential for {registry} in {binary} ({resolution.setting}), which is not installed or not on PATH."
                )
            found = CredentialHelper(helper, executable, self.account).get(registry.helper_server(self.engine))
            if not found:
                raise InputError(f"auth_file {path} sends {registry.host} to {binary} ({resolution.setting}), which holds no credential for it.")
            return found
        if resolution.source == "token":
            raise InputError(f"auth_file {path} gives {registry} an identity or registry token (entry {resolution.key!r}), which this module cannot prove.")
        empty = f": its entry {resolution.key!r} is empty, which ends the {self.engine} lookup" if resolution.key else ""
        raise InputError(f"auth_file {path} holds no credential for {registry} that {self.engine} would use{empty}.")


def credentials_for(module: ModuleLike, registry: Registry) -> list[tuple[tuple[str, str] | None, list[str]]]:
    """Each distinct credential to check and the images it is for; a single anonymous or given credential without a file."""
    params = module.params
    images = params["images"]
    if not params["auth_file"]:
        given = None
        if params["username"] is not None:
            secret = clean_token(params["password"], "the password option")[0]
            given = (check_username(params["username"]), secret)
            module.no_log_values.update({secret, encode_auth(*given)})
        return [(given, images)]
    account = lookup_account(params["user"])
    path = expand_for(account, params["auth_file"], "auth_file")
    source = AuthFileSource(module, path, auth_file_engine(path, params["auth_file_engine"]), account)
    if source.engine == DOCKER or not images:
        return [(source.credential(registry), images)]
    groups: dict[tuple[str, str], list[str]] = {}
    for image in images:  # containers/image looks up every image by its own name, the most specific key first
        name = registry.image(image)
        groups.setdefault(source.credential(Registry(registry.host, name.repository, registry.scheme)), []).append(image)
    return list(groups.items())


def run_registry(module: ModuleLike) -> dict[str, Any]:
    """The ghcr_registry result; a GhcrError carries the result when the check fails and fail_on_error is set."""
    params = module.params
    check_connection(params)
    registry = Registry.parse(params["registry"])
    results: dict[str, Any] = {}
    checks: list[CheckResult] = []
    requests = 0
    token = None
    for credential, images in credentials_for(module, registry):
        username, secret = credential or (None, None)
        result, count = check_credential(params, registry, username, secret, images, params["check_push"])
        checks.append(result)
        results.update({image.ref: image.as_dict() for image in result.images})
        requests += count
        if token is None:
            token, count = token_report(params, registry, secret, params["check_push"])
            requests += count
    merged = CheckResult(
        authenticated=all(check.authenticated for check in checks),
        error=next((check.error for check in checks if check.error), None),
        images=[image for check in checks for image in check.images],
    )
    output: dict[str, Any] = {
        "changed": False,
        "registry": registry.host,
        "authenticated": merged.authenticated,
        "error": merged.error,
        "images": [results[image] for image in params["images"] if image in results],
        "token": token,
        "requests": requests,
    }
    for warning in (token or {}).get("warnings", []):
        module.warn(warning)
    problem = failure_message(registry.host, merged, params["check_push"])
    if not problem and params["require_read_packages"] and token:
        problem = read_packages_problem(token)
        output["error"] = output["error"] or ({"code": "denied", "message": problem, "hint": problem, "status": None} if problem else None)
    if problem and params["fail_on_error"]:
        raise GhcrError(problem, output)
    return output


__all__ = ("AuthFileSource", "auth_file_engine", "credentials_for", "run_registry")
