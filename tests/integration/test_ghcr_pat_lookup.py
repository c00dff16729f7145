# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet.ghcr.ghcr_pat lookup in real ansible-playbook runs, with inventories encrypted by the real ansible-vault.

Tasks print only the SHA-256 of what the lookup returns; every run is made at -vvvv and its output and log are
scanned for the tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import string
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.ansible import TARGET_PYTHON, ansible_env, assert_no_deprecation, assert_no_secret

BIN = Path(sys.executable).parent
USERNAME = "octocat"  # assert_no_secret also looks for base64(username:token)
NO_SECRET_HINT = "is vault-encrypted but no vault secret was given: run with --ask-vault-pass or --vault-id / --vault-password-file"


ALPHABET = string.ascii_letters + string.digits


def token(prefix: str = "ghp_") -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _index in range(36))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Run:
    returncode: int
    output: str
    results: dict[tuple[int, str], dict]

    def message(self, index: int, host: str) -> str:
        return self.results[(index, host)]["msg"]

    def failed(self, index: int, host: str) -> bool:
        return bool(self.results[(index, host)].get("failed"))


class Controller:
    """A controller-side workspace: vault password file, inventory, playbooks, and an environment without stray tokens."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.password_file = root / "vault-pass.txt"
        self.password_file.write_text("ghcr-pat-lookup-test\n")
        self.inventory = root / "inventory"
        for sub in ("group_vars", "host_vars"):
            (self.inventory / sub).mkdir(parents=True)
        self.home = root / "home"
        self.home.mkdir()
        self.runs = 0
        self.write_hosts({"web": ["web1", "web2"], "db": ["db1"]})

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = ansible_env(self.root)
        for name in ("GHCR_PAT", "GITHUB_TOKEN", "DOCKER_CONFIG"):
            env.pop(name, None)
        env["HOME"] = str(self.home)  # so that ~/.docker/config.json is the test's, not the developer's
        env.update(extra or {})
        return env

    def ansible_vault(self, *args: str, stdin: str | None = None) -> str:
        argv = [str(BIN / "ansible-vault"), *args, "--vault-password-file", str(self.password_file)]
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=True, env=self.env()).stdout

    def encrypt_string(self, name: str, secret: str) -> str:
        """``name: !vault |`` YAML; the secret goes over stdin, never on the command line."""
        return self.ansible_vault("encrypt_string", "--stdin-name", name, stdin=secret)

    def encrypt_file(self, path: Path) -> None:
        self.ansible_vault("encrypt", str(path))
        assert path.read_text().startswith("$ANSIBLE_VAULT;")

    def write_hosts(self, groups: dict[str, list[str]]) -> None:
        hosts = {"ansible_connection": "local", "ansible_python_interpreter": TARGET_PYTHON}
        inventory = {"all": {"vars": hosts, "children": {group: {"hosts": {name: {} for name in names}} for group, names in groups.items()}}}
        (self.inventory / "hosts.yml").write_text(json.dumps(inventory))

    def play(self, lookups: list[str], *, vault: bool = True, env: dict[str, str] | None = None, limit: str = "all") -> Run:
        """Run one play: task i prints sha256(lookup('fleet.ghcr.ghcr_pat', <lookups[i]>)) and its result is kept."""
        self.runs += 1
        workdir = self.root / f"run{self.runs}"
        results_dir = workdir / "results"
        results_dir.mkdir(parents=True)
        tasks = []
        for index, args in enumerate(lookups):
            call = f"lookup('fleet.ghcr.ghcr_pat'{', ' + args if args else ''})"
            tasks.append({"name": f"lookup {index}", "ansible.builtin.debug": {"msg": f"{{{{ {call} | hash('sha256') }}}}"}, "register": f"r{index}",
                          "ignore_errors": True})
            tasks.append({"name": f"keep {index}", "ansible.builtin.copy": {"content": f"{{{{ r{index} | to_json }}}}",
                          "dest": f"{results_dir}/{index}-{{{{ inventory_hostname }}}}.json"}, "no_log": True})
        playbook = workdir / "playbook.yml"
        playbook.write_text(json.dumps([{"name": "ghcr_pat lookup", "hosts": limit, "gather_facts": False, "tasks": tasks}]))
        argv = [str(BIN / "ansible-playbook"), "-vvvv", "-i", str(self.inventory), str(playbook)]
        if vault:
            argv[2:2] = ["--vault-password-file", str(self.password_file)]
        completed = subprocess.run(argv, env=self.env({**(env or {}), "ANSIBLE_LOG_PATH": str(workdir / "ansible.log")}), capture_output=True,
                                   text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)
        log = workdir / "ansible.log"
        output = completed.stdout + completed.stderr + (log.read_text() if log.exists() else "")
        assert_no_deprecation(output)
        results = {}
        for path in results_dir.glob("*.json"):
            index, _sep, host = path.stem.partition("-")
            results[(int(index), host)] = json.loads(path.read_text())
        return Run(completed.returncode, output, results)


@pytest.fixture
def controller(tmp_path: Path) -> Controller:
    return Controller(tmp_path)


def assert_clean(run: Run, *tokens: str) -> None:
    for secret in tokens:
        assert_no_secret(run.output, USERNAME, secret)


def test_inline_vault_group_vars_and_vault_encrypted_host_vars(controller: Controller) -> None:
    web, db = token(), token()
    (controller.inventory / "group_vars" / "web.yml").write_text(controller.encrypt_string("ghcr_pat", web))
    host_vars = controller.inventory / "host_vars" / "db1.yml"
    host_vars.write_text(f"ghcr_pat: {db}\n")
    controller.encrypt_file(host_vars)

    run = controller.play(["", "host='db1'", "host='web2'"])

    assert run.returncode == 0, run.output[-3000:]
    for host in ("web1", "web2"):
        assert run.message(0, host) == sha256(web)
    assert run.message(0, "db1") == sha256(db)
    for host in ("web1", "web2", "db1"):  # another host's value, decrypted through hostvars
        assert run.message(1, host) == sha256(db)
        assert run.message(2, host) == sha256(web)
    assert "Trying secret" in run.output  # -vvvv really was on while the vaults were opened
    assert_clean(run, web, db)


def test_vaulted_variable_referenced_from_a_template(controller: Controller) -> None:
    pat = token()
    (controller.inventory / "group_vars" / "all.yml").write_text(
        controller.encrypt_string("vault_ghcr_pat", pat) + 'ghcr_pat: "{{ vault_ghcr_pat }}"\n'
    )
    run = controller.play([""], limit="web1")
    assert run.message(0, "web1") == sha256(pat)
    assert_clean(run, pat)


def test_vault_file_option(controller: Controller) -> None:
    pat = token()
    vault_file = controller.root / "ghcr_pat.vault"
    vault_file.write_text(pat + "\n")
    controller.encrypt_file(vault_file)

    run = controller.play([f"vault_file='{vault_file}'", f"vault_file=inventory_dir ~ '/../{vault_file.name}'"], limit="web1")

    assert run.message(0, "web1") == sha256(pat)
    assert run.message(1, "web1") == sha256(pat)
    assert_clean(run, pat)


def test_missing_vault_password_is_said_plainly(controller: Controller) -> None:
    inline, in_file = token(), token()
    (controller.inventory / "group_vars" / "web.yml").write_text(controller.encrypt_string("ghcr_pat", inline))
    vault_file = controller.root / "ghcr_pat.vault"
    vault_file.write_text(in_file)
    controller.encrypt_file(vault_file)

    run = controller.play(["", f"variable='nothing_here', env=[], vault_file='{vault_file}'"], vault=False, env={"GHCR_PAT": token()}, limit="web1")

    assert run.failed(0, "web1")
    assert f"the value of ghcr_pat for web1 {NO_SECRET_HINT}" in run.message(0, "web1")
    assert run.failed(1, "web1")
    assert f"vault_file {vault_file} {NO_SECRET_HINT}" in run.message(1, "web1")
    assert_clean(run, inline, in_file)


def test_wrong_vault_password_is_not_reported_as_missing(controller: Controller) -> None:
    pat = token()
    (controller.inventory / "group_vars" / "web.yml").write_text(controller.encrypt_string("ghcr_pat", pat))
    controller.password_file.write_text("not-the-password\n")
    run = controller.play([""], limit="web1")
    assert "the value of ghcr_pat for web1 is vault-encrypted and none of the vault secrets given could decrypt it" in run.message(0, "web1")
    assert_clean(run, pat)


def test_vault_encrypted_host_vars_file_without_password_stops_ansible_before_the_lookup(controller: Controller) -> None:
    """Documented limit: Ansible decrypts whole vault files when it reads the host's variables, and stops the run there."""
    pat = token()
    host_vars = controller.inventory / "host_vars" / "db1.yml"
    host_vars.write_text(f"ghcr_pat: {pat}\n")
    controller.encrypt_file(host_vars)
    run = controller.play([""], vault=False, limit="db1")
    assert run.returncode != 0
    assert "Attempting to decrypt but no vault secrets found" in run.output
    assert (0, "db1") not in run.results
    assert_clean(run, pat)


def test_environment_fallback(controller: Controller) -> None:
    classic, fine_grained = token(), token("github_pat_")
    run = controller.play(["", "env=['CI_GHCR_TOKEN']"], env={"GHCR_PAT": classic, "CI_GHCR_TOKEN": fine_grained}, limit="web1")
    assert run.returncode == 0, run.output[-3000:]
    assert run.message(0, "web1") == sha256(classic)
    assert run.message(1, "web1") == sha256(fine_grained)
    assert "The token from environment variable CI_GHCR_TOKEN is a fine-grained personal access token (github_pat_)" in run.output
    assert "using the token from environment variable GHCR_PAT" in run.output  # the -vvv trace names the place, not the value
    assert_clean(run, classic, fine_grained)


def test_inventory_wins_over_the_environment(controller: Controller) -> None:
    inventory, environment = token(), token()
    (controller.inventory / "group_vars" / "web.yml").write_text(controller.encrypt_string("ghcr_pat", inventory))
    run = controller.play([""], env={"GHCR_PAT": environment})
    assert run.message(0, "web1") == sha256(inventory)
    assert run.message(0, "db1") == sha256(environment)
    assert_clean(run, inventory, environment)


def test_nothing_found_names_every_place(controller: Controller) -> None:
    vault_file = controller.root / "absent.vault"
    docker_config = controller.root / "docker" / "config.json"
    args = f"env=['CI_ONE', 'CI_TWO'], vault_file='{vault_file}', docker_config=true, docker_config_path='{docker_config}'"
    run = controller.play([args, "on_missing='warn'", "on_missing='skip'"], limit="db1")

    assert run.failed(0, "db1")
    assert (
        "no token found for host db1. Tried, in order: 1. inventory variable ghcr_pat of host db1 (not defined);"
        " 2. environment variable CI_ONE (not set); 3. environment variable CI_TWO (not set);"
        f" 4. vault_file {vault_file} (does not exist); 5. Docker config {docker_config} entry for ghcr.io (file does not exist)."
    ) in run.message(0, "db1")
    assert not run.failed(1, "db1")
    assert run.message(1, "db1") == sha256("[]")  # lookup() of an empty list is []
    assert "[WARNING]: no token found for host db1. Tried, in order:" in run.output
    assert not run.failed(2, "db1")


def test_docker_config_of_the_controller(controller: Controller) -> None:
    pat = token()
    config = controller.home / ".docker" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"auths": {"ghcr.io": {"auth": base64.b64encode(f"{USERNAME}:{pat}".encode()).decode()}}}))
    run = controller.play(["docker_config=true"], limit="web1")
    assert run.message(0, "web1") == sha256(pat)
    assert_clean(run, pat)


def test_unusable_token_error_does_not_show_it(controller: Controller) -> None:
    first, second = token(), token()
    (controller.inventory / "group_vars" / "web.yml").write_text(controller.encrypt_string("ghcr_pat", f"{first} {second}\n"))
    run = controller.play([""], limit="web1")
    assert run.failed(0, "web1")
    assert "the token from inventory variable ghcr_pat of host web1 contains whitespace or control characters inside it" in run.message(0, "web1")
    assert_clean(run, first, second)
