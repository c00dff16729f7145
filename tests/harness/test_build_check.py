# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tools/build_check.py refuses a tarball with developer-only or secret-looking files, and keeps what users need."""

from __future__ import annotations

import pytest

from tools.build_check import FORBIDDEN


@pytest.mark.parametrize(
    "name",
    [
        "inventory/demo/vault-password.txt",
        "inventory/demo/group_vars/all/ghcr.yml",
        "tests/unit/requirements.txt",
        "tools/demo.py",
        "extensions/molecule/default/molecule.yml",
        "changelogs/fragments/11-versions.yml",
        ".nox/lint/bin/python",
        ".venv/bin/python",
        ".gitignore",
        "noxfile.py",
        "antsibull-nox.toml",
        "Makefile",
        "importer_result.json",
        "roles/registry_auth/files/vault.yml",
        "docs/password.txt",
        "meta/server.key",
    ],
)
def test_refused(name: str) -> None:
    assert FORBIDDEN.search(name)


@pytest.mark.parametrize(
    "name",
    [
        "plugins/modules/ghcr_login.py",
        "plugins/lookup/ghcr_pat.py",
        "roles/registry_auth/meta/argument_specs.yml",
        "playbooks/login.yml",
        "docs/docsite/rst/awx.rst",
        "docs/docsite/extra-docs.yml",
        "changelogs/changelog.yaml",
        "meta/runtime.yml",
        "README.md",
    ],
)
def test_shipped(name: str) -> None:
    assert not FORBIDDEN.search(name)
