# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What a diff may show of an auth file: key names, user names and harmless settings; every secret as a fingerprint.

Secrets are found the way the clients find them: Go matches field names in any letter case, so every entry value
except ``username``, ``serveraddress`` and ``email`` is hidden, whatever its spelling; every ``HttpHeaders`` value;
every value of fields neither client knows (``plugins`` options included); and ``user:password@`` in URLs with or
without a scheme (``proxies``, keys). Loaded only in diff mode.
"""

from __future__ import annotations

from typing import Any, Callable

from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import DOCKER_FIELDS, dump_json, fingerprint, go_fold

_AUTHS, _HEADERS, _PROXIES = go_fold("auths"), go_fold("HttpHeaders"), go_fold("proxies")
_SHOWN_ENTRY_FIELDS = frozenset(go_fold(name) for name in ("username", "serveraddress", "email"))
_SHOWN_FIELDS = frozenset(fold for fold, (_name, kind) in DOCKER_FIELDS.items() if kind in ("string", "strings")) | {
    go_fold(name) for name in ("credHelpers", "aliases", "features")
}
_PROXY_FIELDS = frozenset(go_fold(name) for name in ("httpProxy", "httpsProxy", "noProxy", "ftpProxy", "allProxy"))


HIDDEN = "(hidden)"


def redacted_text(tree: dict, indent: str | None) -> str:
    """``tree`` laid out as the file is (tabs when it was compact), with every secret hidden.

    Credentials in ``auths`` entries become fingerprints, so a rotation is visible. Other secrets, which the modules
    never change (header values, passwords in URLs, unknown fields), are shown as ``(hidden)``: a short fingerprint of
    a low-entropy value could be guessed.
    """
    shown = {}
    for key, value in tree.items():
        fold = go_fold(key)
        if fold == _AUTHS and isinstance(value, dict):
            shown[key] = {hide_userinfo(name): _entry(entry) for name, entry in value.items()}
        elif fold == _HEADERS and isinstance(value, dict):
            shown[key] = {name: _hidden(item) for name, item in value.items()}
        elif fold == _PROXIES and isinstance(value, dict):
            shown[key] = {name: _proxy(item) for name, item in value.items()}
        elif fold in _SHOWN_FIELDS:
            shown[key] = map_strings(value, hide_userinfo)
        else:
            shown[key] = _hidden(value)
    return dump_json(shown, indent or "\t") + "\n"


def hide_userinfo(text: str) -> str:
    """``text`` with everything before its last ``@`` (after any scheme) hidden: ``user:password@`` in a URL or proxy."""
    start = text.find("://") + 3 if "://" in text else 0
    at = text.rfind("@")
    if at < start:
        return text
    return text[:start] + HIDDEN + text[at:]


def _entry(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return _hidden(entry)
    return {
        name: hide_userinfo(value) if go_fold(name) in _SHOWN_ENTRY_FIELDS and isinstance(value, str) else _fingerprinted(value)
        for name, value in entry.items()
    }


def _proxy(config: Any) -> Any:
    if not isinstance(config, dict):
        return _hidden(config)
    return {name: hide_userinfo(value) if go_fold(name) in _PROXY_FIELDS and isinstance(value, str) else _hidden(value) for name, value in config.items()}


def _fingerprinted(value: Any) -> Any:
    if value is None or value == "":
        return value
    return fingerprint(value if isinstance(value, str) else dump_json(value, None))


def _hidden(value: Any) -> Any:
    return value if value is None or value == "" else HIDDEN


def map_strings(value: Any, change: Callable[[str], str], keys: bool = False) -> Any:
    """``value`` with ``change`` applied to every string in it (and to dict keys with ``keys``); tuples become lists."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {map_strings(key, change) if keys else key: map_strings(item, change, keys) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [map_strings(item, change, keys) for item in value]
    return value


__all__ = ("HIDDEN", "hide_userinfo", "map_strings", "redacted_text")
