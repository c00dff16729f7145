# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Prove the test stack is real: real registry, real skopeo/podman/docker/pass clients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import clients
from tests.support.authfiles import write_auth_json, write_docker_config
from tests.support.registry import Registry, non_loopback_ipv4

SEED_REF = "fleet/hello:1.0"


def test_registry_demands_auth(registry: Registry) -> None:
    assert registry.running
    assert registry.host.startswith("127.0.0.1:")
    assert all(password.startswith("ghp_") for password in registry.users.values())
    assert registry.seeded[SEED_REF].startswith("sha256:")
    assert (registry.cert_dir / "ca.crt").read_text() == registry.ca_file.read_text()


def test_skopeo_inspects_with_correct_authfile(registry: Registry, tmp_path: Path) -> None:
    authfile = registry.write_authfile(tmp_path / "auth.json", "other")
    result = clients.skopeo_inspect(authfile, f"{registry.host}/{SEED_REF}", registry.cert_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Digest"] == registry.seeded[SEED_REF]


def test_skopeo_wrong_password_is_an_auth_error(registry: Registry, tmp_path: Path) -> None:
    authfile = registry.write_authfile(tmp_path / "auth.json", "octocat", "ghp_wrong")
    result = clients.skopeo_inspect(authfile, f"{registry.host}/{SEED_REF}", registry.cert_dir)
    assert result.returncode != 0
    assert "unauthorized: authentication required" in result.stderr


def test_skopeo_without_ca_rejects_the_certificate(registry: Registry, tmp_path: Path) -> None:
    authfile = registry.write_authfile(tmp_path / "auth.json")
    empty_cert_dir = tmp_path / "no-certs"
    empty_cert_dir.mkdir()
    result = clients.skopeo_inspect(authfile, f"{registry.host}/{SEED_REF}", empty_cert_dir)
    assert result.returncode != 0
    assert "certificate signed by unknown authority" in result.stderr


def test_podman_get_login_reads_hand_written_authfile(registry: Registry, podman_env, tmp_path: Path) -> None:
    authfile = write_auth_json(tmp_path / "auth.json", {registry.host: ("octocat", registry.users["octocat"])})
    result = clients.podman_get_login(authfile, registry.host, podman_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "octocat"


def test_podman_get_login_without_entry_fails(registry: Registry, podman_env, tmp_path: Path) -> None:
    authfile = write_auth_json(tmp_path / "auth.json", {"ghcr.io": ("octocat", "ghp_x")})
    result = clients.podman_get_login(authfile, registry.host, podman_env)
    assert result.returncode != 0
    assert "not logged into" in result.stderr


def test_podman_pull(registry: Registry, podman_env, tmp_path: Path) -> None:
    authfile = registry.write_authfile(tmp_path / "auth.json")
    ref = f"{registry.host}/{SEED_REF}"
    result = clients.podman_pull(authfile, ref, registry.cert_dir, podman_env)
    assert result.returncode == 0, result.stderr
    listing = clients.run(["podman", "image", "inspect", "--format", "{{.Digest}}", ref], env=podman_env)
    assert listing.stdout.strip() == registry.seeded[SEED_REF]


def test_credential_helper_round_trip(pass_store: clients.PassStore) -> None:
    stored = pass_store.helper_store("ghcr.io", "octocat", "ghp_roundtrip")
    assert stored.returncode == 0, stored.stdout + stored.stderr
    got = pass_store.helper_get("ghcr.io")
    assert got.returncode == 0, got.stdout + got.stderr
    assert json.loads(got.stdout) == {"ServerURL": "ghcr.io", "Username": "octocat", "Secret": "ghp_roundtrip"}
    assert json.loads(pass_store.helper_list().stdout) == {"ghcr.io": "octocat"}
    assert "ghp_roundtrip" not in "".join(path.name for path in Path(pass_store.env["PASSWORD_STORE_DIR"]).rglob("*"))


def test_credential_helper_unknown_server(pass_store: clients.PassStore) -> None:
    # docker-credential-pass 0.6.4 (Debian 12) answers an unknown server with
    # exit 0 and empty fields; newer releases exit 1 with
    # "credentials not found in native keychain". Accept both, reject a credential.
    got = pass_store.helper_get("nothing.example")
    if got.returncode == 0:
        assert json.loads(got.stdout)["Secret"] == ""
    else:
        assert got.stdout.strip() == "credentials not found in native keychain"


def test_docker_manifest_inspect_reads_config_json(registry: Registry, tmp_path: Path) -> None:
    config_dir = tmp_path / "docker"
    write_docker_config(config_dir, {registry.host: ("octocat", registry.users["octocat"])})
    result = clients.docker_manifest_inspect(config_dir, f"{registry.host}/{SEED_REF}", registry.ca_file)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["schemaVersion"] == 2


def test_docker_manifest_inspect_needs_the_credential(registry: Registry, tmp_path: Path) -> None:
    config_dir = tmp_path / "docker"
    write_docker_config(config_dir, {"ghcr.io": ("octocat", "ghp_elsewhere")})
    result = clients.docker_manifest_inspect(config_dir, f"{registry.host}/{SEED_REF}", registry.ca_file)
    assert result.returncode != 0
    assert "no basic auth credentials" in result.stderr


def test_docker_verifies_ca_off_loopback(tmp_path: Path) -> None:
    """On 127.0.0.0/8 the Docker CLI skips TLS checks; elsewhere SSL_CERT_FILE must carry the CA."""
    address = non_loopback_ipv4()
    if address is None:
        pytest.skip("this host has no non-loopback IPv4 address")
    with Registry(tmp_path / "registry", {"octocat": "ghp_offloopback"}, address=address) as server:
        server.seed_image("fleet/hello", "1.0")
        config_dir = tmp_path / "docker"
        write_docker_config(config_dir, {server.host: ("octocat", "ghp_offloopback")})
        ref = f"{server.host}/{SEED_REF}"
        without_ca = clients.docker_manifest_inspect(config_dir, ref)
        with_ca = clients.docker_manifest_inspect(config_dir, ref, server.ca_file)
    assert "certificate signed by unknown authority" in without_ca.stderr
    assert with_ca.returncode == 0, with_ca.stderr


def test_docker_wrong_password_looks_like_missing_manifest(registry: Registry, tmp_path: Path) -> None:
    """Quirk to remember: `docker manifest inspect` reports a rejected password as a missing manifest."""
    config_dir = tmp_path / "docker"
    write_docker_config(config_dir, {registry.host: ("octocat", "ghp_wrong")})
    result = clients.docker_manifest_inspect(config_dir, f"{registry.host}/{SEED_REF}", registry.ca_file)
    assert result.returncode != 0
    assert f"no such manifest: {registry.host}/{SEED_REF}" in result.stderr
