# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""k3s's and RKE2's ``registries.yaml``, understood as they read it and changed without touching anything else.

k3s and RKE2 read the file with Go's ``gopkg.in/yaml.v2`` into rancher/wharfie's structs: the first document only,
unknown keys ignored, a later duplicate key winning, and a scalar read into a string field keeping its text
(``password: 0123`` is ``"0123"``, ``on`` is ``"on"``). A round trip through Python values would change such
scalars (0123 would come back as 83), so the file is handled as PyYAML's node graph, which keeps each scalar's text
and style: the registry's ``configs.<host>.auth`` node is replaced, every other node is emitted as it was read.
Before a file is rewritten, the new text is parsed again and must give the same graph; what cannot be reproduced
that way (several documents, anchors and aliases, merge keys, tags, duplicate keys, keys that are not plain
text) is refused and left alone. Comments are lost when a file is rewritten (PyYAML does not keep them).

This runs on the controller (ansible-core brings PyYAML); targets often lack it. Messages quote line numbers, never
the file's text, which holds other registries' passwords.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, DocumentStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import fingerprint
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._redaction import HIDDEN, hide_userinfo
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import Registry

STR = "tag:yaml.org,2002:str"
MAP = "tag:yaml.org,2002:map"
MERGE = "tag:yaml.org,2002:merge"
NULL = "tag:yaml.org,2002:null"
MAX_SIZE = 512 * 1024  # bytes; a registries.yaml holds a few KiB, and PyYAML in Python parses about 50 KiB a second
MAX_DEPTH = 32  # wharfie's schema is 5 levels deep; a deeper file is refused before it is composed
SECRET_FIELDS = frozenset({"password", "auth", "identity_token", "token"})
_WIDTH = 1 << 30  # never fold a long scalar over lines


def host_key(registry: Registry, consumer: str) -> str:
    """The ``configs`` key of ``registry``: k3s and RKE2 match registries by ``host[:port]`` only."""
    if registry.is_namespaced:
        raise InputError(
            f"registry {registry.name!r} names a namespace, but {consumer} keeps one credential per registry host in"
            f" registries.yaml: use registry={registry.host}."
        )
    return registry.host


class RegistriesYaml:
    """One ``registries.yaml``: its node graph (None for a missing or empty file) and the text it came from."""

    def __init__(self, root: MappingNode | None, path: str, had_comments: bool = False) -> None:
        self.root = root
        self.path = path
        self.had_comments = had_comments

    @classmethod
    def parse(cls, data: bytes | None, path: str) -> RegistriesYaml:
        if data is None:
            return cls(None, path)
        if len(data) > MAX_SIZE:
            raise AuthFileError(f"{path} is {len(data)} bytes, more than the {MAX_SIZE} bytes a registries.yaml may have here; it was left unchanged.")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AuthFileError(f"{path} is not UTF-8 text (byte {exc.start}); it was left unchanged.") from None
        _check_events(text, path)
        _check_tabs(text, path)
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            raise AuthFileError(f"{path} is not valid YAML ({_where(exc)}); it was left unchanged.") from None
        if root is None or (isinstance(root, ScalarNode) and root.tag == NULL):
            return cls(None, path, _has_comments(text))
        if not isinstance(root, MappingNode):
            raise AuthFileError(f"{path} must hold a mapping (mirrors, configs) at its top; it was left unchanged.")
        _check_mapping_keys(root, path)
        return cls(root, path, _has_comments(text))

    # ------------------------------------------------------------------ reading

    def auth_of(self, key: str) -> dict[str, str] | None:
        """The ``configs.<key>.auth`` fields as k3s reads them (text), or None when there is no such mapping."""
        entry = self._entry(key)
        auth = _get(entry, "auth") if isinstance(entry, MappingNode) else None
        if not isinstance(auth, MappingNode):
            return None
        return {_text(name): value.value if isinstance(value, ScalarNode) and value.tag != NULL else "" for name, value in auth.value}

    def entries(self) -> list[dict[str, Any]]:
        """Each ``configs`` entry with an ``auth``, as ghcr_auth_info reports a registry: user name and fingerprint only.

        What k3s's containerd sends: ``username`` and ``password`` when there is a user name, else ``identity_token``,
        else the user name and password inside ``auth`` (base64).
        """
        configs = self._configs()
        found = []
        for key_node, _value in configs.value if isinstance(configs, MappingNode) else []:
            key = _text(key_node)
            auth = self.auth_of(key)
            if auth is None:
                continue
            entry: dict[str, Any] = {"key": key, "registry": key, "username": None, "fingerprint": None, "via": "none", "helper": None, "used": True}
            username, secret = auth.get("username") or "", auth.get("password") or ""
            if not username and not auth.get("identity_token") and auth.get("auth"):
                username, secret = _decoded(auth["auth"])
            if username:
                entry.update(username=username, fingerprint=fingerprint(secret) if secret else None, via="file")
            elif auth.get("identity_token"):
                entry["via"] = "token"
            found.append(entry)
        return found

    def holds(self, key: str) -> bool:
        return self.auth_of(key) is not None

    def _configs(self) -> Node | None:
        return _get(self.root, "configs") if self.root is not None else None

    def _entry(self, key: str) -> Node | None:
        configs = self._configs()
        return _get(configs, key) if isinstance(configs, MappingNode) else None

    # ------------------------------------------------------------------ changing

    def with_auth(self, key: str, username: str, password: str) -> RegistriesYaml:
        """A copy whose ``configs.<key>.auth`` is exactly ``username`` and ``password`` (``tls`` and the rest kept)."""
        if self.auth_of(key) == {"username": username, "password": password}:
            return self
        root = _copy(self.root) if self.root is not None else MappingNode(MAP, [], flow_style=False)
        configs = _child_mapping(root, "configs", self.path, "configs")
        entry = _child_mapping(configs, key, self.path, f"configs.{key}")
        auth = MappingNode(MAP, [(_str("username"), _str(username, '"')), (_str("password"), _str(password, '"'))], flow_style=False)
        _set(entry, "auth", auth)
        return RegistriesYaml(root, self.path, self.had_comments)

    def without_auth(self, key: str) -> RegistriesYaml:
        """A copy without ``configs.<key>.auth``; the entry and ``configs`` go too when nothing else is left in them."""
        if not self.holds(key):
            return self
        root = _copy(self.root)
        configs = _get(root, "configs")
        entry = _get(configs, key)
        if not isinstance(configs, MappingNode) or not isinstance(entry, MappingNode):  # holds() found them
            raise AssertionError("configs.<key> vanished")
        _delete(entry, "auth")
        if not entry.value:
            _delete(configs, key)
        if not configs.value:
            _delete(root, "configs")
        return RegistriesYaml(root, self.path, self.had_comments)

    # ------------------------------------------------------------------ writing

    def serialize(self) -> bytes:
        """The file's new text; AuthFileError when read back it would not give the same graph."""
        root = self.root if self.root is not None else MappingNode(MAP, [], flow_style=False)
        if not root.value:
            return b"{}\n"
        text = _emit(root)
        try:
            _check_events(text, self.path)  # no tag the emitter had to add, nothing k3s would read differently
            again = yaml.compose(text, Loader=yaml.SafeLoader)
        except (yaml.YAMLError, AuthFileError):
            again = None
        if again is None or _shape(again) != _shape(root):
            raise AuthFileError(f"{self.path} cannot be rewritten so that it reads the same as before; it was left unchanged.")
        return text.encode("utf-8")

    def redacted(self) -> str:
        """The file as a diff shows it: secrets as fingerprints, user info of URLs hidden, comments gone."""
        if self.root is None or not self.root.value:
            return ""
        return _emit(_redact(_copy(self.root)))


# ---------------------------------------------------------------------- checks


def _check_events(text: str, path: str) -> None:
    """Refuse what the node graph cannot carry back unchanged, before anything is composed (aliases never expand)."""
    depth = documents = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark else 0
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    _refuse(path, line, "holds a second YAML document (k3s and RKE2 read only the first)")
            elif isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                _refuse(path, line, "uses YAML anchors or aliases")
            elif getattr(event, "tag", None) is not None:
                _refuse(path, line, "uses an explicit YAML tag")
            elif isinstance(event, ScalarEvent) and event.style == '"' and "\\/" in text[event.start_mark.index:event.end_mark.index]:
                _refuse(path, line, "uses the escape \\/, which k3s's YAML reader does not know")
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    _refuse(path, line, f"is nested more than {MAX_DEPTH} levels deep")
            elif type(event).__name__ in ("MappingEndEvent", "SequenceEndEvent"):
                depth -= 1
    except yaml.YAMLError as exc:
        raise AuthFileError(f"{path} is not valid YAML ({_where(exc)}); it was left unchanged.") from None


def _check_tabs(text: str, path: str) -> None:
    """A tab outside quotes is read differently by Go's yaml.v2 and PyYAML (indentation, block scalars): refused."""
    if "\t" not in text:
        return
    quoted = [
        (token.start_mark.index, token.end_mark.index)
        for token in yaml.scan(text, Loader=yaml.SafeLoader)
        if isinstance(token, yaml.ScalarToken) and token.style in ("'", '"')
    ]
    for index, char in enumerate(text):
        if char == "\t" and not any(start <= index < end for start, end in quoted):
            _refuse(path, text.count("\n", 0, index) + 1, "has a tab character outside quotes")


def _check_mapping_keys(node: Node, path: str) -> None:
    """Every key plain text, none twice, no merge keys: otherwise which value k3s reads is not ours to decide."""
    if isinstance(node, SequenceNode):
        for item in node.value:
            _check_mapping_keys(item, path)
    if not isinstance(node, MappingNode):
        return
    seen: set[str] = set()
    for key, value in node.value:
        line = key.start_mark.line + 1 if key.start_mark else 0
        if not isinstance(key, ScalarNode):
            _refuse(path, line, "has a key that is not plain text")
        if key.tag == MERGE:
            _refuse(path, line, "uses a YAML merge key (<<)")
        if key.value in seen:
            _refuse(path, line, "has a duplicate key (k3s and RKE2 would use the last one; remove the other)")
        seen.add(key.value)
        _check_mapping_keys(value, path)


def _refuse(path: str, line: int, problem: str) -> None:
    raise AuthFileError(
        f"{path} {problem} at line {line}; it was left unchanged, since it could not be rewritten exactly as k3s and RKE2"
        " read it. Simplify the file by hand, or remove it to let this module create it."
    )


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", str(getattr(exc, "problem", None) or "a syntax error"))  # no text of the file
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem


def _has_comments(text: str) -> bool:
    """Whether ``text`` has a comment: a ``#`` after blank or at a line start, outside every scalar."""
    spans = [(token.start_mark.index, token.end_mark.index) for token in yaml.scan(text, Loader=yaml.SafeLoader) if isinstance(token, yaml.ScalarToken)]
    comments = (match.start() for match in re.finditer(r"(?:^|(?<=\s))#", text))
    return any(not any(start <= index < end for start, end in spans) for index in comments)


# ---------------------------------------------------------------------- the node graph


def _decoded(auth: str) -> tuple[str, str]:
    try:
        username, _sep, secret = base64.b64decode(auth, validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    return username, secret


def _text(node: Node) -> str:
    return node.value if isinstance(node, ScalarNode) else ""


def _get(mapping: Node | None, name: str) -> Node | None:
    if not isinstance(mapping, MappingNode):
        return None
    for key, value in mapping.value:
        if _text(key) == name:
            return value
    return None


def _set(mapping: MappingNode, name: str, value: Node) -> None:
    for index, (key, _old) in enumerate(mapping.value):
        if _text(key) == name:
            mapping.value[index] = (key, value)
            return
    mapping.value.append((_str(name), value))


def _delete(mapping: MappingNode, name: str) -> None:
    mapping.value[:] = [(key, value) for key, value in mapping.value if _text(key) != name]


def _child_mapping(mapping: MappingNode, name: str, path: str, where: str) -> MappingNode:
    """The mapping under ``name``, made (or made from a null) when missing; a value of another kind is refused."""
    child = _get(mapping, name)
    if isinstance(child, MappingNode):
        return child
    if child is not None and not (isinstance(child, ScalarNode) and child.tag == NULL):
        line = child.start_mark.line + 1 if child.start_mark else 0
        _refuse(path, line, f"has {where} that is not a mapping (k3s and RKE2 would not start with it)")
    new = MappingNode(MAP, [], flow_style=False)
    _set(mapping, name, new)
    return new


def _str(value: str, style: str | None = None) -> ScalarNode:
    return ScalarNode(STR, value, style=style)


def _copy(node: Node) -> Any:
    if isinstance(node, ScalarNode):
        return ScalarNode(node.tag, node.value, node.start_mark, node.end_mark, style=node.style)
    if isinstance(node, SequenceNode):
        return SequenceNode(node.tag, [_copy(item) for item in node.value], node.start_mark, node.end_mark, flow_style=node.flow_style)
    return MappingNode(node.tag, [(_copy(key), _copy(value)) for key, value in node.value], node.start_mark, node.end_mark, flow_style=node.flow_style)


def _shape(node: Node) -> Any:
    """What a reader sees in a node: tags and scalar texts, not styles or positions."""
    if isinstance(node, ScalarNode):
        return (node.tag, node.value)
    if isinstance(node, SequenceNode):
        return (node.tag, tuple(_shape(item) for item in node.value))
    return (node.tag, tuple((_shape(key), _shape(value)) for key, value in node.value))


def _emit(root: Node) -> str:
    return yaml.serialize(root, Dumper=yaml.SafeDumper, allow_unicode=True, width=_WIDTH, indent=2)


def _redact(node: Node, field: str = "", in_auth: bool = False) -> Node:
    if field in SECRET_FIELDS and not isinstance(node, ScalarNode) and (in_auth or field != "auth" or not isinstance(node, MappingNode)):
        return ScalarNode(STR, HIDDEN)  # a secret field k3s cannot read anyway: nothing of it is shown
    if isinstance(node, ScalarNode):
        if field in SECRET_FIELDS and node.value and node.tag != NULL:
            node.value, node.tag, node.style = fingerprint(node.value), STR, None
        else:
            node.value = hide_userinfo(node.value)
        return node
    if isinstance(node, SequenceNode):
        node.value = [_redact(item) for item in node.value]
        return node
    inside = in_auth or field == "auth"
    node.value = [(key, _redact(value, _text(key), inside)) for key, value in node.value]
    return node


__all__ = ("RegistriesYaml", "host_key")
