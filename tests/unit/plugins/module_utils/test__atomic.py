"""Unit tests for plugins/module_utils/_atomic.py: safe resolution rules and atomic replacement."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from ansible_collections.fleet.ghcr.plugins.module_utils import _atomic
from ansible_collections.fleet.ghcr.plugins.module_utils._atomic import _Guard, open_target
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, UnsafePathError
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import Account

ALICE = Account(name="alice", uid=1500, gid=1500, home="/home/alice")


def fake_stat(uid: int, mode: int, gid: int | None = None) -> os.stat_result:
    return os.stat_result((mode, 1, 1, 1, uid, uid if gid is None else gid, 0, 0, 0, 0))


DIR = stat.S_IFDIR
FILE = stat.S_IFREG


@pytest.mark.parametrize(
    ("uid", "mode", "gid", "allowed"),
    [
        (0, DIR | 0o755, 0, True),
        (1500, DIR | 0o700, 1500, True),
        (0, DIR | 0o1777, 0, True),  # /tmp: sticky
        (1500, DIR | 0o770, 1500, True),  # the user's private group
        (0, DIR | 0o775, 1500, False),  # root's directory the user's group may write: the user could rename root's files
        (1500, DIR | 0o775, 100, False),  # a shared group could swap entries
        (0, DIR | 0o777, 0, False),
        (1600, DIR | 0o700, 1600, False),  # a third user
        (1600, FILE | 0o600, 1600, False),
    ],
)
def test_guard_check(uid: int, mode: int, gid: int, allowed: bool) -> None:
    guard = _Guard(ALICE, strict=True)
    if allowed:
        guard.check("/x", fake_stat(uid, mode, gid))
    else:
        with pytest.raises(UnsafePathError, match="Refusing"):
            guard.check("/x", fake_stat(uid, mode, gid))


def test_guard_final_rules_apply_once_in_user_territory() -> None:
    guard = _Guard(ALICE, strict=True)
    guard.check_final("/etc", fake_stat(0, DIR | 0o755), fake_stat(0, FILE | 0o600))  # all root: fine
    guard.check("/home/alice", fake_stat(1500, DIR | 0o700))
    guard.check_final("/home/alice/.docker", fake_stat(1500, DIR | 0o700), fake_stat(1500, FILE | 0o600))
    with pytest.raises(UnsafePathError, match="belongs to uid 0"):
        guard.check_final("/etc", fake_stat(0, DIR | 0o755), None)
    with pytest.raises(UnsafePathError, match=r"the file in /home/alice/\.docker belongs to uid 0"):
        guard.check_final("/home/alice/.docker", fake_stat(1500, DIR | 0o700), fake_stat(0, FILE | 0o600))


def test_guard_is_inert_when_not_strict() -> None:
    guard = _Guard(ALICE, strict=False)
    guard.check("/x", fake_stat(1600, DIR | 0o777))
    guard.check_final("/x", fake_stat(1600, DIR | 0o777), fake_stat(1600, FILE | 0o666))


def me(home: Path) -> Account:
    return Account(name="me", uid=os.geteuid(), gid=os.getegid(), home=str(home))


def test_missing_directories_are_created_0700_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "config.json"
    assert open_target(str(path), me(tmp_path), create_dirs=False) is None
    assert not (tmp_path / "a").exists()
    with open_target(str(path), me(tmp_path), create_dirs=True) as target:
        assert target.read() == (None, None)
        target.replace(b"{}", mode=0o600, uid=os.geteuid(), gid=os.getegid())
    assert path.read_bytes() == b"{}"
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_replace_is_a_rename_so_hard_links_keep_the_old_content(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b"old")
    (tmp_path / "other-name").hardlink_to(path)
    with open_target(str(path), me(tmp_path), create_dirs=False) as target:
        target.replace(b"new", mode=0o600, uid=os.geteuid(), gid=os.getegid())
    assert path.read_bytes() == b"new"
    assert (tmp_path / "other-name").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "other-name"], "no temporary file is left"


def test_symlinks_are_followed_and_the_target_is_replaced(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "docker.json"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / ".docker" / "config.json"
    link.parent.mkdir()
    link.symlink_to("../dotfiles/docker.json")
    with open_target(str(link), me(tmp_path), create_dirs=False) as target:
        assert target.read()[0] == b"old"
        target.replace(b"new", mode=0o600, uid=os.geteuid(), gid=os.getegid())
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_backup_keeps_a_private_copy(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b"old")
    path.chmod(0o644)
    with open_target(str(path), me(tmp_path), create_dirs=False) as target:
        data, info = target.read()
        backup = Path(target.backup(data, info))
    assert backup.read_bytes() == b"old" and stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert backup.name.startswith("config.json.") and backup.name.endswith("~")


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_non_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "config.json"
    path.mkdir() if kind == "directory" else os.mkfifo(path)
    with pytest.raises(AuthFileError, match="not a regular file"):
        open_target(str(path), me(tmp_path), create_dirs=False)


def test_a_file_in_the_way_of_a_directory(tmp_path: Path) -> None:
    (tmp_path / ".docker").write_text("")
    with pytest.raises(AuthFileError, match="not a directory"):
        open_target(str(tmp_path / ".docker" / "config.json"), me(tmp_path), create_dirs=True)


def test_link_loops_are_reported(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(AuthFileError, match="Too many symbolic links"):
        open_target(str(tmp_path / "loop"), me(tmp_path), create_dirs=False)


def test_a_file_that_appears_after_resolution_is_checked_again(tmp_path: Path) -> None:
    """In a sticky directory, a third user's file created between resolving and reading is refused."""
    if os.geteuid() != 0:
        pytest.fail("this test needs root: it plays root writing for another user")
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    path = sticky / "auth.json"
    with open_target(str(path), ALICE, create_dirs=False) as target:
        path.write_text("{}")
        os.chown(path, 65534, 65534)
        with pytest.raises(UnsafePathError, match="belongs to uid 65534"):
            target.read()


def current_account() -> Account:
    import pwd

    entry = pwd.getpwuid(os.geteuid())
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)


def test_backups_are_written_whole_and_only_the_newest_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.json"
    path.write_text("{}")
    stamps = iter(f"2026-12-01@10:00:0{second}" for second in range(9))
    monkeypatch.setattr(_atomic.time, "strftime", lambda _layout: next(stamps))
    (tmp_path / "config.json.4242.2099-01-01@00:00:00~").write_text("ansible.builtin's backup naming: never ours")
    made = []
    for index in range(7):
        with open_target(str(path), current_account(), create_dirs=False) as target:
            made.append(target.backup(f"content {index}".encode(), os.stat(path)))
    kept = sorted(name for name in os.listdir(tmp_path) if name.endswith(".ghcr~"))
    assert kept == sorted(os.path.basename(name) for name in made[-_atomic.BACKUPS_KEPT:])
    assert (tmp_path / "config.json.4242.2099-01-01@00:00:00~").exists()
    newest = Path(made[-1])
    assert newest.read_text() == "content 6" and stat.S_IMODE(newest.stat().st_mode) == 0o600
    assert not [name for name in os.listdir(tmp_path) if ".tmp-" in name]


def test_the_backup_just_made_is_kept_whatever_the_clock_says(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{}")
    for second in range(_atomic.BACKUPS_KEPT):
        future = tmp_path / f"config.json.2099-01-01@00:00:0{second}.1.ghcr~"
        future.write_text("old")
        os.utime(future, ns=(4102444800 * 10**9 + second, 4102444800 * 10**9 + second))
    with open_target(str(path), current_account(), create_dirs=False) as target:
        made = target.backup(b"current", os.stat(path))
    assert Path(made).read_text() == "current"
    assert len([name for name in os.listdir(tmp_path) if name.endswith(".ghcr~")]) == _atomic.BACKUPS_KEPT


def test_leftovers_are_recognised_by_name_only_for_this_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    for name in (".config.json.tmp-12-345", ".config.json.tmp-1-2", ".auth.json.tmp-1-2", ".config.json.tmp-x-2", "config.json.tmp-1-2"):
        (tmp_path / name).write_text("secret")
    (tmp_path / ".config.json.tmp-7-7").mkdir()  # not a file: not ours to remove, and no reason to fail
    expected = [str(tmp_path / ".config.json.tmp-1-2"), str(tmp_path / ".config.json.tmp-12-345")]
    with open_target(str(path), current_account(), create_dirs=False) as target:
        assert target.leftovers() == expected
        assert target.sweep(target.leftovers()) == expected
    assert sorted(os.listdir(tmp_path)) == [".auth.json.tmp-1-2", ".config.json.tmp-7-7", ".config.json.tmp-x-2", "config.json.tmp-1-2"]


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    with path.open("wb") as handle:
        handle.truncate(_atomic.MAX_FILE_SIZE + 1)
    limit = f"more than the {_atomic.MAX_FILE_SIZE} bytes"
    with open_target(str(path), current_account(), create_dirs=False) as target, pytest.raises(AuthFileError, match=limit):
        target.read()


def test_new_directories_come_into_place_whole_and_leftovers_are_swept(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / f"..docker.tmpdir-{dead.pid}-2").mkdir()  # what a run killed while making .docker leaves
    target = open_target(str(tmp_path / ".docker" / "config.json"), current_account(), create_dirs=True)
    assert target is not None
    target.__exit__()
    assert sorted(os.listdir(tmp_path)) == [".docker"] and stat.S_IMODE((tmp_path / ".docker").stat().st_mode) == 0o700


def test_a_temporary_directory_of_a_live_run_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / f"..docker.tmpdir-{os.getpid()}-2").mkdir()  # a parallel run creating .docker right now
    target = open_target(str(tmp_path / ".docker" / "config.json"), current_account(), create_dirs=True)
    assert target is not None
    target.__exit__()
    assert sorted(os.listdir(tmp_path)) == [f"..docker.tmpdir-{os.getpid()}-2", ".docker"]


def test_a_missing_home_is_never_created(tmp_path: Path) -> None:
    account = current_account()._replace(home=str(tmp_path / "home"))
    with pytest.raises(AuthFileError, match=r"home directory .* does not exist"):
        open_target(str(tmp_path / "home" / ".docker" / "config.json"), account, create_dirs=True)
    assert os.listdir(tmp_path) == []
