# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The one model of Docker ``config.json`` and ``containers-auth.json`` files (pure: no I/O).

``AuthFile.parse`` reads a file as strictly as the Go clients do (Docker, and containers/image for Podman,
Skopeo and Buildah), ``resolve`` answers "which credential would this client use for that registry",
``with_entry``/``without_entry`` return the document with a credential added or removed by the client's own
matching rules, and ``redacted`` is the view a diff may show. Go's ``encoding/json`` matches field names in
any letter case, so every known field is found that way; values we do not touch are written back as they were
read (numbers keep their original text).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any, NamedTuple

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import DOCKER, DOCKER_HUB_HOSTS, KUBELET, PODMAN, Registry

MAX_DEPTH = 64  # real auth files nest 4 levels; deeper documents are refused
_UNCHANGED = "it was left unchanged: fix or remove it"


# --------------------------------------------------------------------------- JSON exactly as Go reads it


class RawNumber:
    """A JSON number kept as the text it was written in, so that writing it back changes nothing."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"RawNumber({self.text!r})"


class _Refused(ValueError):
    pass


def _unique_object(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(f"the key {_shown(key)} appears twice in one object (the clients keep only one of them): remove the duplicate")
        seen[key] = value
    return seen


def _refuse_constant(name: str) -> None:
    raise _Refused(f"it holds {name}, which is not JSON and which Docker and Podman refuse")


def load_json(data: bytes, path: str) -> Any:
    """The JSON value of ``data``; anything the Go clients would read differently is an AuthFileError."""
    if not data.strip():
        raise AuthFileError(f"{path} is empty, which Docker and Podman cannot parse; {_UNCHANGED}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AuthFileError(f"{path} is not UTF-8 text (byte {exc.start}); {_UNCHANGED}.") from None
    try:
        value = json.loads(
            text, object_pairs_hook=_unique_object, parse_float=RawNumber, parse_int=RawNumber, parse_constant=_refuse_constant
        )
    except json.JSONDecodeError as exc:
        raise AuthFileError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); {_UNCHANGED}.") from None
    except _Refused as exc:
        raise AuthFileError(f"{path}: {exc}; {_UNCHANGED}.") from None
    except RecursionError:
        raise AuthFileError(f"{path} nests objects or arrays more than {MAX_DEPTH} levels deep; {_UNCHANGED}.") from None
    problem = _odd_value(value, 0)
    if problem:
        raise AuthFileError(f"{path} {problem}; {_UNCHANGED}.")
    return value


def _odd_value(value: Any, depth: int) -> str | None:
    """What keeps a parsed value from being written back as the clients read it: depth, lone surrogates.

    The message never quotes the value: it may be a secret.
    """
    if depth > MAX_DEPTH:
        return f"nests objects or arrays more than {MAX_DEPTH} levels deep"
    if isinstance(value, str):
        return None if _is_text(value) else _SURROGATE
    items: Any = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and not _is_text(key):
            return _SURROGATE
        problem = _odd_value(item, depth + 1)
        if problem:
            return problem
    return None


_SURROGATE = (
    "holds a lone UTF-16 surrogate escape (\\ud800 to \\udfff without its pair) in a key or string, which the clients"
    " read as U+FFFD, so it cannot be written back as read (grep -n '\\\\ud[89abcdef]' finds it)"
)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def dump_json(value: Any, indent: str | None, level: int = 0) -> str:
    """JSON text laid out like Go's ``MarshalIndent`` (``indent`` None: compact); numbers keep their text."""
    if isinstance(value, RawNumber):
        return value.text
    if isinstance(value, dict) and value:
        items = [f"{json.dumps(key, ensure_ascii=False)}:{' ' if indent is not None else ''}{dump_json(item, indent, level + 1)}"
                 for key, item in value.items()]
        return _container("{", items, "}", indent, level)
    if isinstance(value, list) and value:
        return _container("[", [dump_json(item, indent, level + 1) for item in value], "]", indent, level)
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(value, ensure_ascii=False)


def _container(opening: str, items: list[str], closing: str, indent: str | None, level: int) -> str:
    if indent is None:
        return opening + ",".join(items) + closing
    inner = "\n" + indent * (level + 1)
    return opening + inner + ("," + inner).join(items) + "\n" + indent * level + closing


def go_fold(name: str) -> str:
    """The form in which Go's ``encoding/json`` compares a JSON key with a field name (any letter case)."""
    return "".join(_fold_char(char) for char in name)


def _fold_char(char: str) -> str:
    if char.isascii():
        return char.upper()
    lower = char.lower()
    lower = lower if len(lower) == 1 else char
    upper = lower.upper()
    return upper if len(upper) == 1 else lower


# --------------------------------------------------------------------------- what each client reads

_DOCKER_ENTRY = {go_fold(name): name for name in ("auth", "username", "password", "email", "serveraddress", "identitytoken", "registrytoken")}
_PODMAN_ENTRY = {go_fold(name): name for name in ("auth", "identitytoken")}
_PROXY_FIELDS = {go_fold(name): name for name in ("httpProxy", "httpsProxy", "noProxy", "ftpProxy", "allProxy")}
# docker/cli cli/config/configfile/file.go, type ConfigFile: the JSON type of every field Docker decodes.
DOCKER_FIELDS: dict[str, tuple[str, str]] = {
    go_fold(name): (name, kind)
    for name, kind in (
        ("auths", "entries"), ("HttpHeaders", "string_map"), ("credsStore", "string"), ("credHelpers", "string_map"),
        ("psFormat", "string"), ("imagesFormat", "string"), ("networksFormat", "string"), ("pluginsFormat", "string"),
        ("volumesFormat", "string"), ("statsFormat", "string"), ("detachKeys", "string"), ("serviceInspectFormat", "string"),
        ("servicesFormat", "string"), ("tasksFormat", "string"), ("secretFormat", "string"), ("configFormat", "string"),
        ("nodesFormat", "string"), ("pruneFilters", "strings"), ("proxies", "proxies"), ("currentContext", "string"),
        ("cliPluginsExtraDirs", "strings"), ("plugins", "plugins"), ("aliases", "string_map"), ("features", "string_map"),
    )
}
# containers/image pkg/docker/config/config.go, type dockerConfigFile.
_PODMAN_FIELDS = {go_fold(name): (name, kind) for name, kind in (("auths", "entries"), ("credHelpers", "string_map"))}
# kubernetes pkg/credentialprovider/config.go, types DockerConfigJSON and DockerConfigEntry: no helpers, no tokens.
_KUBELET_FIELDS = {go_fold(name): (name, kind) for name, kind in (("auths", "entries"), ("HttpHeaders", "string_map"))}
_KUBELET_ENTRY = {go_fold(name): name for name in ("auth", "username", "password", "email")}
_AUTHS, _HELPERS, _STORE = go_fold("auths"), go_fold("credHelpers"), go_fold("credsStore")


def _fields_of(engine: str) -> dict[str, tuple[str, str]]:
    return DOCKER_FIELDS if engine == DOCKER else _KUBELET_FIELDS if engine == KUBELET else _PODMAN_FIELDS


def _entry_fields_of(engine: str) -> dict[str, str]:
    return _DOCKER_ENTRY if engine == DOCKER else _KUBELET_ENTRY if engine == KUBELET else _PODMAN_ENTRY


def _spelling(obj: dict, fold: str) -> str | None:
    """The key of ``obj`` that Go would decode into the field folded as ``fold``."""
    return next((key for key in obj if go_fold(key) == fold), None)


def _check_fields(obj: dict, known: dict[str, Any], where: str) -> None:
    """Refuse two spellings of one field: Go would merge or overwrite them in an order we cannot keep."""
    seen: dict[str, str] = {}
    for key in obj:
        fold = go_fold(key)
        if fold in known:
            if fold in seen:
                raise _Refused(f"{where} has both {seen[fold]!r} and {key!r}, which the clients read as one field: keep one")
            seen[fold] = key


def _check_kind(value: Any, kind: str, where: str, engine: str) -> None:
    """Refuse a value of a known field that the client's decoder would reject (then it ignores the whole file)."""
    if value is None:
        return
    wrong = f"{where} must be {{}}, so the clients cannot read the file"
    if kind == "string" and not isinstance(value, str):
        raise _Refused(wrong.format("a string"))
    if kind == "strings" and not (isinstance(value, list) and all(item is None or isinstance(item, str) for item in value)):
        raise _Refused(wrong.format("a list of strings"))
    if kind in ("string_map", "entries", "proxies", "plugins") and not isinstance(value, dict):
        raise _Refused(wrong.format("an object"))
    if kind == "string_map" and not all(item is None or isinstance(item, str) for item in value.values()):
        raise _Refused(wrong.format("an object of strings"))
    if kind not in ("entries", "proxies", "plugins"):
        return
    for key, item in value.items():
        inner = f"{where}[{_shown(key)}]"
        if item is not None and not isinstance(item, dict):
            raise _Refused(wrong.format("an object of objects"))
        if kind == "plugins":
            _check_kind(item, "string_map", inner, engine)
        elif item is not None:
            fields = _PROXY_FIELDS if kind == "proxies" else _entry_fields_of(engine)
            _check_fields(item, fields, inner)
            for field, field_value in item.items():
                if go_fold(field) in fields:
                    _check_kind(field_value, "string", f"{inner}[{field!r}]", engine)


# --------------------------------------------------------------------------- credentials inside entries


def encode_auth(username: str, secret: str) -> str:
    """``base64(username:secret)`` in padded standard base64, as Docker and containers/image read it."""
    return base64.b64encode(f"{username}:{secret}".encode()).decode("ascii")


def decode_auth_bytes(value: str) -> tuple[bytes, bytes]:
    """``(username, secret)`` of an ``auth`` value as Go decodes it (line breaks ignored, padding required).

    Raises ValueError for what is not base64 or has no ``:``; the username may be empty here.
    """
    compact = value.replace("\r", "").replace("\n", "")
    if not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", compact) or len(compact) % 4:
        raise ValueError("not padded standard base64")
    try:
        decoded = base64.b64decode(compact.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeError) as exc:
        raise ValueError("not padded standard base64") from exc
    username, sep, secret = decoded.partition(b":")
    if not sep:
        raise ValueError("not of the form username:secret")
    return username, secret.strip(b"\x00")


def _padded(value: str) -> str:
    """``value`` as the kubelet decodes it: without any ``=``, as unpadded base64; with one, as padded base64."""
    if "=" in value:
        return value
    return value + "=" * (-len(value.replace("\r", "").replace("\n", "")) % 4)


def decode_auth(value: str) -> tuple[str, str]:
    """Username and secret of an ``auth`` value; ValueError where Docker would refuse it."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    username, secret = decode_auth_bytes(value)
    if not username:
        raise ValueError("of the form ':secret', with an empty username")
    try:
        return username.decode("utf-8"), secret.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text once decoded") from None


def fingerprint(secret: str) -> str:
    """A short, non-reversible name for a secret, so that a change is visible and nothing leaks."""
    return f"sha256:{hashlib.sha256(secret.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def field_value(entry: dict, name: str) -> Any:
    """The value of field ``name`` of an object, found as Go finds it (any letter case); None when absent."""
    key = _spelling(entry, go_fold(name))
    return entry[key] if key is not None else None


# --------------------------------------------------------------------------- resolution


class Resolution(NamedTuple):
    """What one client finds in one file for a registry.

    ``source`` is ``helper`` (ask ``helper``), ``entry`` (``username``/``secret`` from the ``key`` entry),
    ``token`` (Docker sends the entry's ``identitytoken`` or ``registrytoken``, which nothing here can prove),
    ``none`` (the client sends no credential from this file; ``key`` names an empty entry that stopped the
    search, if any) or ``broken`` (the client fails; ``problem`` says why).
    """

    source: str
    key: str | None = None
    helper: str | None = None
    setting: str | None = None
    username: str | None = None
    secret: str | None = None
    problem: str | None = None


def docker_hostname(key: str) -> str:
    """What Docker's ``ConvertToHostname`` makes of an ``auths`` key: scheme, user info and path dropped."""
    if "://" in key:
        authority = key.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        host = authority.rpartition("@")[2]
        if host:
            return _docker_join(host)
    return key.partition("/")[0]


def _docker_join(host: str) -> str:
    if host.startswith("["):
        address, _sep, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return f"[{address}]:{port}" if port else address
    name, sep, port = host.rpartition(":")
    if sep and host.count(":") == 1:
        return f"{name}:{port}" if port else name
    return host


def podman_hostname(key: str) -> str:
    """What containers/image's ``normalizeAuthFileKey`` makes of a key: a URL's scheme and path dropped, Hub aliases joined."""
    stripped = key[len("http://"):] if key.startswith("http://") else key[len("https://"):] if key.startswith("https://") else key
    if stripped != key:
        stripped = stripped.partition("/")[0]
    return "index.docker.io" if stripped in DOCKER_HUB_HOSTS else stripped


def kubelet_key(key: str) -> str:
    """What the kubelet's keyring makes of an ``auths`` key: scheme and user info dropped, a leading ``/v1/`` or
    ``/v2/`` of the path cut to ``/``, an empty or ``/`` path dropped; host, port and any other path kept as written."""
    rest = key.split("://", 1)[1] if key.startswith(("http://", "https://")) else key
    rest = rest.split("#", 1)[0].split("?", 1)[0]
    authority, slash, path = rest.partition("/")
    path = slash + path
    if path.startswith(("/v1/", "/v2/")):
        path = path[3:]
    return authority.rpartition("@")[2] + ("" if path in ("", "/") else path)


def kubelet_alias(key: str) -> str:
    """The key under which the kubelet's lookup finds what ``key`` holds: :func:`kubelet_key` without a trailing slash
    (``ghcr.io/org/`` matches what ``ghcr.io/org`` matches, or less), ``index.docker.io`` as ``docker.io`` (its Docker
    Hub fallback)."""
    normal = kubelet_key(key).rstrip("/")
    return "docker.io" if normal == "index.docker.io" else normal


def _shown(key: str) -> str:
    """``key`` for a message: a key may be a URL with ``user:password@`` in it."""
    from ansible_collections.fleet.ghcr.plugins.module_utils._redaction import hide_userinfo

    return repr(hide_userinfo(key))


def _podman_lookup_order(registry: Registry) -> list[str]:
    parts = registry.name.split("/")
    return ["/".join(parts[:count]) for count in range(len(parts), 0, -1)]


class AuthFile:
    """One parsed auth file, read by the rules of ``engine`` (a Docker ``config.json`` is also read by Podman)."""

    def __init__(self, tree: dict, engine: str, path: str, indent: str | None = "\t", newline: bool = False) -> None:
        self.tree = tree
        self.engine = engine
        self.path = path
        self.indent = indent
        self.newline = newline

    # ------------------------------------------------------------------ parsing and writing

    @classmethod
    def parse(cls, data: bytes | None, path: str, engine: str) -> AuthFile:
        """Parse strictly; ``None`` (no file) is an empty document. Raises AuthFileError naming the file and the fix."""
        if data is None:
            return cls({}, engine, path)
        tree = load_json(data, path)
        if not isinstance(tree, dict):
            raise AuthFileError(f"{path} does not hold a JSON object; {_UNCHANGED}.")
        try:
            _check_fields(tree, _fields_of(engine), "the file")
            for fold, (name, kind) in _fields_of(engine).items():
                key = _spelling(tree, fold)
                if key is not None:
                    _check_kind(tree[key], kind, repr(key) if key == name else f"{key!r} (read as {name!r})", engine)
        except _Refused as exc:
            raise AuthFileError(f"{path}: {exc}; {_UNCHANGED}.") from None
        text = data.decode("utf-8")
        match = re.search(r"\n([ \t]+)\S", text)
        return cls(tree, engine, path, match.group(1) if match else None, text.endswith("\n"))

    def serialize(self) -> bytes:
        """The bytes to write; refuses a Docker file that Docker could not load (it would drop every credential)."""
        problem = self.load_problem()
        if problem:
            raise AuthFileError(f"{self.path} cannot be written: {problem}. Fix or remove that entry; nothing was written.")
        return (dump_json(self.tree, self.indent) + ("\n" if self.newline else "")).encode("utf-8")

    def load_problem(self) -> str | None:
        """Why Docker (or the kubelet) would refuse to load this file and fall back to no credentials, if it would."""
        if self.engine not in (DOCKER, KUBELET):
            return None
        client = "Docker refuses" if self.engine == DOCKER else "the kubelet ignores"
        for key, entry in self.auths.items():
            value = field_value(entry, "auth") if isinstance(entry, dict) else None
            if value:
                if self.engine == KUBELET:
                    value = _padded(value)
                try:
                    username, _secret = decode_auth_bytes(value)
                except ValueError as exc:
                    return f"the 'auth' value of the entry {_shown(key)} is {exc}, so {client} the whole file"
                if not username and self.engine == DOCKER:
                    return f"the 'auth' value of the entry {_shown(key)} has an empty username, so Docker refuses the whole file"
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AuthFile) and other.tree == self.tree

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ known fields

    @property
    def auths(self) -> dict:
        key = _spelling(self.tree, _AUTHS)
        return (self.tree[key] if key is not None else None) or {}

    @property
    def cred_helpers(self) -> dict:
        key = _spelling(self.tree, _HELPERS)
        return (self.tree[key] if key is not None else None) or {}

    @property
    def creds_store(self) -> str:
        key = _spelling(self.tree, _STORE) if self.engine == DOCKER else None
        return (self.tree[key] if key is not None else None) or ""

    def helper_for(self, registry: Registry) -> tuple[str, str] | None:
        """``(helper name, the setting that chose it)`` when the client sends ``registry`` to a credential helper.

        Docker looks ``credHelpers`` up by its key (an empty name there means the file itself), then falls back
        to ``credsStore``; containers/image reads only ``credHelpers``, by host, and ignores ``credsStore``.
        """
        if self.engine == KUBELET:  # the kubelet reads no credential helpers
            return None
        helpers = self.cred_helpers
        if self.engine == DOCKER:
            key = registry.whole().key(DOCKER)
            if key in helpers:
                return (helpers[key], f"credHelpers[{key!r}]") if helpers[key] else None
            return (self.creds_store, "credsStore") if self.creds_store else None
        if registry.host in helpers:
            return helpers[registry.host] or "", f"credHelpers[{registry.host!r}]"
        return None

    # ------------------------------------------------------------------ which credential a client uses

    def resolve(self, registry: Registry, engine: str | None = None) -> Resolution:
        """What ``engine`` (default: the file's own) uses for ``registry`` from this file alone.

        Docker: the load check, ``credHelpers``/``credsStore``, the exact key, then any key of the same host.
        containers/image: ``credHelpers`` by host, the most specific namespace key down to the host (the first
        key present ends the search, even when empty), then any key of the same host after URL normalisation.
        """
        engine = engine or self.engine
        problem = AuthFile(self.tree, engine, self.path).load_problem() if engine in (DOCKER, KUBELET) else None
        if problem:
            client = "Docker cannot" if engine == DOCKER else "The kubelet does not"
            return Resolution("broken", problem=f"{client} load {self.path}: {problem}")
        helper = AuthFile(self.tree, engine, self.path).helper_for(registry)
        if helper:
            if not helper[0]:
                return Resolution("broken", setting=helper[1], problem=f"{self.path}: {helper[1]} names no helper")
            return Resolution("helper", helper=helper[0], setting=helper[1])
        auths = self.auths
        if engine == KUBELET:  # every matching key is tried, exact or alias, in random order among aliases
            key = registry.key(KUBELET)
            return self._fallback([other for other in auths if kubelet_alias(other) == key], registry, engine)
        if engine == DOCKER:
            key = registry.whole().key(DOCKER)
            if key in auths:
                return self.entry(key, engine)
            return self._fallback([other for other in auths if docker_hostname(other) == key], registry, engine)
        for key in _podman_lookup_order(registry):
            if key in auths:
                return self.entry(key, engine)
        wanted = podman_hostname(registry.host)
        return self._fallback([other for other in auths if podman_hostname(other) == wanted], registry, engine)

    def _fallback(self, keys: list[str], registry: Registry, engine: str) -> Resolution:
        found = [self.entry(key, engine) for key in keys]
        if len({(item.source, item.username, item.secret) for item in found}) > 1:
            names = ", ".join(_shown(key) for key in keys)
            return Resolution("broken", problem=f"{self.path} has several entries for {registry.host} ({names}) and {engine} picks one of them at random")
        if len(found) > 1:  # the same credential under several keys: which key the client reads is left to chance
            return Resolution(found[0].source, username=found[0].username, secret=found[0].secret)
        return found[0] if found else Resolution("none")

    def entry(self, key: str, engine: str | None = None) -> Resolution:
        """What the entry under ``key`` gives ``engine`` (default: the file's own), judged alone."""
        engine = engine or self.engine
        entry = self.auths.get(key) or {}
        value = field_value(entry, "auth")
        if value and engine == KUBELET:
            value = _padded(value)
        if value:
            try:
                username, secret = decode_auth_bytes(value)
            except ValueError as exc:
                if engine == PODMAN and "username:secret" in str(exc):
                    return Resolution("none", key=key)  # containers/image skips it, as Docker's helper placeholders
                return Resolution("broken", key=key, problem=f"{self.path}: the 'auth' value of the entry {_shown(key)} is {exc}")
            return Resolution("entry", key=key, username=username.decode("utf-8", "replace"), secret=secret.decode("utf-8", "replace"))
        if engine in (DOCKER, KUBELET):
            username, secret = field_value(entry, "username"), field_value(entry, "password")
            if username or secret:
                return Resolution("entry", key=key, username=username or "", secret=secret or "")
            if engine == DOCKER and (field_value(entry, "identitytoken") or field_value(entry, "registrytoken")):
                return Resolution("token", key=key)
        return Resolution("none", key=key)

    # ------------------------------------------------------------------ changing the document

    def matching_keys(self, registry: Registry, removing: bool) -> list[str]:
        """Every key a client of this file would use for ``registry`` instead of, or besides, its own key.

        For a whole registry: every ``http(s)://`` spelling and Docker Hub alias, by Docker's and by
        containers/image's matching (Podman reads Docker's file too); when removing from a Docker file, also
        the namespaced keys of the host, which Docker applies to the whole host. A namespace has only its key.
        """
        own = registry.key(self.engine)
        if self.engine == KUBELET:
            return [key for key in self.auths if kubelet_alias(key) == own]
        if registry.is_namespaced:
            return [own] if own in self.auths else []
        hub = podman_hostname(registry.host)
        found = []
        for key in self.auths:
            same = key == own or podman_hostname(key) == hub
            if self.engine == DOCKER and docker_hostname(key) == own:
                same = same or removing or "://" in key
            if same:
                found.append(key)
        return found

    def with_entry(self, registry: Registry, entry: dict) -> AuthFile:
        """A copy where ``registry``'s key holds exactly ``entry`` and no other spelling of it remains."""
        key = registry.key(self.engine)
        tree = _copy(self.tree)
        auths_key = _spelling(tree, _AUTHS) or "auths"
        if not isinstance(tree.get(auths_key), dict):
            tree[auths_key] = {}
        auths = tree[auths_key]
        for other in self.matching_keys(registry, removing=False):
            if other != key:
                del auths[other]
        auths[key] = entry
        return AuthFile(tree, self.engine, self.path, self.indent, self.newline)

    def without_entry(self, registry: Registry) -> AuthFile:
        """A copy with every key a client of this file would read for ``registry`` removed."""
        keys = self.matching_keys(registry, removing=True)
        if not keys:
            return self
        tree = _copy(self.tree)
        auths = tree[_spelling(tree, _AUTHS)]
        for key in keys:
            del auths[key]
        return AuthFile(tree, self.engine, self.path, self.indent, self.newline)

    def holds(self, registry: Registry) -> bool:
        """Whether any entry (even an empty helper placeholder) would be read for ``registry``."""
        return bool(self.matching_keys(registry, removing=True))

    # ------------------------------------------------------------------ what a diff may show

    def redacted(self) -> str:
        """The document as a diff may show it: key names, user names and harmless settings; secrets as fingerprints."""
        from ansible_collections.fleet.ghcr.plugins.module_utils._redaction import redacted_text  # only diff mode needs it

        return redacted_text(self.tree, self.indent)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


# --------------------------------------------------------------------------- credentials given to the module


def check_username(username: str | None) -> str:
    if not username:
        raise InputError("username must not be empty: give the GitHub login that owns the token.")
    if ":" in username:
        raise InputError("username must not contain ':': auth files store username:token, so a ':' would split it wrongly.")
    if any(char.isspace() or not char.isprintable() for char in username):
        raise InputError("username must not contain whitespace or control characters.")
    return username


__all__ = (
    "DOCKER_FIELDS",
    "MAX_DEPTH",
    "AuthFile",
    "RawNumber",
    "Resolution",
    "check_username",
    "decode_auth",
    "docker_hostname",
    "dump_json",
    "encode_auth",
    "field_value",
    "fingerprint",
    "go_fold",
    "load_json",
    "podman_hostname",
)
