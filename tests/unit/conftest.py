# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hypothesis settings for the unit tests, with pytest or `ansible-test units`."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# The property tests check what is generated, not how fast: on a loaded 2-core CI machine (ansible-test runs pytest-xdist),
# generating nested auth-file documents can exceed Hypothesis's speed limits (too_slow, deadline) without any
# test being wrong. Every other health check stays on.
settings.register_profile("fleet-ghcr", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("fleet-ghcr")
