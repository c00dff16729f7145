# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The ghcr_login backend: plan which files to touch, then update each in one locked pass.

From the object called ``module``, only the following are used:
 - module.params[]
 - module.check_mode
 - module._diff
 - module.warn(msg: str)
 - module.no_log_values (a set; encoded credentials are added so Ansible masks them too)
 - module.get_bin_path(name: str) -> str | None
"""

from __future__ import annotations

import errno
import stat
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.fleet.ghcr.plugins.module_utils import _authfile as af
from ansible_collections.fleet.ghcr.plugins.module_utils._atomic import NEW_FILE_MODE, TargetFile, open_target
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, GhcrError, HelperError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._helpers import CredentialHelper, helper_binary
from ansible_collections.fleet.ghcr.plugins.module_utils._paths import (
    Account,
    docker_config_path,
    expand_for,
    lookup_account,
    podman_auth_path,
    podman_runtime_auth_paths,
)

PRESENT = "present"
ABSENT = "absent"


@dataclass(frozen=True)
class Credential:
    registry: str
    username: str | None = None
    secret: str | None = None


@dataclass(frozen=True)
class FileSpec:
    engine: str
    path: str
    primary: bool  # created if missing; a runtime file is only touched when it already holds the registry


@dataclass
class Outcome:
    """What one file's update decided; ``helper_ops`` run before the file is written."""

    doc: dict | None
    new_doc: dict | None
    helper_ops: list = field(default_factory=list)
    helpers_used: list = field(default_factory=list)
    helper_diffs: list = field(default_factory=list)


@dataclass
class LoginRequest:
    state: str
    credentials: list[Credential]
    account: Account
    files: list[FileSpec]
    credential_helpers: bool
    backup: bool


def build_request(params: dict[str, Any], warn) -> LoginRequest:
    """Validate every option before anything is touched; raises InputError with what to fix."""
    state = params["state"]
    credentials = _credentials(params, warn)
    engines = params["engines"]
    if not engines:
        raise InputError("engines must name at least one of docker and podman.")
    for credential in credentials:
        if af.DOCKER in engines:
            af.file_key(credential.registry, af.DOCKER)
    account = lookup_account(params["user"])
    return LoginRequest(
        state=state,
        credentials=credentials,
        account=account,
        files=file_specs(params, engines, account),
        credential_helpers=params["credential_helpers"],
        backup=params["backup"],
    )


def _credentials(params: dict[str, Any], warn) -> list[Credential]:
    if params["state"] == ABSENT:
        return [Credential(af.normalize_registry(params["registry"]))]
    if params["docker_config_json"] is not None:
        return [Credential(*found) for found in af.credentials_from_docker_config(params["docker_config_json"])]
    registry = af.normalize_registry(params["registry"])
    username = af.check_username(params["username"])
    secret, warnings = af.check_secret(params["password"])
    for message in warnings:
        warn(message)
    return [Credential(registry, username, secret)]


def file_specs(params: dict[str, Any], engines: list[str], account: Account) -> list[FileSpec]:
    specs = []
    if af.DOCKER in engines:
        path = params["docker_config_path"]
        specs.append(FileSpec(af.DOCKER, expand_for(account, path, "docker_config_path") if path else docker_config_path(account), True))
    if af.PODMAN in engines:
        path = params["podman_auth_path"]
        specs.append(FileSpec(af.PODMAN, expand_for(account, path, "podman_auth_path") if path else podman_auth_path(account), True))
        if params["sync_runtime_auth"]:
            specs.extend(FileSpec(af.PODMAN, runtime, False) for runtime in podman_runtime_auth_paths(account))
    return specs


class LoginRunner:
    """Applies a LoginRequest to every planned file; see the module docstring for what ``module`` provides."""

    def __init__(self, module, request: LoginRequest) -> None:
        self.module = module
        self.request = request
        self.reports: list[dict] = []
        self.backups: list[str] = []
        self.diffs: list[dict] = []

    def run(self) -> dict[str, Any]:
        for spec in self.request.files:
            self._guarded(self._preflight, spec)
        for spec in self.request.files:
            self._guarded(self._process, spec)
        return self.result()

    def _guarded(self, step, spec: FileSpec) -> None:
        """Turn what the kernel refuses into a message that says what to do."""
        try:
            step(spec)
        except OSError as exc:
            hint = " Writing another user's files needs root: add become: true." if exc.errno in (errno.EACCES, errno.EPERM) else ""
            raise AuthFileError(f"Cannot update {spec.path}: {exc.strerror}.{hint}") from None

    def result(self) -> dict[str, Any]:
        registries = [credential.registry for credential in self.request.credentials]
        result: dict[str, Any] = {
            "changed": any(report["action"] != "unchanged" for report in self.reports),
            "registry": registries[0] if len(registries) == 1 else None,
            "registries": registries,
            "auth_files": self.reports,
            "backup_files": self.backups,
        }
        if self.module._diff:
            result["diff"] = self.diffs
        return result

    def _preflight(self, spec: FileSpec) -> None:
        """Resolve and parse every file, and find the helpers they name, so a problem stops the task before any file changes."""
        target = open_target(spec.path, self.request.account, create_dirs=False)
        if target is None:
            return
        with target:
            data, _info = target.read()
        if data is None:
            return
        doc = af.parse_document(data, spec.path)
        if not self.request.credential_helpers:
            return
        for credential in self.request.credentials:
            helper = af.helper_for(doc, credential.registry, spec.engine)
            if helper and (spec.primary or af.holds_entry(doc, af.file_key(credential.registry, spec.engine), spec.engine)):
                self._helper(helper[0], spec, helper[1])

    def _process(self, spec: FileSpec) -> None:
        creating = not self.module.check_mode and spec.primary and self.request.state == PRESENT
        target = open_target(spec.path, self.request.account, create_dirs=creating)
        if target is None:
            self._plan_without_file(spec)
            return
        with target:
            if self.module.check_mode:
                self._update(spec, target)
            else:
                with target.locked():
                    self._update(spec, target)

    def _plan_without_file(self, spec: FileSpec) -> None:
        """A directory on the way is missing: in check mode, report what would be created."""
        if not spec.primary:
            return
        outcome = self._decide(spec, None)
        action = "created" if outcome.new_doc is not None and self.request.state == PRESENT else "unchanged"
        self._report(spec, action, outcome)
        self._add_diff(spec, outcome, None)

    def _update(self, spec: FileSpec, target: TargetFile) -> None:
        data, info = target.read()
        doc = af.parse_document(data, spec.path) if data is not None else None
        keys = [af.file_key(credential.registry, spec.engine) for credential in self.request.credentials]
        if not spec.primary and not any(af.holds_entry(doc, key, spec.engine) for key in keys):
            return
        outcome = self._decide(spec, doc)
        content_changes = outcome.new_doc != doc and outcome.new_doc is not None
        new_mode = self._mode_for(spec, info, outcome)
        action = self._action(info, content_changes or new_mode is not None, bool(outcome.helper_ops))
        if not self.module.check_mode:
            self._apply(target, data, info, outcome, content_changes, new_mode)
        self._report(spec, action, outcome)
        self._add_diff(spec, outcome, data)

    def _decide(self, spec: FileSpec, doc: dict | None) -> Outcome:
        outcome = Outcome(doc=doc, new_doc=doc)
        for credential in self.request.credentials:
            helper = af.helper_for(doc, credential.registry, spec.engine)
            if helper and self.request.credential_helpers:
                self._decide_helper(spec, credential, helper, outcome)
            else:
                self._decide_inline(spec, credential, helper, outcome)
        return outcome

    def _decide_inline(self, spec: FileSpec, credential: Credential, helper: tuple[str, str] | None, outcome: Outcome) -> None:
        key = af.file_key(credential.registry, spec.engine)
        if self.request.state == ABSENT:
            outcome.new_doc = af.without_entry(outcome.new_doc, key, spec.engine)
            if helper:
                self.module.warn(
                    f"{spec.path} sends {credential.registry} to the credential helper {helper_binary(helper[0])} ({helper[1]});"
                    " with credential_helpers=false its copy of the credential was left in place."
                )
            return
        outcome.new_doc = af.with_entry(outcome.new_doc, key, af.entry_for(credential.username, credential.secret), spec.engine)
        if helper:
            self.module.warn(
                f"{spec.path} sends {credential.registry} to the credential helper {helper_binary(helper[0])} ({helper[1]}),"
                f" so {spec.engine} will ignore the credential written into the file because credential_helpers=false."
            )

    def _decide_helper(self, spec: FileSpec, credential: Credential, helper: tuple[str, str], outcome: Outcome) -> None:
        key = af.file_key(credential.registry, spec.engine)
        if spec.engine == af.PODMAN and af.is_namespaced(credential.registry):
            raise InputError(
                f"{spec.path} sends {af.registry_host(credential.registry)} to a credential helper ({helper[1]}), and helpers"
                f" hold one credential per host: use registry={af.registry_host(credential.registry)} or remove the helper."
            )
        server = key if spec.engine == af.DOCKER else af.registry_host(credential.registry)
        store = self._helper(helper[0], spec, helper[1])
        current = store.get(server)
        outcome.helpers_used.append(helper[0])
        wanted = (credential.username, credential.secret) if self.request.state == PRESENT else None
        if self.request.state == PRESENT and current != wanted:
            outcome.helper_ops.append(lambda: store.store(server, credential.username, credential.secret))
        if self.request.state == ABSENT and current is not None:
            outcome.helper_ops.append(lambda: store.erase(server))
        outcome.helper_diffs.append(_helper_diff(store.binary, server, current, wanted))
        if self.request.state == PRESENT and spec.engine == af.DOCKER:
            outcome.new_doc = af.with_entry(outcome.new_doc, key, {}, spec.engine)  # the placeholder the Docker CLI writes
        else:
            outcome.new_doc = af.without_entry(outcome.new_doc, key, spec.engine)

    def _helper(self, name: str, spec: FileSpec, setting: str) -> CredentialHelper:
        executable = self.module.get_bin_path(helper_binary(name))
        if not executable:
            raise HelperError(
                f"{spec.path} stores credentials for this registry in the credential helper '{name}' ({setting}), but"
                f" {helper_binary(name)} is not installed or not on PATH. Install it, or remove {setting} from the file,"
                " or set credential_helpers=false to write the credential into the file anyway."
            )
        return CredentialHelper(name, executable, self.request.account)

    def _mode_for(self, spec: FileSpec, info, outcome: Outcome) -> int | None:
        """A tightened mode when a file that will hold a credential is readable by group or others."""
        if info is None or self.request.state != PRESENT:
            return None
        mode = stat.S_IMODE(info.st_mode)
        if not mode & 0o077:
            return None
        tightened = mode & ~0o077
        outcome_text = "would become" if self.module.check_mode else "is now"
        self.module.warn(f"{spec.path} was readable by group or others (mode {mode:04o}); it holds credentials, so its mode {outcome_text} {tightened:04o}.")
        return tightened

    def _action(self, info, file_changes: bool, helper_changes: bool) -> str:
        if self.request.state == ABSENT:
            return "removed" if file_changes or helper_changes else "unchanged"
        if info is None:
            return "created"
        return "updated" if file_changes or helper_changes else "unchanged"

    def _apply(self, target: TargetFile, data: bytes | None, info, outcome: Outcome, content_changes: bool, new_mode: int | None) -> None:
        for operation in outcome.helper_ops:
            operation()
        if (content_changes or new_mode is not None) and self.request.backup and data is not None:
            self.backups.append(target.backup(data, info))
        if content_changes:
            mode = new_mode if new_mode is not None else (stat.S_IMODE(info.st_mode) if info else NEW_FILE_MODE)
            uid, gid = (info.st_uid, info.st_gid) if info else (self.request.account.uid, self.request.account.gid)
            target.replace(af.serialize(outcome.new_doc, af.detect_style(data)), mode=mode, uid=uid, gid=gid)
        elif new_mode is not None:
            target.chmod(new_mode)

    def _report(self, spec: FileSpec, action: str, outcome: Outcome) -> None:
        report = {"path": spec.path, "engine": spec.engine, "action": action, "via": "helper" if outcome.helpers_used else "file"}
        if outcome.helpers_used:
            report["helper"] = outcome.helpers_used[0]
        self.reports.append(report)

    def _add_diff(self, spec: FileSpec, outcome: Outcome, data: bytes | None) -> None:
        style = af.detect_style(data)
        self.diffs.append({
            "before_header": spec.path,
            "after_header": spec.path,
            "before": _shown(outcome.doc, style),
            "after": _shown(outcome.new_doc, style),
        })
        self.diffs.extend(outcome.helper_diffs)


def _shown(doc: dict | None, style: tuple[str | None, bool]) -> str:
    if doc is None:
        return ""
    return af.serialize(af.redacted(doc), (style[0] or "\t", True)).decode("utf-8")


def _helper_diff(binary: str, server: str, before: tuple[str, str] | None, after: tuple[str, str] | None) -> dict:
    def shown(found: tuple[str, str] | None) -> str:
        return "" if found is None else f"username: {found[0]}\nsecret: {af.fingerprint(found[1])}\n"

    header = f"{binary} ({server})"
    return {"before_header": header, "after_header": header, "before": shown(before), "after": shown(after)}


def verify_credentials(params: dict[str, Any], credentials: list[Credential]) -> list[dict[str, Any]]:
    """Prove each credential against its registry before anything is written; raises GhcrError on failure.

    The registry client is imported here, so that a login without ``verify`` loads no HTTP or TLS code.
    """
    from ansible_collections.fleet.ghcr.plugins.module_utils._verify import check_credential, failure_message

    images = [params["verify_image"]] if params["verify_image"] else []
    proofs = []
    for credential in credentials:
        # The registry option keeps an explicit http:// for the check; docker_config_json keys mean https.
        given = params["registry"] if credential.registry == af.normalize_registry(params["registry"]) else credential.registry
        result, requests = check_credential(params, given, credential.username, credential.secret, images, False)
        proof = {
            "registry": credential.registry,
            "authenticated": result.authenticated,
            "error": result.error,
            "images": [image.as_dict() for image in result.images],
            "requests": requests,
        }
        proofs.append(proof)
        problem = failure_message(af.registry_host(credential.registry), result, False)
        if problem:
            error = GhcrError(f"Verification failed, no file was changed: {problem}")
            error.partial = {"changed": False, "verification": proofs}
            raise error
    return proofs


def run_login(module) -> dict[str, Any]:
    """The task result; a GhcrError raised here carries ``partial``, the result up to the failure."""
    request = build_request(module.params, module.warn)
    for credential in request.credentials:
        if credential.secret is not None:
            module.no_log_values.update({credential.secret, af.encode_auth(credential.username, credential.secret)})
    proofs = None
    if module.params["verify"] and request.state == PRESENT:
        proofs = verify_credentials(module.params, request.credentials)
    elif module.params["verify_image"] and not module.params["verify"]:
        module.warn("verify_image is only used with verify=true; nothing was verified.")
    runner = LoginRunner(module, request)
    try:
        result = runner.run()
        if proofs is not None:
            result["verification"] = proofs
        return result
    except GhcrError as exc:
        exc.partial = runner.result()
        raise


__all__ = ("Credential", "FileSpec", "LoginRequest", "LoginRunner", "build_request", "file_specs", "run_login")
