# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet.ghcr.ghcr_login run as root with ``user:`` naming a real, throwaway Unix account.

Covers what only shows up with a second account: default paths under the user's home, ownership of
what root creates, the refusal of every redirection the user (or a third user) could set up, the
symbolic links Docker itself follows, and Podman's runtime file under /run/user/UID.
"""

from __future__ import annotations

import grp
import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.ansible import PlaybookRun, assert_no_secret, login_task, run_tasks
from tests.support.authfiles import encode_auth
from tests.support.registry import random_token
from tests.support.users import UnixUser, require_root, unused_name

SEED_REF = "fleet/hello:1.0"


@pytest.fixture
def runtime_dir(user: UnixUser) -> Iterator[Path]:
    """/run/user/UID/containers of ``user`` (both 0700, owned by the user); removed afterwards if we made it."""
    base = Path(f"/run/user/{user.uid}")
    made_base = not base.exists()
    containers = base / "containers"
    made_containers = not containers.exists()
    for directory in (base, containers):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chown(directory, user.uid, user.gid)
        directory.chmod(0o700)
    try:
        yield containers
    finally:
        if made_base:
            shutil.rmtree(base, ignore_errors=True)
        elif made_containers:
            shutil.rmtree(containers, ignore_errors=True)


@pytest.fixture(scope="module")
def user_cert_dir(registry) -> Iterator[Path]:
    """The registry's CA in a --cert-dir any user can read (the fixture's own is under root's 0700 pytest dir)."""
    directory = Path(tempfile.mkdtemp(prefix="ghcrt-certs-"))
    try:
        directory.chmod(0o755)
        shutil.copyfile(registry.cert_dir / "ca.crt", directory / "ca.crt")
        (directory / "ca.crt").chmod(0o644)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- helpers ----------------------------------------------------------------------------------------------------


def login_for(server, user: UnixUser | str, secret: str = "{{ pat }}", check_mode: bool = False, **extra: object) -> dict:
    """A ghcr_login task run as root (connection local) on behalf of ``user``, with default paths unless given."""
    name = user if isinstance(user, str) else user.name
    args = {"registry": extra.pop("registry", server.host), "username": "octocat", "password": secret, "user": name, **extra}
    return {**login_task(**args), "check_mode": check_mode}


def absent_for(server, user: UnixUser, **extra: object) -> dict:
    return login_task(registry=server.host, state="absent", user=user.name, **extra)


def run_as_root(workdir: Path, server, tasks: list[dict], **secrets_: str) -> PlaybookRun:
    return run_tasks(workdir, tasks, secrets={"pat": server.users["octocat"], **secrets_}, options=["--diff"])


def no_leak(run: PlaybookRun, server, *other_tokens: str) -> None:
    text = run.output + run.log + json.dumps(run.results)
    for token in (server.users["octocat"], *other_tokens):
        assert_no_secret(text, "octocat", token)


def mkdir_owned(path: Path, owner: UnixUser | None, mode: int = 0o700) -> Path:
    """``path`` (and missing parents, same owner) with ``mode``; ``owner=None`` means root."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        directory.mkdir(mode=mode)
        if owner is not None:
            os.chown(directory, owner.uid, owner.gid)
        directory.chmod(mode)
    return path


def write_owned(path: Path, content: str, owner: UnixUser | None, mode: int = 0o600, gid: int | None = None) -> Path:
    path.write_text(content)
    if owner is not None:
        os.chown(path, owner.uid, owner.gid if gid is None else gid)
    path.chmod(mode)
    return path


def symlink_owned(link: Path, target: str, owner: UnixUser) -> Path:
    """A symbolic link as ``owner`` would have made it (root creates it, then lchown)."""
    os.symlink(target, link)
    os.lchown(link, owner.uid, owner.gid)
    return link


def auth_doc(**entries: tuple[str, str]) -> dict:
    return {"auths": {key: {"auth": encode_auth(*cred)} for key, cred in entries.items()}}


def doc_with(entries: dict[str, tuple[str, str]]) -> str:
    return json.dumps({"auths": {key: {"auth": encode_auth(*cred)} for key, cred in entries.items()}}, indent="\t")


def snapshot(path: Path) -> tuple[bytes, int, int, int, int]:
    info = path.lstat()
    return path.read_bytes(), info.st_mtime_ns, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid


def listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def owner_mode(path: Path) -> tuple[int, int, int]:
    info = path.lstat()
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def skopeo_as(user: UnixUser, authfile: Path, ref: str, cert_dir: Path) -> subprocess.CompletedProcess:
    """``skopeo inspect`` run by ``user`` (runuser, clean environment), so the user's own permissions apply."""
    env = [f"HOME={user.home}", f"USER={user.name}", f"LOGNAME={user.name}", "PATH=/usr/local/bin:/usr/bin:/bin"]
    skopeo = ["skopeo", "inspect", "--authfile", str(authfile), "--cert-dir", str(cert_dir), f"docker://{ref}"]
    argv = ["runuser", "-u", user.name, "--", "env", "-i", *env, *skopeo]
    return subprocess.run(argv, cwd=user.home, capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)


# -- 2. default paths, ownership, and the user's own client reads the result -------------------------------------


def test_root_logs_a_user_in_with_default_paths(tmp_path: Path, registry, user: UnixUser, user_cert_dir: Path) -> None:
    token = registry.users["octocat"]
    home_before = owner_mode(user.home)
    home_listing = listing(user.home)
    check = run_as_root(tmp_path / "check", registry, [login_for(registry, user, check_mode=True)])
    assert check.result["changed"] and not check.result.get("failed"), check.output[-3000:]
    assert [f["action"] for f in check.result["auth_files"]] == ["created", "created"]
    assert listing(user.home) == home_listing, "check mode as root created something in the user's home"

    run = run_as_root(tmp_path / "run", registry, [login_for(registry, user), login_for(registry, user)])
    first, again = run.results
    assert first["changed"] and not first.get("failed"), run.output[-3000:]
    assert first["auth_files"] == [
        {"path": str(user.docker_file), "engine": "docker", "action": "created", "via": "file"},
        {"path": str(user.podman_file), "engine": "podman", "action": "created", "via": "file"},
    ]
    assert not again["changed"] and [f["action"] for f in again["auth_files"]] == ["unchanged", "unchanged"]

    for path in (user.docker_file, user.podman_file):
        assert stat.S_ISREG(path.lstat().st_mode)
        assert owner_mode(path) == (user.uid, user.gid, 0o600), f"{path} must belong to {user.name} with mode 0600"
        assert json.loads(path.read_text()) == auth_doc(**{registry.host: ("octocat", token)})
        assert listing(path.parent) == [path.name], "no temporary, lock or backup file is left behind"
    for directory in (user.home / ".docker", user.home / ".config", user.home / ".config" / "containers"):
        assert owner_mode(directory) == (user.uid, user.gid, 0o700), f"{directory} must belong to {user.name} with mode 0700"
    assert owner_mode(user.home) == home_before, "the home directory itself is left alone"

    ref = f"{registry.host}/{SEED_REF}"
    for authfile in (user.docker_file, user.podman_file):
        inspected = skopeo_as(user, authfile, ref, user_cert_dir)
        assert inspected.returncode == 0, f"{user.name} cannot use {authfile}: {inspected.stderr}"
        assert json.loads(inspected.stdout)["Digest"] == registry.seeded[SEED_REF]
    no_leak(run, registry)
    no_leak(check, registry)


def test_tilde_in_a_path_option_means_the_target_users_home(tmp_path: Path, registry, user: UnixUser) -> None:
    run = run_as_root(tmp_path / "run", registry, [login_for(registry, user, engines=["docker"], docker_config_path="~/custom/config.json")])
    expected = user.home / "custom" / "config.json"
    assert run.result["changed"] and not run.result.get("failed"), run.output[-3000:]
    assert run.result["auth_files"][0]["path"] == str(expected)
    assert owner_mode(expected) == (user.uid, user.gid, 0o600)
    assert owner_mode(expected.parent) == (user.uid, user.gid, 0o700)
    assert not Path("/root/custom").exists(), "~ must not be the home of the user the module runs as"
    no_leak(run, registry)


# -- 3. an existing, too-open file keeps its owner ------------------------------------------------------------------


def test_existing_group_readable_file_keeps_its_owner_and_becomes_0600(tmp_path: Path, registry, user: UnixUser) -> None:
    other_gid = grp.getgrnam("users").gr_gid if _group_exists("users") else user.gid
    mkdir_owned(user.home / ".docker", user)
    write_owned(user.docker_file, doc_with({"quay.io": ("q", "keep")}), user, mode=0o640, gid=other_gid)
    run = run_as_root(tmp_path / "run", registry, [login_for(registry, user, engines=["docker"])])
    assert run.result["changed"] and not run.result.get("failed"), run.output[-3000:]
    assert [f["action"] for f in run.result["auth_files"]] == ["updated"]
    assert owner_mode(user.docker_file) == (user.uid, other_gid, 0o600), "owner and group are kept, the mode is tightened"
    assert any("mode 0640" in warning and "0600" in warning for warning in run.result.get("warnings", [])), run.result.get("warnings")
    assert json.loads(user.docker_file.read_text()) == auth_doc(**{"quay.io": ("q", "keep"), registry.host: ("octocat", registry.users["octocat"])})
    no_leak(run, registry)


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


# -- 4. redirections root must refuse ---------------------------------------------------------------------------------

VICTIM_DOC = doc_with({"victim.example": ("victim", "do-not-touch")})


@dataclass
class Attack:
    victims: list[Path]  # files whose bytes, mtime, mode and owner must not change
    watched: list[Path]  # directories where nothing may appear or vanish
    expect: list[str] = field(default_factory=list)  # further fragments of the failure message
    args: dict = field(default_factory=dict)


def _root_victim_dir(tmp_path: Path, with_file: bool = True) -> tuple[Path, Path]:
    victim_dir = mkdir_owned(tmp_path / "rootdir", None, 0o755)
    victim = victim_dir / "config.json"
    if with_file:
        write_owned(victim, VICTIM_DOC, None, 0o644)
    return victim_dir, victim


def attack_docker_dir_links_to_root_dir(user: UnixUser, make_user, tmp_path: Path) -> Attack:
    victim_dir, victim = _root_victim_dir(tmp_path)
    symlink_owned(user.home / ".docker", str(victim_dir), user)
    return Attack([victim], [victim_dir, user.home], [f"Refusing to use {victim_dir}", "belongs to uid 0"])


def attack_docker_dir_links_relatively_to_root_dir(user: UnixUser, make_user, tmp_path: Path) -> Attack:
    victim_dir, victim = _root_victim_dir(tmp_path)
    symlink_owned(user.home / ".docker", "../.." + str(victim_dir), user)  # /home/U/../.. is /
    return Attack([victim], [victim_dir, user.home], [f"Refusing to use {victim_dir}"])


def attack_docker_dir_links_to_empty_root_dir(user: UnixUser, make_user, tmp_path: Path) -> Attack:
    victim_dir, _victim = _root_victim_dir(tmp_path, with_file=False)
    symlink_owned(user.home / ".docker", str(victim_dir), user)
    return Attack([], [victim_dir, user.home], [f"Refusing to use {victim_dir}"])


def attack_config_links_to_root_file(user: UnixUser, make_user, tmp_path: Path) -> Attack:
    victim_dir = mkdir_owned(tmp_path / "etc-like", None, 0o755)
    victim = write_owned(victim_dir / "secret.json", VICTIM_DOC, None, 0o600)
    mkdir_owned(user.home / ".docker", user)
    symlink_owned(user.docker_file, str(victim), user)
    return Attack([victim], [victim_dir, user.home / ".docker"], [f"Refusing to use {victim_dir}"])


def attack_config_hard_links_root_file(user: UnixUser, make_user, tmp_path: Path) -> Attack:
    victim_dir = mkdir_owned(tmp_path / "etc-like", None, 0o755)
    victim = write_owned(victim_dir / "secret.json", VICTIM_DOC, None, 0o600)
    mkdir_owned(user.home / ".docker", user)
    os.link(victim, user.docker_file)  # what a user could do where fs.protected_hardlinks=0
    return Attack([victim], [victim_dir, user.home / ".docker"], ["belongs to uid 0"])


def attack_root_owned_config_in_users_dir(user: UnixUser, make_user, tmp_path: Path) -> Attack:
    mkdir_owned(user.home / ".docker", user)
    victim = write_owned(user.docker_file, VICTIM_DOC, None, 0o600)
    return Attack([victim], [user.home / ".docker"], ["belongs to uid 0", f"Make it belong to {user.name}", "sudo docker login"])


def attack_root_owned_docker_dir_and_config(user: UnixUser, make_user, tmp_path: Path) -> Attack:
    mkdir_owned(user.home / ".docker", None)  # what `sudo docker login` with the user's HOME leaves behind
    victim = write_owned(user.docker_file, VICTIM_DOC, None, 0o600)
    return Attack([victim], [user.home / ".docker"], ["belongs to uid 0", f"Make it belong to {user.name}", "sudo docker login"])


def attack_docker_dir_links_into_third_users_home(user: UnixUser, make_user, tmp_path: Path) -> Attack:
    third = make_user()
    mkdir_owned(third.home / ".docker", third)
    victim = write_owned(third.docker_file, VICTIM_DOC, third, 0o600)
    symlink_owned(user.home / ".docker", str(third.home / ".docker"), user)
    return Attack([victim], [third.home / ".docker", user.home], [f"belongs to uid {third.uid}", f"not to root or {user.name}"])


def attack_explicit_path_through_third_users_dir(user: UnixUser, make_user, tmp_path: Path) -> Attack:
    third = make_user()
    mkdir_owned(third.home / ".docker", third)
    victim = write_owned(third.docker_file, VICTIM_DOC, third, 0o600)
    return Attack(
        [victim],
        [third.home / ".docker", third.home, user.home],
        [f"belongs to uid {third.uid}"],
        {"docker_config_path": str(third.docker_file)},
    )


def attack_config_links_to_third_users_file(user: UnixUser, make_user, tmp_path: Path) -> Attack:
    third = make_user()
    mkdir_owned(third.home / ".docker", third, 0o755)
    victim = write_owned(third.docker_file, VICTIM_DOC, third, 0o600)
    mkdir_owned(user.home / ".docker", user)
    symlink_owned(user.docker_file, str(third.docker_file), user)
    return Attack([victim], [third.home / ".docker", user.home / ".docker"], [f"belongs to uid {third.uid}"])


def attack_docker_dir_links_through_third_users_dir(user: UnixUser, make_user, tmp_path: Path) -> Attack:
    """Only the directory on the way is the third user's: they could rename ``inbox`` and put a link there."""
    third = make_user()
    drop = mkdir_owned(third.home / "drop", third, 0o755)
    inbox = mkdir_owned(drop / "inbox", user, 0o700)
    symlink_owned(user.home / ".docker", str(inbox), user)
    return Attack([], [drop, inbox, user.home], [f"Refusing to use {third.home}", f"belongs to uid {third.uid}", f"not to root or {user.name}"])


def attack_docker_dir_links_through_world_writable_dir(user: UnixUser, make_user, tmp_path: Path) -> Attack:
    """A root-owned directory anyone can write to without the sticky bit: anyone could swap ``inbox``."""
    shared = mkdir_owned(tmp_path / "shared", None, 0o777)
    inbox = mkdir_owned(shared / "inbox", user, 0o700)
    symlink_owned(user.home / ".docker", str(inbox), user)
    return Attack([], [shared, inbox, user.home], [f"Refusing to use {shared}", "writable by group or others"])


ATTACKS = [
    attack_docker_dir_links_to_root_dir,
    attack_docker_dir_links_relatively_to_root_dir,
    attack_docker_dir_links_to_empty_root_dir,
    attack_config_links_to_root_file,
    attack_config_hard_links_root_file,
    attack_root_owned_config_in_users_dir,
    attack_root_owned_docker_dir_and_config,
    attack_docker_dir_links_into_third_users_home,
    attack_explicit_path_through_third_users_dir,
    attack_config_links_to_third_users_file,
    attack_docker_dir_links_through_third_users_dir,
    attack_docker_dir_links_through_world_writable_dir,
]


@pytest.mark.parametrize("setup", ATTACKS, ids=[attack.__name__.removeprefix("attack_") for attack in ATTACKS])
def test_redirections_are_refused_and_change_nothing(tmp_path: Path, registry, user: UnixUser, make_user, setup) -> None:
    victims = mkdir_owned(tmp_path / "victims", None, 0o755)  # root's, like /etc or /srv
    attack = setup(user, make_user, victims)
    before = [snapshot(victim) for victim in attack.victims]
    watched = {directory: listing(directory) for directory in attack.watched}
    run = run_as_root(tmp_path / "run", registry, [login_for(registry, user, **attack.args)])
    result = run.result
    assert result.get("failed") and not result.get("changed"), result
    assert "Refusing" in result["msg"], result["msg"]
    for fragment in attack.expect:
        assert fragment in result["msg"], result["msg"]
    assert [snapshot(victim) for victim in attack.victims] == before, "a victim file was changed"
    assert {directory: listing(directory) for directory in attack.watched} == watched, "something was created or removed"
    assert not (user.home / ".config").exists(), "a refused file stops the task before any file is written"
    no_leak(run, registry)


def test_a_root_directory_the_users_group_may_write_is_refused(tmp_path: Path, registry, user: UnixUser) -> None:
    """The user, with only their own rights, moves root's directory to where the task writes (no race needed)."""
    base = Path(tempfile.mkdtemp(prefix="ghcrt-srv-"))  # under /tmp, so that the user can reach it
    try:
        base.chmod(0o755)
        app = mkdir_owned(base / "app", None, 0o775)
        os.chown(app, 0, user.gid)  # root:<the user's group> 0775, like a deploy directory shared with the deploy group
        service = mkdir_owned(app / "service", None, 0o755)
        victim = write_owned(service / "auth.json", doc_with({registry.host: ("service", "service-token")}), None, 0o600)
        denied = subprocess.run(["runuser", "-u", user.name, "--", "sh", "-c", f": > {victim}"], capture_output=True, text=True, check=False)
        assert denied.returncode != 0, "the user must not be able to write root's file directly"
        moved = subprocess.run(["runuser", "-u", user.name, "--", "mv", str(service), str(app / "mine")], capture_output=True, text=True, check=False)
        assert moved.returncode == 0, moved.stderr
        target = app / "mine" / "auth.json"
        before = snapshot(target)
        run = run_as_root(tmp_path / "run", registry, [login_for(registry, user, engines=["podman"], podman_auth_path=str(target))])
        assert run.result.get("failed") and "Refusing" in run.result.get("msg", ""), run.result
        assert snapshot(target) == before, "root's file now holds the user's credential instead of the service's"
        no_leak(run, registry)
    finally:
        shutil.rmtree(base, ignore_errors=True)


# -- 5. symbolic links Docker follows, and so does the module ---------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "existing"),
    [("absolute", True), ("relative", True), ("relative", False)],
    ids=["absolute", "relative", "relative-dangling"],
)
def test_a_users_own_symlinks_are_followed(tmp_path: Path, registry, user: UnixUser, how: str, existing: bool) -> None:
    dotfiles = mkdir_owned(user.home / "dotfiles", user, 0o755)
    target = dotfiles / "docker.json"
    if existing:
        write_owned(target, doc_with({"quay.io": ("q", "keep")}), user, 0o600)
    mkdir_owned(user.home / ".docker", user)
    link_text = str(target) if how == "absolute" else "../dotfiles/docker.json"
    symlink_owned(user.docker_file, link_text, user)

    run = run_as_root(tmp_path / "run", registry, [login_for(registry, user, engines=["docker"])] * 2)
    first, again = run.results
    assert first["changed"] and not first.get("failed"), first
    assert first["auth_files"] == [{"path": str(user.docker_file), "engine": "docker", "action": "updated" if existing else "created", "via": "file"}]
    assert not again["changed"], again
    assert user.docker_file.is_symlink() and os.readlink(user.docker_file) == link_text, "the link stays the same link"
    assert owner_mode(target) == (user.uid, user.gid, 0o600)
    expected = {**({"quay.io": ("q", "keep")} if existing else {}), registry.host: ("octocat", registry.users["octocat"])}
    assert json.loads(target.read_text()) == auth_doc(**expected)
    assert listing(dotfiles) == ["docker.json"] and listing(user.home / ".docker") == ["config.json"]
    no_leak(run, registry)


# -- 6. Podman's runtime file under /run/user/UID --------------------------------------------------------------------


def test_runtime_file_holding_the_registry_is_updated_then_cleared(tmp_path: Path, registry, user: UnixUser, runtime_dir: Path) -> None:
    old = random_token()
    runtime = write_owned(runtime_dir / "auth.json", doc_with({registry.host: ("octocat", old), "quay.io": ("q", "keep")}), user, 0o600)
    assert runtime == user.runtime_file
    run = run_as_root(tmp_path / "run", registry, [login_for(registry, user), absent_for(registry, user)], old=old)
    present, absent = run.results
    assert present["changed"] and not present.get("failed"), present
    assert {"path": str(runtime), "engine": "podman", "action": "updated", "via": "file"} in present["auth_files"]
    assert [f["path"] for f in present["auth_files"]] == [str(user.docker_file), str(user.podman_file), str(runtime)]
    assert absent["changed"] and not absent.get("failed"), absent
    assert {"path": str(runtime), "engine": "podman", "action": "removed", "via": "file"} in absent["auth_files"]
    assert json.loads(runtime.read_text()) == auth_doc(**{"quay.io": ("q", "keep")})
    assert owner_mode(runtime) == (user.uid, user.gid, 0o600)
    no_leak(run, registry, old)


def test_runtime_file_is_updated_with_the_new_entry(tmp_path: Path, registry, user: UnixUser, runtime_dir: Path, user_cert_dir: Path) -> None:
    old = random_token()
    runtime = write_owned(runtime_dir / "auth.json", doc_with({registry.host: ("octocat", old), "quay.io": ("q", "keep")}), user, 0o600)
    ref = f"{registry.host}/{SEED_REF}"
    assert skopeo_as(user, runtime, ref, user_cert_dir).returncode != 0, "the old entry must be rejected before the login"
    run = run_as_root(tmp_path / "run", registry, [login_for(registry, user, engines=["podman"])], old=old)
    assert run.result["changed"] and not run.result.get("failed"), run.result
    assert json.loads(runtime.read_text()) == auth_doc(**{registry.host: ("octocat", registry.users["octocat"]), "quay.io": ("q", "keep")})
    assert owner_mode(runtime) == (user.uid, user.gid, 0o600)
    assert listing(runtime_dir) == ["auth.json"]
    inspected = skopeo_as(user, runtime, ref, user_cert_dir)
    assert inspected.returncode == 0, inspected.stderr
    no_leak(run, registry, old)


def test_runtime_file_is_left_alone_with_sync_runtime_auth_false(tmp_path: Path, registry, user: UnixUser, runtime_dir: Path) -> None:
    old = random_token()
    runtime = write_owned(runtime_dir / "auth.json", doc_with({registry.host: ("octocat", old), "quay.io": ("q", "keep")}), user, 0o600)
    before = snapshot(runtime)
    run = run_as_root(
        tmp_path / "run", registry, [login_for(registry, user, sync_runtime_auth=False), absent_for(registry, user, sync_runtime_auth=False)], old=old
    )
    present, absent = run.results
    assert present["changed"] and absent["changed"], run.results
    for result in (present, absent):
        assert str(runtime) not in [f["path"] for f in result["auth_files"]], result
    assert snapshot(runtime) == before
    no_leak(run, registry, old)


def test_runtime_file_without_the_registry_is_left_alone_and_not_reported(tmp_path: Path, registry, user: UnixUser, runtime_dir: Path) -> None:
    runtime = write_owned(runtime_dir / "auth.json", doc_with({"quay.io": ("q", "keep")}), user, 0o600)
    before = snapshot(runtime)
    run = run_as_root(tmp_path / "run", registry, [login_for(registry, user), absent_for(registry, user)])
    present, absent = run.results
    assert present["changed"] and absent["changed"], run.results
    for result in (present, absent):
        assert [f["path"] for f in result["auth_files"]] == [str(user.docker_file), str(user.podman_file)], result
    assert snapshot(runtime) == before
    assert listing(runtime_dir) == ["auth.json"]
    no_leak(run, registry)


# -- 7. a user that does not exist ------------------------------------------------------------------------------------


def test_a_user_that_does_not_exist_fails_and_creates_nothing(tmp_path: Path, registry) -> None:
    require_root()
    name = unused_name()
    elsewhere = tmp_path / "elsewhere"
    explicit = {"docker_config_path": str(elsewhere / "d" / "config.json"), "podman_auth_path": str(elsewhere / "p" / "auth.json")}
    run = run_as_root(tmp_path / "run", registry, [login_for(registry, name), login_for(registry, name, **explicit)])
    for result in run.results:
        assert result.get("failed") and not result.get("changed"), result
        assert name in result["msg"] and "does not exist" in result["msg"], result["msg"]
    assert not Path("/home", name).exists()
    assert not elsewhere.exists()
    no_leak(run, registry)


def test_directories_root_creates_outside_the_users_home_stay_roots(tmp_path: Path, registry, user: UnixUser, user_cert_dir: Path) -> None:
    """A service user's file under a root area: new directories are root's 0755, the file the user's; reruns work."""
    base = Path(tempfile.mkdtemp(prefix="ghcrt-etc-"))
    try:
        base.chmod(0o755)
        target = base / "containers" / "svc" / "auth.json"
        tasks = [login_for(registry, user, engines=["podman"], podman_auth_path=str(target))] * 2
        run = run_as_root(tmp_path / "run", registry, tasks)
        first, second = run.results
        assert first["changed"] and not second.get("failed"), second
        assert not second["changed"], "a user-owned file in a root-owned directory is not refused on the next run"
        for directory in (base / "containers", base / "containers" / "svc"):
            assert owner_mode(directory) == (0, 0, 0o755), "root never hands the user a directory outside their home"
        assert owner_mode(target) == (user.uid, user.gid, 0o600)
        inspected = skopeo_as(user, target, f"{registry.host}/fleet/hello:1.0", user_cert_dir)
        assert inspected.returncode == 0, f"the user's own client reads the file: {inspected.stderr}"
        no_leak(run, registry)
    finally:
        shutil.rmtree(base, ignore_errors=True)
