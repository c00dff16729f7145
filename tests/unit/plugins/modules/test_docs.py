"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse as YAML, and options match the argument spec."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import login_module_kwargs, registry_module_kwargs

MODULES = Path(__file__).resolve().parents[4] / "plugins" / "modules"
SPECS = {"ghcr_login": login_module_kwargs, "ghcr_registry": registry_module_kwargs}


def doc_strings(path: Path) -> dict[str, str]:
    tree = ast.parse(path.read_text())
    return {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN")
    }


@pytest.mark.parametrize("name", sorted(path.stem for path in MODULES.glob("*.py")))
def test_docs_are_yaml(name: str) -> None:
    docs = doc_strings(MODULES / f"{name}.py")
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    for text in docs.values():
        assert yaml.safe_load(text)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_own_option_is_documented(name: str) -> None:
    documented = set(yaml.safe_load(doc_strings(MODULES / f"{name}.py")["DOCUMENTATION"])["options"])
    shared = {"registry", "validate_certs", "ca_path", "timeout", "retries"}  # from the fleet.ghcr._registry fragments
    assert set(SPECS[name]()["argument_spec"]) - shared == documented
