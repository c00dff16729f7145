# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The registry_auth role on a fleet of local hosts, from a vault-encrypted inventory, against the GHCR-like stack."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.ansible import assert_no_secret, run_playbook, vault_encrypt_string
from tests.support.authfiles import encode_auth

HELLO = "fleet/hello:1.0"
PUBLIC = "fleet/public:1.0"
HOSTS = 6


@pytest.fixture(autouse=True)
def clean_stack(ghcr) -> Iterator[None]:
    ghcr.reset()
    yield
    ghcr.reset()


class Fleet:
    """An inventory of local hosts, each with its own home for auth files, and the role's playbook."""

    def __init__(
        self, root: Path, ghcr, token: str, *, hosts: int = HOSTS, verify: str = "once", state: str = "present", play: dict | None = None
    ) -> None:
        self.root = root
        self.ghcr = ghcr
        self.hosts = [f"host{index}" for index in range(hosts)]
        self.inventory = root / "inventory"
        (self.inventory / "group_vars" / "all").mkdir(parents=True)
        (self.inventory / "host_vars").mkdir()
        self.password_file = root / "vault-pass.txt"
        self.password_file.write_text("fleet-test-vault\n")
        self.set_token(token)
        (self.inventory / "hosts.yml").write_text(json.dumps({"fleet": {"hosts": {host: {} for host in self.hosts}}}))
        self.write_vars(verify=verify, state=state)
        self.playbook = root / "site.yml"
        play = {"name": "Registry auth", "hosts": "fleet", "gather_facts": False, **(play or {}), "roles": [{"role": "fleet.ghcr.registry_auth"}]}
        self.playbook.write_text(json.dumps([play]))

    def home(self, host: str) -> Path:
        return self.root / "homes" / host

    def write_vars(self, **role_vars: object) -> None:
        settings = {
            "ansible_connection": "local",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ghcr_username": "octocat",
            "registry_auth_registry": self.ghcr.host,
            "registry_auth_ca_path": str(self.ghcr.ca_file),
            "registry_auth_verify_images": [HELLO],
            "registry_auth_users": [{
                "name": "root",
                "docker_config_path": f"{self.root}/homes/{{{{ inventory_hostname }}}}/.docker/config.json",
                "podman_auth_path": f"{self.root}/homes/{{{{ inventory_hostname }}}}/.config/containers/auth.json",
            }],
        }
        settings.update({f"registry_auth_{key}": value for key, value in role_vars.items()})
        (self.inventory / "group_vars" / "all" / "main.yml").write_text(json.dumps(settings))

    def set_token(self, token: str | None, host: str | None = None) -> None:
        target = self.inventory / ("host_vars" if host else "group_vars/all") / (f"{host}.yml" if host else "vault.yml")
        target.write_text(vault_encrypt_string("ghcr_pat", token, self.password_file) if token else "{}\n")

    def set_host_vars(self, host: str, **host_vars: object) -> None:
        """Role variables for one host (beside the host's token file, which set_token writes)."""
        (self.inventory / "host_vars" / host).mkdir(exist_ok=True)
        (self.inventory / "host_vars" / host / "role.yml").write_text(json.dumps(host_vars))

    def run(self, *options: str, vault: bool = True, env: dict[str, str] | None = None):
        secrets = ["--vault-password-file", str(self.password_file)] if vault else []
        return run_playbook(self.root / "run", self.playbook, self.inventory, options=[*secrets, *options], env=env)

    def entries(self, host: str) -> list[dict | None]:
        found = []
        for path in (self.home(host) / ".docker" / "config.json", self.home(host) / ".config" / "containers" / "auth.json"):
            found.append(json.loads(path.read_text())["auths"].get(self.ghcr.host) if path.exists() else None)
        return found


def recap_changed(output: str) -> dict[str, int]:
    return {line.split()[0]: int(line.split("changed=")[1].split()[0]) for line in output.splitlines() if " changed=" in line and " ok=" in line}


@pytest.mark.parametrize("hosts", [2, 12])
def test_once_checks_one_credential_once_whatever_the_fleet_size(tmp_path: Path, ghcr, hosts: int) -> None:
    token = ghcr.tokens["good"]
    fleet = Fleet(tmp_path, ghcr, token, hosts=hosts)
    returncode, output, log = fleet.run("-vvvv")
    assert returncode == 0, output[-3000:]
    assert ghcr.counters["token"] == 1, f"one token request for {hosts} hosts"
    for host in fleet.hosts:
        assert fleet.entries(host) == [{"auth": encode_auth("octocat", token)}] * 2
    assert_no_secret(output + log, "octocat", token)

    ghcr.reset_counters()
    returncode, output, _log = fleet.run()
    assert returncode == 0 and set(recap_changed(output).values()) == {0}, "a second run changes nothing"
    assert ghcr.counters["token"] == 1


def test_a_bad_pat_fails_the_play_with_every_host_untouched(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["revoked"])
    returncode, output, log = fleet.run()
    assert returncode != 0
    assert "unauthenticated: User cannot be authenticated with the token provided." in output
    assert not (tmp_path / "homes").exists(), "no host was changed"
    assert ghcr.counters["token"] == 1
    assert_no_secret(output + log, "octocat", ghcr.tokens["revoked"])


def test_a_pat_that_cannot_pull_fails_before_any_write(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["noscope"])
    returncode, output, _log = fleet.run()
    assert returncode != 0 and "permission_denied: read_package" in output
    assert not (tmp_path / "homes").exists()


def test_two_distinct_credentials_are_checked_once_each(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"])
    fleet.set_token(ghcr.tokens["push"], host="host3")
    returncode, output, _log = fleet.run()
    assert returncode == 0, output[-3000:]
    assert ghcr.counters["token"] == 2
    assert fleet.entries("host3")[0] == {"auth": encode_auth("octocat", ghcr.tokens["push"])}
    assert fleet.entries("host2")[0] == {"auth": encode_auth("octocat", ghcr.tokens["good"])}


@pytest.mark.parametrize(("verify", "token_requests"), [("each_host", HOSTS), ("never", 0)])
def test_each_host_and_never(tmp_path: Path, ghcr, verify: str, token_requests: int) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], verify=verify)
    returncode, output, _log = fleet.run()
    assert returncode == 0, output[-3000:]
    assert ghcr.counters["token"] == token_requests


def test_rotation_then_logout(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=2)
    assert fleet.run()[0] == 0
    fleet.set_token(ghcr.tokens["push"])
    returncode, output, log = fleet.run("--diff")
    assert returncode == 0 and set(recap_changed(output).values()) == {1}
    assert fleet.entries("host0") == [{"auth": encode_auth("octocat", ghcr.tokens["push"])}] * 2
    assert_no_secret(output + log, "octocat", ghcr.tokens["push"])

    fleet.set_token(None)  # logging out needs no token
    fleet.write_vars(state="absent")
    returncode, output, _log = fleet.run()
    assert returncode == 0, output[-3000:]
    assert fleet.entries("host0") == [None, None]
    assert ghcr.counters["token"] == 2, "logout makes no registry request"


def test_missing_username_is_a_clear_error(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=1)
    settings = json.loads((fleet.inventory / "group_vars" / "all" / "main.yml").read_text())
    del settings["ghcr_username"]
    (fleet.inventory / "group_vars" / "all" / "main.yml").write_text(json.dumps(settings))
    returncode, output, _log = fleet.run()
    assert returncode != 0 and "Set ghcr_username in inventory" in output


def test_bad_role_input_fails_early(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=1, verify="sometimes")
    returncode, output, _log = fleet.run()
    assert returncode != 0 and "registry_auth_verify" in output and "sometimes" in output
    assert not (tmp_path / "homes").exists()


def test_serial_batches_check_the_credential_once_in_the_run(tmp_path: Path, ghcr) -> None:
    """Later batches find the check already proven: one token request for the whole run, every host written."""
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=5, play={"serial": 2})
    returncode, output, _log = fleet.run()
    assert returncode == 0, output[-3000:]
    assert ghcr.counters["token"] == 1, "one distinct credential, one token request across three batches"
    for host in fleet.hosts:
        assert fleet.entries(host) == [{"auth": encode_auth("octocat", ghcr.tokens["good"])}] * 2


def test_hosts_that_do_not_check_are_left_out_of_the_choice(tmp_path: Path, ghcr) -> None:
    """The first host (which runs the run_once steps) and another do not check: the rest still check once."""
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=4)
    fleet.set_host_vars("host0", registry_auth_verify="never")
    fleet.set_host_vars("host2", registry_auth_state="absent")
    returncode, output, _log = fleet.run()
    assert returncode == 0, output[-3000:]
    assert ghcr.counters["token"] == 1
    assert fleet.entries("host0")[0] == fleet.entries("host3")[0] == {"auth": encode_auth("octocat", ghcr.tokens["good"])}
    assert fleet.entries("host2") == [None, None]


def test_each_distinct_set_of_images_is_proven_once(tmp_path: Path, ghcr) -> None:
    """Images are part of what is proven: {hello}, {public} and {hello, public} (in either order) are three checks."""
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=6, play={"serial": 2})
    for host in ("host2", "host4"):
        fleet.set_host_vars(host, registry_auth_verify_images=[PUBLIC])
    fleet.set_host_vars("host3", registry_auth_verify_images=[PUBLIC, HELLO])
    fleet.set_host_vars("host5", registry_auth_verify_images=[HELLO, PUBLIC])
    returncode, output, _log = fleet.run()
    assert returncode == 0, output[-3000:]
    assert ghcr.counters["token"] == 3
    assert all(fleet.entries(host)[0] for host in fleet.hosts)


def test_a_host_whose_images_cannot_be_pulled_fails_the_play_before_any_write(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=4)
    fleet.set_host_vars("host3", registry_auth_verify_images=["fleet/missing:1.0"])
    returncode, output, _log = fleet.run()
    assert returncode != 0, "host3's image was never proven"
    assert "fleet/missing" in output
    assert not (tmp_path / "homes").exists(), "no host was changed"
    assert ghcr.counters["token"] == 2


@pytest.mark.parametrize(("verify", "api_requests"), [("once", 1), ("each_host", 0)])
def test_only_the_once_check_asks_the_github_api(tmp_path: Path, ghcr, verify: str, api_requests: int) -> None:
    """Per-host checks set inspect_token=never; the once check asks as registry_auth_inspect_token says."""
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], verify=verify)
    fleet.write_vars(verify=verify, inspect_token="always", github_api_url=ghcr.github_api_url)
    returncode, output, _log = fleet.run()
    assert returncode == 0, output[-3000:]
    assert ghcr.counters["api"] == api_requests


def test_each_host_one_failing_host_stops_the_fleet_before_any_write(tmp_path: Path, ghcr) -> None:
    """each_host is in the any_errors_fatal block too: one host's failed check stops every host."""
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], verify="each_host")
    fleet.set_token(ghcr.tokens["revoked"], host="host4")
    returncode, output, _log = fleet.run()
    assert returncode != 0 and "unauthenticated" in output
    assert not (tmp_path / "homes").exists()


def test_logout_needs_no_vault_password(tmp_path: Path, ghcr) -> None:
    """registry_auth_pat defaults to "": the lookup (and the decryption of ghcr_pat) happens only when logging in."""
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=2)
    assert fleet.run()[0] == 0
    fleet.write_vars(state="absent")
    ghcr.reset_counters()
    returncode, output, _log = fleet.run(vault=False)
    assert returncode == 0, output[-3000:]
    assert fleet.entries("host0") == fleet.entries("host1") == [None, None]
    assert ghcr.counters["token"] == 0


def test_logging_in_without_the_vault_password_names_the_fix(tmp_path: Path, ghcr) -> None:
    fleet = Fleet(tmp_path, ghcr, ghcr.tokens["good"], hosts=1)
    returncode, output, _log = fleet.run(vault=False)
    assert returncode != 0 and "--ask-vault-pass" in output
    assert not (tmp_path / "homes").exists()


STUB_SYSTEMCTL = """\
#!/bin/sh
# systemctl for the handler test: k3s exists and runs, every other unit is unknown; each call is logged with its host.
echo "$STUB_HOST $*" >> "$STUB_LOG"
case "$1" in
  is-active)
    shift; rc=0
    for unit in "$@"; do if [ "$unit" = k3s ]; then echo active; else echo inactive; rc=3; fi; done
    exit $rc ;;
  show) printf 'Id=%s.service\\nLoadState=loaded\\nActiveState=active\\nSubState=running\\n' "$2" ;;
  restart) exit 0 ;;
  *) exit 1 ;;
esac
"""


def test_node_consumers_restart_only_the_hosts_whose_registries_yaml_changed(tmp_path: Path, ghcr) -> None:
    bin_dir, log = tmp_path / "bin", tmp_path / "systemctl.log"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(STUB_SYSTEMCTL)
    (bin_dir / "systemctl").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "STUB_LOG": str(log)}
    play = {"environment": {"STUB_HOST": "{{ inventory_hostname }}"}}
    fleet = Fleet(tmp_path / "fleet", ghcr, ghcr.tokens["good"], hosts=3, play=play)
    node = tmp_path / "nodes" / "{{ inventory_hostname }}"
    fleet.set_host_vars("host2", registry_auth_node_consumers=["kubelet"])  # no k3s there: nothing to restart

    def restarts() -> list[str]:
        return [line for line in log.read_text().splitlines() if " restart " in line] if log.exists() else []

    booted = tmp_path / "run-systemd-system"  # stands in for /run/systemd/system, which says systemd is the init
    booted.mkdir()
    fleet.write_vars(
        node_consumers=["kubelet", "k3s"],
        node_paths={"kubelet_config_path": f"{node}/kubelet/config.json", "k3s_registries_path": f"{node}/rancher/k3s/registries.yaml"},
    )
    systemd = ("-e", f"registry_auth__systemd_booted={booted}")  # extra vars: role vars override inventory
    returncode, output, run_log = fleet.run("--diff", *systemd, env=env)
    assert returncode == 0, output[-3000:]
    assert sorted(restarts()) == ["host0 restart k3s", "host1 restart k3s"], "k3s-agent does not run, host2 has no k3s"
    token = ghcr.tokens["good"]
    for host in fleet.hosts:
        kubelet = json.loads((tmp_path / "nodes" / host / "kubelet" / "config.json").read_text())
        assert kubelet["auths"][ghcr.host] == {"auth": encode_auth("octocat", token)}
    registries = yaml.load((tmp_path / "nodes" / "host0" / "rancher" / "k3s" / "registries.yaml").read_text(), Loader=yaml.BaseLoader)
    assert registries == {"configs": {ghcr.host: {"auth": {"username": "octocat", "password": token}}}}
    assert_no_secret(output + run_log, "octocat", token)

    log.unlink()
    returncode, output, _log = fleet.run(*systemd, env=env)
    assert returncode == 0 and set(recap_changed(output).values()) == {0} and restarts() == [], "unchanged: no restart"

    fleet.set_token(ghcr.tokens["push"], host="host1")
    returncode, output, _log = fleet.run(*systemd, env=env)
    assert returncode == 0, output[-3000:]
    assert restarts() == ["host1 restart k3s"], "only the host whose file changed"

    # Two includes of the role in one play: the first changes k3s, the second (kubelet, no restart) comes last.
    roles = [{"role": "fleet.ghcr.registry_auth", "vars": {"registry_auth_node_consumers": consumers}} for consumers in (["k3s"], ["kubelet"])]
    fleet.playbook.write_text(json.dumps([{"hosts": "fleet", "gather_facts": False, **play, "roles": roles}]))
    log.unlink()
    fleet.set_token(ghcr.tokens["push"], host="host0")
    returncode, output, _log = fleet.run(*systemd, env=env)
    assert returncode == 0, output[-3000:]
    # host0: a new token; host2: k3s is new there (the role's vars beat its host_vars); host1: nothing changed for k3s.
    assert sorted(restarts()) == ["host0 restart k3s", "host2 restart k3s"], "the restarts k3s needs are kept over the second include"
