# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Ask a Go program what docker/cli and containers/image make of an auth file.

``tests/support/go_oracle/main.go`` copies the client code that loads
~/.docker/config.json and containers-auth.json and resolves one registry key
in it, so that Go's own encoding/json and encoding/base64 decide every parsing
question. It uses only the standard library and is built offline, once, into
``build/go-oracle/`` (rebuilt when main.go is newer than the binary).

``resolve(engine, data, key)`` returns its report: ``loaded``, ``error``,
``source`` ("helper", "entry", "none" or "ambiguous"), ``helper``, ``key``,
``candidates``, ``username``, ``password``, ``identitytoken``,
``registrytoken``, ``alternatives``, ... (see main.go for the full list).
A missing ``go`` raises RuntimeError: callers fail, they never skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE = Path(__file__).resolve().parent / "go_oracle" / "main.go"
BUILD_DIR = REPO_ROOT / "build" / "go-oracle"
BINARY = BUILD_DIR / "oracle"
GO_CACHE = REPO_ROOT / "build" / "go-cache"
ENGINES = ("docker", "podman")
TIMEOUT = 30


def build_oracle() -> Path:
    """Compile main.go unless the cached binary is newer; return the binary's path."""
    if BINARY.is_file() and BINARY.stat().st_mtime >= SOURCE.stat().st_mtime:
        return BINARY
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("the Go toolchain ('go') is not on PATH: install golang-go (>= 1.19) to build the tests/support/go_oracle oracle")
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    GO_CACHE.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GO111MODULE="off", GOCACHE=str(GO_CACHE), CGO_ENABLED="0")
    tmp = BUILD_DIR / f"oracle.tmp{os.getpid()}"
    proc = subprocess.run([go, "build", "-o", str(tmp), str(SOURCE)], env=env, cwd=SOURCE.parent, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"building {SOURCE} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    tmp.replace(BINARY)  # atomic, so parallel test workers never run a half-written binary
    return BINARY


def resolve(engine: str, data: bytes, registry_key: str) -> dict[str, Any]:
    """What ``engine`` ("docker" or "podman") resolves ``registry_key`` to in the auth file ``data``."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    proc = subprocess.run([str(build_oracle()), engine, registry_key], input=data, capture_output=True, timeout=TIMEOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"go oracle {engine} {registry_key!r} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    return json.loads(proc.stdout)
