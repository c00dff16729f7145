# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet.ghcr.dockerconfigjson in a playbook: what it renders is a Docker config real clients pull with."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import clients
from tests.support.ansible import assert_no_secret, run_tasks, vault_encrypt_string

SEED_REF = "fleet/hello:1.0"


def test_the_rendered_secret_lets_skopeo_and_podman_in(tmp_path: Path, registry, podman_env) -> None:
    token = registry.users["octocat"]
    password_file = tmp_path / "vault-password.txt"
    password_file.write_text("dockerconfigjson-test\n")
    vaulted = tmp_path / "vaulted.yml"
    vaulted.write_text(vault_encrypt_string("ghcr_pat", token, password_file))
    secret_file = tmp_path / "dockerconfig.json"
    task = {
        "name": "the .dockerconfigjson of an image pull secret, from the vault-encrypted token",
        "ansible.builtin.copy": {
            "content": f"{{{{ 'octocat' | fleet.ghcr.dockerconfigjson(ghcr_pat, registry='{registry.host}') }}}}",
            "dest": str(secret_file),
            "mode": "0600",
        },
        "no_log": True,
    }
    run = run_tasks(tmp_path / "run", [task], options=["--vault-password-file", str(password_file), "-e", f"@{vaulted}"])
    assert run.returncode == 0, run.output
    assert_no_secret(run.output + run.log, "octocat", token)
    written = json.loads(secret_file.read_text())
    assert list(written["auths"]) == [registry.host]
    inspected = clients.skopeo_inspect(secret_file, f"{registry.host}/{SEED_REF}", registry.cert_dir)
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["Digest"] == registry.seeded[SEED_REF]
    login = clients.podman_get_login(secret_file, registry.host, podman_env)
    assert login.returncode == 0 and login.stdout.strip() == "octocat", login.stderr
