# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run the collection's modules the way users do: ansible-playbook, with secrets in a vars file, never on argv."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS_DIR = REPO_ROOT / "build" / "collections"
TARGET_PYTHON = "/usr/bin/python3"  # the system Python: proves targets need only the standard library


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    log: str
    results: list[dict]

    @property
    def result(self) -> dict:
        return self.results[0]


def ansible_env(workdir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_DIR),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_LOG_PATH=str(workdir / "ansible.log"),
        ANSIBLE_LOCAL_TEMP=str(workdir / "ansible-tmp"),
        ANSIBLE_HOME=str(workdir / "ansible-home"),
    )
    env.update(extra or {})
    return env


def run_tasks(
    workdir: Path,
    tasks: list[dict],
    *,
    secrets: dict[str, str] | None = None,
    options: list[str] | None = None,
    env: dict[str, str] | None = None,
    hosts: int = 1,
    timeout: int = 300,
) -> PlaybookRun:
    """Run ``tasks`` against localhost (or ``hosts`` local aliases in parallel), registering each result.

    Secrets go into a vars file that the tasks reference as ``{{ name }}``. Every task gets
    ``ignore_errors`` so that failures are returned, not raised; ``results[i]`` is task ``i``'s result
    (for several hosts, a list per host is in ``results[i]['hosts']``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    vars_file = workdir / "secrets.json"
    vars_file.write_text(json.dumps(secrets or {}))
    vars_file.chmod(0o600)
    inventory = workdir / "inventory.ini"
    inventory.write_text(
        "[targets]\n"
        + "".join(f"host{index} ansible_connection=local ansible_python_interpreter={TARGET_PYTHON}\n" for index in range(hosts))
    )
    results_dir = workdir / "results"
    results_dir.mkdir(exist_ok=True)
    play_tasks = []
    for index, task in enumerate(tasks):
        play_tasks.append({**task, "register": f"outcome_{index}", "ignore_errors": True})
        play_tasks.append(_keep_result(index, results_dir))
    playbook = workdir / "playbook.yml"
    play = {"hosts": "targets", "gather_facts": False, "vars_files": [str(vars_file)], "tasks": play_tasks}
    playbook.write_text(json.dumps([play], indent=2))
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "-f", str(max(hosts, 5)), *(options or []), str(playbook)]
    completed = subprocess.run(argv, env=ansible_env(workdir, env), capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    log_path = workdir / "ansible.log"
    log = log_path.read_text() if log_path.exists() else ""
    output = completed.stdout + completed.stderr
    assert_no_deprecation(output)
    return PlaybookRun(completed.returncode, output, log, _collect(results_dir, len(tasks), hosts))


def run_playbook(workdir: Path, playbook: Path, inventory: Path, *, options: list[str] | None = None, env: dict[str, str] | None = None, timeout: int = 600):
    """``ansible-playbook -i inventory playbook`` as an operator runs it; returns (returncode, output, log)."""
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), *(options or []), str(playbook)]
    completed = subprocess.run(argv, env=ansible_env(workdir, env), capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    log_path = workdir / "ansible.log"
    output = completed.stdout + completed.stderr
    assert_no_deprecation(output)
    return completed.returncode, output, log_path.read_text() if log_path.exists() else ""


def assert_no_deprecation(output: str) -> None:
    """Whatever ansible-core runs them, our modules, plugins, role and playbooks use nothing it has deprecated."""
    found = [line for line in output.splitlines() if "[DEPRECATION WARNING]" in line]
    assert not found, "ansible-core printed deprecation warnings:\n" + "\n".join(found)


def vault_encrypt_string(name: str, secret: str, password_file: Path) -> str:
    """``name: !vault |`` YAML for ``secret``, made by the real ansible-vault (the secret goes over stdin)."""
    argv = [str(Path(sys.executable).parent / "ansible-vault"), "encrypt_string", "--vault-password-file", str(password_file), "--stdin-name", name]
    completed = subprocess.run(argv, input=secret, capture_output=True, text=True, check=True, env=ansible_env(password_file.parent))
    return completed.stdout


def _keep_result(index: int, results_dir: Path) -> dict:
    return {
        "name": f"keep result {index}",
        "ansible.builtin.copy": {"content": f"{{{{ outcome_{index} | to_json }}}}", "dest": f"{results_dir}/{index}-{{{{ inventory_hostname }}}}.json"},
        "check_mode": False,
        "diff": False,
        "no_log": True,
    }


def _collect(results_dir: Path, count: int, hosts: int) -> list[dict]:
    results = []
    for index in range(count):
        per_host = []
        for host in range(hosts):
            path = results_dir / f"{index}-host{host}.json"
            per_host.append(json.loads(path.read_text()) if path.exists() else {"missing": True})
        results.append(per_host[0] if hosts == 1 else {"hosts": per_host})
    return results


def login_task(**args: object) -> dict:
    return {"name": "ghcr_login under test", "fleet.ghcr.ghcr_login": args}


def secret_forms(username: str, token: str) -> list[str]:
    """Every form in which a credential could leak: the token, base64(user:token), base64(token)."""
    pair = f"{username}:{token}".encode()
    return [token, base64.b64encode(pair).decode(), base64.b64encode(pair).decode().rstrip("="), base64.b64encode(token.encode()).decode().rstrip("=")]


def assert_no_secret(text: str, username: str, token: str) -> None:
    for form in secret_forms(username, token):
        assert form not in text, f"a secret form ({len(form)} chars) appeared in the output"


class CommandLineWatcher:
    """Every process command line on the machine while it runs: a secret there is visible to every user (ps).

    It reads /proc/*/cmdline in a loop; ``seen`` holds each distinct command line. A process shorter than one
    sweep can be missed, so a test also checks that the commands it expects were seen.
    """

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> CommandLineWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    try:
                        with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                            line = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
                    except OSError:
                        continue
                    if line:
                        self.seen.add(line)
            self._stop.wait(0.001)  # leave the CPU to the run it watches


__all__ = (
    "CommandLineWatcher",
    "PlaybookRun",
    "ansible_env",
    "assert_no_secret",
    "login_task",
    "run_playbook",
    "run_tasks",
    "secret_forms",
    "vault_encrypt_string",
)
