# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Lint the collection's docs and build its docs site with antsibull-docs and Sphinx; any warning fails.

    build/docs-venv/bin/python tools/docsite.py [--collections-path build/collections] [--dest build/docsite]

The site holds what antsibull-docs renders from the plugins' own docs, the role's meta/argument_specs.yml and the
extra docs in docs/docsite/ (extra-docs.yml, links.yml, rst/*.rst). Three steps, each failing the run on a warning:

1. ``antsibull-docs lint-collection-docs --plugin-docs``: the plugin and role docs (schema, markup, references), the
   extra docs (extra-docs.yml, labels, references to plugins and options) and rstcheck on every RST file;
2. ``antsibull-docs sphinx-init`` and ``antsibull-docs collection`` write a Sphinx project for the installed
   collection into DEST (the one in --collections-path, as ``make collection-path`` links it);
3. ``sphinx-build -W --keep-going`` (nitpicky, as sphinx-init configures it) renders DEST/build/html.

No network: intersphinx reads a small local inventory (INTERSPHINX_LABELS, written here) instead of fetching
docs.ansible.com's, so the links that antsibull-docs' templates make to the Ansible docs still point there.

Needs antsibull-docs, Sphinx and sphinx-ansible-theme beside the Python that runs this script:

    python3 -m venv build/docs-venv && build/docs-venv/bin/pip install -r tools/docsite-requirements.txt
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
COLLECTION = "fleet.ghcr"
INSTALL_HINT = "python3 -m venv build/docs-venv && build/docs-venv/bin/pip install -r tools/docsite-requirements.txt"

# The Ansible docs' labels that antsibull-docs' templates refer to, with their pages under ANSIBLE_DOCS. A newer
# antsibull-docs that refers to another one fails the build with "undefined label: NAME": add NAME here.
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"
INTERSPHINX_LABELS = {
    "action_plugins": ("plugins/action.html#action-plugins", "Action plugins"),
    "ansible_configuration_settings": ("reference_appendices/config.html#ansible-configuration-settings", "Ansible Configuration Settings"),
    "common_return_values": ("reference_appendices/common_return_values.html#common-return-values", "Return Values"),
    "list_of_collections": ("collections/index.html#list-of-collections", "Collection Index"),
}

# What the collection's pages say about installing it: README.md's "Install" section.
ANTSIBULL_DOCS_CONFIG = """
collection_url = {
  * = "https://github.com/fleet-ghcr/{namespace}.{name}"
}
collection_install = {
  * = "ansible-galaxy collection install git+https://github.com/fleet-ghcr/{namespace}.{name}.git"
}
"""

CONF_PY_OVERRIDES = """
# Added by tools/docsite.py: no network, so intersphinx reads only the local inventory it wrote.
intersphinx_mapping = {{
    'ansible_devel': ({uri!r}, {inventory!r}),
}}
"""


class DocsiteError(Exception):
    """A step failed; the message says which and what to do."""


def tool(name: str) -> str:
    """The executable ``name`` of the venv that runs this script, else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise DocsiteError(
            f"{name} is not installed (looked beside {sys.executable} and on PATH). Make the docs venv and run this script with"
            f" its Python:\n    {INSTALL_HINT}\n    build/docs-venv/bin/python tools/docsite.py"
        )
    return found


def run(step: str, command: list[str], env: dict[str, str]) -> str:
    """Run ``command``, echoing it and its output; a non-zero exit fails ``step``."""
    print(f"\n== {step}\n$ {' '.join(command)}", flush=True)
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    output = result.stdout.strip()
    if output:
        print(output, flush=True)
    if result.returncode != 0:
        raise DocsiteError(f"{step} failed (exit code {result.returncode})")
    return output


def write_inventory(path: Path) -> None:
    """A Sphinx (intersphinx) inventory, version 2, of INTERSPHINX_LABELS."""
    entries = "".join(f"{label} std:label -1 {uri} {title}\n" for label, (uri, title) in sorted(INTERSPHINX_LABELS.items()))
    header = "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n# The remainder of this file is compressed using zlib.\n"
    path.write_bytes(header.encode() + zlib.compress(entries.encode()))


def prepare_dest(dest: Path) -> None:
    """An empty DEST, owned by us and writable only by us (antsibull-docs insists); an old site is removed first.

    Only a directory that is empty or holds a site this script made is removed, never anything else.
    """
    if dest.exists():
        if any(dest.iterdir()) and not ((dest / "conf.py").is_file() and (dest / "antsibull-docs.cfg").is_file()):
            raise DocsiteError(f"{dest} exists and is not a docs site this script made: give another --dest, or remove it yourself")
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    dest.chmod(0o755)


def build(collections_path: Path, dest: Path) -> Path:
    antsibull_docs = tool("antsibull-docs")
    sphinx_build = tool("sphinx-build")
    collection_dir = collections_path / "ansible_collections" / Path(*COLLECTION.split("."))
    if not (collection_dir / "galaxy.yml").is_file():
        raise DocsiteError(f"{COLLECTION} is not in {collections_path} ({collection_dir} has no galaxy.yml): run make collection-path")

    env = dict(os.environ)
    env.update(
        # Only this collection and ansible.builtin, whatever else the machine has installed.
        ANSIBLE_COLLECTIONS_PATH=str(collections_path),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_NOCOLOR="1",
        # antsibull-docs runs ansible-doc: the one of the same venv.
        PATH=os.pathsep.join([str(Path(antsibull_docs).parent), env.get("PATH", "")]),
    )

    run(
        "lint: plugin, role and extra docs (antsibull-docs lint-collection-docs)",
        [antsibull_docs, "lint-collection-docs", "--plugin-docs", "--check-extra-docs-refs", "--validate-collection-refs", "all", str(collection_dir)],
        env,
    )

    prepare_dest(dest)
    run(
        "site: Sphinx project (antsibull-docs sphinx-init)",
        [
            antsibull_docs, "sphinx-init", "--use-current", "--squash-hierarchy", "--fail-on-error", "--dest-dir", str(dest),
            "--project", COLLECTION, "--title", f"{COLLECTION} collection documentation", "--html-short-title", COLLECTION,
            "--copyright", "fleet.ghcr contributors", COLLECTION,
        ],
        env,
    )
    inventory = dest / "ansible_devel.inv"
    write_inventory(inventory)
    with (dest / "conf.py").open("a") as conf:
        conf.write(CONF_PY_OVERRIDES.format(uri=ANSIBLE_DOCS, inventory=str(inventory)))
    config = dest / "antsibull-docs.cfg"
    config.write_text(re.sub(r"^(collection_url|collection_install) = \{.*?^\}\n", "", config.read_text(), flags=re.M | re.S) + ANTSIBULL_DOCS_CONFIG)

    # What the build.sh that sphinx-init wrote does, with this venv's tools.
    rst = dest / "rst"
    rst.mkdir(mode=0o755, exist_ok=True)
    output = run(
        "site: RST from the installed collection (antsibull-docs collection)",
        [
            antsibull_docs, "--config-file", str(dest / "antsibull-docs.cfg"), "collection", "--cleanup", "everything", "--fail-on-error",
            "--use-current", "--squash-hierarchy", "--dest-dir", str(rst), COLLECTION,
        ],
        env,
    )
    if "warn" in output.lower() or "error" in output.lower():
        raise DocsiteError("antsibull-docs collection printed a warning or an error (above)")
    run(
        "site: HTML, warnings are errors (sphinx-build)",
        [sphinx_build, "-M", "html", str(rst), str(dest / "build"), "-c", str(dest), "-W", "--keep-going", "-q"],
        env,
    )
    return dest / "build" / "html" / "index.html"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--collections-path", type=Path, default=REPO_ROOT / "build" / "collections", help="holds ansible_collections/fleet/ghcr (default: build/collections)"
    )
    parser.add_argument("--dest", type=Path, default=REPO_ROOT / "build" / "docsite", help="the Sphinx project and the site (default: build/docsite)")
    args = parser.parse_args()
    started = time.monotonic()
    try:
        index = build(args.collections_path.absolute(), args.dest.absolute())
    except DocsiteError as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    print(f"\nThe docs site is at {index} (lint and build: {time.monotonic() - started:.0f} s, no warnings).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
