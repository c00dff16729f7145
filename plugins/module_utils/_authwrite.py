# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Write or remove registry credentials in auth files: plan every file in memory, then write each in one locked pass.

Shared by the backends that write credentials (ghcr_login for a user's files, ghcr_node_auth for a node's). From the
ModuleLike object called ``module``, only the following are used: ``check_mode``, ``_diff``, ``warn`` and
``get_bin_path``.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from ansible_collections.fleet.ghcr.plugins.module_utils._atomic import NEW_FILE_MODE, TargetFile, open_target
from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import AuthFile, check_username, encode_auth, fingerprint
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, HelperError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._module import ModuleLike
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import Account, FileSpec
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import DOCKER, KUBELET, PODMAN, Registry
from ansible_collections.fleet.ghcr.plugins.module_utils._token import clean_token

if TYPE_CHECKING:  # loaded only for files that name a credential helper: every module run compiles what it imports
    from ansible_collections.fleet.ghcr.plugins.module_utils._credential_helper import CredentialHelper

PRESENT = "present"
ABSENT = "absent"


class Credential(NamedTuple):
    registry: Registry
    username: str | None = None
    secret: str | None = None

    def pair(self) -> tuple[str, str]:
        """The username and secret to write; build_request sets both for state=present."""
        return self.username or "", self.secret or ""


class LoginRequest(NamedTuple):
    state: str
    credentials: list[Credential]
    account: Account
    files: list[FileSpec]
    credential_helpers: bool
    backup: bool


class Plan:
    """What one file's update decided, computed in memory before any file is written."""

    def __init__(self, spec: FileSpec, data: bytes | None, info: os.stat_result | None, before: AuthFile) -> None:
        self.spec = spec
        self.data = data
        self.info = info
        self.before = before
        self.after = before
        self.new_bytes: bytes | None = None  # None: the content stays as it is
        self.new_mode: int | None = None
        self.helper_ops: list[Callable[[], None]] = []
        self.helpers_used: list[str] = []
        self.helper_diffs: list[dict] = []
        self.leftovers: list[str] = []  # temporary files of killed runs beside the file (paths)

    @property
    def file_changes(self) -> bool:
        return self.new_bytes is not None or self.new_mode is not None or bool(self.helper_ops)

    @property
    def changes(self) -> bool:
        return self.file_changes or bool(self.leftovers)


def credentials_from(params: dict[str, Any], warn: Callable[[str], None]) -> list[Credential]:
    if params["state"] == ABSENT:
        if params["docker_config_json"] is not None:
            raise InputError("docker_config_json is for state=present; to log out, give registry (one task per registry).")
        return [Credential(Registry.parse(params["registry"]))]
    if params["docker_config_json"] is not None:
        from ansible_collections.fleet.ghcr.plugins.module_utils._docker_config_json import credentials_from_docker_config

        return [Credential(*found) for found in credentials_from_docker_config(params["docker_config_json"])]
    registry = Registry.parse(params["registry"])
    username = check_username(params["username"])
    secret, stripped = clean_token(params["password"], "the password option")
    if stripped:
        warn("Removed whitespace around the password (a trailing newline from a file or prompt is common); the token itself is unchanged.")
    return [Credential(registry, username, secret)]


def _binary(helper: str) -> str:
    from ansible_collections.fleet.ghcr.plugins.module_utils._credential_helper import helper_binary

    return helper_binary(helper)


class LoginRunner:
    """Applies a LoginRequest: every file is read, parsed, changed and serialised before the first is written."""

    def __init__(self, module: ModuleLike, request: LoginRequest) -> None:
        self.module = module
        self.request = request
        self.plans: list[Plan] = []
        self.backups: list[str] = []
        self.swept: list[str] = []
        self._helpers: dict[str, CredentialHelper] = {}

    def run(self) -> dict[str, Any]:
        self.plans = [plan for plan in (self._guarded(self._plan_file, spec) for spec in self.request.files) if plan]
        if not self.module.check_mode:
            planned, self.plans = self.plans, []
            for plan in planned:  # on a failure, the result lists the files written so far
                written = self._guarded(self._write, plan)
                if written is not None:
                    self.plans.append(written)
        return self.result()

    def _guarded(self, step: Callable, item: Any) -> Any:
        """Turn what the kernel refuses into a message that says what to do."""
        try:
            return step(item)
        except OSError as exc:
            path = item.path if isinstance(item, FileSpec) else item.spec.path
            hint = " Writing another user's files needs root: add become: true." if exc.errno in (errno.EACCES, errno.EPERM) else ""
            raise AuthFileError(f"Cannot update {path}: {exc.strerror}.{hint}") from None

    def result(self) -> dict[str, Any]:
        registries = [credential.registry.name for credential in self.request.credentials]
        result: dict[str, Any] = {
            "changed": any(plan.changes for plan in self.plans),
            "user": self.request.account.name,
            "registry": registries[0] if len(registries) == 1 else None,
            "registries": registries,
            "auth_files": [self._report(plan) for plan in self.plans],
            "backup_files": self.backups,
            "leftovers_removed": self.swept if not self.module.check_mode else [path for plan in self.plans for path in plan.leftovers],
        }
        if self.module._diff:
            result["diff"] = [item for plan in self.plans for item in _diffs(plan)]
        return result

    # ------------------------------------------------------------------ planning (no writes)

    def _plan_file(self, spec: FileSpec) -> Plan | None:
        target = open_target(spec.path, self.request.account, create_dirs=False)
        if target is None:
            return self._plan(spec, None, None, []) if spec.primary else None
        with target:
            data, info = target.read()
            leftovers = target.leftovers()
        return self._plan(spec, data, info, leftovers)

    def _plan(self, spec: FileSpec, data: bytes | None, info: os.stat_result | None, leftovers: list[str]) -> Plan | None:
        before = AuthFile.parse(data, spec.path, spec.engine)
        holds = any(before.holds(credential.registry) for credential in self.request.credentials)
        if not spec.primary and not holds and not leftovers:
            return None
        plan = Plan(spec, data, info, before)
        plan.leftovers = leftovers
        if leftovers:
            outcome = "would be removed" if self.module.check_mode else "were removed"
            self.module.warn(f"{len(leftovers)} temporary file(s) that a killed run left beside {spec.path} (they may hold credentials) {outcome}.")
        if not spec.primary and not holds:
            return plan
        for credential in self.request.credentials:
            helper = before.helper_for(credential.registry)
            if helper and self.request.credential_helpers:
                self._plan_helper(plan, credential, helper)
            else:
                self._plan_inline(plan, credential, helper)
        if plan.after != before or (data is None and self.request.state == PRESENT):
            plan.new_bytes = plan.after.serialize()
        elif data is not None:
            problem = before.load_problem()
            if problem:
                self.module.warn(f"{spec.path} is left as it was, but {'the kubelet' if spec.engine == KUBELET else 'Docker'} cannot load it: {problem}.")
        plan.new_mode = self._tightened_mode(spec, info)
        return plan

    def _plan_inline(self, plan: Plan, credential: Credential, helper: tuple[str, str] | None) -> None:
        spec, registry = plan.spec, credential.registry
        if self.request.state == ABSENT:
            plan.after = plan.after.without_entry(registry)
            if helper:
                self.module.warn(
                    f"{spec.path} sends {registry} to the credential helper {_binary(helper[0])} ({helper[1]});"
                    " with credential_helpers=false its copy of the credential was left in place."
                )
            return
        plan.after = plan.after.with_entry(registry, {"auth": encode_auth(*credential.pair())})
        if helper:
            self.module.warn(
                f"{spec.path} sends {registry} to the credential helper {_binary(helper[0])} ({helper[1]}),"
                f" so {spec.engine} will ignore the credential written into the file because credential_helpers=false."
            )

    def _plan_helper(self, plan: Plan, credential: Credential, helper: tuple[str, str]) -> None:
        spec, registry = plan.spec, credential.registry
        if spec.engine == PODMAN and registry.is_namespaced:
            raise InputError(
                f"{spec.path} sends {registry.host} to a credential helper ({helper[1]}), and helpers hold one credential"
                f" per host: use registry={registry.host} or remove the helper."
            )
        server = registry.helper_server(spec.engine)
        store = self._helper(helper[0], spec, helper[1])
        current = store.get(server)
        plan.helpers_used.append(helper[0])
        wanted = credential.pair() if self.request.state == PRESENT else None
        if self.request.state == PRESENT and current != wanted:
            plan.helper_ops.append(lambda: store.store(server, *credential.pair()))
        if self.request.state == ABSENT and current is not None:
            plan.helper_ops.append(lambda: store.erase(server))
        plan.helper_diffs.append(_helper_diff(store.binary, server, current, wanted))
        if self.request.state == PRESENT and spec.engine == DOCKER:
            plan.after = plan.after.with_entry(registry, {})  # the placeholder the Docker CLI writes
        else:
            plan.after = plan.after.without_entry(registry)

    def _helper(self, name: str, spec: FileSpec, setting: str) -> CredentialHelper:
        from ansible_collections.fleet.ghcr.plugins.module_utils._credential_helper import CredentialHelper, helper_binary

        if name in self._helpers:
            return self._helpers[name]
        executable = self.module.get_bin_path(helper_binary(name))
        if not executable:
            raise HelperError(
                f"{spec.path} stores credentials for this registry in the credential helper '{name}' ({setting}), but"
                f" {helper_binary(name)} is not installed or not on PATH. Install it, or remove {setting} from the file,"
                " or set credential_helpers=false to write the credential into the file anyway."
            )
        self._helpers[name] = CredentialHelper(name, executable, self.request.account)
        return self._helpers[name]

    def _tightened_mode(self, spec: FileSpec, info: os.stat_result | None) -> int | None:
        """A tightened mode when a file that will hold a credential is readable by group or others."""
        if info is None or self.request.state != PRESENT:
            return None
        mode = stat.S_IMODE(info.st_mode)
        if not mode & 0o077:
            return None
        tightened = mode & ~0o077
        outcome = "would become" if self.module.check_mode else "is now"
        self.module.warn(f"{spec.path} was readable by group or others (mode {mode:04o}); it holds credentials, so its mode {outcome} {tightened:04o}.")
        return tightened

    # ------------------------------------------------------------------ writing

    def _write(self, plan: Plan) -> Plan | None:
        """Apply ``plan`` under the directory lock; None when, planned again, the file needs nothing any more."""
        if not plan.changes:
            return plan
        creating = plan.spec.primary and self.request.state == PRESENT
        target = open_target(plan.spec.path, self.request.account, create_dirs=creating)
        if target is None:
            return plan
        with target, target.locked():
            data, info = target.read()
            leftovers = target.leftovers()
            if data != plan.data or leftovers != plan.leftovers:  # another writer was here since the plan: plan again
                replanned = self._plan(plan.spec, data, info, leftovers)
                if replanned is None:
                    return None
                plan = replanned
            self._apply(target, plan)
        return plan

    def _apply(self, target: TargetFile, plan: Plan) -> None:
        self.swept += target.sweep(plan.leftovers)
        for operation in plan.helper_ops:
            operation()
        backup = None
        if (plan.new_bytes is not None or plan.new_mode is not None) and self.request.backup and plan.data is not None and plan.info is not None:
            backup = target.backup(plan.data, plan.info)
        try:
            self._change(target, plan)
        except BaseException:
            if backup:
                target.remove(backup)
            raise
        if backup:
            self.backups.append(backup)

    def _change(self, target: TargetFile, plan: Plan) -> None:
        info = plan.info
        if plan.new_bytes is not None:
            mode = plan.new_mode if plan.new_mode is not None else (stat.S_IMODE(info.st_mode) if info else NEW_FILE_MODE)
            uid, gid = (info.st_uid, info.st_gid) if info else (self.request.account.uid, self.request.account.gid)
            target.replace(plan.new_bytes, mode=mode, uid=uid, gid=gid)
        elif plan.new_mode is not None:
            target.chmod(plan.new_mode)

    # ------------------------------------------------------------------ reporting

    def _report(self, plan: Plan) -> dict[str, Any]:
        if self.request.state == ABSENT:
            action = "removed" if plan.file_changes else "unchanged"
        else:
            action = "created" if plan.info is None and plan.file_changes else "updated" if plan.file_changes else "unchanged"
        report = {"path": plan.spec.path, "engine": plan.spec.engine, "action": action, "via": "helper" if plan.helpers_used else "file"}
        if plan.helpers_used:
            report["helper"] = plan.helpers_used[0]
        return report


def _diffs(plan: Plan) -> list[dict]:
    path = plan.spec.path
    before = plan.before.redacted() if plan.data is not None else ""
    after = plan.after.redacted() if plan.data is not None or plan.new_bytes is not None else ""
    return [{"before_header": path, "after_header": path, "before": before, "after": after}, *plan.helper_diffs]


def _helper_diff(binary: str, server: str, before: tuple[str, str] | None, after: tuple[str, str] | None) -> dict:
    def shown(found: tuple[str, str] | None) -> str:
        return "" if found is None else f"username: {found[0]}\nsecret: {fingerprint(found[1])}\n"

    header = f"{binary} ({server})"
    return {"before_header": header, "after_header": header, "before": shown(before), "after": shown(after)}


__all__ = ("ABSENT", "PRESENT", "Credential", "LoginRequest", "LoginRunner", "Plan", "credentials_from")
