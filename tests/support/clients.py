# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Thin wrappers that run the REAL registry clients against files a module wrote.

Every function returns the ``subprocess.CompletedProcess`` (text mode, output
captured, never raising on a non-zero exit). No secret is ever put on argv:
credentials come from auth files, config.json or stdin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.service import Service

CLIENT_TIMEOUT = 120
CREDENTIAL_HELPER = "docker-credential-pass"

# Variables that would make a client read credentials from somewhere other than
# the file we point it at.
_CREDENTIAL_ENV = ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG", "DOCKER_AUTH_CONFIG")


def run(argv: list[str], env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = CLIENT_TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``argv`` (all items str()-ed) and capture its text output."""
    return subprocess.run(
        [str(arg) for arg in argv],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def clean_env(base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """``base`` (default os.environ) without credential-location variables, plus ``extra``."""
    env = dict(os.environ if base is None else base)
    for key in _CREDENTIAL_ENV:
        env.pop(key, None)
    env.update(extra)
    return env


# -- skopeo -------------------------------------------------------------------


def skopeo_inspect(authfile: Path | str, ref: str, cert_dir: Path | str, env: dict[str, str] | None = None, raw: bool = False) -> subprocess.CompletedProcess:
    """``skopeo inspect --authfile F --cert-dir D docker://REF`` (``--raw``: the manifest)."""
    extra = ["--raw"] if raw else []
    return run(
        ["skopeo", "inspect", *extra, "--authfile", authfile, "--cert-dir", cert_dir, f"docker://{ref}"],
        env=clean_env(env),
    )


# -- podman -------------------------------------------------------------------

CONTAINERS_CONF = """\
# Project-local Podman settings: runc, cgroupfs and vfs, which work in unprivileged containers and CI sandboxes.
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{root}/events.log"
tmp_dir = "{root}/tmp"
"""

STORAGE_CONF = """\
[storage]
driver = "vfs"
runroot = "{root}/runroot"
graphroot = "{root}/graphroot"
"""

REGISTRIES_CONF = """\
unqualified-search-registries = []
short-name-mode = "enforcing"
"""


def podman_env(tmpdir: Path | str, base: dict[str, str] | None = None) -> dict[str, str]:
    """Write containers.conf/storage.conf/registries.conf under ``tmpdir``; return a full env.

    The result is ``base`` (default os.environ, minus credential-location
    variables) plus CONTAINERS_CONF, CONTAINERS_STORAGE_CONF and
    CONTAINERS_REGISTRIES_CONF; all Podman state lives under ``tmpdir``.
    """
    root = Path(tmpdir).resolve()
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    files = {
        "CONTAINERS_CONF": ("containers.conf", CONTAINERS_CONF.format(root=root)),
        "CONTAINERS_STORAGE_CONF": ("storage.conf", STORAGE_CONF.format(root=root)),
        "CONTAINERS_REGISTRIES_CONF": ("registries.conf", REGISTRIES_CONF),
    }
    extra = {}
    for variable, (name, text) in files.items():
        (root / name).write_text(text, encoding="utf-8")
        extra[variable] = str(root / name)
    return clean_env(base, **extra)


def podman_get_login(authfile: Path | str, registry: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``podman login --get-login --authfile F REGISTRY``: prints the user name only."""
    return run(["podman", "login", "--get-login", "--authfile", authfile, registry], env=env)


def skopeo_get_login(authfile: Path | str, key: str, env: dict[str, str] | None = None) -> str | None:
    """The user name containers/image finds for ``key`` (a registry, namespace or repository) in ``authfile``.

    ``skopeo login --get-login`` runs the same lookup as a pull; None when it finds no credential.
    """
    completed = run(["skopeo", "login", "--get-login", "--authfile", authfile, key], env=clean_env(env))
    if completed.returncode != 0:
        if "not logged into" in completed.stderr.lower():
            return None
        raise RuntimeError(f"skopeo login --get-login {key} failed: {completed.stderr.strip()}")
    return completed.stdout.strip()


def docker_load_warning(docker_config_dir: Path | str) -> str:
    """What the Docker CLI says when it loads DIR/config.json (empty when it loads cleanly); needs no daemon."""
    completed = run(["docker", "--config", docker_config_dir, "context", "ls", "--quiet"], env=clean_env())
    return completed.stderr.strip()


def podman_pull(authfile: Path | str, ref: str, cert_dir: Path | str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``podman pull --quiet --authfile F --cert-dir D REF``: stdout is the image id."""
    return run(["podman", "pull", "--quiet", "--authfile", authfile, "--cert-dir", cert_dir, ref], env=env)


# -- docker CLI (client only, no engine) -----------------------------------------


def docker_manifest_inspect(
    docker_config_dir: Path | str, ref: str, ca_file: Path | str | None = None, insecure: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``docker --config DIR manifest inspect REF``: needs no daemon, reads DIR/config.json.

    ``ca_file`` is handed over as SSL_CERT_FILE (Go's system-root override), so
    nothing is written to /etc/docker/certs.d. Beware: the Docker CLI treats
    127.0.0.0/8 and ::1 as insecure registries and then skips TLS verification
    altogether; the CA is only checked for other addresses.
    """
    extra = {"SSL_CERT_FILE": str(ca_file)} if ca_file else {}
    flags = ["--insecure"] if insecure else []
    return run(
        ["docker", "--config", docker_config_dir, "manifest", "inspect", *flags, ref],
        env=clean_env(env, **extra),
    )


# -- pass + docker-credential-pass -----------------------------------------------

GPG_KEY_PARAMS = """\
%no-protection
Key-Type: EDDSA
Key-Curve: ed25519
Key-Usage: sign
Subkey-Type: ECDH
Subkey-Curve: cv25519
Subkey-Usage: encrypt
Name-Real: fleet.ghcr test store
Name-Email: pass-store@fleet-ghcr.invalid
Expire-Date: 0
%commit
"""


class PassError(RuntimeError):
    """The throwaway pass store could not be set up."""


class PassStore(Service):
    """A throwaway ``pass`` store (own GNUPGHOME + PASSWORD_STORE_DIR) for docker-credential-pass."""

    def __init__(self, base_dir: Path | str | None = None) -> None:
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="fleet-pass-"))
        self.gnupg_home = self.base_dir / "gnupg"
        self.store_dir = self.base_dir / "password-store"
        self.key_id: str | None = None

    @property
    def env(self) -> dict[str, str]:
        """The variables a process needs so that docker-credential-pass uses this store."""
        return {"GNUPGHOME": str(self.gnupg_home), "PASSWORD_STORE_DIR": str(self.store_dir)}

    def full_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        return clean_env(base, **self.env)

    def _start(self) -> None:
        self.gnupg_home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.key_id = self._generate_key()
        self._checked(["pass", "init", self.key_id], "pass init")

    def close(self) -> None:
        """Kill this GNUPGHOME's gpg-agent (and friends); remove the directory if we made it."""
        try:
            if self.gnupg_home.is_dir():
                run(["gpgconf", "--kill", "all"], env=self.full_env(), timeout=30)
        finally:
            if self._own_dir:
                shutil.rmtree(self.base_dir, ignore_errors=True)

    stop = close  # what Service (the context manager, a failed start) calls

    def _generate_key(self) -> str:
        self._checked(["gpg", "--batch", "--gen-key"], "gpg --gen-key", stdin=GPG_KEY_PARAMS)
        listing = self._checked(["gpg", "--batch", "--with-colons", "--list-secret-keys"], "gpg --list-secret-keys")
        fingerprints = [line.split(":")[9] for line in listing.stdout.splitlines() if line.startswith("fpr:")]
        if not fingerprints:
            raise PassError(f"no key fingerprint in gpg output:\n{listing.stdout}")
        return fingerprints[0]

    def _checked(self, argv: list[str], what: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        proc = run(argv, env=self.full_env(), stdin=stdin, timeout=60)
        if proc.returncode != 0:
            raise PassError(f"{what} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    # -- the credential-helper protocol (stdin in, stdout out) ---------------

    def helper(self, action: str, stdin: str) -> subprocess.CompletedProcess:
        """``docker-credential-pass ACTION`` with ``stdin``, using this store."""
        return run([CREDENTIAL_HELPER, action], env=self.full_env(), stdin=stdin)

    def helper_store(self, server: str, username: str, secret: str) -> subprocess.CompletedProcess:
        payload = json.dumps({"ServerURL": server, "Username": username, "Secret": secret})
        return self.helper("store", payload)

    def helper_get(self, server: str) -> subprocess.CompletedProcess:
        return self.helper("get", server)

    def helper_erase(self, server: str) -> subprocess.CompletedProcess:
        return self.helper("erase", server)

    def helper_list(self) -> subprocess.CompletedProcess:
        return self.helper("list", "unused")
