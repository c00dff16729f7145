# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""registries.yaml as k3s reads it: one registry's auth changed, every other scalar's text kept, the unclear refused."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import Registry
from ansible_collections.fleet.ghcr.plugins.plugin_utils._registries_yaml import RegistriesYaml, host_key

PATH = "/etc/rancher/k3s/registries.yaml"
EXISTING = b"""\
# mirrors first
mirrors:
  docker.io:
    endpoint: ["https://user:pw@mirror.example.com:5000"]
configs:
  "mirror.example.com:5000":
    auth: {username: on, password: 0123, identity_token: null}
    tls:
      insecure_skip_verify: yes
  ghcr.io:
    auth:
      username: old
      password: stale-token
      auth: b2xkOnN0YWxlLXRva2Vu
    tls: {ca_file: /etc/ssl/ghcr.pem}
unknown_key: kept
"""


def go_view(data: bytes) -> object:
    """Every scalar as its text, as Go's yaml.v2 fills wharfie's string fields."""
    return yaml.load(data.decode(), Loader=yaml.BaseLoader)  # BaseLoader: only str, list and dict


def test_the_auth_mapping_is_replaced_and_everything_else_reads_the_same() -> None:
    before = RegistriesYaml.parse(EXISTING, PATH)
    assert before.had_comments and before.auth_of("ghcr.io") == {"username": "old", "password": "stale-token", "auth": "b2xkOnN0YWxlLXRva2Vu"}
    after = before.with_auth("ghcr.io", "octocat", "ghp_new")
    written = after.serialize()
    view, original = go_view(written), go_view(EXISTING)
    assert view["configs"]["ghcr.io"] == {"auth": {"username": "octocat", "password": "ghp_new"}, "tls": {"ca_file": "/etc/ssl/ghcr.pem"}}
    view["configs"]["ghcr.io"]["auth"] = original["configs"]["ghcr.io"]["auth"]
    assert view == original
    assert b"password: 0123" in written and b"username: on" in written, "plain scalars keep their text, not YAML 1.1's numbers and booleans"
    assert before.auth_of("ghcr.io")["username"] == "old", "the parsed file is not changed in place"


def test_an_unchanged_credential_is_the_same_object_and_the_same_bytes() -> None:
    written = RegistriesYaml.parse(EXISTING, PATH).with_auth("ghcr.io", "octocat", "ghp_new").serialize()
    again = RegistriesYaml.parse(written, PATH)
    assert again.with_auth("ghcr.io", "octocat", "ghp_new") is again
    assert again.serialize() == written


def test_a_missing_or_empty_file_gets_a_minimal_one() -> None:
    for data in (None, b"", b"# only a comment\n", b"~\n"):
        created = RegistriesYaml.parse(data, PATH).with_auth("ghcr.io", "u", "t").serialize()
        assert go_view(created) == {"configs": {"ghcr.io": {"auth": {"username": "u", "password": "t"}}}}


def test_a_null_configs_or_entry_becomes_a_mapping() -> None:
    for data in (b"configs:\n", b"configs:\n  ghcr.io:\n", b"configs: ~\nmirrors: {}\n"):
        written = RegistriesYaml.parse(data, PATH).with_auth("ghcr.io", "u", "t").serialize()
        assert go_view(written)["configs"]["ghcr.io"] == {"auth": {"username": "u", "password": "t"}}


def test_logout_removes_the_auth_then_empty_entries_and_keeps_tls() -> None:
    without = RegistriesYaml.parse(EXISTING, PATH).without_auth("ghcr.io")
    assert go_view(without.serialize())["configs"]["ghcr.io"] == {"tls": {"ca_file": "/etc/ssl/ghcr.pem"}}
    only = RegistriesYaml.parse(b"configs:\n  ghcr.io:\n    auth: {username: u, password: t}\n", PATH).without_auth("ghcr.io")
    assert only.serialize() == b"{}\n"
    absent = RegistriesYaml.parse(b"mirrors: {}\n", PATH)
    assert absent.without_auth("ghcr.io") is absent


def test_the_redacted_view_hides_every_secret_and_url_user_info() -> None:
    shown = RegistriesYaml.parse(EXISTING, PATH).with_auth("ghcr.io", "octocat", "ghp_new").redacted()
    for secret in ("0123", "stale-token", "b2xkOnN0YWxlLXRva2Vu", "ghp_new", "user:pw"):
        assert secret not in shown
    assert "octocat" in shown and "sha256:" in shown and "(hidden)@mirror.example.com" in shown


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"a: &x {}\nb: *x\n", "anchors or aliases"),
        (b"a: 1\n--- \nb: 2\n", "second YAML document"),
        (b"configs: !!map {}\n", "explicit YAML tag"),
        (b"configs:\n  x.io:\n    auth: {username: ! \"null\", password: p}\n", "explicit YAML tag"),
        (b"configs:\n  x.io:\n    auth: {username: u, password: \"a\\/b\"}\n", "escape"),
        (b"note: |\n  x\n  \ty\n", "tab character outside quotes"),
        (b"a: " + b"x" * (512 * 1024) + b"\n", "more than the"),
        (b"configs: {}\nconfigs: {}\n", "duplicate key"),
        (b"<<: {configs: {}}\n", "merge key"),
        (b"? [a]\n: 1\n", "not plain text"),
        (b"- configs\n", "must hold a mapping"),
        (b"configs: text\n", "not a mapping"),
        (b"configs:\n  ghcr.io: [1]\n", "not a mapping"),
        (b"configs: {\n", "not valid YAML"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"a: " + b"[" * 40 + b"]" * 40 + b"\n", "nested more than"),
    ],
)
def test_what_cannot_be_rewritten_exactly_is_refused(data: bytes, problem: str) -> None:
    with pytest.raises(AuthFileError, match=problem):
        RegistriesYaml.parse(data, PATH).with_auth("ghcr.io", "u", "t").serialize()


def test_a_yaml_error_message_quotes_no_text_of_the_file() -> None:
    with pytest.raises(AuthFileError) as caught:
        RegistriesYaml.parse(b"configs:\n  x: {auth: {password: 'topsecret\n", PATH)
    assert "topsecret" not in str(caught.value) and "line" in str(caught.value)


def test_k3s_keys_are_hosts_only() -> None:
    assert host_key(Registry.parse("https://ghcr.io/"), "k3s") == "ghcr.io"
    assert host_key(Registry.parse("registry.example.com:5000"), "rke2") == "registry.example.com:5000"
    with pytest.raises(InputError, match=r"use registry=ghcr\.io"):
        host_key(Registry.parse("ghcr.io/org"), "k3s")


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@given(username=TEXT, password=TEXT)
def test_any_username_and_password_read_back_exactly(username: str, password: str) -> None:
    written = RegistriesYaml.parse(EXISTING, PATH).with_auth("ghcr.io", username, password).serialize()
    assert go_view(written)["configs"]["ghcr.io"]["auth"] == {"username": username, "password": password}


def test_tabs_inside_quotes_are_fine_and_nulls_read_as_empty() -> None:
    parsed = RegistriesYaml.parse(b'configs:\n  x.io:\n    auth: {username: "u\tv", password: ~}\n', PATH)
    assert parsed.auth_of("x.io") == {"username": "u\tv", "password": ""}


def test_a_secret_field_that_is_not_text_is_hidden_whole_in_the_diff() -> None:
    data = b"configs:\n  other.io:\n    auth: {username: bob, password: [OTHERSECRET1], auth: {hunter2: 1}}\n"
    shown = RegistriesYaml.parse(data, PATH).with_auth("ghcr.io", "u", "t").redacted()
    assert "OTHERSECRET1" not in shown and "hunter2" not in shown and "bob" in shown
