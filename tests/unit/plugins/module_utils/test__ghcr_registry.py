"""Unit tests for plugins/module_utils/_ghcr_registry.py: which credential an auth file gives each image."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._ghcr_registry import auth_file_engine, credentials_for
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import Registry


def enc(username: str, secret: str) -> str:
    return base64.b64encode(f"{username}:{secret}".encode()).decode()


class StandInModule:
    """Provides exactly what the backend says it uses: params, no_log_values, get_bin_path."""

    def __init__(self, params: dict) -> None:
        self.params = params
        self.no_log_values: set[str] = set()

    @staticmethod
    def get_bin_path(name: str) -> str | None:
        return None


def params(auth_file: Path, images: list[str], engine: str = "auto") -> dict:
    return {"auth_file": str(auth_file), "auth_file_engine": engine, "user": None, "images": images, "username": None, "password": None}


def test_auto_reads_config_json_as_docker_and_any_other_file_as_podman() -> None:
    assert auth_file_engine("/h/.docker/config.json", "auto") == "docker"
    assert auth_file_engine("/h/.config/containers/auth.json", "auto") == "podman"
    assert auth_file_engine("/h/.docker/config.json", "podman") == "podman"


def write(path: Path, auths: dict) -> Path:
    path.write_text(json.dumps({"auths": auths}))
    os.chmod(path, 0o600)
    return path


def test_podman_rules_give_each_image_its_most_specific_credential(tmp_path: Path) -> None:
    path = write(tmp_path / "auth.json", {"ghcr.io": {"auth": enc("host", "h")}, "ghcr.io/org": {"auth": enc("org", "o")}})
    module = StandInModule(params(path, ["org/app", "other/app", "org/tool:1"]))
    groups = credentials_for(module, Registry.parse("ghcr.io"))
    assert groups == [(("org", "o"), ["org/app", "org/tool:1"]), (("host", "h"), ["other/app"])]
    assert {"o", "h", enc("org", "o"), enc("host", "h")} <= module.no_log_values


def test_docker_rules_use_one_credential_per_host(tmp_path: Path) -> None:
    path = write(tmp_path / "config.json", {"ghcr.io": {"auth": enc("host", "h")}, "ghcr.io/org": {"auth": enc("org", "o")}})
    assert credentials_for(StandInModule(params(path, ["org/app"])), Registry.parse("ghcr.io")) == [(("host", "h"), ["org/app"])]


@pytest.mark.parametrize(
    ("name", "auths", "message"),
    [
        ("config.json", {"ghcr.io": {}, "https://ghcr.io": {"auth": enc("a", "b")}}, "its entry 'ghcr.io' is empty"),
        ("auth.json", {"ghcr.io": {}, "https://ghcr.io": {"auth": enc("a", "b")}}, "its entry 'ghcr.io' is empty"),
        ("config.json", {"https://ghcr.io": {"auth": enc("a", "1")}, "http://ghcr.io": {"auth": enc("b", "2")}}, "picks one of them at random"),
        ("auth.json", {"quay.io": {"auth": enc("a", "b")}}, "no credential for ghcr.io"),
        ("config.json", {"ghcr.io": {"identitytoken": "t"}}, "identity or registry token"),
    ],
)
def test_what_the_client_would_not_send_is_an_error(tmp_path: Path, name: str, auths: dict, message: str) -> None:
    path = write(tmp_path / name, auths)
    with pytest.raises(InputError, match=message):
        credentials_for(StandInModule(params(path, [])), Registry.parse("ghcr.io"))
