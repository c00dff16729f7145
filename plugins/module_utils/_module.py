# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What the backends need from ``AnsibleModule``, written down so that tests and other plugins can stand in for it."""

from __future__ import annotations

from typing import Any, Protocol


class ModuleLike(Protocol):
    """The part of ``AnsibleModule`` the backends use; each backend says which of these it touches."""

    params: dict[str, Any]
    check_mode: bool
    _diff: bool
    no_log_values: set[str]  # secrets found while running are added, so that Ansible masks them too

    def warn(self, warning: str) -> None: ...

    def get_bin_path(self, arg: str, required: bool = False, opt_dirs: list[str] | None = None) -> str | None: ...


__all__ = ("ModuleLike",)
