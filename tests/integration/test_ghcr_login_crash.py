# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Killed runs, full disks, planted files and missing homes: ghcr_login leaves no secret and no unusable directory.

A run is killed for real (SIGKILL) at a chosen step. The module's own code runs in a child process whose ``os``
functions are wrapped by the test; the product has no hidden switch for this. The next run, through
ansible-playbook as users run it, must leave the files valid, the user in control of their directories, and
no secret anywhere but where it belongs.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.ansible import COLLECTIONS_DIR, assert_no_secret, login_task, run_tasks
from tests.support.authfiles import encode_auth
from tests.support.params import login_params
from tests.support.users import UnixUser

TOKEN = "ghp_crash00000000000000000000000000000000"
OLD = "ghp_older00000000000000000000000000000000"

# Runs the backend in-process as ghcr_login's main() would, with one os function wrapped to SIGKILL the process
# when the step under test is reached. Params come on stdin so that no secret is on argv.
CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    sys.path.insert(0, sys.argv[1])
    from ansible_collections.fleet.ghcr.plugins.module_utils._ghcr_login import run_login

    step = sys.argv[2]
    params = json.loads(sys.stdin.read())

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    real_rename, real_fchown, real_fsync = os.rename, os.fchown, os.fsync

    def rename(src, dst, *args, **kwargs):
        if step == "before-rename" and ".tmp-" in str(src) and str(dst) in ("config.json", "auth.json"):
            die()
        if step == "backup-written" and str(dst).endswith("~"):
            die()
        return real_rename(src, dst, *args, **kwargs)

    def fchown(fd, uid, gid):
        if step == "before-chown" and os.path.isdir(f"/proc/self/fd/{fd}"):
            die()
        return real_fchown(fd, uid, gid)

    def fsync(fd):
        real_fsync(fd)
        if step == "temp-written" and ".tmp-" in os.readlink(f"/proc/self/fd/{fd}"):
            die()

    os.rename, os.fchown, os.fsync = rename, fchown, fsync

    class Module:
        check_mode = False
        _diff = False
        no_log_values = set()
        def __init__(self, params): self.params = params
        def warn(self, message): print(message, file=sys.stderr)
        @staticmethod
        def get_bin_path(name): return None

    print(json.dumps(run_login(Module(params))))
    """
)


def params(user: UnixUser | None, home: Path, token: str = TOKEN, **changes: object) -> dict:
    return login_params(**{
        "username": "octocat",
        "password": token,
        "user": user.name if user else None,
        "docker_config_path": None if user else str(home / ".docker" / "config.json"),
        "podman_auth_path": None if user else str(home / ".config" / "containers" / "auth.json"),
        "sync_runtime_auth": False,
        **changes,
    })


def run_child(step: str, module_params: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(COLLECTIONS_DIR), step],
        input=json.dumps(module_params),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def secret_files(root: Path, *secrets: str) -> list[Path]:
    """Every file under ``root`` that holds one of the secrets in any form a client would read."""
    forms = [form.encode() for secret in secrets for form in (secret, encode_auth("octocat", secret))]
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and any(form in path.read_bytes() for form in forms):
            found.append(path)
    return sorted(found)


def next_run(tmp_path: Path, user: UnixUser | None, home: Path, **args: object) -> dict:
    wanted = ("registry", "username", "password", "state", "user", "engines", "docker_config_path", "podman_auth_path", "backup")
    task_args = {key: value for key, value in params(user, home, "{{ pat }}", **args).items() if key in wanted and value is not None}
    if task_args.get("state") == "absent":
        task_args.pop("username", None), task_args.pop("password", None)
    run = run_tasks(tmp_path / "next", [login_task(**task_args)], secrets={"pat": TOKEN})
    assert not run.result.get("failed"), run.result
    assert_no_secret(run.output + json.dumps(run.results), "octocat", TOKEN)
    return run.result


@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("step", ["temp-written", "before-rename"])
def test_a_run_killed_after_writing_the_temporary_file_is_swept_by_the_next(tmp_path: Path, step: str, state: str) -> None:
    home = tmp_path / "home"
    killed = run_child(step, params(None, home))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    leftovers = [path for path in secret_files(home, TOKEN) if ".tmp-" in path.name]
    assert leftovers, "the kill left a temporary file holding the credential (the case under test)"
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in leftovers), "temporary files are private"
    result = next_run(tmp_path, None, home, state=state, username=None if state == "absent" else "octocat")
    assert result["changed"], "removing a leftover that holds a secret is a change"
    assert sorted(result.get("leftovers_removed", [])) == sorted(str(path) for path in leftovers)
    remaining = secret_files(home, TOKEN)
    if state == "absent":
        assert remaining == []
    else:
        assert remaining == sorted([home / ".docker" / "config.json", home / ".config" / "containers" / "auth.json"])
    for path in home.rglob("*.json"):
        json.loads(path.read_text())


def test_check_mode_reports_leftovers_and_removes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_child("before-rename", params(None, home)).returncode == -signal.SIGKILL
    leftovers = [path for path in secret_files(home, TOKEN) if ".tmp-" in path.name]
    wanted = ("registry", "username", "password", "docker_config_path", "podman_auth_path")
    task = login_task(**{key: value for key, value in params(None, home, "{{ pat }}").items() if key in wanted})
    run = run_tasks(tmp_path / "check", [{**task, "check_mode": True}], secrets={"pat": TOKEN})
    assert run.result["changed"] and sorted(run.result["leftovers_removed"]) == sorted(str(path) for path in leftovers), run.result
    assert all(path.exists() for path in leftovers)


def test_a_backup_interrupted_before_its_rename_is_swept(tmp_path: Path) -> None:
    home = tmp_path / "home"
    docker_file = home / ".docker" / "config.json"
    docker_file.parent.mkdir(parents=True)
    docker_file.write_text(json.dumps({"auths": {"ghcr.io": {"auth": encode_auth("octocat", OLD)}}}))
    killed = run_child("backup-written", params(None, home, engines=["docker"], backup=True))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert [path for path in secret_files(home, OLD) if ".tmp-" in path.name], "the half-made backup holds the old token"
    result = next_run(tmp_path, None, home, engines=["docker"])
    assert secret_files(home, OLD) == [], "no copy of the old token is left"
    assert result["backup_files"] == []


def test_a_run_killed_before_a_new_directory_is_handed_over_leaves_nothing_in_the_users_way(tmp_path: Path, user: UnixUser) -> None:
    killed = run_child("before-chown", params(user, user.home))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (user.home / ".docker").exists(), "the directory comes into place only once it is the user's"
    assert [path for path in user.home.iterdir() if ".tmpdir-" in path.name], "the kill left a temporary directory (the case under test)"
    own_login = subprocess.run(
        ["runuser", "-u", user.name, "--", "mkdir", "-p", str(user.home / ".docker")], capture_output=True, text=True, check=False
    )
    assert own_login.returncode == 0, "the user can still make their own ~/.docker"
    os.rmdir(user.home / ".docker")
    next_run(tmp_path, user, user.home)
    assert [path.name for path in user.home.iterdir() if ".tmpdir-" in path.name] == []
    for directory in (user.home / ".docker", user.home / ".config", user.home / ".config" / "containers"):
        info = directory.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (user.uid, 0o700), directory


def test_a_root_owned_directory_we_did_not_make_is_still_refused(tmp_path: Path, user: UnixUser) -> None:
    (user.home / ".docker").mkdir()
    task = login_task(registry="ghcr.io", username="octocat", password="{{ pat }}", user=user.name, engines=["docker"])
    run = run_tasks(tmp_path / "run", [task], secrets={"pat": TOKEN})
    assert run.result.get("failed") and ".docker" in run.result["msg"], run.result


def test_a_user_without_a_home_gets_a_clear_error_and_nothing_is_created(tmp_path: Path, user: UnixUser) -> None:
    subprocess.run(["rm", "-rf", str(user.home)], check=True)
    run = run_tasks(tmp_path / "run", [login_task(registry="ghcr.io", username="octocat", password="{{ pat }}", user=user.name)], secrets={"pat": TOKEN})
    assert run.result.get("failed") and "home directory" in run.result["msg"] and str(user.home) in run.result["msg"], run.result
    assert not user.home.exists()
    absent = run_tasks(tmp_path / "absent", [login_task(registry="ghcr.io", state="absent", user=user.name)])
    assert not absent.result.get("failed") and not absent.result["changed"], absent.result


# --------------------------------------------------------------------------- a full disk


@pytest.fixture
def small_disk(tmp_path: Path):
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(mount)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"these tests mount a small tmpfs as root: mount failed: {proc.stderr}", pytrace=False)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def fill(mount: Path, leave: int) -> None:
    """Fill the file system until fewer than ``leave`` bytes are free."""
    filler = mount / "filler"
    with filler.open("wb") as handle:
        while os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize > leave:
            handle.write(b"\0" * 4096)
            handle.flush()


@pytest.mark.parametrize("backup", [False, True])
def test_a_full_disk_fails_cleanly(tmp_path: Path, small_disk: Path, backup: bool) -> None:
    config = small_disk / "config.json"
    entries = {f"registry-{index}.example": {"auth": encode_auth("someone", f"ghp_{index:036d}")} for index in range(400)}
    config.write_text(json.dumps({"auths": {**entries, "ghcr.io": {"auth": encode_auth("octocat", OLD)}}}, indent="\t"))
    config.chmod(0o600)
    before = config.read_bytes()
    fill(small_disk, leave=len(before) // 2)
    run = run_tasks(
        tmp_path / "run",
        [login_task(registry="ghcr.io", username="octocat", password="{{ pat }}", engines=["docker"], docker_config_path=str(config), backup=backup)],
        secrets={"pat": TOKEN},
    )
    assert run.result.get("failed") and "No space left on device" in run.result["msg"], run.result
    assert run.result["backup_files"] == [] and not run.result["changed"]
    assert config.read_bytes() == before
    assert sorted(path.name for path in small_disk.iterdir()) == ["config.json", "filler"], "no temporary file and no partial backup"
    assert "Traceback" not in run.output


# --------------------------------------------------------------------------- planted files


def test_a_huge_sparse_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = home / ".docker" / "config.json"
    config.parent.mkdir(parents=True)
    with config.open("wb") as handle:
        handle.truncate(2 * 1024**3)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(COLLECTIONS_DIR), "none"],
        input=json.dumps(params(None, home, engines=["docker"])),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert child.returncode != 0 and "more than" in child.stderr and "4194304 bytes" in child.stderr, child.stderr
    assert peak_kib < 200 * 1024, f"the run's peak memory was {peak_kib} KiB"
    started = time.monotonic()
    task = login_task(registry="ghcr.io", username="octocat", password="{{ pat }}", engines=["docker"], docker_config_path=str(config))
    run = run_tasks(tmp_path / "run", [task], secrets={"pat": TOKEN})
    assert run.result.get("failed") and "more than the 4194304 bytes" in run.result["msg"], run.result
    assert time.monotonic() - started < 60
    assert config.stat().st_size == 2 * 1024**3


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    home = tmp_path / "home"
    fifo = home / ".docker" / "config.json"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    task = login_task(registry="ghcr.io", username="octocat", password="{{ pat }}", engines=["docker"], docker_config_path=str(fifo))
    run = run_tasks(tmp_path / "run", [task], secrets={"pat": TOKEN}, timeout=120)
    assert run.result.get("failed") and "not a regular file" in run.result["msg"], run.result
