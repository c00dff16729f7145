# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The start()/stop() life cycle that the test services (registry, GHCR stack, pass store) share."""

from __future__ import annotations

from typing import TypeVar

_S = TypeVar("_S", bound="Service")


class Service:
    """Use as a context manager or call start()/stop().

    Subclasses implement ``_start()`` and ``stop()``. ``start()`` returns the
    service; when ``_start()`` fails it calls ``stop()`` before re-raising, so
    ``stop()`` must be safe to call on a half-started (or stopped) service.
    """

    def _start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def start(self: _S) -> _S:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
