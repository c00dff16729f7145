# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure logic for Docker ``config.json`` and containers ``auth.json`` files: keys, entries, parsing, merging."""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import re

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, InputError

DOCKER = "docker"
PODMAN = "podman"
ENGINES = (DOCKER, PODMAN)

DOCKER_HUB = "docker.io"
DOCKER_HUB_DOCKER_KEY = "https://index.docker.io/v1/"
_DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

# Entry fields that carry a secret: shown only as fingerprints.
SECRET_FIELDS = ("auth", "password", "identitytoken", "registrytoken")

_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_HOST_RE = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?$")
_PATH_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_SCHEME_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_API_ROOTS = ("v1", "v2")


def normalize_registry(value: str) -> str:
    """Canonical ``host[:port][/namespace...]`` form of a registry given as a host, key or URL.

    A scheme and trailing slashes are dropped, the host is lower-cased, an API root (``/v1``, ``/v2``)
    after a URL is dropped, and every Docker Hub alias becomes ``docker.io``.
    """
    text = value if isinstance(value, str) else ""
    if not text:
        raise InputError("registry must not be empty: give a host such as ghcr.io or registry.example.com:5000.")
    if any(char.isspace() for char in text):
        raise InputError(f"registry {text!r} contains whitespace: give a host such as ghcr.io.")
    had_scheme = False
    match = _SCHEME_RE.match(text)
    if match:
        if match.group("scheme").lower() not in ("http", "https"):
            raise InputError(f"registry {text!r} has the scheme {match.group('scheme')!r}: only http:// and https:// may be given.")
        text = text[match.end():]
        had_scheme = True
    text = text.rstrip("/")
    host, _sep, path = text.partition("/")
    host = host.lower()
    if not _HOST_RE.match(host) or not _port_in_range(host):
        raise InputError(f"registry {value!r} is malformed: {host!r} is not a host name or address with an optional :port.")
    if had_scheme and path in _API_ROOTS:
        path = ""
    if host in _DOCKER_HUB_HOSTS and path in ("", *_API_ROOTS):
        return DOCKER_HUB
    if path:
        _check_namespace(value, path)
        return f"{host}/{path}"
    return host


def _port_in_range(host: str) -> bool:
    match = _HOST_RE.match(host)
    port = match.group("port") if match else None
    return port is None or 0 < int(port) < 65536


def _check_namespace(value: str, path: str) -> None:
    for component in path.split("/"):
        if not _PATH_COMPONENT_RE.match(component):
            raise InputError(
                f"registry {value!r} is malformed: the namespace part {component!r} must be lower-case letters, digits and"
                " single separators (., _, __ or -), with no tag or digest."
            )


def registry_host(registry: str) -> str:
    """The host part of a canonical registry (what credential helpers are keyed by)."""
    return registry.partition("/")[0]


def is_namespaced(registry: str) -> bool:
    return "/" in registry


def file_key(registry: str, engine: str) -> str:
    """The ``auths`` key each engine writes and reads for a canonical registry."""
    if engine == DOCKER:
        if is_namespaced(registry):
            raise InputError(
                f"registry {registry!r} names a namespace, but Docker keeps one credential per registry host"
                f" (it would use a namespaced key for all of {registry_host(registry)}): use registry={registry_host(registry)}"
                " for Docker, or engines=[podman] for a per-namespace credential."
            )
        return DOCKER_HUB_DOCKER_KEY if registry == DOCKER_HUB else registry
    return registry


def key_host(key: str) -> str:
    """The registry host a stored key applies to, read the way Docker reads keys (scheme and path dropped)."""
    text = key
    match = _SCHEME_RE.match(text)
    if match:
        text = text[match.end():]
    host = text.partition("/")[0].lower()
    return DOCKER_HUB if host in _DOCKER_HUB_HOSTS else host


def _matching_keys(auths: dict, key: str, engine: str, removing: bool) -> list[str]:
    """Keys other than ``key`` that a client would also read for it.

    Always the ``http(s)://`` spellings of a host key; when removing from a Docker file, also the
    namespaced keys of that host, because Docker applies them to the whole host.
    """
    if is_namespaced(key) and not _SCHEME_RE.match(key):
        return []
    host = key_host(key)
    found = []
    for other in auths:
        if other == key or key_host(other) != host:
            continue
        if _SCHEME_RE.match(other) or (removing and engine == DOCKER):
            found.append(other)
    return found


def encode_auth(username: str, secret: str) -> str:
    """``base64(username:secret)`` in padded standard base64, as Docker and containers/image read it."""
    return base64.b64encode(f"{username}:{secret}".encode()).decode("ascii")


def decode_auth(value: str) -> tuple[str, str]:
    """Split an ``auth`` value into username and secret; raises ValueError where Docker would refuse it."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    try:
        decoded = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError) as exc:
        raise ValueError("not padded standard base64 of UTF-8 text") from exc
    username, sep, secret = decoded.partition(":")
    if not sep or not username:
        raise ValueError("not of the form username:secret")
    return username, secret.strip("\x00")


def fingerprint(secret: str) -> str:
    """A short, non-reversible name for a secret, so that a change is visible and nothing leaks."""
    return f"sha256:{hashlib.sha256(secret.encode()).hexdigest()[:12]}"


def check_username(username: str | None) -> str:
    if not username:
        raise InputError("username must not be empty: give the GitHub login that owns the token.")
    if ":" in username:
        raise InputError("username must not contain ':': auth files store username:token, so a ':' would split it wrongly.")
    if any(char.isspace() or not char.isprintable() for char in username):
        raise InputError("username must not contain whitespace or control characters.")
    return username


def check_secret(secret: str | None) -> tuple[str, list[str]]:
    """The secret with surrounding whitespace removed, and any warnings about it."""
    warnings = []
    stripped = (secret or "").strip()
    if stripped != (secret or ""):
        warnings.append("Removed whitespace around the password (a trailing newline from a file or prompt is common); the token itself is unchanged.")
    if not stripped:
        raise InputError("password (token) must not be empty: give the personal access token, for example from the vault-encrypted ghcr_pat.")
    if any(char.isspace() or not char.isprintable() for char in stripped):
        raise InputError("password (token) contains whitespace or control characters inside it: check that the whole token and nothing else was given.")
    return stripped, warnings


def parse_document(data: bytes, path: str) -> dict:
    """Parse an auth file strictly; anything a client could misread is an error, never an empty config."""
    unchanged = "it was left unchanged: fix or remove it"
    if not data.strip():
        raise AuthFileError(f"{path} is empty, which Docker and Podman cannot parse; {unchanged}.")
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise AuthFileError(f"{path} is not UTF-8 text (byte {exc.start}); {unchanged}.") from None
    except json.JSONDecodeError as exc:
        raise AuthFileError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); {unchanged}.") from None
    _check_shape(doc, path, unchanged)
    return doc


def _check_shape(doc: object, path: str, unchanged: str) -> None:
    if not isinstance(doc, dict):
        raise AuthFileError(f"{path} does not hold a JSON object; {unchanged}.")
    auths = doc.get("auths", {})
    if not isinstance(auths, dict) or not all(isinstance(entry, dict) for entry in auths.values()):
        raise AuthFileError(f"{path}: 'auths' must be an object of objects; {unchanged}.")
    helpers = doc.get("credHelpers", {})
    if not isinstance(helpers, dict) or not all(isinstance(name, str) for name in helpers.values()):
        raise AuthFileError(f"{path}: 'credHelpers' must map registries to helper names; {unchanged}.")
    if not isinstance(doc.get("credsStore", ""), str):
        raise AuthFileError(f"{path}: 'credsStore' must be a helper name; {unchanged}.")


def detect_style(data: bytes | None) -> tuple[str | None, bool]:
    """The indentation and trailing newline of an existing file, so that a rewrite keeps its look.

    New files get what Docker and Podman write themselves: tab indentation and no trailing newline.
    """
    if not data:
        return "\t", False
    text = data.decode("utf-8", "replace")
    match = re.search(r"\n([ \t]+)\S", text)
    return (match.group(1) if match else None), text.endswith("\n")


def serialize(doc: dict, style: tuple[str | None, bool] = ("\t", False)) -> bytes:
    indent, trailing_newline = style
    separators = (",", ": ") if indent is not None else (",", ":")
    text = json.dumps(doc, indent=indent, separators=separators, ensure_ascii=False)
    return (text + ("\n" if trailing_newline else "")).encode("utf-8")


def helper_for(doc: dict | None, registry: str, engine: str) -> tuple[str, str] | None:
    """``(helper name, the setting that chose it)`` if the file sends this registry to a credential helper.

    Docker looks up ``credHelpers`` by its key, then falls back to ``credsStore``; containers/image
    reads only ``credHelpers``, by host.
    """
    if not doc:
        return None
    helpers = doc.get("credHelpers") or {}
    if engine == DOCKER:
        key = file_key(registry, DOCKER)
        if helpers.get(key):
            return helpers[key], f"credHelpers[{key!r}]"
        if doc.get("credsStore"):
            return doc["credsStore"], "credsStore"
        return None
    host = registry_host(registry)
    if helpers.get(host):
        return helpers[host], f"credHelpers[{host!r}]"
    return None


def entry_for(username: str, secret: str) -> dict:
    return {"auth": encode_auth(username, secret)}


def with_entry(doc: dict | None, key: str, entry: dict, engine: str) -> dict:
    """A copy of ``doc`` where ``key`` holds exactly ``entry`` and no ``http(s)://`` spelling of it remains.

    Every other top-level key and every other entry is kept as it was, in its place.
    """
    new = copy.deepcopy(doc) if doc else {}
    auths = new.setdefault("auths", {})
    for other in _matching_keys(auths, key, engine, removing=False):
        del auths[other]
    auths[key] = entry
    return new


def without_entry(doc: dict | None, key: str, engine: str) -> dict | None:
    """A copy of ``doc`` with ``key`` and every key a client would read in its place removed."""
    if doc is None:
        return None
    new = copy.deepcopy(doc)
    auths = new.get("auths")
    if isinstance(auths, dict):
        for other in [key, *_matching_keys(auths, key, engine, removing=True)]:
            auths.pop(other, None)
    return new


def holds_entry(doc: dict | None, key: str, engine: str) -> bool:
    """Whether a client would find an entry for ``key`` in this document (even an empty helper placeholder)."""
    if not doc:
        return False
    return without_entry(doc, key, engine) != doc


_URL_PASSWORD_RE = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)(?P<password>[^@/\s]+)(?P<at>@)")


def redacted(doc: dict | None) -> dict | None:
    """A copy fit for a diff: entry secrets, header values and passwords inside URLs become fingerprints.

    Besides ``auths``, a config can hold secrets elsewhere: ``HttpHeaders`` (sent to the daemon) and proxy
    URLs with credentials (``proxies``).
    """
    if doc is None:
        return None
    shown = _redact_urls(copy.deepcopy(doc))
    for entry in (shown.get("auths") or {}).values():
        for field in SECRET_FIELDS:
            if isinstance(entry.get(field), str) and entry[field]:
                entry[field] = fingerprint(entry[field])
    headers = shown.get("HttpHeaders")
    if isinstance(headers, dict):
        shown["HttpHeaders"] = {name: fingerprint(str(value)) for name, value in headers.items()}
    return shown


def _redact_urls(value: object) -> object:
    if isinstance(value, str):
        return _URL_PASSWORD_RE.sub(lambda match: match["head"] + fingerprint(match["password"]) + match["at"], value)
    if isinstance(value, dict):
        return {key: _redact_urls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_urls(item) for item in value]
    return value


def credentials_from_docker_config(blob: str | dict) -> list[tuple[str, str, str]]:
    """``(registry, username, secret)`` for every ``auths`` entry of a Docker config given as JSON text or a dict."""
    doc = blob
    if isinstance(blob, str):
        try:
            doc = json.loads(blob)
        except json.JSONDecodeError as exc:
            raise InputError(f"docker_config_json is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}).") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("auths"), dict) or not doc["auths"]:
        raise InputError("docker_config_json must be a Docker config with a non-empty 'auths' object, like ~/.docker/config.json.")
    return [_credential_of(key, entry) for key, entry in doc["auths"].items()]


def _credential_of(key: str, entry: object) -> tuple[str, str, str]:
    registry = normalize_registry(key)
    where = f"docker_config_json entry {key!r}"
    if not isinstance(entry, dict):
        raise InputError(f"{where} must be an object.")
    if entry.get("auth"):
        try:
            username, secret = decode_auth(entry["auth"])
        except ValueError as exc:
            raise InputError(f"{where}: 'auth' is {exc}.") from None
    elif entry.get("username") and entry.get("password"):
        username, secret = entry["username"], entry["password"]
    else:
        raise InputError(f"{where} holds no credential: it needs 'auth', or 'username' and 'password'.")
    check_username(username)
    secret, _warnings = check_secret(secret)
    return registry, username, secret


__all__ = (
    "DOCKER",
    "DOCKER_HUB",
    "ENGINES",
    "PODMAN",
    "check_secret",
    "check_username",
    "credentials_from_docker_config",
    "decode_auth",
    "detect_style",
    "encode_auth",
    "entry_for",
    "file_key",
    "fingerprint",
    "helper_for",
    "holds_entry",
    "is_namespaced",
    "key_host",
    "normalize_registry",
    "parse_document",
    "redacted",
    "registry_host",
    "serialize",
    "with_entry",
    "without_entry",
)
