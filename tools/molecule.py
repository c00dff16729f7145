# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``make molecule``: the Molecule scenarios of extensions/molecule against a local GHCR-like registry.

1. Target images ``localhost/fleet-ghcr-target:<suite>`` (:mod:`tools.images`): built
   once with debootstrap, cached, kept in the project's Podman storage under build/podman.
2. ``containers.podman``, which Molecule's Podman driver needs, taken out of the ``ansible``
   wheel from PyPI (cached under ~/.cache/fleet-ghcr) into build/molecule/collections.
3. A GHCR-like registry stack (:class:`tests.support.ghcr_stack.GhcrStack`, the standard
   population): the targets reach it on 127.0.0.1 through the host network.
4. The run's inventory, build/molecule/run/group_vars/all: ghcr_username and the stack's "good"
   token as a vault-encrypted ghcr_pat (a throwaway vault password, never on a command line),
   the registry and its CA, and the digest that verify expects. The scenarios find it through
   FLEET_GHCR_* environment variables.
5. ``molecule test -s <scenario>`` from extensions/, for each scenario, even after a failure.

The registry is stopped at the end, also on failure or SIGTERM; the exit status is non-zero when
any step or scenario failed. Logs: build/molecule/logs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

from ansible.parsing.vault import VaultLib, VaultSecret

from tests.support.authfiles import write_private
from tests.support.clients import podman_env
from tests.support.ghcr_stack import PRIVATE_REPO, SEED_TAG, GhcrStack, populate_defaults
from tools.images import DEFAULT_PODMAN_ROOT, DEFAULT_SUITES, ImageError, TargetImage, cache_dir, ensure_images

REPO_ROOT = Path(__file__).resolve().parents[1]
EXTENSIONS = REPO_ROOT / "extensions"
SCENARIOS = ("default", "logout", "node")
PLATFORMS = 3  # FLEET_GHCR_PLATFORM_1..3 / FLEET_GHCR_IMAGE_1..3 in the scenarios' molecule.yml
# What utils/playbooks/target_python.yml prints for each platform in verify (the debug task's msg).
TARGET_PYTHON_RE = re.compile(r'"msg": "target python: (?P<platform>\S+) (?P<debian>Debian .*?) Python (?P<python>\S+) at (?P<executable>\S+)"')
WORKDIR = REPO_ROOT / "build" / "molecule"
COLLECTIONS_DIR = REPO_ROOT / "build" / "collections"  # fleet.ghcr, linked by `make collection-path`
# containers.podman comes out of this release of the `ansible` package (which needs ansible-core 2.19).
ANSIBLE_PACKAGE_VERSION = "12.3.0"
CONTAINERS_PODMAN_VERSION = "1.18.0"
GHCR_USERNAME = "octocat"
SCENARIO_TIMEOUT = 1200
TOKEN_NAME = "good"


def step(text: str, started: float) -> None:
    print(f"\n==> [{time.monotonic() - started:5.0f} s] {text}", flush=True)


class Failure(RuntimeError):
    """A preparation step failed; the message says why."""


# -- containers.podman ---------------------------------------------------------------


def ensure_containers_podman(dest: Path) -> Path:
    """``dest/ansible_collections/containers/podman`` from the ``ansible`` wheel; returns ``dest``.

    Galaxy is out of reach, but PyPI's ``ansible`` package bundles the collection; installing all
    of ``ansible`` (about 100 collections) into the venv for one of them would be heavy, so the
    wheel is downloaded once (pip, no dependencies) into the cache and only this collection taken out.
    """
    target = dest / "ansible_collections" / "containers" / "podman"
    manifest = target / "MANIFEST.json"
    if manifest.is_file() and json.loads(manifest.read_text())["collection_info"]["version"] == CONTAINERS_PODMAN_VERSION:
        return dest
    wheels = cache_dir() / "wheels"
    wheel = wheels / f"ansible-{ANSIBLE_PACKAGE_VERSION}-py3-none-any.whl"
    if not wheel.is_file():
        wheels.mkdir(parents=True, exist_ok=True)
        print(f"pip download ansible=={ANSIBLE_PACKAGE_VERSION} (no dependencies) into {wheels}", flush=True)
        completed = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "--dest", str(wheels), f"ansible=={ANSIBLE_PACKAGE_VERSION}"],
            capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if completed.returncode != 0 or not wheel.is_file():
            raise Failure(f"pip download ansible=={ANSIBLE_PACKAGE_VERSION} failed:\n{completed.stdout}{completed.stderr}")
    prefix = "ansible_collections/containers/podman/"
    staging = dest / ".containers-podman.partial"
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        members = [name for name in archive.namelist() if name.startswith(prefix)]
        if not members:
            raise Failure(f"{wheel.name} holds no {prefix}")
        archive.extractall(staging, members)
    found = json.loads((staging / prefix / "MANIFEST.json").read_text())["collection_info"]["version"]
    if found != CONTAINERS_PODMAN_VERSION:
        raise Failure(f"{wheel.name} bundles containers.podman {found}, not {CONTAINERS_PODMAN_VERSION}")
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    (staging / prefix).rename(target)
    shutil.rmtree(staging)
    print(f"containers.podman {found} from {wheel.name} -> {target}", flush=True)
    return dest


# -- the run's inventory --------------------------------------------------------------


def vault_inline(token: str, password: str) -> str:
    """``!vault |`` YAML block of ``token`` (encrypted in-process: the token is on no command line)."""
    ciphertext = VaultLib([("default", VaultSecret(password.encode()))]).encrypt(token.encode()).decode()
    return "!vault |\n" + "".join(f"  {line}\n" for line in ciphertext.splitlines())


def write_inventory(run_dir: Path, stack: GhcrStack, token: str, digest: str) -> tuple[Path, Path]:
    """Write the run's group_vars and a throwaway vault password; return (group_vars dir, password file)."""
    shutil.rmtree(run_dir, ignore_errors=True)
    all_dir = run_dir / "group_vars" / "all"
    all_dir.mkdir(parents=True)
    password_file = write_private(run_dir / "vault-password", secrets.token_urlsafe(32) + "\n")
    password = password_file.read_text().strip()
    write_private(
        all_dir / "ghcr.yml",
        "---\n"
        "# Written by tools/molecule.py for one run: the local test registry's token, which dies with\n"
        "# that registry, vault-encrypted with a throwaway password (../../vault-password).\n"
        f"ghcr_username: {GHCR_USERNAME}\n"
        f"ghcr_pat: {vault_inline(token, password)}",
    )
    write_private(
        all_dir / "registry.yml",
        "---\n"
        "# Written by tools/molecule.py for one run: the local GHCR-like registry.\n"
        f"registry_auth_registry: {json.dumps(stack.host)}\n"
        "# On the controller, where registry_auth_verify=once checks; prepare copies it into the targets.\n"
        f"registry_auth_ca_path: {json.dumps(str(stack.ca_file))}\n"
        f"# The digest of {PRIVATE_REPO}:{SEED_TAG} as seeded, which verify expects.\n"
        f"seeded_digest: {json.dumps(digest)}\n",
    )
    return run_dir / "group_vars", password_file


# -- molecule -----------------------------------------------------------------------


def molecule_env(podman: dict[str, str], images: list[TargetImage], group_vars: Path, password_file: Path, podman_collections: Path) -> dict[str, str]:
    """Podman's project-local config, the venv first on PATH, and what the scenarios read."""
    env = {key: value for key, value in podman.items() if not key.startswith(("ANSIBLE_", "MOLECULE_"))}
    venv_bin = str(Path(sys.executable).parent)
    (WORKDIR / "home").mkdir(parents=True, exist_ok=True)
    env.update(
        PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', os.defpath)}",
        ANSIBLE_COLLECTIONS_PATH=f"{COLLECTIONS_DIR}{os.pathsep}{podman_collections}",
        # Also where Molecule keeps each scenario's ephemeral directory (tmp/molecule.*.<scenario>).
        ANSIBLE_HOME=str(WORKDIR / "ansible-home"),
        # The Podman driver's playbooks keep async job files in $HOME/.ansible_async: keep them in build/ too.
        HOME=str(WORKDIR / "home"),
        ANSIBLE_LOCAL_TEMP=str(WORKDIR / "ansible-home" / "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        PY_COLORS="0",
        NO_COLOR="1",
        FLEET_GHCR_MOLECULE_GROUP_VARS=str(group_vars),
        FLEET_GHCR_VAULT_PASSWORD_FILE=str(password_file),
    )
    for index, image in enumerate(images, start=1):
        env[f"FLEET_GHCR_PLATFORM_{index}"] = platform_name(image)
        env[f"FLEET_GHCR_IMAGE_{index}"] = image.ref
    return env


def platform_name(image: TargetImage) -> str:
    return f"fleet-ghcr-{image.tag}"


def run_scenario(name: str, env: dict[str, str], log_dir: Path) -> int:
    """``molecule test -s NAME`` from extensions/, its output shown and kept in log_dir/NAME.log."""
    argv = [str(Path(sys.executable).parent / "molecule"), "test", "--scenario-name", name]
    log_path = log_dir / f"molecule-{name}.log"
    started = time.monotonic()
    print(f"$ cd extensions && molecule test --scenario-name {name}   (log: {log_path})", flush=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            argv, cwd=EXTENSIONS, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace", start_new_session=True,
        )  # fmt: skip
        watchdog = threading.Timer(SCENARIO_TIMEOUT, _stop_group, (process,))
        watchdog.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                log.write(line)
        finally:
            watchdog.cancel()
            if process.poll() is None:
                _stop_group(process)
            process.wait()
    if process.returncode != 0 and time.monotonic() - started >= SCENARIO_TIMEOUT:
        print(f"molecule test -s {name} was stopped after {SCENARIO_TIMEOUT} s", flush=True)
    return process.returncode


def target_pythons(log_dir: Path, scenarios: list[str]) -> dict[str, set[str]]:
    """Platform -> the "Debian N (suite) Python X.Y.Z at PATH" lines its verify printed, from the scenario logs."""
    found: dict[str, set[str]] = {}
    for scenario in scenarios:
        log_path = log_dir / f"molecule-{scenario}.log"
        if log_path.is_file():
            for match in TARGET_PYTHON_RE.finditer(log_path.read_text(errors="replace")):
                found.setdefault(match["platform"], set()).add(f"{match['debian']} Python {match['python']} at {match['executable']}")
    return found


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM (then SIGKILL) the process group of a child we started (molecule and its ansible-playbooks)."""
    for signum, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def remove_leftover_containers(images: list[TargetImage], env: dict[str, str]) -> None:
    """Remove this run's platform containers if a failed scenario left them behind (by name)."""
    for image in images:
        name = platform_name(image)
        if subprocess.run(["podman", "container", "exists", name], env=env, capture_output=True, check=False).returncode == 0:
            print(f"removing the leftover container {name}", flush=True)
            subprocess.run(["podman", "rm", "--force", "--time", "0", name], env=env, capture_output=True, check=False)


# -- main -----------------------------------------------------------------------------


def _raise_on_sigterm(signum, _frame) -> None:
    print("\nSIGTERM: stopping Molecule, the containers and the registry", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.molecule", description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS), metavar="SCENARIO", help=f"default: {' '.join(SCENARIOS)}")
    parser.add_argument(
        "--suite", action="append", dest="suites", metavar="SUITE", help=f"Debian suite of a target, once per target (default: {' '.join(DEFAULT_SUITES)})"
    )
    args = parser.parse_args(argv)
    suites = tuple(args.suites or DEFAULT_SUITES)
    if len(suites) != PLATFORMS or len(set(suites)) != PLATFORMS:
        parser.error(f"the scenarios have {PLATFORMS} platforms: give --suite {PLATFORMS} times (distinct suites), or not at all")
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    started = time.monotonic()
    log_dir = WORKDIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    if not (COLLECTIONS_DIR / "ansible_collections" / "fleet" / "ghcr").exists():
        print(f"ERROR: {COLLECTIONS_DIR}/ansible_collections/fleet/ghcr is missing: run `make collection-path` (make molecule does)", file=sys.stderr)
        return 2
    for scenario in args.scenarios:
        if not (EXTENSIONS / "molecule" / scenario / "molecule.yml").is_file():
            print(f"ERROR: no scenario extensions/molecule/{scenario}", file=sys.stderr)
            return 2

    podman = podman_env(DEFAULT_PODMAN_ROOT)
    step(f"Target images (Podman storage {DEFAULT_PODMAN_ROOT}, rootfs cache {cache_dir()})", started)
    try:
        images = ensure_images(podman, suites, log_dir=log_dir)
        step("containers.podman for the Molecule Podman driver", started)
        podman_collections = ensure_containers_podman(WORKDIR / "collections")
    except (ImageError, Failure) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1

    results: dict[str, str] = {}
    timings: dict[str, float] = {}
    run_dir = WORKDIR / "run"
    try:
        step("Starting the GHCR-like registry stack (Distribution, token server, TLS) with the standard population", started)
        with GhcrStack(WORKDIR / "registry") as stack:
            tokens = populate_defaults(stack)
            digest = stack.seeded[f"{PRIVATE_REPO}:{SEED_TAG}"]
            group_vars, password_file = write_inventory(run_dir, stack, tokens[TOKEN_NAME], digest)
            print(f"registry https://{stack.host}, {PRIVATE_REPO}:{SEED_TAG} at {digest}; inventory {group_vars}", flush=True)
            env = molecule_env(podman, images, group_vars, password_file, podman_collections)
            for scenario in args.scenarios:
                step(f"Scenario {scenario}", started)
                scenario_started = time.monotonic()
                rc = run_scenario(scenario, env, log_dir)
                timings[scenario] = time.monotonic() - scenario_started
                results[scenario] = "ok" if rc == 0 else f"FAILED (exit {rc})"
    finally:
        remove_leftover_containers(images, podman)
        (run_dir / "vault-password").unlink(missing_ok=True)
        if results:
            step("Summary (the registry is stopped)", started)
            pythons = target_pythons(log_dir, list(results))
            for image in images:
                ran = "; ".join(sorted(pythons.get(platform_name(image), ()))) or "no verify output"
                print(f"  target   {platform_name(image):24} {image.ref} ({image.source}): {ran}")
            for scenario, outcome in results.items():
                print(f"  scenario {scenario:24} {outcome} in {timings[scenario]:.0f} s")
            print(f"  total    {time.monotonic() - started:.0f} s", flush=True)
    failed = [scenario for scenario, outcome in results.items() if outcome != "ok"]
    print(f"molecule: {len(results) - len(failed)} passed, {len(args.scenarios) - len(results) + len(failed)} failed", flush=True)
    if failed or len(results) != len(args.scenarios):
        print(f"make molecule FAILED: {' '.join(failed) or 'not every scenario ran'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
