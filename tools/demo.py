# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``make demo``: a local GHCR-like registry, the demo fleet logged in from the vault-encrypted token, pulls proven.

Everything happens under build/demo; the registry stack is stopped at the end, also on failure.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ansible.parsing.vault import VaultLib, VaultSecret

from tests.support.ansible import ansible_env, assert_no_deprecation
from tests.support.clients import docker_manifest_inspect, podman_env, podman_pull, skopeo_inspect
from tests.support.ghcr_stack import GhcrStack

REPO_ROOT = Path(__file__).resolve().parents[1]
INVENTORY = REPO_ROOT / "inventory" / "demo"
VAULT_PASSWORD_FILE = INVENTORY / "vault-password.txt"
DEMO_HOSTS = ("web-1", "db-1")
IMAGE = "fleet/hello:1.0"


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def demo_token() -> str:
    """Decrypt the inline ``!vault`` value of ghcr_pat the way ansible-playbook will."""
    text = (INVENTORY / "group_vars" / "all" / "ghcr.yml").read_text()
    block = re.search(r"ghcr_pat: !vault \|\n((?:[ \t]+\S.*\n?)+)", text)
    if not block:
        sys.exit("inventory/demo/group_vars/all/ghcr.yml has no vault-encrypted ghcr_pat")
    ciphertext = "\n".join(line.strip() for line in block.group(1).splitlines())
    secret = VaultSecret(VAULT_PASSWORD_FILE.read_text().strip().encode())
    return VaultLib([("default", secret)]).decrypt(ciphertext).decode()


def run_playbook(workdir: Path, stack: GhcrStack, name: str, *extra: str) -> str:
    argv = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i", str(INVENTORY),
        "--vault-password-file", str(VAULT_PASSWORD_FILE),
        "-e", f"registry_auth_registry={stack.host}",
        "-e", f"registry_auth_ca_path={stack.ca_file}",
        "-e", f"demo_root={workdir / 'hosts'}",
        *extra,
        str(REPO_ROOT / "playbooks" / name),
    ]
    completed = subprocess.run(argv, env=ansible_env(workdir), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    print(completed.stdout, end="", flush=True)
    if completed.returncode != 0:
        print(completed.stderr, file=sys.stderr)
        raise SystemExit(f"ansible-playbook failed (exit {completed.returncode})")
    try:
        assert_no_deprecation(completed.stdout + completed.stderr)
    except AssertionError as error:
        raise SystemExit(str(error)) from None
    return completed.stdout


def prove_pulls(workdir: Path, registry: GhcrStack) -> list[tuple[str, str, str, str]]:
    ref = f"{registry.host}/{IMAGE}"
    env = podman_env(workdir / "podman")
    rows = []
    for host in DEMO_HOSTS:
        home = workdir / "hosts" / host
        docker_file = home / ".docker" / "config.json"
        podman_file = home / ".config" / "containers" / "auth.json"
        checks = [
            ("docker manifest inspect", docker_file, docker_manifest_inspect(docker_file.parent, ref)),
            ("skopeo inspect", docker_file, skopeo_inspect(docker_file, ref, registry.cert_dir)),
            ("skopeo inspect", podman_file, skopeo_inspect(podman_file, ref, registry.cert_dir)),
            ("podman pull", podman_file, podman_pull(podman_file, ref, registry.cert_dir, env)),
        ]
        for client, path, completed in checks:
            outcome = "pulled" if completed.returncode == 0 else f"FAILED: {completed.stderr.strip()[-200:]}"
            rows.append((host, client, str(path.relative_to(workdir)), outcome))
    return rows


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in (header, tuple("-" * width for width in widths), *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))


def main() -> int:
    started = time.monotonic()
    workdir = REPO_ROOT / "build" / "demo"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    step("Reading the demo token from the vault-encrypted inventory (inventory/demo)")
    token = demo_token()
    step("Starting a local GHCR-like registry (Distribution, token server, TLS) and pushing fleet/hello:1.0")
    with GhcrStack(workdir / "registry") as stack:
        stack.add_pat(token, "octocat", ("read:packages",))
        stack.grant("octocat", "fleet/hello", ("pull",))
        digest = stack.seed_image(*IMAGE.split(":"))
        stack.reset_counters()
        print(f"registry at https://{stack.host}, image digest {digest}")
        step("Logging the demo fleet in: ansible-playbook -i inventory/demo playbooks/login.yml")
        run_playbook(workdir, stack, "login.yml")
        token_requests = stack.counters["token"]
        step("Running the same playbook again: nothing may change")
        second = run_playbook(workdir, stack, "login.yml")
        idempotent = all(" changed=0 " in line for line in second.splitlines() if " ok=" in line)
        step("Proving that every file pulls, with the real clients")
        rows = prove_pulls(workdir, stack)
        step("Auditing the fleet: ansible-playbook -i inventory/demo playbooks/verify.yml")
        report = workdir / "registry-audit.json"
        run_playbook(workdir, stack, "verify.yml", "-e", f"registry_audit_report={report}")
        audit = json.loads(report.read_text())
    step("Summary")
    print_table(rows, ("host", "client", "auth file (under build/demo)", "result"))
    failures = [row for row in rows if row[3] != "pulled"]
    audited = [row for row in audit if row["registry"]]
    print(f"audit: {sum(1 for row in audited if row['works'])} of {len(audited)} credentials work from their hosts (build/demo/registry-audit.json)")
    print(f"\nthe first run checked the token with {token_requests} token request(s) for {len(DEMO_HOSTS)} hosts, before any host changed")
    print(f"second run changed nothing: {'yes' if idempotent else 'NO'}")
    print(f"{len(rows) - len(failures)} of {len(rows)} pulls proven in {time.monotonic() - started:.0f} s; the registry is stopped.")
    return 0 if not failures and idempotent and audited and all(row["works"] for row in audited) else 1


if __name__ == "__main__":
    sys.exit(main())
