# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Podman services under systemd: an auth file of their own, written by ghcr_login, is what they pull with.

A rootful service reads root's default auth files, which the registry_auth role already writes for root. A file of
its own (docs/docsite/rst/podman_services.rst) is named in a Quadlet unit: ``AuthFile=`` in ``.image`` and
``.build`` units, which Quadlet turns into ``podman pull --authfile``, or ``Environment=REGISTRY_AUTH_FILE=`` for
``.container`` and ``.kube`` units. No systemd runs here, so the test runs the podman commands those units run.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import clients
from tests.support.ansible import assert_no_secret, login_task, run_tasks

SEED_REF = "fleet/hello:1.0"


def service_login(registry, authfile: Path, state: str = "present") -> dict:
    args = {"registry": registry.host, "user": "root", "engines": ["podman"], "podman_auth_path": str(authfile), "sync_runtime_auth": False, "state": state}
    if state == "present":
        args.update(username="octocat", password="{{ pat }}")
    return login_task(**args)


def pull_with_registry_auth_file(authfile: Path, ref: str, cert_dir: Path, env: dict[str, str]):
    """What a unit with Environment=REGISTRY_AUTH_FILE=... runs: podman without --authfile."""
    return clients.run(["podman", "pull", "--quiet", "--cert-dir", str(cert_dir), ref], env={**env, "REGISTRY_AUTH_FILE": str(authfile)})


def test_the_service_auth_file_is_what_quadlet_units_pull_with(tmp_path: Path, registry, podman_env) -> None:
    token = registry.users["octocat"]
    authfile = tmp_path / "etc" / "containers" / "ghcr-auth.json"
    authfile.parent.mkdir(parents=True)
    ref = f"{registry.host}/{SEED_REF}"

    login = run_tasks(tmp_path / "login", [service_login(registry, authfile)], secrets={"pat": token})
    assert login.returncode == 0, login.output
    assert login.results[0]["changed"] is True
    assert_no_secret(login.output + login.log, "octocat", token)
    assert oct(authfile.stat().st_mode & 0o777) == "0o600"

    by_option = clients.podman_pull(authfile, ref, registry.cert_dir, podman_env)  # AuthFile= in .image and .build units
    assert by_option.returncode == 0, by_option.stderr
    by_variable = pull_with_registry_auth_file(authfile, ref, registry.cert_dir, podman_env)  # REGISTRY_AUTH_FILE in the unit's environment
    assert by_variable.returncode == 0, by_variable.stderr

    again = run_tasks(tmp_path / "again", [service_login(registry, authfile)], secrets={"pat": token})
    assert again.results[0]["changed"] is False

    logout = run_tasks(tmp_path / "logout", [service_login(registry, authfile, state="absent")])
    assert logout.returncode == 0 and logout.results[0]["changed"] is True, logout.output
    # The file stays, without the entry: a REGISTRY_AUTH_FILE or --authfile naming a missing file fails every pull,
    # public images included, while an empty one only loses the credential.
    assert json.loads(authfile.read_text()) == {"auths": {}}
    denied = pull_with_registry_auth_file(authfile, ref, registry.cert_dir, podman_env)
    assert denied.returncode != 0
    assert "no such file" not in denied.stderr.lower()
    assert "authentication required" in denied.stderr or "unauthorized" in denied.stderr.lower(), denied.stderr
