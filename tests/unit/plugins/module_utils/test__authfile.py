"""Unit tests for plugins/module_utils/_authfile.py: keys, entries, parsing and merging."""

from __future__ import annotations

import base64
import json
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleet.ghcr.plugins.module_utils import _authfile as af
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, InputError


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("ghcr.io", "ghcr.io"),
        ("https://ghcr.io/", "ghcr.io"),
        ("HTTPS://GHCR.IO", "ghcr.io"),
        ("http://registry.example:5000", "registry.example:5000"),
        ("https://ghcr.io/v2/", "ghcr.io"),
        ("ghcr.io/my-org", "ghcr.io/my-org"),
        ("https://ghcr.io/my-org/app/", "ghcr.io/my-org/app"),
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("[::1]:5000", "[::1]:5000"),
        ("https://index.docker.io/v1/", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("docker.io/library", "docker.io/library"),
    ],
)
def test_normalize_registry(given_value: str, expected: str) -> None:
    assert af.normalize_registry(given_value) == expected


@pytest.mark.parametrize(
    ("given_value", "message"),
    [
        ("", "must not be empty"),
        ("ghcr.io ", "whitespace"),
        ("ftp://ghcr.io", "only http:// and https://"),
        ("ghcr.io:99999", "malformed"),
        ("-ghcr.io", "malformed"),
        ("ghcr.io/My-Org", "namespace part 'My-Org'"),
        ("ghcr.io/org/app:1.0", "no tag or digest"),
        ("ghcr.io/org/app@sha256:abc", "no tag or digest"),
        ("user@ghcr.io", "malformed"),
    ],
)
def test_normalize_registry_rejects(given_value: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        af.normalize_registry(given_value)


REGISTRY_TEXT = st.from_regex(r"\A(https?://)?[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,2}(:[1-9][0-9]{0,3})?(/[a-z0-9]{1,6}){0,2}/?\Z")


@given(REGISTRY_TEXT)
def test_normalize_registry_is_idempotent(text: str) -> None:
    once = af.normalize_registry(text)
    assert af.normalize_registry(once) == once


def test_file_key_per_engine() -> None:
    assert af.file_key("ghcr.io", af.DOCKER) == "ghcr.io"
    assert af.file_key("docker.io", af.DOCKER) == "https://index.docker.io/v1/"
    assert af.file_key("docker.io", af.PODMAN) == "docker.io"
    assert af.file_key("ghcr.io/org", af.PODMAN) == "ghcr.io/org"
    with pytest.raises(InputError, match="Docker keeps one credential per registry host"):
        af.file_key("ghcr.io/org", af.DOCKER)


def test_encode_auth_matches_the_documented_example() -> None:
    # The GitHub docs build it as: echo -n $USERNAME:$CR_PAT | base64
    assert af.encode_auth("octocat", "ghp_x") == base64.b64encode(b"octocat:ghp_x").decode()
    assert af.encode_auth("ab", "c") == "YWI6Yw=="  # padded, as Docker requires


SECRETS = st.text(alphabet=string.ascii_letters + string.digits + "_-.:", min_size=1, max_size=300)
USERNAMES = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=39)


@given(USERNAMES, SECRETS)
def test_encode_decode_round_trip(username: str, secret: str) -> None:
    assert af.decode_auth(af.encode_auth(username, secret)) == (username, secret)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (base64.b64encode(b"octocat:ghp_x").decode().rstrip("="), "padded"),
        (base64.urlsafe_b64encode(b"\xfb\xff:x").decode(), "padded"),
        (base64.b64encode(b"no-colon").decode(), "username:secret"),
        (base64.b64encode(b":secret").decode(), "username:secret"),
    ],
)
def test_decode_auth_refuses_what_docker_refuses(value: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        af.decode_auth(value)


@pytest.mark.parametrize(
    ("username", "message"),
    [(None, "must not be empty"), ("", "must not be empty"), ("a:b", "must not contain ':'"), ("a b", "whitespace")],
)
def test_check_username(username: str | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        af.check_username(username)


def test_check_secret_strips_with_a_warning() -> None:
    assert af.check_secret("ghp_abc") == ("ghp_abc", [])
    secret, warnings = af.check_secret("  ghp_abc\n")
    assert secret == "ghp_abc"
    assert warnings and "ghp_abc" not in warnings[0]


@pytest.mark.parametrize(("secret", "message"), [("", "must not be empty"), ("  \n", "must not be empty"), ("ghp_a b", "whitespace")])
def test_check_secret_rejects(secret: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        af.check_secret(secret)
    assert secret.strip() == "" or secret not in str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"  \n", "is empty"),
        (b'{"auths": {', "not valid JSON"),
        (b"[]", "does not hold a JSON object"),
        (b'{"auths": []}', "'auths' must be an object"),
        (b'{"auths": {"ghcr.io": "x"}}', "'auths' must be an object of objects"),
        (b'{"credHelpers": {"ghcr.io": 1}}', "credHelpers"),
        (b'{"credsStore": true}', "credsStore"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_parse_document_refuses(data: bytes, message: str) -> None:
    with pytest.raises(AuthFileError, match=message) as caught:
        af.parse_document(data, "/home/u/.docker/config.json")
    assert "/home/u/.docker/config.json" in str(caught.value)
    assert "left unchanged" in str(caught.value)


def test_parse_error_does_not_quote_the_file() -> None:
    secret_line = b'{"auths": {"ghcr.io": {"auth": "c2VjcmV0OnRva2Vu"}}, oops}'
    with pytest.raises(AuthFileError) as caught:
        af.parse_document(secret_line, "f")
    assert "c2VjcmV0OnRva2Vu" not in str(caught.value)


def test_with_entry_keeps_everything_else_in_place() -> None:
    doc = {
        "auths": {"quay.io": {"auth": "eA==", "email": "x"}, "https://ghcr.io": {"auth": "old"}, "ghcr.io": {"auth": "old2"}},
        "HttpHeaders": {"X": "y"},
        "credHelpers": {"gcr.io": "gcloud"},
        "psFormat": "table",
    }
    new = af.with_entry(doc, "ghcr.io", {"auth": "new"}, af.DOCKER)
    assert new["auths"] == {"quay.io": {"auth": "eA==", "email": "x"}, "ghcr.io": {"auth": "new"}}
    assert list(new) == ["auths", "HttpHeaders", "credHelpers", "psFormat"]
    assert doc["auths"]["ghcr.io"] == {"auth": "old2"}, "the input must not be modified"


def test_without_entry_removes_every_spelling_a_client_reads() -> None:
    doc = {"auths": {"ghcr.io": {}, "https://ghcr.io/": {}, "http://ghcr.io": {}, "ghcr.io/org": {}, "quay.io": {}}}
    assert af.without_entry(doc, "ghcr.io", af.DOCKER) == {"auths": {"quay.io": {}}}
    # Podman reads ghcr.io/org only for that namespace, so logging out of ghcr.io keeps it.
    assert af.without_entry(doc, "ghcr.io", af.PODMAN) == {"auths": {"ghcr.io/org": {}, "quay.io": {}}}
    assert af.without_entry(doc, "ghcr.io/org", af.PODMAN)["auths"].keys() == {"ghcr.io", "https://ghcr.io/", "http://ghcr.io", "quay.io"}


def test_holds_entry() -> None:
    assert af.holds_entry({"auths": {"https://ghcr.io": {"auth": "x"}}}, "ghcr.io", af.PODMAN)
    assert not af.holds_entry({"auths": {"quay.io": {}}}, "ghcr.io", af.PODMAN)
    assert not af.holds_entry(None, "ghcr.io", af.DOCKER)


KEYS = st.sampled_from(["ghcr.io", "quay.io", "registry.example:5000", "https://ghcr.io", "ghcr.io/org", "docker.io"])
ENTRIES = st.dictionaries(st.sampled_from(["auth", "email", "identitytoken"]), st.text(max_size=8), max_size=2)
DOCS = st.fixed_dictionaries(
    {"auths": st.dictionaries(KEYS, ENTRIES, max_size=5)},
    optional={"credsStore": st.text(max_size=5), "HttpHeaders": st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2)},
)


@given(DOCS, st.sampled_from(["ghcr.io", "quay.io", "registry.example:5000"]), st.sampled_from(af.ENGINES))
def test_merging_keeps_every_unrelated_key_and_entry(doc: dict, key: str, engine: str) -> None:
    new = af.with_entry(doc, key, {"auth": "bmV3Om5ldw=="}, engine)
    assert new["auths"][key] == {"auth": "bmV3Om5ldw=="}
    assert {k: v for k, v in new.items() if k != "auths"} == {k: v for k, v in doc.items() if k != "auths"}
    for other, entry in doc["auths"].items():
        if af.key_host(other) != af.key_host(key):
            assert new["auths"][other] == entry
    assert af.with_entry(new, key, {"auth": "bmV3Om5ldw=="}, engine) == new, "merging twice changes nothing"


@given(DOCS, st.sampled_from(["ghcr.io", "quay.io"]), st.sampled_from(af.ENGINES))
def test_removal_is_idempotent_and_leaves_other_hosts(doc: dict, key: str, engine: str) -> None:
    once = af.without_entry(doc, key, engine)
    assert af.without_entry(once, key, engine) == once
    assert not af.holds_entry(once, key, engine)
    for other, entry in doc["auths"].items():
        if af.key_host(other) != af.key_host(key):
            assert once["auths"][other] == entry


def test_helper_for_follows_each_client() -> None:
    doc = {"credsStore": "pass", "credHelpers": {"ghcr.io": "gh", "quay.io": ""}}
    assert af.helper_for(doc, "ghcr.io", af.DOCKER) == ("gh", "credHelpers['ghcr.io']")
    assert af.helper_for(doc, "quay.io", af.DOCKER) == ("pass", "credsStore")
    assert af.helper_for(doc, "quay.io", af.PODMAN) is None, "containers/image does not read credsStore"
    assert af.helper_for(doc, "ghcr.io/org", af.PODMAN) == ("gh", "credHelpers['ghcr.io']")
    assert af.helper_for(None, "ghcr.io", af.DOCKER) is None


def test_redacted_shows_only_fingerprints() -> None:
    auth = af.encode_auth("octocat", "ghp_secret")
    doc = {"auths": {"ghcr.io": {"auth": auth, "identitytoken": "refresh"}, "x.io": {}}}
    shown = json.dumps(af.redacted(doc))
    assert auth not in shown and "refresh" not in shown and "ghp_secret" not in shown
    assert af.fingerprint(auth) in shown
    assert doc["auths"]["ghcr.io"]["auth"] == auth


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (None, b'{\n\t"auths": {}\n}'),
        (b'{\n    "auths": {}\n}\n', b'{\n    "auths": {}\n}\n'),
        (b'{"auths": {}}', b'{"auths":{}}'),
    ],
)
def test_serialize_keeps_the_file_style(existing: bytes | None, expected: bytes) -> None:
    assert af.serialize({"auths": {}}, af.detect_style(existing)) == expected


def test_credentials_from_docker_config() -> None:
    blob = {"auths": {"https://ghcr.io/": {"auth": af.encode_auth("octocat", "ghp_1")}, "quay.io": {"username": "q", "password": "p"}}}
    assert af.credentials_from_docker_config(json.dumps(blob)) == [("ghcr.io", "octocat", "ghp_1"), ("quay.io", "q", "p")]


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        ("{", "not valid JSON"),
        ({"auths": {}}, "non-empty 'auths'"),
        ({"auths": {"ghcr.io": {}}}, "holds no credential"),
        ({"auths": {"ghcr.io": {"auth": "bm9jb2xvbg=="}}}, "username:secret"),
    ],
)
def test_credentials_from_docker_config_rejects(blob: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        af.credentials_from_docker_config(blob)


def test_redacted_hides_secrets_outside_auths_too() -> None:
    doc = {
        "auths": {},
        "HttpHeaders": {"Authorization": "Bearer daemon-secret"},
        "proxies": {"default": {"httpsProxy": "http://svc:Pr0xyPassw0rd@proxy:3128", "noProxy": "localhost"}},
    }
    shown = json.dumps(af.redacted(doc))
    assert "daemon-secret" not in shown and "Pr0xyPassw0rd" not in shown
    assert "http://svc:sha256:" in shown and "@proxy:3128" in shown and "localhost" in shown


def test_decode_auth_refuses_non_strings() -> None:
    with pytest.raises(ValueError, match="not a string"):
        af.decode_auth(123)  # type: ignore[arg-type]
