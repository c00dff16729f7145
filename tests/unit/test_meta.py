# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The versions the collection claims match the versions its test matrix runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def version_key(series: str) -> tuple[int, ...]:
    return tuple(int(part) for part in series.split("."))


def matrix_series() -> list[str]:
    """CONTROLLERS of noxfile.py, read without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == "CONTROLLERS" for target in node.targets):
            return [series for series, _python in ast.literal_eval(node.value)]
    raise AssertionError("noxfile.py has no CONTROLLERS")


def test_requires_ansible_is_exactly_the_matrix_series() -> None:
    series = matrix_series()
    requires = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    oldest, newest = min(series, key=version_key), max(series, key=version_key)
    major, minor = newest.split(".")
    assert requires == f">={oldest}.0,<{major}.{int(minor) + 1}.0"
    assert sorted(series, key=version_key) == [f"{major}.{m}" for m in range(int(oldest.split(".")[1]), int(minor) + 1)], "no series skipped"


def test_the_readme_names_the_matrix_series() -> None:
    readme = (ROOT / "README.md").read_text()
    for series in matrix_series():
        assert re.search(rf"\b{re.escape(series)}\b", readme), f"README.md does not mention ansible-core {series}"
