# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``make matrix``: the unit tests and the playbook-level integration tests on the newer ansible-core releases.

The main run (``make units integration sanity ...``) uses ansible-core 2.19 on this machine's Python 3.11. The newer
releases need Python 3.12 or later on the controller: each gets a virtualenv under build/matrix, made with the first
interpreter of that version found (pyenv's, then ``pythonX.Y`` on PATH), with ansible-core from PyPI. A version
whose Python is missing is reported as NOT RUN, never as passed. Any failure fails the run.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD = REPO_ROOT / "build" / "matrix"

# (ansible-core series, controller Python): the newest patch release of each series is installed.
VERSIONS = (("2.20", "3.12"), ("2.21", "3.13"))
TEST_PACKAGES = ("pytest", "pytest-xdist", "hypothesis", "trustme", "pyjwt")
# The integration tests that drive the modules, the role and the playbooks through ansible-playbook.
INTEGRATION = (
    "tests/integration/test_ghcr_login.py",
    "tests/integration/test_ghcr_login_piped.py",
    "tests/integration/test_registry_auth_role.py",
    "tests/integration/test_registry_auth_operator.py",
    "tests/integration/test_playbooks.py",
)


def find_python(version: str) -> str | None:
    found = sorted(glob.glob(str(Path.home() / ".pyenv" / "versions" / f"{version}.*" / "bin" / "python")))
    return found[-1] if found else shutil.which(f"python{version}")


def next_series(series: str) -> str:
    major, minor = series.split(".")
    return f"{major}.{int(minor) + 1}"


def make_venv(series: str, python: str) -> Path:
    venv = BUILD / f"ansible-core-{series}"
    wanted = f"ansible-core>={series},<{next_series(series)} " + " ".join(TEST_PACKAGES)
    stamp = venv / ".requirements"
    if not (stamp.exists() and stamp.read_text() == wanted):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, f"ansible-core>={series},<{next_series(series)}", *TEST_PACKAGES], check=True)
        stamp.write_text(wanted)
    return venv


def pytest(venv: Path, *paths: str) -> bool:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "build" / "collections"), "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "build" / "collections")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    argv = [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths]
    return subprocess.run(argv, cwd=REPO_ROOT, env=env, check=False).returncode == 0


def core_version(venv: Path) -> str:
    argv = [str(venv / "bin" / "python"), "-c", "from ansible.release import __version__; print(__version__)"]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def main() -> int:
    rows, failed = [], False
    for series, python_version in VERSIONS:
        python = find_python(python_version)
        if python is None:
            rows.append((series, python_version, "NOT RUN", f"no Python {python_version} on this machine"))
            continue
        started = time.monotonic()
        venv = make_venv(series, python)
        print(f"\n######## ansible-core {core_version(venv)} on Python {python_version} ({python}) ########", flush=True)
        units = pytest(venv, "tests/unit")
        integration = pytest(venv, *INTEGRATION)
        failed |= not (units and integration)
        detail = f"units {'ok' if units else 'FAILED'}, integration {'ok' if integration else 'FAILED'}, {time.monotonic() - started:.0f}s"
        rows.append((series, python_version, "ok" if units and integration else "FAILED", detail))
    print("\n######## matrix ########")
    for series, python_version, outcome, detail in rows:
        print(f"  ansible-core {series:5} Python {python_version:5} {outcome:8} {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
