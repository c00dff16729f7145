# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's execution-environment metadata, through a real ``ansible-builder create``.

tests/ee/execution-environment.yml (schema version 3) installs the collection from a tarball
built from this checkout. ``ansible-builder create`` turns it into a build context; no
container engine is needed for that. The image's galaxy stage (``ansible-galaxy collection
install -r requirements.yml`` in /build) and its builder stage (ansible-builder's
``introspect.py``, which reads each installed collection's meta/execution-environment.yml)
are then run here outside a container, with the files from that build context, to prove
that the collection's requirements.txt and bindep.txt are what ansible-builder picks up.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parents[2]
EE_DEFINITION = REPO_ROOT / "tests" / "ee" / "execution-environment.yml"
BIN = Path(sys.executable).parent
TARBALL_NAME = "fleet-ghcr.tar.gz"  # the name tests/ee/execution-environment.yml copies into the build context
COLLECTIONS_IN_IMAGE = "/usr/share/ansible/collections"

PYTHON_SENTINEL = "fleet-ghcr-sentinel-python==1.0"
SYSTEM_SENTINEL = "fleet-ghcr-sentinel-system [platform:rpm]"


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; fail the test with its output when it exits non-zero."""
    completed = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    if completed.returncode != 0:
        pytest.fail(f"{' '.join(argv)} exited {completed.returncode}:\n{completed.stdout}\n{completed.stderr}", pytrace=False)
    return completed


def ansible_env(home: Path) -> dict[str, str]:
    """The environment minus the caller's Ansible settings, with a throw-away ANSIBLE_HOME."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(ANSIBLE_HOME=str(home), ANSIBLE_COLLECTIONS_PATH=str(home / "collections"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_NOCOLOR="1")
    return env


def active_lines(path: Path) -> list[str]:
    """The lines of a requirements.txt or bindep.txt that are not blank or comments."""
    lines = (line.split(" #", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def introspect(script: Path, collections: Path, out: Path) -> tuple[dict, Path, Path]:
    """Run the build context's introspect.py as the builder stage does, on ``collections`` instead of /usr/share/ansible/collections."""
    pip_file, bindep_file = out / "requirements.txt", out / "bindep.txt"
    completed = run(
        [sys.executable, str(script), "introspect", str(collections), f"--write-pip={pip_file}", f"--write-bindep={bindep_file}"],
        cwd=out,
    )
    return yaml.safe_load(completed.stdout), pip_file, bindep_file


@pytest.fixture(scope="module")
def meta() -> dict:
    return yaml.safe_load((REPO_ROOT / "meta" / "execution-environment.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def galaxy_version() -> str:
    return str(yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))["version"])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("ansible_builder") is None:
        pytest.fail("ansible-builder is not installed: pip install -r tests/requirements.txt", pytrace=False)
    return tmp_path_factory.mktemp("ee")


@pytest.fixture(scope="module")
def ee_dir(workdir: Path) -> Path:
    """A copy of tests/ee/execution-environment.yml with the collection tarball beside it, as that file's comments say."""
    ee_dir = workdir / "ee"
    ee_dir.mkdir()
    shutil.copy2(EE_DEFINITION, ee_dir / EE_DEFINITION.name)
    run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(ee_dir), str(REPO_ROOT)],
        cwd=workdir,
        env=ansible_env(workdir / "home"),
    )
    built = sorted(ee_dir.glob("fleet-ghcr-*.tar.gz"))
    assert len(built) == 1, built
    built[0].rename(ee_dir / TARBALL_NAME)
    return ee_dir


@pytest.fixture(scope="module")
def context(ee_dir: Path) -> Path:
    """The build context written by a real ``ansible-builder create``."""
    run(
        [
            sys.executable,
            "-m",
            "ansible_builder",
            "create",
            "--file",
            str(ee_dir / EE_DEFINITION.name),
            "--context",
            str(ee_dir / "context"),
            "--output-filename",
            "Containerfile",
        ],
        cwd=ee_dir,
    )
    return ee_dir / "context"


@pytest.fixture(scope="module")
def installed(context: Path, workdir: Path) -> Path:
    """The galaxy stage, outside a container: install the build context's requirements.yml from its /build (context/_build)."""
    collections = workdir / "collections"
    run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml", "--collections-path", str(collections)],
        cwd=context / "_build",
        env=ansible_env(workdir / "home"),
    )
    return collections


def test_meta_points_at_requirements_and_bindep_that_exist(meta: dict) -> None:
    assert meta["version"] == 1
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    for name in meta["dependencies"].values():
        assert not os.path.isabs(name), "ansible-builder only accepts paths relative to the collection root"
        assert (REPO_ROOT / name).is_file(), f"meta/execution-environment.yml names {name}, which does not exist"


def test_requirements_files_parse(meta: dict) -> None:
    for line in active_lines(REPO_ROOT / meta["dependencies"]["python"]):
        name = Requirement(line).name.lower()  # pip's format, strictly: introspect.py passes bad lines through to pip
        assert name not in {"ansible", "ansible-core", "ansible-base"}, "the execution environment brings ansible-core"
    from bindep.depends import Depends  # installed with ansible-builder; raises on a line that bindep cannot parse

    bindep = REPO_ROOT / meta["dependencies"]["system"]
    Depends(bindep.read_text(encoding="utf-8"), filename=str(bindep))


def test_plugins_import_only_ansible_the_standard_library_and_requirements(meta: dict) -> None:
    """requirements.txt lists every third-party package that a plugin imports beyond ansible-core's own (today: none).

    ansible-core's own requirements (PyYAML, which the controller-side registries.yaml code imports, Jinja2, ...) come
    with every ansible-core, so an execution environment has them without requirements.txt.
    """
    declared = {Requirement(line).name.lower().replace("-", "_") for line in active_lines(REPO_ROOT / meta["dependencies"]["python"])}
    core_needs = {Requirement(line).name.lower() for line in importlib.metadata.requires("ansible-core") or [] if "extra ==" not in line}
    from_core = {module for module, dists in importlib.metadata.packages_distributions().items() if {dist.lower() for dist in dists} & core_needs}
    assert "yaml" in from_core, "ansible-core requires PyYAML"
    allowed = set(sys.stdlib_module_names) | {"ansible"} | declared | from_core
    undeclared: dict[str, list[str]] = {}
    for path in sorted((REPO_ROOT / "plugins").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                # Other collections' code would need galaxy.yml dependencies, not requirements.txt.
                if not (name.split(".")[0] in allowed or name.startswith("ansible_collections.fleet.ghcr.")):
                    undeclared.setdefault(str(path.relative_to(REPO_ROOT)), []).append(name)
    assert not undeclared, f"plugins import packages that requirements.txt does not list: {undeclared}"


def test_create_writes_a_containerfile_that_installs_the_collection(context: Path, galaxy_version: str) -> None:
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    # galaxy stage: the collection from the context's requirements.yml into the image's collections path
    assert "COPY _build /build" in containerfile
    assert (
        f'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml --collections-path "{COLLECTIONS_IN_IMAGE}"'
        in containerfile
    )
    # builder stage: the installed collections' requirements.txt and bindep.txt, gathered and installed
    assert f"COPY --from=galaxy {COLLECTIONS_IN_IMAGE.rsplit('/', 1)[0]} {COLLECTIONS_IN_IMAGE.rsplit('/', 1)[0]}" in containerfile
    assert "/output/scripts/introspect.py introspect --write-bindep=/tmp/src/bindep.txt --write-pip=/tmp/src/requirements.txt" in containerfile
    assert "RUN /output/scripts/assemble" in containerfile
    assert "RUN /output/scripts/install-from-bindep" in containerfile
    assert 'ANSIBLE_INSTALL_REFS="ansible-core>=2.20,<2.22 ansible-runner"' in containerfile

    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert requirements == {"collections": [{"name": f"collections/{TARBALL_NAME}", "type": "file"}]}

    with tarfile.open(context / "_build" / "collections" / TARBALL_NAME) as tarball:
        names = set(tarball.getnames())
        manifest_file = tarball.extractfile("MANIFEST.json")
        assert manifest_file is not None
        manifest = json.load(manifest_file)
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("fleet", "ghcr", galaxy_version)
    assert {"meta/execution-environment.yml", "requirements.txt", "bindep.txt", "meta/runtime.yml"} <= names
    assert not [name for name in names if name.startswith(("tests/output", ".venv", "build/"))], "galaxy.yml build_ignore let build output into the tarball"


def test_galaxy_stage_installs_the_collection_with_its_metadata(installed: Path, galaxy_version: str) -> None:
    collection = installed / "ansible_collections" / "fleet" / "ghcr"
    manifest = json.loads((collection / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["collection_info"]["version"] == galaxy_version
    for name in ("meta/execution-environment.yml", "requirements.txt", "bindep.txt"):
        assert (collection / name).read_bytes() == (REPO_ROOT / name).read_bytes(), name


def test_builder_stage_picks_up_requirements_and_bindep(context: Path, installed: Path, workdir: Path) -> None:
    script = context / "_build" / "scripts" / "introspect.py"

    # The collection as shipped: both files are read, and ask for nothing.
    out = workdir / "introspect-shipped"
    out.mkdir()
    data, pip_file, bindep_file = introspect(script, installed, out)
    assert data == {"python": [], "system": []}
    assert not pip_file.exists()
    assert not bindep_file.exists()

    # The same collection with one line added to each file: introspect.py finds them through
    # meta/execution-environment.yml and passes them on to the image's pip and bindep installs.
    changed = workdir / "collections-changed"
    shutil.copytree(installed, changed)
    collection = changed / "ansible_collections" / "fleet" / "ghcr"
    with (collection / "requirements.txt").open("a", encoding="utf-8") as handle:
        handle.write(f"{PYTHON_SENTINEL}\n")
    with (collection / "bindep.txt").open("a", encoding="utf-8") as handle:
        handle.write(f"{SYSTEM_SENTINEL}\n")
    out = workdir / "introspect-changed"
    out.mkdir()
    data, pip_file, bindep_file = introspect(script, changed, out)
    assert data == {
        "python": [f"{PYTHON_SENTINEL}  # from collection fleet.ghcr"],
        "system": [f"{SYSTEM_SENTINEL}  # from collection fleet.ghcr"],
    }
    assert pip_file.read_text(encoding="utf-8").splitlines() == data["python"]
    assert bindep_file.read_text(encoding="utf-8").splitlines() == data["system"]
