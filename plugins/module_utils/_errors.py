# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Exceptions shared by the collection's plugins; each entry point turns them into its own failure."""

from __future__ import annotations

from typing import Any


class GhcrError(Exception):
    """A failure to report to the user as is: the message says what went wrong and what to do.

    ``result`` is what the task had done and found up to the failure (at least ``changed``); the entry point
    returns it beside the message.
    """

    def __init__(self, message: str, result: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.result: dict[str, Any] = {"changed": False, **(result or {})}


class InputError(GhcrError):
    """An option value is wrong; nothing was touched."""


class MissingUserError(InputError):
    """The account a task is for does not exist on this host."""


class AuthFileError(GhcrError):
    """An auth file cannot be read, parsed or safely written; it was left unchanged."""


class UnsafePathError(AuthFileError):
    """Following a path would let another user redirect a privileged write."""


class HelperError(GhcrError):
    """A Docker credential helper is missing or failed."""


__all__ = ("AuthFileError", "GhcrError", "HelperError", "InputError", "MissingUserError", "UnsafePathError")
