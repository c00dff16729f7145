# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A real Distribution (docker-registry) instance for integration tests.

Runs ``/usr/bin/docker-registry serve CONFIG`` on a free 127.0.0.1 port with
TLS (throwaway CA from :mod:`tests.support.tls`), htpasswd (bcrypt) auth and
filesystem storage in a private state directory.

Script use (a demo, Molecule)::

    python -m tests.support.registry start --state-dir DIR [--user NAME ...] [--seed REPO:TAG ...]

prints one JSON line (host, url, ca_file, cert_dir, users, seeded digests),
writes the same to DIR/registry.json (mode 0600), and keeps serving until
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tests.support.authfiles import write_auth_json, write_private
from tests.support.service import Service
from tests.support.tls import SERVER_NAMES, TlsFiles, write_tls_files

REGISTRY_BIN = "/usr/bin/docker-registry"
REQUIRED_BINARIES = ("docker-registry", "htpasswd", "skopeo", "umoci")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
START_ATTEMPTS = 3
PR_SET_PDEATHSIG = 1


class RegistryError(RuntimeError):
    """The registry could not be started or an image could not be seeded."""


def missing_binaries(names: tuple[str, ...] = REQUIRED_BINARIES) -> list[str]:
    """Return the names in ``names`` that are not on PATH."""
    return [name for name in names if shutil.which(name) is None]


def random_token(prefix: str = "ghp_", length: int = 36) -> str:
    """A random token shaped like a GitHub classic PAT (``ghp_`` + 36 alphanumerics)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _index in range(length))


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def non_loopback_ipv4() -> str | None:
    """An IPv4 address of this host outside 127.0.0.0/8, or None (nothing is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("10.255.255.255", 1))
            address = sock.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM us when the parent dies (no orphaned registries)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def run_checked(argv: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    """Run ``argv``; raise :class:`RegistryError` with its output if it fails."""
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise RegistryError(f"{what} failed (exit {proc.returncode}): {argv[0]} ...\nstdout: {proc.stdout.strip()}\nstderr: {proc.stderr.strip()}")
    return proc


def write_htpasswd(path: Path, users: dict[str, str]) -> None:
    """Write a bcrypt htpasswd file; passwords go through stdin (``htpasswd -B -i``)."""
    path.unlink(missing_ok=True)
    if any("\n" in password for password in users.values()):
        raise ValueError("htpasswd -i reads one line: passwords must not contain newlines")
    for index, (user, password) in enumerate(users.items()):
        create = ["-c"] if index == 0 else []
        run_checked(
            ["htpasswd", "-B", "-i", *create, str(path), user],
            f"htpasswd for {user!r}",
            input=password + "\n",
        )


def distribution_config(address: str, port: int, storage: Path, auth: dict, **http: object) -> str:
    """Distribution 2.x YAML configuration (JSON is valid YAML, so no YAML library needed).

    Filesystem ``storage`` with deletes enabled, listening on ``address:port``;
    ``auth`` is the ``auth`` section and ``http`` extra keys of the ``http`` section.
    """
    config = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text"},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {
            "addr": f"{address}:{port}",
            "secret": secrets.token_hex(16),
            **http,
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
        "auth": auth,
    }
    return json.dumps(config, indent=2) + "\n"


def registry_config(address: str, port: int, tls: TlsFiles, htpasswd: Path, storage: Path) -> str:
    """The configuration of :class:`Registry`: TLS and htpasswd authentication."""
    return distribution_config(
        address,
        port,
        storage,
        {"htpasswd": {"realm": "fleet-test-registry", "path": str(htpasswd)}},
        tls={"certificate": str(tls.cert_file), "key": str(tls.key_file)},
    )


def tls_names(address: str) -> tuple[str, ...]:
    """Names for the server certificate: ``address`` plus the loopback names."""
    return tuple(dict.fromkeys((address, *SERVER_NAMES)))


def registry_env() -> dict[str, str]:
    """Our environment without REGISTRY_* (Distribution reads those as config overrides)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}


class DistributionProcess:
    """One ``docker-registry serve CONFIG`` child process (of :class:`Registry` or the GHCR stack).

    ``name`` names it in error messages ("registry", "Distribution"); failures
    to start raise ``error`` (:class:`RegistryError` or a subclass).
    """

    def __init__(self, config_file: Path, log_file: Path, address: str, name: str, error: type[RegistryError] = RegistryError) -> None:
        self.config_file = config_file
        self.log_file = log_file
        self.address = address
        self.name = name
        self.error = error
        self.port: int | None = None  # of the last start attempt; kept after stop()
        self._process: subprocess.Popen | None = None
        self._log_handle = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, render_config: Callable[[int], str], ready: Callable[[int], bool], awaited: str) -> None:
        """Serve on a free port (then :attr:`port`) and wait until ``ready(port)``.

        ``render_config(port)`` gives the configuration; ``awaited`` describes
        the ready answer for the error message (``{host}`` becomes ADDRESS:PORT).
        Up to :data:`START_ATTEMPTS` ports are tried (another process may take
        a free port before Distribution binds it).
        """
        for attempt in range(1, START_ATTEMPTS + 1):
            self._spawn(free_port(self.address), render_config)
            try:
                self._wait_ready(ready, awaited)
                return
            except RegistryError:
                self.stop()
                if attempt == START_ATTEMPTS:
                    raise

    def _spawn(self, port: int, render_config: Callable[[int], str]) -> None:
        self.port = port
        self.config_file.write_text(render_config(port), encoding="utf-8")
        self._log_handle = self.log_file.open("ab")
        self._process = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(self.config_file)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            env=registry_env(),
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def _wait_ready(self, ready: Callable[[int], bool], awaited: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running:
                raise self.error(f"docker-registry exited early:\n{self.log_tail()}")
            if ready(self.port):
                return
            time.sleep(0.1)
        raise self.error(f"{self.name} not answering {awaited.format(host=f'{self.address}:{self.port}')}:\n{self.log_tail()}")

    def stop(self) -> None:
        """Terminate Distribution (kill it if it lingers) and wait for it; safe to call more than once."""
        process, self._process = self._process, None
        try:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            if self._log_handle is not None:
                self._log_handle.close()
                self._log_handle = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return f"(no {self.name} log)"


def push_tiny_image(layout: Path, host: str, credentials: tuple[str, str], cert_dir: Path, repo: str, tag: str, work_parent: Path) -> str:
    """skopeo copy ``oci:layout:seed`` to ``host/repo:tag`` as ``credentials`` (user, password); return the digest."""
    work = Path(tempfile.mkdtemp(prefix="seed-", dir=work_parent))
    try:
        authfile = write_auth_json(work / "auth.json", {host: credentials})
        digest_file = work / "digest"
        run_checked(
            [
                "skopeo",
                "copy",
                "--quiet",
                "--dest-authfile",
                str(authfile),
                "--dest-cert-dir",
                str(cert_dir),
                "--digestfile",
                str(digest_file),
                f"oci:{layout}:seed",
                f"docker://{host}/{repo}:{tag}",
            ],
            f"skopeo copy to {repo}:{tag}",
        )
        return digest_file.read_text(encoding="ascii").strip()
    finally:
        shutil.rmtree(work, ignore_errors=True)


class Registry(Service):
    """A running Distribution registry. Use as a context manager or call start()/stop().

    ``address`` is the IPv4 address to listen on (default loopback). The server
    certificate always also covers 127.0.0.1 and localhost.
    """

    def __init__(
        self,
        state_dir: Path | str | None = None,
        users: dict[str, str] | None = None,
        address: str = "127.0.0.1",
    ) -> None:
        self.address = address
        self._own_state_dir = state_dir is None
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="fleet-registry-"))
        self._users = dict(users or {"octocat": random_token()})
        if not self._users:
            raise ValueError("Registry needs at least one user")
        self._distribution = DistributionProcess(self.state_dir / "config.yml", self.log_file, address, "registry")
        self._image_cache: Path | None = None
        self.tls: TlsFiles | None = None
        self.seeded: dict[str, str] = {}

    # -- properties -------------------------------------------------------

    @property
    def host(self) -> str:
        if self._distribution.port is None:
            raise RegistryError("registry is not started")
        return f"{self.address}:{self._distribution.port}"

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    @property
    def ca_file(self) -> Path:
        return self._tls().ca_file

    @property
    def cert_dir(self) -> Path:
        return self._tls().cert_dir

    @property
    def users(self) -> dict[str, str]:
        return dict(self._users)

    @property
    def log_file(self) -> Path:
        return self.state_dir / "registry.log"

    @property
    def running(self) -> bool:
        return self._distribution.running

    def _tls(self) -> TlsFiles:
        if self.tls is None:
            raise RegistryError("registry is not started")
        return self.tls

    # -- lifecycle --------------------------------------------------------

    def _start(self) -> None:
        missing = missing_binaries()
        if missing:
            raise RegistryError(f"required binaries not found on PATH: {', '.join(missing)}")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tls = self.tls = write_tls_files(self.state_dir / "tls", tls_names(self.address))
        htpasswd = self.state_dir / "htpasswd"
        write_htpasswd(htpasswd, self._users)
        context = ssl.create_default_context(cafile=str(tls.ca_file))
        self._distribution.start(
            lambda port: registry_config(self.address, port, tls, htpasswd, self.state_dir / "storage"),
            lambda _port: self._probe(context) == 401,
            "401 on https://{host}/v2/",
        )

    def _probe(self, context: ssl.SSLContext) -> int | None:
        try:
            with urllib.request.urlopen(f"{self.url}/v2/", context=context, timeout=2) as resp:
                return resp.status
        except urllib.error.HTTPError as error:
            return error.code
        except (OSError, ssl.SSLError):
            return None

    def stop(self) -> None:
        """Terminate the registry and wait for it; safe to call more than once."""
        try:
            self._distribution.stop()
        finally:
            if self._own_state_dir:
                shutil.rmtree(self.state_dir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        return self._distribution.log_tail(lines)

    # -- auth helpers -----------------------------------------------------

    def write_authfile(self, path: Path | str, user: str | None = None, password: str | None = None) -> Path:
        """Write a containers-auth.json for this registry (defaults: first user, right password)."""
        user = user or next(iter(self._users))
        password = self._users[user] if password is None else password
        return write_auth_json(Path(path), {self.host: (user, password)})

    # -- seeding ----------------------------------------------------------

    def seed_image(self, repo: str, tag: str) -> str:
        """Push a tiny OCI image as ``HOST/repo:tag`` (as the first user); return its manifest digest."""
        user = next(iter(self._users))
        digest = push_tiny_image(self._oci_layout(), self.host, (user, self._users[user]), self.cert_dir, repo, tag, self.state_dir)
        self.seeded[f"{repo}:{tag}"] = digest
        return digest

    def _oci_layout(self) -> Path:
        """Build (once) an OCI layout holding one image with a one-file layer."""
        if self._image_cache is None:
            self._image_cache = build_tiny_oci_image(self.state_dir / "oci-image")
        return self._image_cache

    # -- description ------------------------------------------------------

    def describe(self) -> dict:
        return {
            "host": self.host,
            "url": self.url,
            "ca_file": str(self.ca_file),
            "cert_dir": str(self.cert_dir),
            "users": self.users,
            "seeded": dict(self.seeded),
            "log_file": str(self.log_file),
            "pid": self._distribution.pid,
        }


def build_tiny_oci_image(layout: Path, tag: str = "seed") -> Path:
    """umoci init/new/unpack/repack: an OCI layout ``layout:tag`` with /hello.txt."""
    shutil.rmtree(layout, ignore_errors=True)
    bundle = layout.with_name(layout.name + "-bundle")
    shutil.rmtree(bundle, ignore_errors=True)
    image = f"{layout}:{tag}"
    run_checked(["umoci", "init", "--layout", str(layout)], "umoci init")
    run_checked(["umoci", "new", "--image", image], "umoci new")
    run_checked(["umoci", "unpack", "--rootless", "--image", image, str(bundle)], "umoci unpack")
    (bundle / "rootfs" / "hello.txt").write_text("hello from fleet.ghcr tests\n", encoding="utf-8")
    run_checked(["umoci", "repack", "--image", image, str(bundle)], "umoci repack")
    shutil.rmtree(bundle, ignore_errors=True)
    return layout


# -- script entry point -----------------------------------------------------


def serve_until_signalled(service, prepare: Callable, info_file: Path, died: Callable[[], str]) -> int:
    """Script mode: start ``service``, ``prepare(service)``, print its describe() as one JSON line
    (also written to ``info_file``, mode 0600) and serve until SIGTERM/SIGINT.

    Returns 0, or 1 (after printing ``died()`` to stderr) if the service stops running.
    """
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with service:
        prepare(service)
        info = json.dumps(service.describe())
        write_private(info_file, info + "\n")
        print(info, flush=True)
        while not stop.wait(0.5):
            if not service.running:
                print(died(), file=sys.stderr)
                return 1
    return 0


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.support.registry")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start a registry and serve until SIGTERM/SIGINT")
    start.add_argument("--state-dir", required=True, type=Path)
    start.add_argument("--user", action="append", default=[], help="user name (password is generated)")
    start.add_argument("--seed", action="append", default=[], metavar="REPO:TAG")
    start.add_argument("--address", default="127.0.0.1", help="IPv4 address to listen on")
    return parser.parse_args(argv)


def _serve(args: argparse.Namespace) -> int:
    def seed(registry: Registry) -> None:
        for ref in args.seed:
            repo, _sep, tag = ref.rpartition(":")
            registry.seed_image(repo, tag)

    users = {name: random_token() for name in (args.user or ["octocat"])}
    registry = Registry(args.state_dir, users, args.address)
    return serve_until_signalled(registry, seed, args.state_dir / "registry.json", lambda: f"registry died:\n{registry.log_tail()}")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
