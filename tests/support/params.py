# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Module parameters as AnsibleModule would hand them to a backend: every option, with the argspec's own defaults."""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import login_module_kwargs


def login_params(**given: Any) -> dict[str, Any]:
    """ghcr_login's params: the argspec's defaults (None where there is none), then ``given``."""
    spec = login_module_kwargs()["argument_spec"]
    return {**{name: copy.deepcopy(option.get("default")) for name, option in spec.items()}, **given}


__all__ = ("login_params",)
