# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Throwaway TLS material for integration tests (CA + server cert for loopback)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme

SERVER_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files written by :func:`write_tls_files`."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    cert_dir: Path

    @property
    def ca_pem(self) -> str:
        return self.ca_file.read_text(encoding="ascii")


def write_tls_files(directory: Path, names: tuple[str, ...] = SERVER_NAMES) -> TlsFiles:
    """Create a fresh CA and a server certificate for ``names`` under ``directory``.

    Layout::

        directory/ca.crt            the CA certificate
        directory/server.crt        server leaf + chain
        directory/server.key        server private key (0600)
        directory/certs.d/ca.crt    a --cert-dir for skopeo/podman (CA only)
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert(*names)
    files = TlsFiles(
        ca_file=directory / "ca.crt",
        cert_file=directory / "server.crt",
        key_file=directory / "server.key",
        cert_dir=directory / "certs.d",
    )
    ca.cert_pem.write_to_path(str(files.ca_file))
    server.private_key_pem.write_to_path(str(files.key_file))
    files.key_file.chmod(0o600)
    _write_chain(server, files.cert_file)
    _write_cert_dir(ca, files.cert_dir)
    return files


def _write_chain(server: trustme.LeafCert, path: Path) -> None:
    with path.open("wb") as handle:
        for blob in server.cert_chain_pems:
            handle.write(blob.bytes())


def _write_cert_dir(ca: trustme.CA, cert_dir: Path) -> None:
    """containers/image --cert-dir: *.crt files are CAs; *.cert/*.key pairs are client certs."""
    cert_dir.mkdir(exist_ok=True)
    ca.cert_pem.write_to_path(str(cert_dir / "ca.crt"))
