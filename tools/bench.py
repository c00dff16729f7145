# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``make bench``: what a login costs per host, side by side with Ansible's floor and with the peer.

The arms are ansible.builtin.ping, one ghcr_login task, one containers.podman.podman_login task (the one-line
play platform teams use today), and the registry_auth role. The login arms have a first run and an unchanged
re-run. They run against the GHCR-like stack on loopback, so the role's once-check makes real token requests,
which are counted. The arms are interleaved round by round. Each figure is the median of the rounds, given for
each fleet size.

DESIGN's budget:
- ghcr_login: first run within 15 % of ping, unchanged re-run within 10 %;
- the role: first run within 20 % of ping, re-run within 10 %, and faster than podman_login;
- at most 2 token requests per distinct credential.

The script prints the figures and judges nothing: it is a benchmark, not a test. The hosts are local
(connection local), so the figures measure Ansible's per-host work and the modules' own cost, not a network.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.support.ansible import REPO_ROOT, ansible_env
from tests.support.clients import podman_env
from tests.support.ghcr_stack import GhcrStack
from tests.support.registry import random_token
from tools.molecule import ensure_containers_podman

ARMS = ("ping", "ghcr_login", "ghcr_login again", "podman_login", "podman_login again", "role", "role again")
BUDGETS = {"ghcr_login": 0.15, "ghcr_login again": 0.10, "role": 0.20, "role again": 0.10}


def write_inventory(root: Path, hosts: int, stack: GhcrStack, token: str) -> Path:
    inventory = root / f"inventory-{hosts}"
    (inventory / "group_vars" / "all").mkdir(parents=True, exist_ok=True)  # one per size, reused across --forks
    (inventory / "hosts.ini").write_text(
        "[bench]\n" + "".join(f"h{index} ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n" for index in range(hosts))
    )
    home = f"{root}/homes/{{{{ inventory_hostname }}}}"
    settings = {
        "ghcr_username": "octocat",
        "ghcr_pat": token,
        "home": home,
        "registry_auth_registry": stack.host,
        "registry_auth_ca_path": str(stack.ca_file),
        "registry_auth_users": [
            {"name": "root", "docker_config_path": f"{home}/.docker/config.json", "podman_auth_path": f"{home}/.config/containers/auth.json"}
        ],
    }
    (inventory / "group_vars" / "all" / "main.yml").write_text(json.dumps(settings))
    return inventory


def write_playbooks(root: Path, stack: GhcrStack) -> dict[str, Path]:
    tasks = {
        "ping": [{"name": "ping", "ansible.builtin.ping": {}}],
        "ghcr_login": [{
            "name": "ghcr_login",
            "fleet.ghcr.ghcr_login": {
                "registry": stack.host,
                "username": "{{ ghcr_username }}",
                "password": "{{ ghcr_pat }}",
                "docker_config_path": "{{ home }}/.docker/config.json",
                "podman_auth_path": "{{ home }}/.config/containers/auth.json",
            },
        }],
        "podman_login": [{
            "name": "podman_login",
            "containers.podman.podman_login": {
                "registry": stack.host,
                "username": "{{ ghcr_username }}",
                "password": "{{ ghcr_pat }}",
                "certdir": str(stack.cert_dir),
                "authfile": "{{ home }}/.config/containers/auth.json",
            },
        }],
    }
    playbooks = {}
    for arm, play_tasks in tasks.items():
        playbooks[arm] = root / f"{arm}.yml"
        playbooks[arm].write_text(json.dumps([{"hosts": "bench", "gather_facts": False, "tasks": play_tasks}]))
    playbooks["role"] = root / "role.yml"
    playbooks["role"].write_text(json.dumps([{"hosts": "bench", "gather_facts": False, "roles": [{"role": "fleet.ghcr.registry_auth"}]}]))
    return playbooks


def timed(root: Path, inventory: Path, playbook: Path, forks: int, env: dict[str, str]) -> float:
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "-f", str(forks), str(playbook)]
    started = time.perf_counter()
    completed = subprocess.run(argv, env=ansible_env(root, env), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{playbook.name} failed:\n{completed.stdout[-3000:]}{completed.stderr[-2000:]}")
    return elapsed


def measure(
    root: Path, stack: GhcrStack, hosts: int, forks: int, rounds: int, env: dict[str, str], arms: tuple[str, ...] = ARMS
) -> tuple[dict[str, list[float]], dict[str, list[int]]]:
    token = stack.tokens["good"]
    inventory = write_inventory(root, hosts, stack, token)
    playbooks = write_playbooks(root, stack)
    seconds: dict[str, list[float]] = {arm: [] for arm in arms}
    requests: dict[str, list[int]] = {arm: [] for arm in arms}
    for _round in range(rounds):
        for arm in arms:
            base = arm.removesuffix(" again")
            if base != "ping" and not arm.endswith(" again"):
                shutil.rmtree(root / "homes", ignore_errors=True)
            stack.reset_counters()
            seconds[arm].append(timed(root, inventory, playbooks[base], forks, env))
            requests[arm].append(stack.counters["token"])
    return seconds, requests


def report(hosts: int, forks: int, rounds: int, seconds: dict[str, list[float]], requests: dict[str, list[int]]) -> dict[str, object]:
    """Print one fleet size's table; return its figures for --json."""
    ping = statistics.median(seconds["ping"])
    podman = statistics.median(seconds["podman_login"]) if "podman_login" in seconds else None
    print(f"\n{hosts} local hosts, {forks} forks, median of {rounds} interleaved rounds (one playbook run each)")
    print(f"{'arm':<20} {'seconds':>8} {'per host ms':>12} {'vs ping':>8} {'budget':>7} {'vs podman_login':>16} {'token requests':>15}")
    arms: dict[str, object] = {}
    figures: dict[str, object] = {"hosts": hosts, "forks": forks, "rounds": rounds, "arms": arms}
    for arm in seconds:
        median = statistics.median(seconds[arm])
        budget = BUDGETS.get(arm)
        versus_podman = f"{median / podman:15.2f}x" if podman else f"{'':>16}"
        print(
            f"{arm:<20} {median:8.2f} {median / hosts * 1000:12.1f} {median / ping:7.2f}x"
            f" {(format(1 + budget, '.2f') + 'x') if budget else '':>7} {versus_podman} {max(requests[arm]):>15}"
        )
        arms[arm] = {"seconds": seconds[arm], "median": median, "vs_ping": median / ping, "token_requests": max(requests[arm])}
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50", help="fleet sizes, comma-separated (default 10,50)")
    parser.add_argument("--forks", default="2", help="forks, comma-separated (default 2)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--arms", default=",".join(ARMS), help=f"arms, comma-separated, ping first (default: {','.join(ARMS)})")
    parser.add_argument("--json", type=Path, help="also write the figures to this file (tools/plot_bench.py draws them)")
    args = parser.parse_args()
    arms = tuple(arm.strip() for arm in args.arms.split(","))
    if arms[0] != "ping" or not set(arms) <= set(ARMS):
        parser.error(f"--arms: ping first, then any of {', '.join(ARMS[1:])}")
    root = REPO_ROOT / "build" / "bench"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    collections = ensure_containers_podman(REPO_ROOT / "build" / "bench-collections")
    env = {
        **podman_env(root / "podman"),
        "ANSIBLE_COLLECTIONS_PATH": f"{REPO_ROOT / 'build' / 'collections'}:{collections}",
    }
    results = []
    with GhcrStack(root / "registry") as stack:
        stack.tokens["good"] = stack.add_pat(random_token(), "octocat", ("read:packages",))
        for forks in (int(value) for value in args.forks.split(",")):
            for hosts in (int(size) for size in args.sizes.split(",")):
                seconds, requests = measure(root, stack, hosts, forks, args.rounds, env, arms)
                results.append(report(hosts, forks, args.rounds, seconds, requests))
    if args.json:
        machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "ansible_core": ansible_core_version()}
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=1) + "\n")
    return 0


def ansible_core_version() -> str:
    from ansible.release import __version__

    return __version__


if __name__ == "__main__":
    sys.exit(main())
