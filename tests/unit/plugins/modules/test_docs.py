"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse as YAML, and options match the argument spec."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import info_module_kwargs, login_module_kwargs, node_module_kwargs, registry_module_kwargs

ROOT = Path(__file__).resolve().parents[4]
MODULES = ROOT / "plugins" / "modules"
SPECS = {"ghcr_login": login_module_kwargs, "ghcr_registry": registry_module_kwargs, "ghcr_auth_info": info_module_kwargs, "ghcr_node_auth": node_module_kwargs}


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
def test_every_option_is_documented_once(name: str) -> None:
    """The module's own options and those of its fragments are exactly the argument spec, with no option in two places."""
    docs = yaml.safe_load(doc_strings(MODULES / f"{name}.py")["DOCUMENTATION"])
    documented = list(docs.get("options") or {})
    for fragment in docs.get("extends_documentation_fragment", []):
        documented += list(fragment_options(fragment))
    assert sorted(documented) == sorted(SPECS[name]()["argument_spec"])


def fragment_options(reference: str) -> dict:
    """The options of doc fragment ``fleet.ghcr.NAME[.VARIABLE]``, read from its source."""
    name, _sep, variable = reference.removeprefix("fleet.ghcr.").partition(".")
    tree = ast.parse((ROOT / "plugins" / "doc_fragments" / f"{name}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id == (variable.upper() or "DOCUMENTATION"):
            return yaml.safe_load(node.value.value).get("options") or {}
    raise AssertionError(f"doc fragment {reference} not found")
