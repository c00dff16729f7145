"""Unit tests for plugins/module_utils/_docker_config_json.py: credentials given as a Docker config."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.fleet.ghcr.plugins.module_utils._docker_config_json import credentials_from_docker_config
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import InputError


def enc(username: str, secret: str) -> str:
    return base64.b64encode(f"{username}:{secret}".encode()).decode()


def test_credentials_from_docker_config() -> None:
    blob = {"auths": {"https://ghcr.io/": {"auth": enc("octocat", "ghp_1")}, "quay.io": {"username": "q", "password": "p"}}}
    found = credentials_from_docker_config(json.dumps(blob))
    assert [(registry.name, username, secret) for registry, username, secret in found] == [("ghcr.io", "octocat", "ghp_1"), ("quay.io", "q", "p")]


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        ("{", "not valid JSON"),
        ('{"auths": {"ghcr.io": {"auth": "' + "x" * 4 + '"}}, "n": ' + "[" * 10000 + "]" * 10000 + "}", "more than 64 levels"),
        ('{"auths": {}, "n": ' + "9" * 5000 + "}", "non-empty 'auths'"),
        ({"auths": {}}, "non-empty 'auths'"),
        (42, "as JSON text or a dict"),
        ({"auths": {"ghcr.io": {}}}, "holds no credential"),
        ({"auths": {"ghcr.io": {"auth": "bm9jb2xvbg=="}}}, "username:secret"),
        ({"auths": {"ghcr.io": {"username": "u", "password": 5}}}, "\\['password'\\] must be a string"),
        ({"auths": {"ghcr.io": {"auth": enc("a", "1")}, "https://ghcr.io": {"auth": enc("a", "2")}}}, "two different credentials for ghcr.io"),
        ({"auths": {"[:::::]": {"auth": enc("a", "1")}}}, "malformed"),
        ({"auths": {"ghcr.io": {"auth": enc("a", "has space")}}}, "whitespace"),
    ],
)
def test_credentials_from_docker_config_rejects(blob: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        credentials_from_docker_config(blob)


def test_the_same_credential_under_two_spellings_is_one() -> None:
    blob = {"auths": {"ghcr.io": {"auth": enc("a", "1")}, "https://ghcr.io": {"auth": enc("a", "1")}}}
    assert len(credentials_from_docker_config(blob)) == 1


@pytest.mark.parametrize(
    "blob",
    [
        {"Auths": {"ghcr.io": {"auth": enc("a", "1")}}, "auths": {"quay.io": {"auth": enc("b", "2")}}},
        {"auths": {"ghcr.io": {"Auth": enc("a", "1"), "auth": enc("a", "2")}}},
        {"auths": {"ghcr.io": {"auth": enc("a", "1")}}, "credsStore": 5},
        {"auths": {"ghcr.io": {"auth": enc("a", "1")}}, "n": float("inf")},
    ],
)
def test_a_dict_is_read_as_strictly_as_text(blob: dict) -> None:
    with pytest.raises(InputError):
        credentials_from_docker_config(blob)
    with pytest.raises(InputError):
        credentials_from_docker_config(json.dumps(blob))
