# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``make bench``: the cost of ghcr_login per host against ansible.builtin.ping on the same hosts.

DESIGN's budget: a first login within 15 % of ping, an unchanged re-run within 10 %. The hosts are local
(connection local), so the figures measure Ansible's per-host floor and the module's own cost, not a network.
Each figure is the median of several rounds; the script prints them and does not judge: it is a benchmark,
not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.support.ansible import REPO_ROOT, ansible_env

TOKEN = "ghp_benchmark000000000000000000000000000"


def write_inventory(root: Path, hosts: int) -> Path:
    inventory = root / "inventory.ini"
    lines = ["[bench]"] + [f"h{index} ansible_connection=local ansible_python_interpreter=/usr/bin/python3" for index in range(hosts)]
    inventory.write_text("\n".join(lines) + "\n")
    (root / "secrets.json").write_text(json.dumps({"pat": TOKEN}))
    return inventory


def write_playbook(root: Path, module: str) -> Path:
    task = {"name": "ping", "ansible.builtin.ping": {}}
    if module == "login":
        task = {
            "name": "login",
            "fleet.ghcr.ghcr_login": {
                "username": "octocat",
                "password": "{{ pat }}",
                "docker_config_path": f"{root}/homes/{{{{ inventory_hostname }}}}/.docker/config.json",
                "podman_auth_path": f"{root}/homes/{{{{ inventory_hostname }}}}/.config/containers/auth.json",
            },
        }
    playbook = root / f"{module}.yml"
    playbook.write_text(json.dumps([{"hosts": "bench", "gather_facts": False, "vars_files": [str(root / "secrets.json")], "tasks": [task]}]))
    return playbook


def timed(root: Path, inventory: Path, playbook: Path, forks: int) -> float:
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "-f", str(forks), str(playbook)]
    started = time.perf_counter()
    completed = subprocess.run(argv, env=ansible_env(root), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{playbook.name} failed:\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    root = REPO_ROOT / "build" / "bench"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    inventory = write_inventory(root, args.hosts)
    ping, login = write_playbook(root, "ping"), write_playbook(root, "login")
    figures: dict[str, list[float]] = {"ping": [], "first login": [], "unchanged re-run": []}
    for _round in range(args.rounds):
        shutil.rmtree(root / "homes", ignore_errors=True)
        figures["ping"].append(timed(root, inventory, ping, args.forks))
        figures["first login"].append(timed(root, inventory, login, args.forks))
        figures["unchanged re-run"].append(timed(root, inventory, login, args.forks))
    baseline = statistics.median(figures["ping"])
    print(f"{args.hosts} local hosts, {args.forks} forks, median of {args.rounds} rounds (one playbook run each)")
    print(f"{'run':<18} {'seconds':>8} {'per host ms':>12} {'vs ping':>8} {'budget':>7}")
    budgets = {"ping": None, "first login": 0.15, "unchanged re-run": 0.10}
    for name, values in figures.items():
        median = statistics.median(values)
        budget = budgets[name]
        print(
            f"{name:<18} {median:8.2f} {median / args.hosts * 1000:12.1f} {median / baseline - 1:+8.1%}"
            f" {('+' + format(budget, '.0%')) if budget is not None else '':>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
