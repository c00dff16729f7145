# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hand-written credential files, for checking what real clients read."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path


def encode_auth(user: str, password: str) -> str:
    """The ``auth`` field: padded standard base64 of ``user:password``."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def write_auth_json(path: Path, entries: dict[str, tuple[str, str]], extra: dict | None = None) -> Path:
    """Write ``{"auths": {key: {"auth": ...}}}`` (plus ``extra`` top-level keys), mode 0600.

    Works for containers-auth.json and for a Docker ``config.json``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"auths": {key: {"auth": encode_auth(*cred)} for key, cred in entries.items()}}
    document.update(extra or {})
    return write_private(path, json.dumps(document, indent="\t"))


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` with mode 0600 (also when the file already exists)."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def write_docker_config(config_dir: Path, entries: dict[str, tuple[str, str]], extra: dict | None = None) -> Path:
    """Write ``config_dir/config.json`` (the directory is what ``docker --config`` takes)."""
    return write_auth_json(Path(config_dir) / "config.json", entries, extra)
