# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``nox -s build`` (make build): build the collection tarball and check what users would get.

1. ``ansible-galaxy collection build`` into the output directory;
2. the tarball holds nothing developer-only (tests, tools, the demo inventory with its vault password, CI and
   lint configuration) and nothing that looks like a secret (``galaxy.yml`` ``build_ignore`` keeps them out);
3. installed from the tarball into a throwaway directory, every plugin's and role's docs render with
   ``ansible-doc`` (no warning, no error), and every playbook loads (``--syntax-check``).

galaxy-importer runs in antsibull-nox's build-import-check session.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = re.compile(
    r"^(tests|tools|extensions|inventory|changelogs/fragments|build)/"
    r"|^\.(ci|nox|venv|ansible|git|pytest_cache|hypothesis|ruff_cache)(/|$)|^\.git"
    r"|^(Makefile|noxfile\.py|antsibull-nox\.toml|ruff\.toml|\.ansible-lint|\.yamllint|importer_result\.json)$"
    r"|vault|pass(word)?[^/]*\.txt$|\.pem$|\.key$"
)
# What users need, beyond the plugins: the role, the playbooks, the docs site's extra docs, the changelog.
REQUIRED = (
    "roles/registry_auth/meta/argument_specs.yml",
    "playbooks/login.yml",
    "docs/docsite/extra-docs.yml",
    "changelogs/changelog.yaml",
    "meta/runtime.yml",
)
PLUGIN_DIRS = {"module": "plugins/modules", "lookup": "plugins/lookup", "filter": "plugins/filter"}


class Failure(Exception):
    pass


def run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, env=env, stdin=subprocess.DEVNULL)


def build(output: Path) -> Path:
    output.mkdir(parents=True, exist_ok=True)
    for old in output.glob("fleet-ghcr-*.tar.gz"):
        old.unlink()
    done = run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(output), str(REPO_ROOT)])
    tarballs = sorted(output.glob("fleet-ghcr-*.tar.gz"))
    if done.returncode != 0 or len(tarballs) != 1:
        raise Failure(f"ansible-galaxy collection build failed:\n{done.stdout}{done.stderr}")
    print(done.stdout.strip())
    return tarballs[0]


def check_contents(tarball: Path) -> None:
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    found = [name for name in names if FORBIDDEN.search(name)]
    if found:
        raise Failure("these must stay out of the tarball (galaxy.yml build_ignore):\n  " + "\n  ".join(found))
    if not any(name.startswith("plugins/modules/") for name in names):
        raise Failure(f"{tarball.name} holds no module: the build lost the plugins")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise Failure(f"{tarball.name} lacks what users need: {', '.join(missing)}")
    print(f"{tarball.name}: {len(names)} entries; none developer-only or secret-looking (no inventory/demo, no vault password)")


def plugin_names(kind: str) -> list[str]:
    directory = REPO_ROOT / PLUGIN_DIRS[kind]
    return sorted(path.stem for path in directory.glob("*.py") if path.stem != "__init__") if directory.is_dir() else []


def check_install(tarball: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": tmp, "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false", "ANSIBLE_NOCOLOR": "1"}
        env.pop("PYTHONPATH", None)
        done = run(["ansible-galaxy", "collection", "install", "--offline", "-p", tmp, str(tarball)], env)
        if done.returncode != 0:
            raise Failure(f"ansible-galaxy collection install failed:\n{done.stdout}{done.stderr}")
        rendered = 0
        for kind in PLUGIN_DIRS:
            for name in plugin_names(kind):
                doc = run(["ansible-doc", "-t", kind, f"fleet.ghcr.{name}"], env)
                if doc.returncode != 0 or doc.stderr.strip() or not doc.stdout.strip():
                    raise Failure(f"the docs of {kind} fleet.ghcr.{name} do not render from the built collection:\n{doc.stdout}{doc.stderr}")
                print(f"ansible-doc -t {kind} fleet.ghcr.{name}: {doc.stdout.splitlines()[0]}")
                rendered += 1
        for role in sorted(path.name for path in (REPO_ROOT / "roles").iterdir() if path.is_dir()):
            doc = run(["ansible-doc", "-t", "role", f"fleet.ghcr.{role}"], env)
            if doc.returncode != 0 or doc.stderr.strip() or "ENTRY POINT" not in doc.stdout:
                raise Failure(f"the docs of role fleet.ghcr.{role} do not render from the built collection:\n{doc.stdout}{doc.stderr}")
            print(f"ansible-doc -t role fleet.ghcr.{role}: {doc.stdout.splitlines()[0]}")
            rendered += 1
        for playbook in sorted((REPO_ROOT / "playbooks").glob("*.yml")):
            name = f"fleet.ghcr.{playbook.stem}"
            loaded = run(["ansible-playbook", "--syntax-check", "-i", "localhost,", name], env)
            if loaded.returncode != 0:
                raise Failure(f"the installed playbook {name} does not load:\n{loaded.stdout}{loaded.stderr}")
            print(f"ansible-playbook --syntax-check {name}: ok")
        print(f"rendered the docs of {rendered} plugin(s) and role(s) from {tarball.name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-path", type=Path, default=REPO_ROOT / "build")
    args = parser.parse_args()
    try:
        tarball = build(args.output_path.resolve())
        check_contents(tarball)
        check_install(tarball)
    except Failure as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
