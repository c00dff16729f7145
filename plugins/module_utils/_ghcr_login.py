# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The ghcr_login backend: one Unix user's Docker and Podman files, written by _authwrite's runner.

From the ModuleLike object called ``module``, only the following are used: ``params``, ``check_mode``,
``_diff``, ``warn``, ``no_log_values`` (encoded credentials are added so Ansible masks them too) and
``get_bin_path``.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import encode_auth
from ansible_collections.fleet.ghcr.plugins.module_utils._authwrite import PRESENT, Credential, LoginRequest, LoginRunner, credentials_from
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError, InputError, MissingUserError
from ansible_collections.fleet.ghcr.plugins.module_utils._module import ModuleLike
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import file_specs, lookup_account, missing_home_message
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import DOCKER, Registry


def build_request(params: dict[str, Any], warn: Callable[[str], None]) -> LoginRequest:
    """Validate every option before anything is touched; raises InputError with what to fix."""
    credentials = credentials_from(params, warn)
    if DOCKER in params["engines"]:
        for credential in credentials:
            credential.registry.key(DOCKER)
    account = lookup_account(params["user"])
    files = file_specs(params, account, runtime=params["sync_runtime_auth"])
    home = account.home.rstrip("/") + "/"
    if params["state"] == PRESENT and any(spec.primary and spec.path.startswith(home) for spec in files) and not os.path.isdir(account.home):
        raise InputError(missing_home_message(account))
    return LoginRequest(
        state=params["state"],
        credentials=credentials,
        account=account,
        files=files,
        credential_helpers=params["credential_helpers"],
        backup=params["backup"],
    )


def verify_credentials(params: dict[str, Any], credentials: list[Credential]) -> list[dict[str, Any]]:
    """Prove each credential against its registry before anything is written; raises GhcrError on failure.

    The registry client is imported here, so that a login without ``verify`` loads no HTTP or TLS code.
    """
    from ansible_collections.fleet.ghcr.plugins.module_utils._registry_check import check_connection, check_credential, failure_message

    check_connection(params)
    images = [params["verify_image"]] if params["verify_image"] else []
    proofs = []
    for credential in credentials:
        result, requests = check_credential(params, credential.registry, credential.username, credential.secret, images, False)
        proof = {
            "registry": credential.registry.name,
            "authenticated": result.authenticated,
            "error": result.error,
            "images": [image.as_dict() for image in result.images],
            "requests": requests,
        }
        proofs.append(proof)
        problem = failure_message(credential.registry.host, result, False)
        if problem:
            raise GhcrError(f"Verification failed, no file was changed: {problem}", {"verification": proofs})
    return proofs


def run_login(module: ModuleLike) -> dict[str, Any]:
    """The task result; a GhcrError raised here carries the result up to the failure."""
    try:
        request = build_request(module.params, module.warn)
    except MissingUserError as exc:
        return _without_user(module, str(exc))
    for credential in request.credentials:
        if credential.secret is not None:
            module.no_log_values.update({credential.secret, encode_auth(*credential.pair())})
    proofs = None
    if module.params["verify"] and request.state == PRESENT:
        proofs = verify_credentials(module.params, request.credentials)
    elif module.params["verify_image"] and not module.params["verify"]:
        module.warn("verify_image is only used with verify=true; nothing was verified.")
    runner = LoginRunner(module, request)
    try:
        result = runner.run()
    except GhcrError as exc:
        raise type(exc)(str(exc), runner.result()) from None
    if proofs is not None:
        result["verification"] = proofs
    return result


def _without_user(module: ModuleLike, problem: str) -> dict[str, Any]:
    """Nothing to do for a user that does not exist: logging out is done, logging in fails unless missing_user says otherwise."""
    params = module.params
    if params["state"] == PRESENT and params["missing_user"] == "fail":
        raise MissingUserError(problem)
    registry = Registry.parse(params["registry"]).name
    result: dict[str, Any] = {"changed": False, "registry": registry, "registries": [registry], "auth_files": [], "backup_files": [], "leftovers_removed": []}
    if params["state"] == PRESENT:
        result.update(skipped=True, msg=f"{problem} Nothing was done (missing_user={params['missing_user']}).")
        if params["missing_user"] == "warn":
            module.warn(result["msg"])
    else:
        result["msg"] = f"{problem} There is nothing to log out."
    return result


__all__ = ("build_request", "run_login")
