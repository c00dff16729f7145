# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""nox sessions of fleet.ghcr (``nox -l`` lists them; the Makefile's targets call them).

antsibull-nox.toml adds the ecosystem's stock sessions: lint (ruff, mypy, yamllint), ansible-lint, docs-check
and build-import-check. This file adds the version matrix and the project's own sessions:

* ``ansible-test-sanity-X.Y`` and ``ansible-test-units-X.Y``: ansible-test of each ansible-core release, from
  PyPI, with ``--venv`` (no containers here) on that release's controller Python;
* ``integration-X.Y``: pytest against a real registry, real clients and real Ansible runs. The full suite on
  FULL_SERIES, the tests that drive the modules, the role and the playbooks (ESSENTIAL_INTEGRATION) on the others;
* ``demo-X.Y``: the demo (local registry, demo fleet, vault-encrypted token, pulls proven);
* ``older-core``: ansible-core 2.18, which is not supported, gets our message, not a traceback;
* ``molecule``, ``build``, ``changelog``, ``docs``.

Python 3.12 and 3.13 are not Debian 12's: the interpreters of pyenv (``~/.pyenv/versions``) are put on PATH as
``build/pythons/python3.X`` when present; ansible-test sanity also runs its compile and import tests with them
(target Pythons 3.9 to 3.13). A missing controller interpreter fails its session (``error_on_missing_interpreters``),
it is never skipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nox

try:
    import antsibull_nox
    from antsibull_nox.sessions.collections import prepare_collections
except ImportError as error:  # pragma: no cover - only without the developer requirements
    raise SystemExit(f"noxfile.py needs antsibull-nox: pip install -r tests/requirements.txt ({error})") from error

REPO_ROOT = Path(__file__).resolve().parent
COLLECTIONS_PATH = REPO_ROOT / "build" / "collections"

# (ansible-core series, controller Python): each series is installed at its newest patch release from PyPI.
CONTROLLERS = (("2.19", "3.11"), ("2.20", "3.12"), ("2.21", "3.13"))
FULL_SERIES = "2.19"
# What the controller's ansible-core changes: every plugin through ansible-playbook (ghcr_login and its piped path,
# ghcr_registry, ghcr_auth_info, ghcr_node_auth, the ghcr_pat lookup and its vault handling, the dockerconfigjson
# filter), the role and the playbooks.
ESSENTIAL_INTEGRATION = (
    "tests/integration/test_ghcr_login.py",
    "tests/integration/test_ghcr_login_piped.py",
    "tests/integration/test_ghcr_registry.py",
    "tests/integration/test_ghcr_auth_info.py",
    "tests/integration/test_ghcr_pat_lookup.py",
    "tests/integration/test_dockerconfigjson.py",
    "tests/integration/test_ghcr_node_auth.py",
    "tests/integration/test_registry_auth_role.py",
    "tests/integration/test_registry_auth_operator.py",
    "tests/integration/test_playbooks.py",
)
FULL_INTEGRATION = ("tests/integration", "tests/harness")

nox.options.error_on_missing_interpreters = True
nox.options.default_venv_backend = "venv"
nox.options.sessions = []  # `nox` alone runs nothing: name sessions, or use the Makefile


def _put_pyenv_pythons_on_path() -> None:
    """``build/pythons/python3.X`` for the newest pyenv patch release of each 3.X, first on PATH.

    Only these names: pyenv's own shims for them fail unless the version is pyenv's global one, and putting pyenv's
    bin directories on PATH would change what ``python3`` means for everything else.
    """
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    newest: dict[str, tuple[tuple[int, ...], Path]] = {}
    for directory in versions.glob("3.*"):
        if not re.fullmatch(r"3\.\d+\.\d+", directory.name):
            continue
        release = tuple(int(part) for part in directory.name.split("."))
        minor = f"{release[0]}.{release[1]}"
        interpreter = directory / "bin" / f"python{minor}"
        if interpreter.is_file() and release > newest.get(minor, ((0,), interpreter))[0]:
            newest[minor] = (release, interpreter)
    if not newest:
        return
    links = REPO_ROOT / "build" / "pythons"
    links.mkdir(parents=True, exist_ok=True)
    for minor, (_release, interpreter) in newest.items():
        link = links / f"python{minor}"
        if not link.is_symlink() or link.resolve() != interpreter.resolve():
            link.unlink(missing_ok=True)
            link.symlink_to(interpreter)
    os.environ["PATH"] = os.pathsep.join([str(links), os.environ.get("PATH", "")])


_put_pyenv_pythons_on_path()
antsibull_nox.load_antsibull_nox_toml()


def core_requirement(series: str) -> str:
    major, minor = series.split(".")
    return f"ansible-core>={series},<{major}.{int(minor) + 1}"


def collection_env() -> dict[str, str]:
    """The checkout as fleet.ghcr: Ansible through ANSIBLE_COLLECTIONS_PATH, Python imports through PYTHONPATH."""
    link = COLLECTIONS_PATH / "ansible_collections" / "fleet" / "ghcr"
    if not link.is_symlink() or link.resolve() != REPO_ROOT:
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(REPO_ROOT, target_is_directory=True)
    return {"ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH), "PYTHONPATH": str(COLLECTIONS_PATH), "PYTHONDONTWRITEBYTECODE": "1"}


def announce(session: nox.Session) -> None:
    """Print the ansible-core and Python this session really runs, so every matrix cell says what it tested."""
    session.run("python", "-c", "import sys; from ansible.release import __version__ as v; print(f'ansible-core {v} on Python {sys.version.split()[0]}')")


def pytest(session: nox.Session, *paths: str) -> None:
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=5", *paths, *session.posargs, env=collection_env())


def add_ansible_test(command: str, series: str, python: str) -> None:
    @nox.session(name=f"ansible-test-{command}-{series}", python=python, default=False)
    def run(session: nox.Session) -> None:
        session.install(core_requirement(series))
        announce(session)
        if command == "units":
            session.install("-r", "tests/unit/requirements.txt")
        session.run("python", "tools/ansible_test_offline_pip.py")
        # A copy of exactly the files git would ship, in an ansible_collections/fleet/ghcr tree of its own.
        collections = prepare_collections(session, ansible_core_version=series, install_in_site_packages=False, install_out_of_tree=True)
        if collections is None:
            session.error("could not prepare the collection tree for ansible-test")
        # sanity: the controller tests on this Python, compile and import on every target Python found (3.9 to 3.13
        # here; ansible-test warns about one it cannot find). units: this Python.
        pythons = ["--python", python] if command == "units" else []
        with session.chdir(collections.current_path):
            session.run("ansible-test", command, "--venv", *pythons, "--color", "no", *session.posargs)

    run.__doc__ = f"ansible-test {command} of ansible-core {series} (PyPI) on Python {python}, --venv"


def add_integration(series: str, python: str) -> None:
    paths = FULL_INTEGRATION if series == FULL_SERIES else ESSENTIAL_INTEGRATION

    @nox.session(name=f"integration-{series}", python=python, default=False)
    def run(session: nox.Session) -> None:
        session.install(core_requirement(series), "-r", "tests/integration/requirements.txt")
        announce(session)
        pytest(session, *paths)

    scope = "every integration and harness test" if series == FULL_SERIES else "the tests that drive modules, role and playbooks"
    run.__doc__ = f"pytest: {scope}, on ansible-core {series} / Python {python}"


def add_demo(series: str, python: str) -> None:
    @nox.session(name=f"demo-{series}", python=python, default=False)
    def run(session: nox.Session) -> None:
        session.install(core_requirement(series), "-r", "tests/integration/requirements.txt")
        announce(session)
        session.run("python", "-m", "tools.demo", env=collection_env())

    run.__doc__ = f"the demo on ansible-core {series} / Python {python}"


for _series, _python in CONTROLLERS:
    add_ansible_test("sanity", _series, _python)
    add_ansible_test("units", _series, _python)
    add_integration(_series, _python)
    add_demo(_series, _python)

_FULL_PYTHON = dict(CONTROLLERS)[FULL_SERIES]


@nox.session(name="older-core", python=_FULL_PYTHON, default=False)
def older_core(session: nox.Session) -> None:
    """ansible-core 2.18, which is not supported: the lookup and the role still load, and say what to do."""
    session.install("ansible-core>=2.18,<2.19", "pytest")
    announce(session)
    pytest(session, "tests/older_core")


@nox.session(python=_FULL_PYTHON, default=False)
def molecule(session: nox.Session) -> None:
    """Molecule scenarios of extensions/molecule: the registry_auth role on Debian containers (Podman driver)."""
    session.install(core_requirement(FULL_SERIES), "-r", "extensions/molecule/requirements.txt", "-r", "tests/integration/requirements.txt")
    announce(session)
    session.run("python", "-m", "tools.molecule", *session.posargs, env=collection_env())


@nox.session(python=_FULL_PYTHON, default=False)
def build(session: nox.Session) -> None:
    """Build the tarball: nothing developer-only or secret-looking in it; from an install, every plugin's docs render and every playbook loads."""
    session.install(core_requirement(FULL_SERIES))
    announce(session)
    session.run("python", "tools/build_check.py", "--output-path", "build")


@nox.session(python=_FULL_PYTHON, default=False)
def docs(session: nox.Session) -> None:
    """The docs site with antsibull-docs (plugins, role, docs/docsite/rst) into build/docsite; any warning fails."""
    session.install("-r", "tools/docsite-requirements.txt")
    announce(session)
    session.run("python", "tools/docsite.py", "--dest", "build/docsite", *session.posargs, env=collection_env())


@nox.session(python=_FULL_PYTHON, default=False)
def changelog(session: nox.Session) -> None:
    """antsibull-changelog lint: every fragment is well-formed."""
    session.install(core_requirement(FULL_SERIES), "antsibull-changelog")
    session.run("antsibull-changelog", "lint")
