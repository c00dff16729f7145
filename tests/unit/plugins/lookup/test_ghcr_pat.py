# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for the fleet.ghcr.ghcr_pat lookup, loaded through ansible-core's lookup loader as Ansible loads it.

Vault cases use real vault encryption (VaultLib) and the secrets the run would have: the loader's secrets for
files, and the vault secrets context (set with monkeypatch, so it is restored) for inline values.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import string
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ansible._internal._display_utils import DeferredWarningContext  # what the task executor uses to collect warnings
from ansible.errors import AnsibleLookupError, AnsibleOptionsError
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import EncryptedString, VaultLib, VaultSecret, VaultSecretsContext
from ansible.plugins.loader import lookup_loader
from ansible.release import __version__ as ansible_version
from ansible.template import Templar, trust_as_template

from ansible_collections.fleet.ghcr.plugins.module_utils._token import token_kind
from ansible_collections.fleet.ghcr.plugins.plugin_utils import _patsource

ENV_NAMES = ("GHCR_PAT", "GITHUB_TOKEN", "DOCKER_CONFIG")
VAULT_PASSWORD = b"unit-test-vault-password"


ALPHABET = string.ascii_letters + string.digits


def token(prefix: str = "ghp_", length: int = 36) -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _index in range(length))


@dataclass
class Outcome:
    result: list[str]
    warnings: list[str] = field(default_factory=list)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No token from the developer's environment or Docker config leaks into a test."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def vault_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """The run's vault secrets for inline values, as ansible-playbook sets them; restored afterwards."""
    given: list = []
    monkeypatch.setattr(VaultSecretsContext, "_current", VaultSecretsContext(given))
    yield given


def encrypt(plaintext: str, password: bytes = VAULT_PASSWORD) -> str:
    return VaultLib([("default", VaultSecret(password))]).encrypt(plaintext).decode()


def loader_with(password: bytes | None) -> DataLoader:
    loader = DataLoader()
    if password is not None:
        loader.set_vault_secrets([("default", VaultSecret(password))])
    return loader


def run(variables: dict[str, Any] | None = None, *, loader: DataLoader | None = None, terms: list | None = None, **options: Any) -> Outcome:
    """Run the real plugin as a task's template would: the templar holds the current host's variables."""
    loader = loader or DataLoader()
    templar = Templar(loader=loader, variables=variables or {})
    plugin = lookup_loader.get("fleet.ghcr.ghcr_pat", loader=loader, templar=templar)
    assert plugin is not None, "the collection's lookup plugin was not found"
    with DeferredWarningContext(variables={}) as captured:
        result = plugin.run(terms or [], variables=variables, **options)
    return Outcome(result, [warning.event.msg for warning in captured.get_warnings()])


def failure(variables: dict[str, Any] | None = None, **kwargs: Any) -> str:
    """The full text of the lookup's error, with every chained cause, for matching and leak checks."""
    with pytest.raises(AnsibleLookupError) as caught:
        run(variables, **kwargs)
    texts = []
    current: BaseException | None = caught.value
    while current is not None:
        texts.append(str(current))
        current = current.__cause__ or current.__context__
    return " | ".join(texts)


def host(name: str = "web1", **host_vars: Any) -> dict[str, Any]:
    return {"inventory_hostname": name, **host_vars}


def docker_config(path: Path, auths: dict[str, Any], **extra: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": auths, **extra}))
    return path


def auth(secret: str, username: str = "octocat") -> dict[str, str]:
    return {"auth": base64.b64encode(f"{username}:{secret}".encode()).decode()}


# ---------------------------------------------------------------------------- the plugin as Ansible sees it


def test_loads_through_the_lookup_loader() -> None:
    plugin = lookup_loader.get("fleet.ghcr.ghcr_pat")
    assert plugin is not None
    assert type(plugin).__module__ == "ansible_collections.fleet.ghcr.plugins.lookup.ghcr_pat"


def test_a_controller_without_data_tagging_gets_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """ansible-core < 2.19 lacks VaultHelper and VaultSecretsContext: the lookup still loads, and says what to do.

    tests/older_core runs the lookup and the role on a real ansible-core 2.18 (nox -s older-core)."""
    plugin = lookup_loader.get("fleet.ghcr.ghcr_pat")
    monkeypatch.setattr(sys.modules[type(plugin).__module__], "HAS_DATA_TAGGING", False)
    message = failure(host(ghcr_pat=token()))
    assert f"fleet.ghcr.ghcr_pat needs ansible-core 2.19 or later, and this controller runs {ansible_version}" in message
    assert "execution environment built with ansible-core>=2.20,<2.22" in message


def test_terms_are_refused() -> None:
    assert "takes no terms" in failure(host(ghcr_pat=token()), terms=["ghcr_pat"])


# ---------------------------------------------------------------------------- inventory variable


def test_inventory_variable_of_the_current_host() -> None:
    pat = token()
    assert run(host(ghcr_pat=pat)).result == [pat]


def test_other_variable_name() -> None:
    pat = token()
    assert run(host(ghcr_pat=token(), deploy_pat=pat), variable="deploy_pat").result == [pat]


def test_template_value_is_rendered_with_the_hosts_variables() -> None:
    pat = token()
    variables = host(ghcr_pat=trust_as_template("{{ vault_ghcr_pat }}"), vault_ghcr_pat=pat)
    assert run(variables).result == [pat]


def test_undefined_template_is_an_error_not_a_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHCR_PAT", token())
    text = failure(host(ghcr_pat=trust_as_template("{{ nowhere }}")))
    assert "the value of ghcr_pat for web1 could not be templated" in text


def test_another_host_through_hostvars() -> None:
    pat = token()
    variables = host("web1", ghcr_pat=token(), hostvars={"build01": {"ghcr_pat": pat}, "web1": {}})
    assert run(variables, host="build01").result == [pat]


def test_host_option_naming_the_current_host_reads_its_own_variables() -> None:
    pat = token()
    assert run(host("web1", ghcr_pat=pat, hostvars={}), host="web1").result == [pat]


def test_another_host_that_is_not_in_the_inventory() -> None:
    text = failure(host(hostvars={"web1": {}}), host="nosuchhost", on_missing="skip")
    assert "host nosuchhost is not in the inventory" in text


def test_another_host_without_hostvars() -> None:
    assert "hostvars is not available" in failure(host(), host="build01")


def test_null_variable_counts_as_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    pat = token()
    monkeypatch.setenv("GHCR_PAT", pat)
    assert run(host(ghcr_pat=None)).result == [pat]


@pytest.mark.parametrize("value", [42, ["ghp_a"], {"token": "ghp_a"}])
def test_non_string_variable_is_an_error(value: object) -> None:
    assert "not a string" in failure(host(ghcr_pat=value))


def test_no_variables_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    pat = token()
    monkeypatch.setenv("GITHUB_TOKEN", pat)
    assert run(None).result == [pat]


# ---------------------------------------------------------------------------- order of the sources


@pytest.mark.parametrize(
    ("present", "winner"),
    [
        ({"variable", "GHCR_PAT", "GITHUB_TOKEN", "vault_file", "docker"}, "variable"),
        ({"GHCR_PAT", "GITHUB_TOKEN", "vault_file", "docker"}, "GHCR_PAT"),
        ({"GITHUB_TOKEN", "vault_file", "docker"}, "GITHUB_TOKEN"),
        ({"vault_file", "docker"}, "vault_file"),
        ({"docker"}, "docker"),
        ({"variable", "docker"}, "variable"),
    ],
)
def test_first_place_that_holds_a_token_wins(present: set[str], winner: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tokens = {name: token() for name in ("variable", "GHCR_PAT", "GITHUB_TOKEN", "vault_file", "docker")}
    variables = host(ghcr_pat=tokens["variable"]) if "variable" in present else host()
    for name in ("GHCR_PAT", "GITHUB_TOKEN"):
        if name in present:
            monkeypatch.setenv(name, tokens[name])
    vault_file = tmp_path / "pat.vault"
    if "vault_file" in present:
        vault_file.write_text(encrypt(tokens["vault_file"] + "\n"))
    config = docker_config(tmp_path / "docker" / "config.json", {"ghcr.io": auth(tokens["docker"])} if "docker" in present else {})
    outcome = run(
        variables, loader=loader_with(VAULT_PASSWORD), vault_file=str(vault_file), docker_config=True, docker_config_path=str(config)
    )
    assert outcome.result == [tokens[winner]]


def test_env_names_are_read_in_the_order_given(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = token(), token()
    monkeypatch.setenv("CI_SECOND", second)
    monkeypatch.setenv("CI_FIRST", first)
    assert run(host(), env=["CI_FIRST", "CI_SECOND"]).result == [first]
    assert run(host(), env=["CI_SECOND", "CI_FIRST"]).result == [second]


def test_empty_env_list_never_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHCR_PAT", token())
    assert run(host(), env=[], on_missing="skip").result == []


@pytest.mark.parametrize("blank", ["", "   ", "\n"])
def test_empty_environment_variable_is_skipped(blank: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pat = token()
    monkeypatch.setenv("GHCR_PAT", blank)
    monkeypatch.setenv("GITHUB_TOKEN", pat)
    assert run(host()).result == [pat]


# ---------------------------------------------------------------------------- vault


def test_inline_vault_value_is_decrypted_with_the_runs_secrets(vault_secrets: list) -> None:
    vault_secrets.append(("default", VaultSecret(VAULT_PASSWORD)))
    pat = token()
    assert run(host(ghcr_pat=EncryptedString(ciphertext=encrypt(pat)))).result == [pat]


def test_template_of_a_vaulted_variable_is_decrypted(vault_secrets: list) -> None:
    vault_secrets.append(("default", VaultSecret(VAULT_PASSWORD)))
    pat = token()
    variables = host(ghcr_pat=trust_as_template("{{ vault_ghcr_pat }}"), vault_ghcr_pat=EncryptedString(ciphertext=encrypt(pat)))
    assert run(variables).result == [pat]


NO_SECRET_HINT = "run with --ask-vault-pass or --vault-id / --vault-password-file"  # ansible-core drops the final period when it appends a cause
NO_SECRET = f"the value of ghcr_pat for web1 is vault-encrypted but no vault secret was given: {NO_SECRET_HINT}"


def test_inline_vault_value_without_a_vault_secret_says_so_plainly(vault_secrets: list, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHCR_PAT", token())  # a fallback must not hide an undecryptable inventory value
    text = failure(host(ghcr_pat=EncryptedString(ciphertext=encrypt(token()))), on_missing="skip")
    assert text.startswith(NO_SECRET)


def test_template_of_a_vaulted_variable_without_a_vault_secret(vault_secrets: list) -> None:
    variables = host(ghcr_pat=trust_as_template("{{ vault_ghcr_pat }}"), vault_ghcr_pat=EncryptedString(ciphertext=encrypt(token())))
    assert failure(variables).startswith(NO_SECRET)


def test_inline_vault_value_with_the_wrong_secret(vault_secrets: list) -> None:
    vault_secrets.append(("default", VaultSecret(b"not-the-password")))
    text = failure(host(ghcr_pat=EncryptedString(ciphertext=encrypt(token()))))
    assert "is vault-encrypted and none of the vault secrets given could decrypt it" in text
    assert "no vault secret was given" not in text


def test_vault_file_is_decrypted_with_the_loaders_secrets(tmp_path: Path) -> None:
    pat = token()
    path = tmp_path / "ghcr_pat.vault"
    path.write_text(encrypt(f"  {pat}\n"))
    assert run(host(), loader=loader_with(VAULT_PASSWORD), vault_file=str(path)).result == [pat]


def test_plain_vault_file_is_read_as_is(tmp_path: Path) -> None:
    pat = token()
    path = tmp_path / "ghcr_pat.txt"
    path.write_text(pat + "\n")
    assert run(host(), vault_file=str(path)).result == [pat]


def test_vault_file_without_a_vault_secret_says_so_plainly(tmp_path: Path) -> None:
    path = tmp_path / "ghcr_pat.vault"
    path.write_text(encrypt(token()))
    text = failure(host(), loader=loader_with(None), vault_file=str(path))
    assert text.startswith(f"vault_file {path} is vault-encrypted but no vault secret was given: {NO_SECRET_HINT}")


def test_vault_file_with_the_wrong_secret(tmp_path: Path) -> None:
    path = tmp_path / "ghcr_pat.vault"
    path.write_text(encrypt(token()))
    text = failure(host(), loader=loader_with(b"wrong"), vault_file=str(path))
    assert f"vault_file {path} is vault-encrypted and none of the vault secrets given could decrypt it" in text


def test_vault_file_that_is_a_directory(tmp_path: Path) -> None:
    assert "is not a regular file" in failure(host(), vault_file=str(tmp_path))


# ---------------------------------------------------------------------------- Docker config


def test_docker_config_entry_is_decoded(tmp_path: Path) -> None:
    pat = token()
    config = docker_config(tmp_path / "config.json", {"ghcr.io": auth(pat), "docker.io": auth(token())}, credHelpers={"gcr.io": "gcloud"})
    assert run(host(), docker_config=True, docker_config_path=str(config)).result == [pat]


def test_docker_config_default_path_follows_docker_config_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pat = token()
    docker_config(tmp_path / "dockercfg" / "config.json", {"ghcr.io": auth(pat)})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "dockercfg"))
    assert run(host(), docker_config=True).result == [pat]


def test_docker_config_default_path_is_in_home(tmp_path: Path) -> None:
    pat = token()
    docker_config(tmp_path / "home" / ".docker" / "config.json", {"ghcr.io": auth(pat)})
    assert run(host(), docker_config=True).result == [pat]


def test_docker_config_is_not_read_unless_asked(tmp_path: Path) -> None:
    config = docker_config(tmp_path / "config.json", {"ghcr.io": auth(token())})
    assert run(host(), docker_config_path=str(config), on_missing="skip").result == []


@pytest.mark.parametrize("key", ["https://ghcr.io", "https://ghcr.io/v2/", "http://ghcr.io/"])
def test_docker_config_reads_other_spellings_of_the_registry(key: str, tmp_path: Path) -> None:
    pat = token()
    config = docker_config(tmp_path / "config.json", {key: auth(pat)})
    assert run(host(), docker_config=True, docker_config_path=str(config)).result == [pat]


def test_docker_config_other_registry(tmp_path: Path) -> None:
    pat = token("", 20)
    config = docker_config(tmp_path / "config.json", {"ghcr.io": auth(token()), "registry.example:5000": auth(pat)})
    outcome = run(host(), docker_config=True, docker_config_path=str(config), registry="https://registry.example:5000/")
    assert outcome.result == [pat]


@pytest.mark.parametrize(
    ("extra", "auths", "outcome"),
    [
        ({"credHelpers": {"ghcr.io": "pass"}}, {"ghcr.io": {}}, "credHelpers['ghcr.io'] sends it to the credential helper docker-credential-pass"),
        ({"credsStore": "desktop"}, {"ghcr.io": auth("ghp_stale")}, "credsStore sends it to the credential helper docker-credential-desktop"),
        ({}, {"ghcr.io": {"identitytoken": "x"}}, "the entry has no 'auth' value"),
        ({}, {"quay.io": auth("x")}, "no entry"),
    ],
)
def test_docker_config_without_a_usable_entry(extra: dict, auths: dict, outcome: str, tmp_path: Path) -> None:
    config = docker_config(tmp_path / "config.json", auths, **extra)
    text = failure(host(), docker_config=True, docker_config_path=str(config))
    assert f"Docker config {config} entry for ghcr.io ({outcome}" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not valid JSON"),
        (b"", "is empty"),
        (json.dumps({"auths": {"ghcr.io": {"auth": "%%%"}}}).encode(), "is not padded standard base64"),
        (json.dumps({"auths": {"ghcr.io": {"auth": 7}}}).encode(), "['auth'] must be a string"),
    ],
)
def test_docker_config_that_cannot_be_read(content: bytes, message: str, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_bytes(content)
    text = failure(host(), docker_config=True, docker_config_path=str(config))
    assert str(config) in text
    assert message in text


# ---------------------------------------------------------------------------- validate


@pytest.mark.parametrize("padding", [" ", "\n", "\t ", "\r\n"])
def test_surrounding_whitespace_is_removed(padding: str) -> None:
    pat = token()
    assert run(host(ghcr_pat=f"{padding}{pat}{padding}")).result == [pat]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "is empty"),
        ("  \n", "is empty"),
        ("ghp_abc def", "contains whitespace or control characters inside it"),
        ("ghp_abc\ndef", "contains whitespace or control characters inside it"),
        ("ghp_abc\x00def", "contains whitespace or control characters inside it"),
    ],
)
def test_unusable_tokens_are_errors(value: str, message: str) -> None:
    text = failure(host(ghcr_pat=value), on_missing="skip")
    assert f"the token from inventory variable ghcr_pat of host web1 {message}" in text


def test_validate_false_returns_the_value_as_found() -> None:
    assert run(host(ghcr_pat=" not a token \n"), validate=False).result == [" not a token \n"]


@pytest.mark.parametrize(
    ("prefix", "warning"),
    [
        ("ghp_", None),
        ("github_pat_", "is a fine-grained personal access token (github_pat_): GitHub documents only classic personal access tokens"),
        ("gho_", "is an OAuth app access token (gho_), not a personal access token"),
        ("ghu_", "is a GitHub App user access token (ghu_), not a personal access token"),
        ("ghs_", "is a GitHub App installation access token (ghs_), not a personal access token"),
        ("ghr_", "is a GitHub App refresh token (ghr_): it only renews user access tokens"),
        ("glpat-", "does not look like a GitHub token"),
        ("", "does not look like a GitHub token"),
    ],
)
def test_prefix_decides_the_warning(prefix: str, warning: str | None) -> None:
    pat = token(prefix)
    outcome = run(host(ghcr_pat=pat))
    assert outcome.result == [pat]
    if warning is None:
        assert outcome.warnings == []
    else:
        assert len(outcome.warnings) == 1
        assert outcome.warnings[0].startswith("The token from inventory variable ghcr_pat ")
        assert "web1" not in outcome.warnings[0], "no host name, so Ansible shows the warning once for the fleet"
        assert warning in outcome.warnings[0]
    assert all(pat not in text for text in outcome.warnings)


@pytest.mark.parametrize("length", [1, 40, 93, 255, 600])
def test_length_is_never_checked(length: int) -> None:
    pat = token("ghp_", length)
    assert run(host(ghcr_pat=pat)).result == [pat]


def test_stateless_installation_token_passes_with_a_kind_warning() -> None:
    pat = f"ghs_12345_{token('', 180)}.{token('', 200)}.{token('', 120)}"  # the 2026 JWT form: variable length, two dots
    outcome = run(host(ghcr_pat=pat))
    assert outcome.result == [pat]
    assert "GitHub App installation access token" in outcome.warnings[0]


def test_validate_false_does_not_warn() -> None:
    assert run(host(ghcr_pat=token("gho_")), validate=False).warnings == []


# ---------------------------------------------------------------------------- nothing found


def test_nothing_found_lists_every_place_tried(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI_EMPTY", "")
    missing_vault = tmp_path / "missing.vault"
    config = tmp_path / "docker" / "config.json"
    text = failure(host("db7"), variable="deploy_pat", env=["CI_UNSET", "CI_EMPTY"], vault_file=str(missing_vault), docker_config=True,
                   docker_config_path=str(config))
    assert text.startswith(
        "no token found for host db7. Tried, in order:"
        " 1. inventory variable deploy_pat of host db7 (not defined);"
        " 2. environment variable CI_UNSET (not set);"
        " 3. environment variable CI_EMPTY (set, but empty);"
        f" 4. vault_file {missing_vault} (does not exist);"
        f" 5. Docker config {config} entry for ghcr.io (file does not exist)."
    )


def test_nothing_found_with_defaults_names_the_docker_config_it_did_not_read(tmp_path: Path) -> None:
    text = failure(host())
    default_config = tmp_path / "home" / ".docker" / "config.json"
    for place in (
        "inventory variable ghcr_pat of host web1 (not defined)",
        "environment variable GHCR_PAT (not set)",
        "environment variable GITHUB_TOKEN (not set)",
        "vault_file (not given)",
        f"Docker config {default_config} entry for ghcr.io (not read: set docker_config=true to read it)",
    ):
        assert place in text


def test_on_missing_warn_returns_nothing_and_warns_with_the_same_text() -> None:
    outcome = run(host(), on_missing="warn")
    assert outcome.result == []
    assert len(outcome.warnings) == 1
    assert outcome.warnings[0].startswith("no token found for host web1. Tried, in order: 1. inventory variable ghcr_pat of host web1 (not defined);")


def test_on_missing_skip_returns_nothing_silently() -> None:
    assert run(host(), on_missing="skip") == Outcome([], [])


def test_on_missing_choices_are_enforced() -> None:
    with pytest.raises(AnsibleOptionsError, match="Invalid value 'ignore' for config 'on_missing'"):
        run(host(ghcr_pat=token()), on_missing="ignore")


# ---------------------------------------------------------------------------- no token in any message


def test_no_token_in_errors_or_warnings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pat = token()
    inner = f"{pat} {pat}"
    texts = [failure(host(ghcr_pat=inner))]
    monkeypatch.setenv("GHCR_PAT", f"{pat}\x07")
    texts.append(failure(host()))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {"ghcr.io": {"auth": base64.b64encode(pat.encode()).decode()}}}))  # no user: part
    texts.append(failure(host(), env=[], docker_config=True, docker_config_path=str(config)))
    texts += run(host(ghcr_pat=f" x{pat} \n")).warnings
    assert len(texts) == 4
    for text in texts:
        assert pat not in text
        assert base64.b64encode(pat.encode()).decode().rstrip("=") not in text


# ---------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("value", "kind"),
    [("ghp_x", "classic"), ("github_pat_x", "fine_grained"), ("gho_x", "oauth"), ("ghu_x", "app_user"), ("ghs_x", "app_installation"),
     ("ghr_x", "refresh"), ("GHP_x", "unknown"), ("ghp", "unknown"), ("", "unknown")],
)
def test_token_kind_by_prefix(value: str, kind: str) -> None:
    assert token_kind(value) == kind


def test_docker_config_file_location() -> None:
    assert _patsource.docker_config_file({"DOCKER_CONFIG": "/etc/dc"}, "/home/u") == "/etc/dc/config.json"
    assert _patsource.docker_config_file({"DOCKER_CONFIG": ""}, "/home/u") == "/home/u/.docker/config.json"
    assert _patsource.docker_config_file({}, "/home/u") == "/home/u/.docker/config.json"


def test_namespaced_registry_is_looked_up_by_host() -> None:
    pat = token()
    data = json.dumps({"auths": {"ghcr.io": auth(pat)}}).encode()
    found, attempt = _patsource.token_from_docker_config(data, "/x/config.json", "ghcr.io/my-org")
    assert found == pat
    assert attempt.found
    assert pat not in str(attempt)


def test_a_fifo_as_the_docker_config_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    text = failure(host(), docker_config=True, docker_config_path=str(fifo))
    assert "not a regular file" in text and str(fifo) in text
    assert time.monotonic() - started < 10


def test_an_oversized_docker_config_is_refused_before_it_is_read(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    with config.open("wb") as handle:
        handle.truncate(5 * 1024 * 1024)
    assert "more than the 4194304 bytes" in failure(host(), docker_config=True, docker_config_path=str(config))


def test_an_oversized_vault_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "pat.vault"
    with path.open("wb") as handle:
        handle.truncate(5 * 1024 * 1024)
    assert "more than" in failure(host(), vault_file=str(path))
