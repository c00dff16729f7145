# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""On an ansible-core the collection does not support (2.18, `nox -s older-core`), it says so and what to do.

What AWX and Automation Platform users with a stock execution environment (ansible-core 2.15 to 2.18) meet: Ansible's
own warning that the collection does not support the version, then the lookup and the role fail with our message,
not a traceback, and nothing is written.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ansible.release import __version__ as ansible_version

from tests.support.ansible import REPO_ROOT, ansible_env, vault_encrypt_string

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
MESSAGE = f"needs ansible-core 2.19 or later, and this controller runs {ansible_version}"


def test_this_session_runs_an_unsupported_core() -> None:
    assert tuple(int(part) for part in ansible_version.split(".")[:2]) < (2, 19), f"ansible-core {ansible_version} is supported"


def write_inventory(tmp_path: Path) -> Path:
    password_file = tmp_path / "vault-password.txt"
    password_file.write_text("older-core-test\n")
    group_vars = tmp_path / "inventory" / "group_vars" / "all"
    group_vars.mkdir(parents=True)
    (group_vars / "ghcr.yml").write_text("ghcr_username: octocat\n" + vault_encrypt_string("ghcr_pat", TOKEN, password_file))
    (tmp_path / "inventory" / "hosts.ini").write_text(f"web1 ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    return password_file


def run(tmp_path: Path, playbook: str | Path, *extra: str) -> tuple[int, str]:
    password_file = write_inventory(tmp_path)
    argv = [
        str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inventory" / "hosts.ini"),
        "--vault-password-file", str(password_file), *extra, str(playbook),
    ]  # fmt: skip
    done = subprocess.run(argv, env=ansible_env(tmp_path), capture_output=True, text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    assert TOKEN not in output
    return done.returncode, output


def assert_explained(returncode: int, output: str, plugin: str) -> None:
    assert returncode != 0, output
    assert f"{plugin} {MESSAGE}" in " ".join(output.split()), output
    assert "ansible-core>=2.20,<2.22" in " ".join(output.split()), output
    assert "Traceback" not in output, output
    assert "does not support Ansible version" in output, "Ansible's own requires_ansible warning"


def test_the_lookup_says_what_to_do(tmp_path: Path) -> None:
    playbook = tmp_path / "lookup.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.debug:\n        msg: \"{{ lookup('fleet.ghcr.ghcr_pat') | length }}\"\n"
    )
    assert_explained(*run(tmp_path, playbook), "fleet.ghcr.ghcr_pat")


def test_the_login_playbook_says_what_to_do_and_writes_nothing(tmp_path: Path) -> None:
    # A user that does not exist (skipped if anything got as far as writing), so that no real file is at stake.
    extra_vars = '{"registry_auth_users": ["fleet-ghcr-no-such-user"], "registry_auth_missing_user": "skip", "ansible_become": false}'
    returncode, output = run(tmp_path, REPO_ROOT / "playbooks" / "login.yml", "-e", extra_vars)
    assert_explained(returncode, output, "The fleet.ghcr.registry_auth role")
    assert "changed=0" in output, output
