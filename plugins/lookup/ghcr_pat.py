# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
name: ghcr_pat
short_description: The GitHub Container Registry token (PAT) for a host, from inventory, environment, a vault file or Docker's config
version_added: 0.1.0
description:
  - Returns the personal access token (PAT) that a host should use for ghcr.io (or another registry), looked up on the
    controller. The first of these places that holds a token wins
    (see the R(user guide,ansible_collections.fleet.ghcr.docsite.ghcr_pat), C(docs/docsite/rst/ghcr_pat.rst) in the collection).
  - 1. The inventory variable O(variable) (V(ghcr_pat)) of O(host) (the current host). Values that are
    vault-encrypted (inline C(!vault) or in a vault-encrypted C(group_vars)/C(host_vars) file) are decrypted with the
    run's vault secrets, and templates (V({{ vault_ghcr_pat }})) are rendered in that host's context.
  - 2. The environment variables named in O(env), on the controller, in order. Unset or empty variables are skipped.
  - 3. The file O(vault_file), usually encrypted with C(ansible-vault encrypt); its content is the token.
  - 4. With O(docker_config=true), the C(auth) entry for O(registry) in the controller's Docker config, as written by
    C(docker login).
  - The token is checked by its prefix only (O(validate)); its length is never checked, because GitHub changes it.
  - When no place holds a token, O(on_missing) decides; the error lists every place that was tried, in order.
    When a value is vault-encrypted but the run has no vault secret, the error says so and names the options
    (C(--ask-vault-pass), C(--vault-id), C(--vault-password-file)).
  - The token never appears in an error, a warning or verbose output; messages name the place it came from.
author:
  - fleet.ghcr contributors (@fleet-ghcr)
options:
  variable:
    description:
      - The inventory variable that holds the token.
    type: str
    default: ghcr_pat
  host:
    description:
      - The inventory host whose O(variable) is read. Defaults to the current host (C(inventory_hostname)).
      - Another host's variable is read through C(hostvars) and rendered in that host's context.
      - A host that is not in the inventory is an error, whatever O(on_missing) says.
    type: str
  env:
    description:
      - Environment variables of the controller to read, in order, when O(variable) gives no token.
      - Set to V([]) to never read the environment.
    type: list
    elements: str
    default: [GHCR_PAT, GITHUB_TOKEN]
  vault_file:
    description:
      - A file whose content (surrounding whitespace removed) is the token, read when neither O(variable) nor O(env)
        gives one. Usually encrypted with C(ansible-vault encrypt) and decrypted with the run's vault secrets;
        a plain file is read as is.
      - A relative path is relative to the working directory of C(ansible-playbook), as for every path option; use
        V({{ inventory_dir }}/...) or V({{ playbook_dir }}/...) to anchor it.
      - A file that does not exist counts as no token.
    type: path
  docker_config:
    description:
      - Whether to read, as the last resort, the controller's Docker config (see O(docker_config_path)) for the
        O(registry) entry that C(docker login) wrote.
      - Only inline C(auth) values are read. A registry that the file sends to a credential helper (C(credHelpers) or
        C(credsStore)) gives no token, as the helper is not asked.
    type: bool
    default: false
  docker_config_path:
    description:
      - The Docker config file read with O(docker_config=true).
      - Defaults to C($DOCKER_CONFIG/config.json) when E(DOCKER_CONFIG) is set, else C(~/.docker/config.json) of the
        user running Ansible on the controller.
      - Read by Docker's own rules, like the modules read it. A file larger than 4 MiB, or one that is not a regular
        file (a FIFO), is refused without being read.
    type: path
  registry:
    description:
      - The registry whose entry O(docker_config) reads, as V(host), V(host:port) or a URL. Docker keeps one
        credential per host, so a namespace (V(ghcr.io/my-org)) is looked up by its host.
    type: str
    default: ghcr.io
  validate:
    description:
      - Check the token before returning it. Surrounding whitespace (such as a file's trailing newline) is removed;
        an empty token, or whitespace or control characters inside it, is an error.
      - The prefix decides the warnings, and the length is never checked. V(ghp_) (classic PAT) passes silently;
        V(github_pat_) (fine-grained PAT) warns that GitHub documents classic PATs for ghcr.io; V(gho_), V(ghu_),
        V(ghs_) and V(ghr_) warn and name the kind of token; any other prefix warns that it does not look like a
        GitHub token (which is fine for another registry).
      - With V(false) the value is returned exactly as found.
    type: bool
    default: true
  on_missing:
    description:
      - What to do when no place holds a token.
      - V(error) fails, listing every place that was tried (the variable and host, each environment variable, the
        vault file and the Docker config).
      - V(warn) shows the same text as a warning and returns an empty list.
      - V(skip) returns an empty list silently.
      - Whatever this says, a value that is found but cannot be used (cannot be decrypted, is empty, is not a string)
        is an error.
    type: str
    choices: [error, warn, skip]
    default: error
notes:
  - Runs on the controller, once per host that evaluates it. Environment variables, O(vault_file) and the Docker config
    are those of the controller, not of the target.
  - The lookup takes no terms.
  - A C(host_vars) or C(group_vars) file that is vault-encrypted as a whole is decrypted by Ansible itself when it
    reads the host's variables. Without a vault secret, Ansible ends the run there with its own error
    (C(Attempting to decrypt but no vault secrets found)), before this lookup runs. Inline C(!vault) values are
    decrypted only when used, so for them this lookup gives its own, plainer error.
seealso:
  - ref: ansible_collections.fleet.ghcr.docsite.ghcr_pat
    description: When to use the lookup, the order in which it looks and what its errors mean (C(docs/docsite/rst/ghcr_pat.rst)).
  - module: fleet.ghcr.ghcr_login
  - module: fleet.ghcr.ghcr_registry
  - name: "GitHub Docs: Working with the Container registry"
    description: Authenticating to ghcr.io with a personal access token (classic) that has C(read:packages).
    link: https://docs.github.com/en/packages/working-with-a-github-packages-registry/working-with-the-container-registry
"""

EXAMPLES = r"""
---
- name: Log the connecting user in to ghcr.io with the host's token from inventory
  fleet.ghcr.ghcr_login:
    username: "{{ ghcr_username }}"
    password: "{{ lookup('fleet.ghcr.ghcr_pat') }}"

- name: Use the token that inventory keeps for the build host
  fleet.ghcr.ghcr_login:
    username: "{{ ghcr_username }}"
    password: "{{ lookup('fleet.ghcr.ghcr_pat', host='build01') }}"

- name: In CI, take the token from the job's environment or from a vault-encrypted file next to the inventory
  fleet.ghcr.ghcr_login:
    username: "{{ ghcr_username }}"
    password: "{{ lookup('fleet.ghcr.ghcr_pat', env=['CI_GHCR_PAT'], vault_file=inventory_dir ~ '/files/ghcr_pat.vault') }}"

- name: On a workstation, fall back to the credential that `docker login ghcr.io` stored on the controller
  fleet.ghcr.ghcr_registry:
    username: "{{ ghcr_username }}"
    password: "{{ lookup('fleet.ghcr.ghcr_pat', docker_config=true) }}"
    images:
      - my-org/my-app:latest
  delegate_to: localhost
  run_once: true

- name: Log in only the hosts that have a token, and say which hosts were left out
  fleet.ghcr.ghcr_login:
    username: "{{ ghcr_username }}"
    password: "{{ ghcr_token }}"
  vars:
    ghcr_token: "{{ lookup('fleet.ghcr.ghcr_pat', on_missing='warn') }}"
  when: ghcr_token | length > 0

- name: Show which token each host would use, as a fingerprint, never the token
  ansible.builtin.debug:
    msg: "sha256:{{ (lookup('fleet.ghcr.ghcr_pat') | hash('sha256'))[:12] }}"
"""

RETURN = r"""
---
_raw:
  description:
    - A list with one element, the token. With O(on_missing=warn) or O(on_missing=skip) and no token found, an empty
      list (so V(lookup(...\)) gives V([]) and V(query(...\)) gives V([])).
  type: list
  elements: str
"""

import os
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any, Callable

from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.parsing.vault import AnsibleVaultError, is_encrypted_file

try:  # ansible-core 2.19's data tagging (plugin_utils/_core.py); run() explains an older core
    from ansible.parsing.vault import VaultHelper, VaultSecretsContext
except ImportError:
    VaultHelper = VaultSecretsContext = None
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.fleet.ghcr.plugins.module_utils._atomic import MAX_FILE_SIZE, read_file
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import lookup_account
from ansible_collections.fleet.ghcr.plugins.plugin_utils._core import HAS_DATA_TAGGING, unsupported_core
from ansible_collections.fleet.ghcr.plugins.plugin_utils._patsource import (
    Attempt,
    PatSourceError,
    checked_token,
    docker_config_file,
    docker_config_place,
    missing_message,
    token_from_docker_config,
)

display = Display()

NO_SECRET_HINT = "run with --ask-vault-pass or --vault-id / --vault-password-file."

Found = tuple[Any, Attempt]


class LookupModule(LookupBase):
    def run(self, terms: list, variables: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
        if not HAS_DATA_TAGGING:
            raise AnsibleLookupError(unsupported_core("fleet.ghcr.ghcr_pat"))
        if terms:
            raise AnsibleLookupError(
                "fleet.ghcr.ghcr_pat takes no terms: choose what to read with its options,"
                " for example lookup('fleet.ghcr.ghcr_pat', host='web1', variable='ghcr_pat')."
            )
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        host = self.get_option("host") or variables.get("inventory_hostname")
        sources: list[Callable[[], Found]] = [
            partial(self._from_inventory, variables, host),
            *[partial(self._from_env, name) for name in self.get_option("env") or []],
            self._from_vault_file,
            self._from_docker_config,
        ]
        attempts = []
        for source in sources:
            value, attempt = source()
            attempts.append(attempt)
            if attempt.found:
                display.vvv(f"fleet.ghcr.ghcr_pat: host {host}: using the token from {attempt.place}")
                return [self._checked(value, attempt)]
            display.vvvv(f"fleet.ghcr.ghcr_pat: host {host}: no token in {attempt}")
        return self._missing(host, attempts)

    # ------------------------------------------------------------------ sources

    def _from_inventory(self, variables: Mapping[str, Any], host: str | None) -> Found:
        name = self.get_option("variable")
        place = f"inventory variable {name} of host {host}"
        if not host:
            return None, Attempt(f"inventory variable {name}", "no host: the lookup did not run for a host")
        if host == variables.get("inventory_hostname"):
            host_vars: Mapping[str, Any] = variables
        else:
            host_vars = self._other_host_vars(variables, host)
        if name not in host_vars:
            return None, Attempt(place, "not defined")
        raw = None
        try:
            raw = host_vars[name]  # another host's value is rendered here, in that host's context
            value = self._templar.template(raw)
        except Exception as exc:
            if _is_vaulted(raw) or _vault_failure(exc):
                raise AnsibleLookupError(self._vault_message(f"the value of {name} for {host}", self._run_has_vault_secrets())) from exc
            raise AnsibleLookupError(f"the value of {name} for {host} could not be templated.") from exc
        if value is None:
            return None, Attempt(place, "defined, but null")
        if not isinstance(value, str):
            raise AnsibleLookupError(f"the value of {name} for {host} is a {type(value).__name__}, not a string: it must be the token itself.")
        return value, Attempt(place, "found", found=True, source=f"inventory variable {name}")

    def _other_host_vars(self, variables: Mapping[str, Any], host: str) -> Mapping[str, Any]:
        hostvars = variables.get("hostvars")
        if hostvars is None:
            raise AnsibleLookupError(f"cannot read the variables of host {host}: hostvars is not available where the lookup ran.")
        if host not in hostvars:
            raise AnsibleLookupError(f"host {host} is not in the inventory: check the lookup's host option.")
        return hostvars[host]

    def _from_env(self, name: str) -> Found:
        place = f"environment variable {name}"
        value = os.environ.get(name)
        if value is None:
            return None, Attempt(place, "not set")
        if not value.strip():
            return None, Attempt(place, "set, but empty")
        return value, Attempt(place, "found", found=True)

    def _from_vault_file(self) -> Found:
        path = self.get_option("vault_file")
        if not path:
            return None, Attempt("vault_file", "not given")
        place = f"vault_file {path}"
        if not os.path.lexists(path):
            return None, Attempt(place, "does not exist")
        if not os.path.isfile(path):
            raise AnsibleLookupError(f"vault_file {path} is not a regular file.")
        if os.path.getsize(path) > MAX_FILE_SIZE:
            raise AnsibleLookupError(f"vault_file {path} is more than {MAX_FILE_SIZE} bytes, far more than a token needs: check the path.")
        encrypted = False
        try:
            with open(path, "rb") as handle:
                encrypted = is_encrypted_file(handle)
            value = self._read_file(path)
        except OSError as exc:
            raise AnsibleLookupError(f"vault_file {path} could not be read: {exc.strerror}.") from exc
        except AnsibleError as exc:
            if encrypted or _vault_failure(exc):
                raise AnsibleLookupError(self._vault_message(f"vault_file {path}", self._loader_has_vault_secrets())) from exc
            raise AnsibleLookupError(f"vault_file {path} could not be read.") from exc
        return value, Attempt(place, "found", found=True)

    def _read_file(self, path: str) -> str:
        """The decrypted text of a file, read through the loader so that the run's vault secrets apply."""
        return self._loader.get_text_file_contents(path)  # decrypts in memory

    def _from_docker_config(self) -> Found:
        path = self.get_option("docker_config_path") or docker_config_file(os.environ, os.path.expanduser("~"))
        registry = self.get_option("registry")
        if not self.get_option("docker_config"):
            return None, Attempt(docker_config_place(path, registry), "not read: set docker_config=true to read it")
        try:
            data = read_file(os.path.abspath(path), lookup_account(None))  # refuses what is not a regular file, without blocking
        except GhcrError as exc:
            raise AnsibleLookupError(f"the Docker config {path} could not be read: {exc}") from exc
        except OSError as exc:
            raise AnsibleLookupError(f"the Docker config {path} could not be read: {exc.strerror}.") from exc
        try:
            return token_from_docker_config(data, path, registry)
        except PatSourceError as exc:
            raise AnsibleLookupError(str(exc)) from exc

    # ------------------------------------------------------------------ results

    def _checked(self, value: str, attempt: Attempt) -> str:
        if not self.get_option("validate"):
            return str(value)
        try:
            token, warning = checked_token(value, attempt)
        except PatSourceError as exc:
            raise AnsibleLookupError(str(exc)) from None
        if warning:
            display.warning(warning)
        return str(token)

    def _missing(self, host: str | None, attempts: list[Attempt]) -> list[str]:
        on_missing = self.get_option("on_missing")
        if on_missing == "skip":
            return []
        hints = [f"Put the token into the inventory as {self.get_option('variable')} (vault-encrypted), or set one of the other places."]
        message = missing_message(host, attempts, hints)
        if on_missing == "warn":
            display.warning(message)
            return []
        raise AnsibleLookupError(message)

    # ------------------------------------------------------------------ vault

    @staticmethod
    def _vault_message(what: str, secrets_given: bool) -> str:
        if not secrets_given:
            return f"{what} is vault-encrypted but no vault secret was given: {NO_SECRET_HINT}"
        return (
            f"{what} is vault-encrypted and none of the vault secrets given could decrypt it:"
            " check the vault password, or give the --vault-id it was encrypted with."
        )

    def _run_has_vault_secrets(self) -> bool:
        """Whether the run has vault secrets for values decrypted on use (inline !vault, EncryptedString)."""
        context = VaultSecretsContext.current(optional=True)
        if context is not None:
            return bool(context.secrets)
        return self._loader_has_vault_secrets()

    def _loader_has_vault_secrets(self) -> bool:
        """Whether the loader that decrypts files was given vault secrets (it holds them privately)."""
        vault = getattr(self._loader, "_vault", None)
        return bool(getattr(vault, "secrets", None))


def _is_vaulted(value: Any) -> bool:
    """True for a vault-encrypted value, decrypted or not (EncryptedString, an undecryptable marker, a VaultedValue)."""
    if value is None:
        return False
    try:
        return VaultHelper.get_ciphertext(value, with_tags=False) is not None
    except Exception:  # a marker that trips on inspection is not known to be vaulted
        return False


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _vault_failure(exc: BaseException) -> bool:
    """Whether decrypting a vaulted value caused ``exc``.

    ansible-core 2.19 raises AnsibleTemplateError caused by UndecryptableVaultError (a captured error whose
    ``context`` is ``vault``); earlier versions raise AnsibleVaultError, possibly wrapped.
    """
    return any(isinstance(cause, AnsibleVaultError) or getattr(cause, "context", None) == "vault" for cause in _causes(exc))
