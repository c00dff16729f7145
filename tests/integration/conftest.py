# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Integration tests of the product: the real registry, clients and users of tests/support/fixtures.py."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # so that plain `pytest` (not only `python -m pytest`) finds tests.support
    sys.path.insert(0, str(REPO_ROOT))

# pytest finds fixtures by name, so importing them is using them.
from tests.support.fixtures import ghcr, make_user, pass_store, podman_env, registry, user  # noqa: F401  # pylint: disable=unused-import
