# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The steps of the registry_auth role, each one task: prove once per batch, prove from a host, write per host.

Why an action: each per-host task costs Ansible's per-task overhead on every host, so the role keeps its per-host
work in one task (input checks, the proof guard, the connecting user, present or absent, every listed user) and its
batch-wide work in run_once tasks that read every host's variables themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar, trust_as_template
from ansible.utils.display import Display

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import registry_module_kwargs
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.plugin_utils._registry_auth import (
    ROLE_VARIABLES,
    TOKEN_VARIABLE,
    check_args,
    check_fingerprint,
    input_problems,
    login_args,
    unproven_message,
)

STEPS = ("prove", "prove_from_host", "write")
WRITE_TAG = "registry_auth_write"  # roles/registry_auth/tasks/main.yml

display = Display()

# Ansible loads this action in its main process and forks a worker per host and task. Loading the token lookup here
# too means the workers inherit it, instead of each loading it again (and parsing its documentation) for its host.
# The same holds for Jinja's filters, which the first filter a worker meets (the role's defaults use some) loads.
with contextlib.suppress(AnsibleError):  # the write step's own lookup then says what is wrong
    lookup_loader.get("fleet.ghcr.ghcr_pat", class_only=True)
    Templar(loader=DataLoader()).template(trust_as_template("{{ '' | default('') | trim }}"))


class _ControllerModule:
    """What ghcr_registry's backend needs of a module, for the check that runs here on the controller."""

    check_mode = False
    _diff = False

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.no_log_values: set[str] = set()
        self.warnings: list[str] = []

    def warn(self, warning: str) -> None:
        self.warnings.append(warning)

    def get_bin_path(self, arg: str, required: bool = False, opt_dirs: list[str] | None = None) -> str | None:
        return None  # the check is given its credential, never an auth file, so it runs no credential helper


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _write_step_runs(task_vars: Mapping[str, Any]) -> bool:
    """Whether the role's write step (tag registry_auth_write) runs in this play, as far as --tags and --skip-tags say."""
    run_tags = set(task_vars.get("ansible_run_tags") or ["all"])
    skip_tags = set(task_vars.get("ansible_skip_tags") or [])
    return bool(run_tags & {"all", "tagged", WRITE_TAG}) and not skip_tags & {"tagged", WRITE_TAG}


def _registry_params(module_args: Mapping[str, Any]) -> dict[str, Any]:
    """ghcr_registry's parameters as AnsibleModule would fill them: defaults for every option not given."""
    spec = registry_module_kwargs()["argument_spec"]
    params = {name: option.get("default") for name, option in spec.items()}
    params.update(module_args)
    return params


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("step", "host"))

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        step = self._task.args.get("step")
        if step not in STEPS:
            raise AnsibleActionFail(f"step must be one of {', '.join(STEPS)}; got {step!r}.")
        if step == "prove":
            result.update(self._prove(task_vars))
        elif step == "prove_from_host":
            result.update(self._prove_from_host(task_vars))
        else:
            result.update(self._write(task_vars))
        return result

    # ------------------------------------------------------------------ reading the role's variables

    def _inputs(self, templar: Any) -> dict[str, Any]:
        variables = templar.available_variables
        return {key: templar.template(variables.get(name)) for key, name in ROLE_VARIABLES.items()}

    def _token(self, templar: Any) -> str:
        return str(templar.template(templar.available_variables[TOKEN_VARIABLE]))

    def _templar_for(self, host_name: str, task_vars: dict[str, Any]) -> Any:
        """A templar with the variables ``host_name`` would have for this task (play, role and inventory layers)."""
        if host_name == task_vars.get("inventory_hostname"):
            return self._templar
        manager = self._task.get_variable_manager()
        host = manager._inventory.get_host(host_name)  # the strategy's own call for each host it queues a task for
        variables = manager.get_vars(play=self._task.get_play(), host=host, task=self._task)
        return self._templar.copy_with_new_env(available_variables=variables)

    # ------------------------------------------------------------------ prove: once per batch, on the controller

    def _prove(self, task_vars: dict[str, Any]) -> dict[str, Any]:
        """Prove each distinct once-check of the batch not yet proven in this run; list the hosts that prove themselves."""
        proven_before = list(task_vars.get("hostvars", {}).get("localhost", {}).get("registry_auth__proven", None) or [])
        pending: dict[str, tuple[str, dict[str, Any], str]] = {}
        each_host: list[str] = []
        skipped: dict[str, str] = {}
        batch = list(task_vars.get("ansible_play_batch") or []) if self._honours_run_once() else []
        batch = batch or [task_vars["inventory_hostname"]]
        for index, host in enumerate(batch):
            templar = self._templar_for(host, task_vars)
            args = self._inputs(templar)
            problems = input_problems(args)
            if problems:
                skipped[host] = f"its input is refused ({host}: {' '.join(problems)})"  # its own write step fails with this
                continue
            if args["state"] != "present":
                skipped[host] = "it logs out"
                continue
            try:
                token = self._token(templar)
            except AnsibleError:
                if index == 0:
                    raise  # the first host's token: a wrong vault password is one error for the batch, not one per host
                skipped[host] = "its token cannot be read"
                continue
            if args["verify"] == "each_host":
                each_host.append(host)
            elif args["verify"] == "once":
                key = check_fingerprint(args, token)
                if key not in proven_before and key not in pending:
                    pending[key] = (host, args, token)
        refused = {host: reason for host, reason in skipped.items() if reason.startswith("its input")}
        if refused and not _write_step_runs(task_vars):
            raise AnsibleActionFail(f"No write step runs (tags), so the input it would refuse is refused here: {'; '.join(refused.values())}")
        proven = [key for key in pending if self._check_on_controller(*pending[key])]
        return {
            "changed": False,
            "proven": proven_before + proven,
            "checked": [{"host": pending[key][0], "fingerprint": key} for key in proven],
            "each_host": each_host,
            "skipped_hosts": skipped,
        }

    def _honours_run_once(self) -> bool:
        """Under strategy free (and host_pinned) every host runs the run_once steps itself, so each proves only its own."""
        strategy = self._task.get_play().strategy or C.DEFAULT_STRATEGY
        return str(strategy).rsplit(".", 1)[-1] not in ("free", "host_pinned")

    def _check_on_controller(self, host: str, args: dict[str, Any], token: str) -> bool:
        from ansible_collections.fleet.ghcr.plugins.module_utils._ghcr_registry import run_registry

        module = _ControllerModule(_registry_params(check_args(args, token, on_controller=True)))
        try:
            run_registry(module)
        except GhcrError as error:
            raise AnsibleActionFail(f"The credential of {host} (and of every host that shares it) failed its check: {error}") from None
        finally:
            for warning in module.warnings:
                display.warning(warning)
        return True

    # ------------------------------------------------------------------ prove_from_host: each_host, one host per loop item

    def _prove_from_host(self, task_vars: dict[str, Any]) -> dict[str, Any]:
        host = self._task.args.get("host")
        if not isinstance(host, str) or not host:
            raise AnsibleActionFail("prove_from_host needs host: the inventory name of the host (the delegate) to prove from.")
        templar = self._templar_for(host, task_vars)
        args = self._inputs(templar)
        try:
            module_args = check_args(args, self._token(templar), on_controller=False)
            outcome = self._execute_module("fleet.ghcr.ghcr_registry", module_args=module_args, task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        outcome.pop("invocation", None)
        return outcome

    # ------------------------------------------------------------------ write: per host

    def _write(self, task_vars: dict[str, Any]) -> dict[str, Any]:
        host = task_vars["inventory_hostname"]
        args = self._inputs(self._templar)
        problems = input_problems(args)
        if problems:
            raise AnsibleActionFail(" ".join(problems))
        token = None
        if args["state"] == "present":
            token = self._token(self._templar)
            proof = task_vars.get("registry_auth__proof")
            proven = proof.get("proven", []) if isinstance(proof, Mapping) else []
            if args["verify"] == "once" and check_fingerprint(args, token) not in proven:
                raise AnsibleActionFail(unproven_message(host))
        try:
            users = args["users"] or [self._connecting_user()]
            results = [self._login(args, token, user, task_vars) for user in users]
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        # Shaped like the result of a loop over the users, which is what the role registered before it had this step.
        outcome: dict[str, Any] = {"changed": any(item.get("changed") for item in results), "results": results, "msg": "All items completed"}
        # Not a loop to Ansible: the callbacks show the warnings and diffs of the task, not of its items.
        warnings = [warning for item in results for warning in item.pop("warnings", [])]
        if warnings:
            outcome["warnings"] = warnings
        diffs = [diff for item in results for diff in _as_list(item.pop("diff", [])) if item.get("changed")]
        if diffs:
            outcome["diff"] = diffs
        failed = [item for item in results if item.get("failed")]
        if failed:
            outcome.update(failed=True, msg=failed[0].get("msg", "ghcr_login failed"))
        return outcome

    def _connecting_user(self) -> str | None:
        """The user Ansible connects as; None when the module runs as that user anyway (no become)."""
        if not self._play_context.become:
            return None
        found = self._low_level_execute_command("id -un", sudoable=False)
        name = found.get("stdout", "").strip()
        if found.get("rc") != 0 or not name:
            problem = found.get("stderr", "").strip()
            raise AnsibleActionFail(f"Could not find the user Ansible connects as (id -un failed: {problem}); list registry_auth_users.")
        return name

    def _login(self, args: dict[str, Any], token: str | None, user: Any, task_vars: dict[str, Any]) -> dict[str, Any]:
        outcome = self._execute_module("fleet.ghcr.ghcr_login", module_args=login_args(args, token, user), task_vars=task_vars)
        outcome.pop("invocation", None)  # it carries the module arguments; the token is masked there, but nobody needs them
        outcome["item"] = user if user is not None else outcome.get("user")
        outcome["ansible_loop_var"] = "item"
        return outcome
