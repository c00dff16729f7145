# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""ghcr_login's ``docker_config_json``: the credentials of a Docker config given as input, read by Docker's rules.

Loaded only when the option is given.
"""

from __future__ import annotations

import json

from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import AuthFile, check_username, decode_auth, field_value
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import DOCKER, Registry
from ansible_collections.fleet.ghcr.plugins.module_utils._token import clean_token


def credentials_from_docker_config(blob: object) -> list[tuple[Registry, str, str]]:
    """``(registry, username, secret)`` for every ``auths`` entry of a Docker config given as JSON text or a dict."""
    if isinstance(blob, str):
        try:
            document = AuthFile.parse(blob.encode("utf-8", "surrogatepass"), "docker_config_json", DOCKER)
        except AuthFileError as exc:
            raise InputError(str(exc).partition("; it was left unchanged")[0]) from None
    elif isinstance(blob, dict):
        try:  # the same strict reading as text: a dict from YAML can hold what JSON text can
            text = json.dumps(blob, allow_nan=True)
        except (TypeError, ValueError, RecursionError):
            raise InputError("docker_config_json must hold only JSON values (objects, lists, strings, numbers, true, false, null).") from None
        return credentials_from_docker_config(text)
    else:
        raise InputError("docker_config_json must be a Docker config, as JSON text or a dict, like ~/.docker/config.json.")
    if not isinstance(document.auths, dict) or not document.auths:
        raise InputError("docker_config_json must be a Docker config with a non-empty 'auths' object, like ~/.docker/config.json.")
    found: dict[str, tuple[str, Registry, str, str]] = {}
    for key, entry in document.auths.items():
        where = f"docker_config_json entry {key!r}"
        registry = Registry.parse(key, where)
        username, secret = _given_credential(entry, where)
        check_username(username)
        secret = clean_token(secret, where)[0]
        earlier = found.get(registry.name)
        if earlier and earlier[2:] != (username, secret):
            raise InputError(
                f"docker_config_json has two different credentials for {registry} (the entries {earlier[0]!r} and {key!r}):"
                " keep one of them."
            )
        found.setdefault(registry.name, (key, registry, username, secret))
    return [(registry, username, secret) for _key, registry, username, secret in found.values()]


def _given_credential(entry: object, where: str) -> tuple[str, str]:
    if not isinstance(entry, dict):
        raise InputError(f"{where} must be an object.")
    value, username, password = field_value(entry, "auth"), field_value(entry, "username"), field_value(entry, "password")
    for name, item in (("auth", value), ("username", username), ("password", password)):
        if item is not None and not isinstance(item, str):
            raise InputError(f"{where}: '{name}' must be a string.")
    if value:
        try:
            return decode_auth(value)
        except ValueError as exc:
            raise InputError(f"{where}: 'auth' is {exc}.") from None
    if username and password:
        return username, password
    raise InputError(f"{where} holds no credential: it needs 'auth', or 'username' and 'password'.")


__all__ = ("credentials_from_docker_config",)
