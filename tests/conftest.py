"""Make the checkout importable as ansible_collections.fleet.ghcr, wherever it is cloned."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_DIR = REPO_ROOT / "build" / "collections"


def _link_collection() -> None:
    link = COLLECTIONS_DIR / "ansible_collections" / "fleet" / "ghcr"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO_ROOT, target_is_directory=True)


def _install_collection_finder() -> None:
    """Import fleet.ghcr.* through ansible-core's collection finder, as ansible-playbook and ansible-test do.

    The finder loads meta/runtime.yml with the collection, which plugin loaders (lookup_loader) need.
    """
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader([str(COLLECTIONS_DIR)])


def _under_ansible_test() -> bool:
    """`ansible-test units` runs the tests in its own copy of the collection, with its collection loader installed."""
    return "ANSIBLE_TEST_CONTENT_ROOT" in os.environ or any(type(finder).__name__ == "_AnsibleCollectionFinder" for finder in sys.meta_path)


if not _under_ansible_test():
    _link_collection()
    sys.path.insert(0, str(COLLECTIONS_DIR))
    os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_DIR))
    _install_collection_finder()
