# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures that give integration and harness tests a real registry, Podman and pass store.

tests/support/fixtures.py and tests/harness/conftest.py import them. A
missing binary makes the fixture FAIL (never skip): a green run must mean the
real clients were exercised.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from tests.support.clients import PassStore
from tests.support.clients import podman_env as make_podman_env
from tests.support.registry import REQUIRED_BINARIES as REGISTRY_BINARIES
from tests.support.registry import Registry, RegistryError, random_token
from tests.support.users import UnixUser, user_factory

SEED_REPO = "fleet/hello"
SEED_TAG = "1.0"
SEED_REF = f"{SEED_REPO}:{SEED_TAG}"

PODMAN_BINARIES = ("podman", "runc")
PASS_BINARIES = ("gpg", "gpgconf", "pass", "docker-credential-pass")


def require_binaries(names: tuple[str, ...], purpose: str) -> None:
    """pytest.fail (not skip) when any of ``names`` is not on PATH."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        pytest.fail(
            f"{purpose} needs these binaries on PATH, not found: {', '.join(missing)}."
            " Install the project's test dependencies: `make system-deps` (tools/system-deps.sh).",
            pytrace=False,
        )


def running(service, seed, what: str) -> Iterator:
    """Start and seed ``service``, yield it, and stop it even when a test fails; a start failure fails (never skips)."""
    try:
        service.start()
        seed(service)
    except (RegistryError, OSError) as error:
        service.stop()
        pytest.fail(f"could not start/seed {what}: {error}", pytrace=False)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A running TLS + htpasswd Distribution registry seeded with fleet/hello:1.0.

    Users: ``octocat`` and ``other``, each with a random ``ghp_`` token as password.
    ``registry.seeded["fleet/hello:1.0"]`` is the pushed manifest digest.
    """
    require_binaries(REGISTRY_BINARIES, "the registry fixture")
    users = {"octocat": random_token(), "other": random_token()}
    yield from running(Registry(tmp_path_factory.mktemp("registry"), users), lambda server: server.seed_image(SEED_REPO, SEED_TAG), "the test registry")


@pytest.fixture(scope="session")
def podman_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Full environment for running podman with project-local config and storage."""
    require_binaries(PODMAN_BINARIES, "the podman_env fixture")
    return make_podman_env(tmp_path_factory.mktemp("podman"))


@pytest.fixture
def pass_store() -> Iterator[PassStore]:
    """A fresh pass store with its own GnuPG key; its gpg-agent is killed afterwards.

    It lives in a short /tmp path (not tmp_path) because gpg-agent's socket
    path must fit in sun_path (108 bytes).
    """
    require_binaries(PASS_BINARIES, "the pass_store fixture")
    with PassStore() as store:
        yield store


# -- GHCR-faithful stack (token auth, GHCR's answers, fake GitHub API) ----------------

if TYPE_CHECKING:  # imported lazily in the fixture, so that only GHCR tests need pyjwt
    from tests.support.ghcr_stack import GhcrStack


@pytest.fixture(scope="session")
def ghcr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GhcrStack]:
    """A started :class:`~tests.support.ghcr_stack.GhcrStack` (see its docstring for the rules).

    Seeded with ``fleet/hello:1.0`` (private; octocat may pull and push) and
    ``fleet/public:1.0`` (public); ``ghcr.seeded["fleet/hello:1.0"]`` is the
    digest. ``ghcr.tokens`` holds named PATs: good, push, noscope, expired,
    revoked, unknown (never registered), soon, broad, finegrained, stranger
    (see :func:`~tests.support.ghcr_stack.populate_defaults`). The stack is
    shared by the session: call ``ghcr.reset()`` before asserting counters.
    """
    try:
        from tests.support.ghcr_stack import REQUIRED_BINARIES as GHCR_BINARIES
        from tests.support.ghcr_stack import GhcrStack, populate_defaults
    except ImportError as error:
        pytest.fail(f"the ghcr fixture needs the test requirements (pip install -r tests/requirements.txt): {error}", pytrace=False)
    require_binaries(GHCR_BINARIES, "the ghcr fixture")
    yield from running(GhcrStack(tmp_path_factory.mktemp("ghcr")), populate_defaults, "the GHCR test stack")


@pytest.fixture
def make_user() -> Iterator[Callable[[], UnixUser]]:
    """A factory of throwaway Unix users, removed afterwards (root only)."""
    yield from user_factory()


@pytest.fixture
def user(make_user: Callable[[], UnixUser]) -> UnixUser:
    return make_user()
