# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Locked, atomic, owner-preserving file replacement that a user cannot redirect.

Paths are resolved one component at a time through directory file descriptors, so what was checked is
what gets written. As root, every directory, link and file on the way must belong to root or to the
account the file is for; once the path enters that account's territory, the file must end up in a
directory the account owns. A user can therefore make root write only where they could write
themselves. Symbolic links are followed (as Docker does), under those rules.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import posixpath
import re
import stat
import time
from collections.abc import Iterator
from typing import NamedTuple

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, UnsafePathError
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import Account, missing_home_message

NEW_FILE_MODE = 0o600
NEW_DIR_MODE = 0o700
LOCK_TIMEOUT = 60  # seconds to wait for parallel writers of the same directory
MAX_FILE_SIZE = 4 * 1024 * 1024  # bytes; an auth file holds a few KiB, a larger one is refused before it is read
BACKUPS_KEPT = 5  # per file: older backups made by this module (they hold old credentials) are removed
_SELINUX_LABEL = "security.selinux"
_MAX_LINKS = 40
_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _Step(NamedTuple):
    path: str
    fd: int


class _Guard:
    """Ownership rules for a privileged walk (see the module docstring); a no-op when not root."""

    def __init__(self, account: Account, strict: bool) -> None:
        self.account = account
        self.strict = strict
        self.entered_user_territory = False

    def check(self, path: str, info: os.stat_result, final: bool = False) -> None:
        """Refuse what another user controls; a directory or link of the account marks the account's territory.

        The final file does not mark it: a file of the account in a root-owned directory (for example
        /etc/containers/auth.json written for a service user) cannot be swapped by the account.
        """
        if not self.strict:
            return
        owner = info.st_uid
        if owner not in (0, self.account.uid):
            raise UnsafePathError(
                f"Refusing to use {path}: it belongs to uid {owner}, not to root or {self.account.name}, so as root"
                f" that user could redirect the write. Fix the ownership or choose another path."
            )
        if stat.S_ISDIR(info.st_mode) and self._shared_writable(info):
            raise UnsafePathError(
                f"Refusing to use {path}: the directory is writable by group or others without the sticky bit,"
                " so other users could swap what is in it. Tighten its mode or choose another path."
            )
        if owner != 0 and not final:
            self.entered_user_territory = True

    def _shared_writable(self, info: os.stat_result) -> bool:
        """Whether users other than the owner may swap entries.

        Group write counts as private only on the account's own directory with the account's own group
        (the user-private-group scheme); on a root-owned directory it would let the account rename root's files.
        """
        if info.st_mode & stat.S_ISVTX:
            return False
        private_group = info.st_uid == self.account.uid and info.st_gid == self.account.gid and self.account.uid != 0
        return bool(info.st_mode & 0o002 or (info.st_mode & 0o020 and not private_group))

    def check_final(self, dir_path: str, dir_info: os.stat_result, file_info: os.stat_result | None) -> None:
        if not (self.strict and self.entered_user_territory):
            return
        for what, info in ((dir_path, dir_info), (f"the file in {dir_path}", file_info)):
            if info is not None and info.st_uid != self.account.uid:
                raise UnsafePathError(
                    f"Refusing to use {dir_path}: the path passes through {self.account.name}'s files, but"
                    f" {what} belongs to uid {info.st_uid}, so as root {self.account.name} could redirect the access"
                    f" onto a file they cannot write. Make it belong to {self.account.name} (a 'sudo docker login'"
                    " can leave a root-owned file behind) or remove it, then run again."
                )


class TargetFile:
    """An auth file pinned by the descriptor of its directory; use as a context manager."""

    def __init__(self, path: str, dir_step: _Step, name: str, account: Account, guard: _Guard) -> None:
        self.path = path
        self.dir_path = dir_step.path
        self._dir_fd = dir_step.fd
        self.name = name
        self.account = account
        self._guard = guard
        self._read_identity: tuple[int, int] | None = None

    def __enter__(self) -> TargetFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self._dir_fd)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise writers of this directory (advisory ``flock`` on the directory, no lock file left behind)."""
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self._dir_fd)
        try:
            self._wait_for_lock(fd)
            yield
        finally:
            os.close(fd)

    def _wait_for_lock(self, fd: int) -> None:
        """A bounded wait: the directory may belong to a user who holds a lock on it forever."""
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AuthFileError(f"Another process has held the lock on {self.dir_path} for {LOCK_TIMEOUT} s; run again later.") from None
                time.sleep(0.05)

    def read(self) -> tuple[bytes | None, os.stat_result | None]:
        """The file's bytes and status, or ``(None, None)`` when it does not exist.

        What is not a regular file is refused without reading from it (opened non-blocking, so a FIFO cannot hang
        the run), and so is a file larger than MAX_FILE_SIZE, before its content is read.
        """
        try:
            fd = os.open(self.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=self._dir_fd)
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePathError(f"{self.path} was replaced by a symbolic link while it was being updated; run again.") from None
            raise AuthFileError(f"Cannot read {self.path}: {exc.strerror}.") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise AuthFileError(f"{self.path} is not a regular file; it was left unchanged.")
            self._guard.check(self.path, info, final=True)
            self._guard.check_final(self.dir_path, os.fstat(self._dir_fd), info)
            self._read_identity = (info.st_dev, info.st_ino)
            data = handle.read(MAX_FILE_SIZE + 1) if info.st_size <= MAX_FILE_SIZE else b""
            if info.st_size > MAX_FILE_SIZE or len(data) > MAX_FILE_SIZE:
                raise AuthFileError(
                    f"{self.path} is {max(info.st_size, len(data))} bytes, more than the {MAX_FILE_SIZE} bytes an auth file may have;"
                    " it was left unchanged: check what wrote it, then remove or shrink it."
                )
            return data, info

    def leftovers(self) -> list[str]:
        """Temporary files that a killed run left beside the file (each may hold credentials), as paths.

        Only files and links by that name count: anything else is not ours to remove.
        """
        pattern = re.compile(rf"\.{re.escape(self.name)}\.tmp-[0-9]+-[0-9]+")
        found = []
        for name in sorted(filter(pattern.fullmatch, self._names())):
            info = _lstat(name, self._dir_fd)
            if info is not None and (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
                found.append(posixpath.join(self.dir_path, name))
        return found

    def sweep(self, paths: list[str]) -> list[str]:
        """Remove the given leftovers (unlinked, never followed); the paths of those that were there."""
        removed = []
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(posixpath.basename(path), dir_fd=self._dir_fd)
                removed.append(path)
        if removed:
            self._sync_directory()
        return removed

    def replace(self, data: bytes, *, mode: int, uid: int, gid: int) -> None:
        """Write ``data`` to a temporary file beside the target, fsync it and rename it over the target.

        The new file keeps the SELinux label of the one it replaces, as Ansible's own ``atomic_move`` does.
        """
        temp = self._write_temp(data, mode, uid, gid, label_from=self.name)
        self._rename_temp(temp, self.name)

    def backup(self, data: bytes, info: os.stat_result) -> str:
        """Keep a timestamped 0600 copy of the current content beside the file, written like the file itself.

        Older backups of this file beyond BACKUPS_KEPT are removed. Returns the new backup's path.
        """
        name = f"{self.name}.{time.strftime('%Y-%m-%d@%H:%M:%S')}.{os.getpid()}.ghcr~"
        self._rename_temp(self._write_temp(data, NEW_FILE_MODE, info.st_uid, info.st_gid), name)
        pattern = re.compile(rf"{re.escape(self.name)}\.[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}@[0-9:]{{8}}\.[0-9]+\.ghcr~")
        older = []
        for other in filter(pattern.fullmatch, self._names()):
            found = _lstat(other, self._dir_fd)
            if other != name and found is not None and stat.S_ISREG(found.st_mode):
                older.append((found.st_mtime_ns, other))
        for _mtime, old in sorted(older)[: max(len(older) - (BACKUPS_KEPT - 1), 0)]:  # the new one always stays
            with contextlib.suppress(FileNotFoundError):
                os.unlink(old, dir_fd=self._dir_fd)
        return posixpath.join(self.dir_path, name)

    def remove(self, path: str) -> None:
        """Remove a file this run made beside the target (a backup whose change then failed)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(posixpath.basename(path), dir_fd=self._dir_fd)

    def _write_temp(self, data: bytes, mode: int, uid: int, gid: int, label_from: str | None = None) -> str:
        """A new 0600 temporary file holding ``data``, fsynced, with its final owner and mode; removed on any failure."""
        temp = f".{self.name}.tmp-{os.getpid()}-{time.monotonic_ns()}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, NEW_FILE_MODE, dir_fd=self._dir_fd)
        try:
            with os.fdopen(fd, "wb") as handle:
                self._set_owner_and_mode(handle.fileno(), mode, uid, gid)
                if label_from:
                    self._copy_label(label_from, handle.fileno())
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=self._dir_fd)
            raise
        return temp

    def _rename_temp(self, temp: str, name: str) -> None:
        try:
            os.rename(temp, name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=self._dir_fd)
            raise
        self._sync_directory()

    def _copy_label(self, name: str, fd: int) -> None:
        """Give ``fd`` the SELinux label of ``name`` (its extended attribute; nothing where there is none)."""
        try:
            label = os.getxattr(f"/proc/self/fd/{self._dir_fd}/{name}", _SELINUX_LABEL, follow_symlinks=False)
            os.setxattr(fd, _SELINUX_LABEL, label)
        except OSError:
            pass  # no SELinux, no label, or not allowed to set it: the file gets the directory's default label

    def _names(self) -> list[str]:
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self._dir_fd)
        try:
            return os.listdir(fd)
        finally:
            os.close(fd)

    def chmod(self, mode: int) -> None:
        """Change the mode of the file that read() returned, and of no other."""
        fd = os.open(self.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=self._dir_fd)
        try:
            info = os.fstat(fd)
            if (info.st_dev, info.st_ino) != self._read_identity:
                raise UnsafePathError(f"{self.path} was replaced while it was being updated; run again.")
            os.fchmod(fd, mode)
        finally:
            os.close(fd)

    @staticmethod
    def _set_owner_and_mode(fd: int, mode: int, uid: int, gid: int) -> None:
        if os.geteuid() == 0 and (uid, gid) != (0, 0):
            os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)

    def _sync_directory(self) -> None:
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self._dir_fd)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def open_target(path: str, account: Account, *, create_dirs: bool) -> TargetFile | None:
    """Resolve ``path`` safely; ``None`` when a directory on the way is missing and may not be created.

    Missing directories are created 0700 and owned by ``account`` when ``create_dirs`` is true.
    """
    guard = _Guard(account, strict=os.geteuid() == 0)
    walker = _Walker(account, guard, create_dirs)
    try:
        found = walker.walk(path)
    except BaseException:
        walker.close_all()
        raise
    if found is None:
        walker.close_all()
        return None
    dir_step, name = found
    walker.close_all(keep=dir_step)
    return TargetFile(path, dir_step, name, account, guard)


def read_file(path: str, account: Account, with_status: bool = False):
    """The bytes of the auth file at ``path`` (read under the same rules as a write), or None when it does not exist.

    With ``with_status``, ``(bytes, os.stat_result)``, or ``(None, None)``.
    """
    target = open_target(path, account, create_dirs=False)
    found: tuple[bytes | None, os.stat_result | None] = (None, None)
    if target is not None:
        with target:
            found = target.read()
    return found if with_status else found[0]


class _Walker:
    """Resolves a path component by component, following links, creating missing directories if asked."""

    def __init__(self, account: Account, guard: _Guard, create_dirs: bool) -> None:
        self.account = account
        self.guard = guard
        self.create_dirs = create_dirs
        self.stack = [_Step("/", os.open("/", _DIR_FLAGS))]
        self.links = 0

    def close_all(self, keep: _Step | None = None) -> None:
        for step in self.stack:
            if step is not keep:
                os.close(step.fd)
        self.stack = []

    def walk(self, path: str) -> tuple[_Step, str] | None:
        pending = _components(path)
        while pending:
            name = pending.pop(0)
            current = self.stack[-1]
            if name == "..":
                self._up()
                continue
            child_path = posixpath.join(current.path, name)
            info = _lstat(name, current.fd)
            if info is not None and stat.S_ISLNK(info.st_mode):
                pending[:0] = self._follow(child_path, name, current, info)
                continue
            if not pending:
                return self._final(current, name, child_path, info)
            if info is None and not self.create_dirs:
                return None
            self._enter(current, name, child_path, info)
        raise AuthFileError(f"{path} does not name a file.")

    def _up(self) -> None:
        if len(self.stack) > 1:
            os.close(self.stack.pop().fd)

    def _follow(self, link_path: str, name: str, current: _Step, info: os.stat_result) -> list[str]:
        self.links += 1
        if self.links > _MAX_LINKS:
            raise AuthFileError(f"Too many symbolic links while resolving {link_path}.")
        self.guard.check(link_path, info)
        target = os.readlink(name, dir_fd=current.fd)
        if target.startswith("/"):
            root = self.stack[0]
            self.close_all(keep=root)
            self.stack = [root]
        return _components(target)

    def _final(self, current: _Step, name: str, path: str, info: os.stat_result | None) -> tuple[_Step, str]:
        if info is not None and not stat.S_ISREG(info.st_mode):
            raise AuthFileError(f"{path} exists but is not a regular file; it was left unchanged.")
        if info is not None:
            self.guard.check(path, info, final=True)
        self.guard.check_final(current.path, os.fstat(current.fd), info)
        self.stack.remove(current)
        return current, name

    def _enter(self, current: _Step, name: str, path: str, info: os.stat_result | None) -> None:
        if info is None:
            info = self._make_dir(current, name, path)
        if not stat.S_ISDIR(info.st_mode):
            raise AuthFileError(f"{path} is in the way: it is not a directory.")
        self.guard.check(path, info)
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=current.fd)
        except OSError as exc:
            raise AuthFileError(f"Cannot open {path}: {exc.strerror}.") from None
        opened = os.fstat(fd)
        self.stack.append(_Step(path, fd))
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise UnsafePathError(f"{path} changed while it was being resolved; run again.")

    def _make_dir(self, current: _Step, name: str, path: str) -> os.stat_result:
        """Create a missing directory: the account's own (0700) inside its territory, else root's (0755).

        Root never hands the account a directory outside its own: a directory created under /etc for a
        service user's file stays root's, so that user gains no say over /etc. The directory is made under a
        temporary name, given its mode and owner, and only then renamed into place, so a run killed halfway
        never leaves a half-made directory in the account's way (the next run removes the temporary one).
        The account's home directory itself is never created.
        """
        if path == posixpath.normpath(self.account.home):
            raise AuthFileError(missing_home_message(self.account))
        parent = os.fstat(current.fd)
        for_another = os.geteuid() == 0 and self.account.uid != 0
        give_away = for_another and parent.st_uid == self.account.uid
        mode = 0o755 if for_another and not give_away else NEW_DIR_MODE
        _sweep_temp_dirs(current.fd, name)
        temp = f".{name}.tmpdir-{os.getpid()}-{time.monotonic_ns()}"
        try:
            os.mkdir(temp, mode, dir_fd=current.fd)
        except OSError as exc:
            raise AuthFileError(f"Cannot create the directory {path}: {exc.strerror}.") from None
        try:
            self._settle_new_dir(current, temp, path, mode, give_away)
            _rename_noreplace(current.fd, temp, name)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.rmdir(temp, dir_fd=current.fd)
            if not isinstance(exc, FileExistsError):  # another run made it meanwhile: use theirs
                raise
        info = _lstat(name, current.fd)
        if info is None:
            raise AuthFileError(f"The directory {path} vanished while it was being created; run again.")
        return info

    def _settle_new_dir(self, current: _Step, name: str, path: str, mode: int, give_away: bool) -> None:
        """Set the intended mode (despite the umask) and owner through a descriptor of the new directory."""
        try:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=current.fd)
        except OSError as exc:
            raise UnsafePathError(f"The new directory {path} was replaced while it was being created; run again ({exc.strerror}).") from None
        try:
            os.fchmod(fd, mode)
            if give_away:
                os.fchown(fd, self.account.uid, self.account.gid)
        finally:
            os.close(fd)


def _sweep_temp_dirs(dir_fd: int, name: str) -> None:
    """Remove the empty temporary directories that killed runs left while creating ``name``.

    A parallel run may be creating the same directory right now, so only a directory whose process is gone is removed.
    """
    pattern = re.compile(rf"\.{re.escape(name)}\.tmpdir-([0-9]+)-[0-9]+")
    try:
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return
    try:
        names = os.listdir(fd)
    finally:
        os.close(fd)
    for leftover in names:
        match = pattern.fullmatch(leftover)
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.rmdir(leftover, dir_fd=dir_fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, as another user's process
    return True


def _rename_noreplace(dir_fd: int, source: str, target: str) -> None:
    """Rename ``source`` to ``target`` unless ``target`` exists (FileExistsError), atomically where the kernel can.

    ``renameat2(RENAME_NOREPLACE)`` is not in Python's ``os``; without it (old libc, some file systems) the
    check and the rename are two steps.
    """
    try:
        import ctypes

        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (ImportError, OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        if renameat2(dir_fd, source.encode(), dir_fd, target.encode(), 1) == 0:  # 1: RENAME_NOREPLACE
            return
        error = ctypes.get_errno()
        if error == errno.EEXIST:
            raise FileExistsError(error, os.strerror(error), target)
        if error not in (errno.EINVAL, errno.ENOSYS):
            raise OSError(error, os.strerror(error), target)
    if _lstat(target, dir_fd) is not None:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target)
    os.rename(source, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def _components(path: str) -> list[str]:
    return [part for part in path.split("/") if part not in ("", ".")]


def _lstat(name: str, dir_fd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None


__all__ = ("BACKUPS_KEPT", "MAX_FILE_SIZE", "NEW_DIR_MODE", "NEW_FILE_MODE", "TargetFile", "open_target", "read_file")
