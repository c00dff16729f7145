"""Unit tests for plugins/module_utils/_reference.py: the one registry value and image names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import DOCKER, PODMAN, ImageName, Registry


@pytest.mark.parametrize(
    ("given_value", "name", "scheme"),
    [
        ("ghcr.io", "ghcr.io", None),
        ("https://ghcr.io/", "ghcr.io", "https"),
        ("HTTPS://GHCR.IO", "ghcr.io", "https"),
        ("http://registry.example:5000", "registry.example:5000", "http"),
        ("https://ghcr.io/v2/", "ghcr.io", "https"),
        ("ghcr.io/my-org", "ghcr.io/my-org", None),
        ("https://ghcr.io/my-org/app/", "ghcr.io/my-org/app", "https"),
        ("127.0.0.1:5000", "127.0.0.1:5000", None),
        ("[::1]:5000", "[::1]:5000", None),
        ("[fe80::1]", "[fe80::1]", None),
        ("https://index.docker.io/v1/", "docker.io", "https"),
        ("registry-1.docker.io", "docker.io", None),
        ("index.docker.io/library", "docker.io/library", None),
    ],
)
def test_parse(given_value: str, name: str, scheme: str | None) -> None:
    registry = Registry.parse(given_value)
    assert (registry.name, registry.scheme) == (name, scheme)
    assert str(registry) == name


@pytest.mark.parametrize(
    ("given_value", "message"),
    [
        ("", "must not be empty"),
        (None, "must not be empty"),
        ("ghcr.io ", "whitespace"),
        ("ftp://ghcr.io", "only http:// and https://"),
        ("ghcr.io:99999", "malformed"),
        ("ghcr.io:0", "malformed"),
        ("ghcr.io:00443", "malformed"),
        ("a" * 64 + ".example", "malformed"),
        ("-ghcr.io", "malformed"),
        ("[:::::]", "malformed"),
        ("[::1", "malformed"),
        ("[1.2.3.4]", "malformed"),
        ("ghcr.io/My-Org", "namespace part 'My-Org'"),
        ("ghcr.io/org/app:1.0", "no tag or digest"),
        ("ghcr.io/org/app@sha256:abc", "no tag or digest"),
        ("user@ghcr.io", "malformed"),
    ],
)
def test_parse_refuses(given_value: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Registry.parse(given_value)


REGISTRY_TEXT = st.from_regex(r"\A(https?://)?[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,2}(:[1-9][0-9]{0,3})?(/[a-z0-9]{1,6}){0,2}/?\Z")


@given(REGISTRY_TEXT)
def test_parse_is_idempotent(text: str) -> None:
    once = Registry.parse(text)
    assert Registry.parse(once.name).name == once.name


def test_keys_per_engine() -> None:
    assert Registry.parse("ghcr.io").key(DOCKER) == "ghcr.io"
    assert Registry.parse("docker.io").key(DOCKER) == "https://index.docker.io/v1/"
    assert Registry.parse("docker.io").key(PODMAN) == "docker.io"
    assert Registry.parse("ghcr.io/org").key(PODMAN) == "ghcr.io/org"
    with pytest.raises(InputError, match="Docker keeps one credential per registry host"):
        Registry.parse("ghcr.io/org").key(DOCKER)


def test_helper_server_and_whole() -> None:
    hub = Registry.parse("docker.io")
    assert hub.helper_server(DOCKER) == "https://index.docker.io/v1/" and hub.helper_server(PODMAN) == "docker.io"
    assert Registry.parse("ghcr.io/org").whole() == Registry.parse("ghcr.io")


@pytest.mark.parametrize(
    ("given_value", "base_url"),
    [
        ("ghcr.io", "https://ghcr.io"),
        ("http://localhost:5000", "http://localhost:5000"),
        ("ghcr.io/my-org", "https://ghcr.io"),
        ("docker.io", "https://registry-1.docker.io"),
    ],
)
def test_base_url(given_value: str, base_url: str) -> None:
    assert Registry.parse(given_value).base_url == base_url


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("octocat/app", ImageName("octocat/app", "latest")),
        ("octocat/app:1.2", ImageName("octocat/app", "1.2")),
        ("ghcr.io/octocat/app:1.2", ImageName("octocat/app", "1.2")),
        ("octocat/app@sha256:" + "a" * 64, ImageName("octocat/app", "sha256:" + "a" * 64)),
        ("org/team/app", ImageName("org/team/app", "latest")),
    ],
)
def test_image(image: str, expected: ImageName) -> None:
    assert Registry.parse("ghcr.io").image(image) == expected


@pytest.mark.parametrize("image", ["Octocat/App", "octocat/app:", "", "quay.io/org/app", "localhost/app/x"])
def test_image_refuses(image: str) -> None:
    with pytest.raises(InputError):
        Registry.parse("ghcr.io").image(image)
