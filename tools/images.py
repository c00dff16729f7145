# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Debian target images for Molecule, built offline: ``localhost/fleet-ghcr-target:<suite>``.

No image can be pulled here, so each target is a ``debootstrap --variant=minbase
--include=python3`` root file system, imported with ``podman import``. A target
has the Python 3 standard library and nothing else: no docker, no podman, no
registry client, which is what the collection promises to need. The default
targets, bullseye, bookworm and trixie, have python3 3.9 (the oldest Python the
collection claims on a target), 3.11 and 3.13.
A suite the mirror does not serve is an error, never skipped nor replaced.

Two caches, so that a machine builds each suite once:

* the Podman image itself (``podman image exists`` with the right recipe label:
  nothing to do);
* the root file system as a tarball under the user cache (``~/.cache/fleet-ghcr``,
  or ``$FLEET_GHCR_CACHE``), which survives ``make clean`` and a fresh clone:
  only ``podman import`` again.

Podman always runs with the project-local configuration of
:func:`tests.support.clients.podman_env` (never /etc).

Script use: ``python -m tools.images [--podman-root DIR] [SUITE ...]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.support.clients import podman_env

REPO_ROOT = Path(__file__).resolve().parents[1]
IMAGE_REPO = "localhost/fleet-ghcr-target"
# One Molecule platform each, oldest first: their python3 is 3.9, 3.11 and 3.13 (the collection claims 3.9+ on targets).
DEFAULT_SUITES = ("bullseye", "bookworm", "trixie")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_PODMAN_ROOT = REPO_ROOT / "build" / "podman"
# Bump when the way a root file system is made changes: older tarballs and images are then rebuilt.
RECIPE = "1"
RECIPE_LABEL = "org.fleet-ghcr.target-recipe"
DEBOOTSTRAP_TIMEOUT = 900
PODMAN_TIMEOUT = 300
# What a minbase root file system does not need inside a throwaway container.
PRUNE = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale", "debootstrap")


class ImageError(RuntimeError):
    """A target image could not be built or imported."""


@dataclass(frozen=True)
class TargetImage:
    """One Molecule platform: the Debian ``suite`` it runs, under ``tag``."""

    suite: str
    tag: str
    source: str = ""  # present, cache (tarball imported) or debootstrap (built now)
    seconds: float = 0.0

    @property
    def ref(self) -> str:
        return f"{IMAGE_REPO}:{self.tag}"


def cache_dir() -> Path:
    """``$FLEET_GHCR_CACHE``, else ``$XDG_CACHE_HOME/fleet-ghcr``, else ``~/.cache/fleet-ghcr``."""
    if os.environ.get("FLEET_GHCR_CACHE"):
        return Path(os.environ["FLEET_GHCR_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fleet-ghcr"


def debian_mirror() -> str:
    """``$FLEET_GHCR_DEBIAN_MIRROR``, else the Debian mirror apt is configured with, else deb.debian.org."""
    if os.environ.get("FLEET_GHCR_DEBIAN_MIRROR"):
        return os.environ["FLEET_GHCR_DEBIAN_MIRROR"].rstrip("/")
    candidates: list[str] = []
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]
    for path in sources:
        if path.is_file():
            candidates += re.findall(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", path.read_text(errors="replace"), re.MULTILINE)
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text(errors="replace")):
            if re.search(r"^Types:.*\bdeb\b", stanza, re.MULTILINE | re.IGNORECASE):
                match = re.search(r"^URIs:\s*(.+)$", stanza, re.MULTILINE | re.IGNORECASE)
                if match:
                    candidates += match.group(1).split()
    for uri in candidates:
        uri = uri.rstrip("/")
        if uri.endswith("/debian") and uri.startswith(("http://", "https://")):
            return uri
    return DEFAULT_MIRROR


def suite_available(suite: str, mirror: str) -> bool:
    """Whether debootstrap knows ``suite`` and ``mirror`` publishes it."""
    if not Path("/usr/share/debootstrap/scripts", suite).exists():
        return False
    request = urllib.request.Request(f"{mirror}/dists/{suite}/Release", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def plan(suites: tuple[str, ...], mirror: str) -> list[TargetImage]:
    """One TargetImage per wanted suite, tagged with the suite's name.

    A suite whose root file system is not cached yet, and that debootstrap does not know or that
    ``mirror`` does not publish, is an error (ImageError), never replaced by another suite: each
    target stands for a Python version the collection claims (bullseye 3.9, bookworm 3.11, trixie
    3.13), and a silent stand-in would test the wrong one.
    """
    planned: list[TargetImage] = []
    for suite in suites:
        if not rootfs_tarball(suite).is_file() and not suite_available(suite, mirror):
            raise ImageError(
                f"{mirror}/dists/{suite}/Release is not reachable (or debootstrap has no script for {suite}): "
                f"cannot build the {suite} target. Point FLEET_GHCR_DEBIAN_MIRROR at a mirror that publishes it "
                "(once a suite is archived: http://archive.debian.org/debian), or put its root file system tarball "
                f"{rootfs_tarball(suite).name} into {cache_dir()}"
            )
        planned.append(TargetImage(suite, suite))
    return planned


def _run(argv: list[str], env: dict[str, str], timeout: int, what: str, **kwargs) -> subprocess.CompletedProcess:
    try:
        completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL, **kwargs)
    except subprocess.TimeoutExpired as error:
        raise ImageError(f"{what} timed out after {timeout} s") from error
    if completed.returncode != 0:
        raise ImageError(f"{what} failed (exit {completed.returncode}):\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    return completed


def _architecture() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def rootfs_tarball(suite: str) -> Path:
    return cache_dir() / f"rootfs-{suite}-{_architecture()}-r{RECIPE}.tar"


def image_current(ref: str, env: dict[str, str]) -> bool:
    """``podman image exists REF`` and it was made by this RECIPE."""
    if subprocess.run(["podman", "image", "exists", ref], env=env, capture_output=True, check=False).returncode != 0:
        return False
    label = subprocess.run(
        ["podman", "image", "inspect", "--format", f'{{{{index .Labels "{RECIPE_LABEL}"}}}}', ref], env=env, capture_output=True, text=True, check=False
    )
    return label.stdout.strip() == RECIPE


def _unmount_below(directory: Path) -> None:
    """Lazily unmount whatever a killed debootstrap left mounted (proc, sys) below ``directory``."""
    prefix = str(directory.resolve()) + "/"
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines() if len(line.split()) > 1]
    for mount_point in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount_point], capture_output=True, check=False)


def debootstrap(suite: str, mirror: str, tarball: Path, log_file: Path) -> None:
    """Build the minbase+python3 root file system of ``suite`` and store it as ``tarball`` (atomically)."""
    if os.geteuid() != 0:
        raise ImageError(f"debootstrap needs root to build the {suite} target image (or put {tarball.name} into {tarball.parent})")
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is not installed (apt-get install debootstrap; .ci/run does)")
    tarball.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"rootfs-{suite}-", dir=tarball.parent))
    rootfs = work / "rootfs"
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("w") as log:
            completed = subprocess.run(
                ["debootstrap", "--variant=minbase", "--include=python3", suite, str(rootfs), mirror],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=DEBOOTSTRAP_TIMEOUT, check=False,
            )  # fmt: skip
        if completed.returncode != 0:
            tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-25:])
            raise ImageError(f"debootstrap {suite} failed (exit {completed.returncode}); log {log_file}:\n{tail}")
        _unmount_below(rootfs)
        for relative in PRUNE:
            target = rootfs / relative
            if target.is_dir():
                shutil.rmtree(target)
                if relative.startswith("var/"):
                    (target / "partial").mkdir(parents=True)  # apt expects these to exist
        partial = work / "rootfs.tar"
        _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], dict(os.environ), DEBOOTSTRAP_TIMEOUT, f"tar of {suite}")
        partial.replace(tarball)
    finally:
        _unmount_below(work)
        shutil.rmtree(work, ignore_errors=True)


def podman_import(image: TargetImage, tarball: Path, env: dict[str, str]) -> None:
    _run(
        [
            "podman", "import",
            "--change", f"LABEL {RECIPE_LABEL}={RECIPE}",
            "--change", f"LABEL org.fleet-ghcr.debian-suite={image.suite}",
            "--change", 'CMD ["sleep", "infinity"]',
            "--message", f"fleet.ghcr Molecule target: Debian {image.suite} minbase + python3",
            str(tarball), image.ref,
        ],
        env, PODMAN_TIMEOUT, f"podman import {image.ref}",
    )  # fmt: skip


def ensure_images(
    env: dict[str, str],
    suites: tuple[str, ...] = DEFAULT_SUITES,
    log: Callable[[str], None] = print,
    log_dir: Path | None = None,
) -> list[TargetImage]:
    """Make sure every target image exists in the Podman storage of ``env``; return them in ``suites`` order.

    Missing root file systems are debootstrapped in parallel, then imported. A suite that cannot be
    built fails the whole call (ImageError): no target is skipped or replaced.
    """
    mirror = debian_mirror()
    planned = plan(tuple(suites), mirror)
    log_dir = log_dir or REPO_ROOT / "build" / "molecule" / "logs"
    todo = [image for image in planned if not image_current(image.ref, env)]
    built: dict[str, float] = {}

    def build(suite: str) -> None:
        started = time.monotonic()
        log(f"debootstrap {suite} from {mirror} (log: {log_dir / f'debootstrap-{suite}.log'})")
        debootstrap(suite, mirror, rootfs_tarball(suite), log_dir / f"debootstrap-{suite}.log")
        built[suite] = time.monotonic() - started
        log(f"debootstrap {suite}: {built[suite]:.0f} s, cached as {rootfs_tarball(suite)}")

    missing = sorted({image.suite for image in todo if not rootfs_tarball(image.suite).is_file()})
    if missing:
        with ThreadPoolExecutor(max_workers=len(missing)) as pool:
            for future in [pool.submit(build, suite) for suite in missing]:
                future.result()
    result = []
    for image in planned:
        if image not in todo:
            log(f"{image.ref}: present (Debian {image.suite})")
            result.append(TargetImage(image.suite, image.tag, "present"))
            continue
        started = time.monotonic()
        podman_import(image, rootfs_tarball(image.suite), env)
        seconds = time.monotonic() - started + built.get(image.suite, 0.0)
        source = "debootstrap" if image.suite in built else "cache"
        log(f"{image.ref}: imported from {rootfs_tarball(image.suite)} ({source}, {seconds:.0f} s)")
        result.append(TargetImage(image.suite, image.tag, source, seconds))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.images", description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", default=list(DEFAULT_SUITES), metavar="SUITE")
    parser.add_argument("--podman-root", type=Path, default=DEFAULT_PODMAN_ROOT, help=f"Podman state (default {DEFAULT_PODMAN_ROOT})")
    args = parser.parse_args(argv)
    try:
        images = ensure_images(podman_env(args.podman_root), tuple(args.suites))
    except ImageError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    for image in images:
        print(image.ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
