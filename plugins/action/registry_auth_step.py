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
import os
from collections.abc import Iterator, Mapping
from typing import Any

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar
from ansible.utils.display import Display

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import registry_module_kwargs
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.module_utils._piped_login import PipedModule, masked
from ansible_collections.fleet.ghcr.plugins.plugin_utils._core import HAS_DATA_TAGGING, unsupported_core
from ansible_collections.fleet.ghcr.plugins.plugin_utils._node_auth_task import NODE_MODULE, run_node_auth_task
from ansible_collections.fleet.ghcr.plugins.plugin_utils._piped import LOGIN_MODULE, PipedLogin
from ansible_collections.fleet.ghcr.plugins.plugin_utils._registry_auth import (
    ROLE_VARIABLES,
    TOKEN_VARIABLE,
    check_args,
    check_fingerprint,
    login_args,
    node_args,
    role_input,
    unproven_message,
)

try:  # ansible-core 2.19's data tagging; run() explains an older core
    from ansible.template import trust_as_template
except ImportError:
    trust_as_template = None

try:  # module_defaults for the modules an action runs itself (ansible-core's own actions use the same helper)
    from ansible.executor.module_common import _apply_action_arg_defaults
except ImportError:  # pragma: no cover - a future ansible-core; the version matrix would show it
    _apply_action_arg_defaults = None

STEPS = ("prove", "prove_from_host", "write", "restarted")
WRITE_TAG = "registry_auth_write"  # roles/registry_auth/tasks/main.yml
REGISTRY_MODULE = "fleet.ghcr.ghcr_registry"
# The node consumers whose configuration changed since the role's handler last ran on the host: a host fact, so that
# every include of the role in a play adds to it (a registered result would keep only the last include's).
PENDING_FACT = "registry_auth__restart_pending"

display = Display()

# Ansible loads this action in its main process and forks a worker per host and task. Loading the token lookup here
# too means the workers inherit it, instead of each loading it again (and parsing its documentation) for its host.
# The same holds for Jinja's filters, which the first filter a worker meets (the role's defaults use some) loads.
if HAS_DATA_TAGGING:
    with contextlib.suppress(AnsibleError):  # the write step's own lookup then says what is wrong
        lookup_loader.get("fleet.ghcr.ghcr_pat", class_only=True)
        Templar(loader=DataLoader()).template(trust_as_template("{{ '' | default('') | trim }}"))


def _registry_params(module_args: Mapping[str, Any]) -> dict[str, Any]:
    """ghcr_registry's parameters as AnsibleModule would fill them: defaults for every option not given."""
    spec = registry_module_kwargs()["argument_spec"]
    params = {name: option.get("default") for name, option in spec.items()}
    params.update(module_args)
    if params.get("ca_path"):
        params["ca_path"] = os.path.expanduser(os.path.expandvars(params["ca_path"]))  # a path option: expanded on the controller
    return params


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@contextlib.contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    """The task's ``environment:`` for a check made in this process (a proxy, SSL_CERT_FILE), as a module would get it."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update({name: str(value) for name, value in variables.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class ActionModule(PipedLogin, ActionBase):
    _VALID_ARGS = frozenset(("step", "host"))

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        if not HAS_DATA_TAGGING:
            raise AnsibleActionFail(unsupported_core("The fleet.ghcr.registry_auth role"))
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
        elif step == "restarted":  # the handler's last task: the pending restarts are done
            result.update(changed=False, ansible_facts={PENDING_FACT: []})
        else:
            result.update(self._write(task_vars))
        return result

    # ------------------------------------------------------------------ reading the role's variables

    def _inputs(self, templar: Any) -> tuple[dict[str, Any], list[str]]:
        variables = templar.available_variables
        return role_input({key: templar.template(variables.get(name)) for key, name in ROLE_VARIABLES.items()})

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

    def _module_args(self, module: str, module_args: dict[str, Any]) -> dict[str, Any]:
        """The arguments with the play's module_defaults for ``module`` (and its action group) under them."""
        if _apply_action_arg_defaults is None:
            return module_args
        return _apply_action_arg_defaults(module, self._task, module_args, self._templar)

    def _honours_run_once(self) -> bool:
        """Under strategy free (and host_pinned, and their mitogen forms) every host runs the run_once steps itself."""
        strategy = str(self._task.get_play().strategy or C.DEFAULT_STRATEGY).rsplit(".", 1)[-1]
        return not strategy.endswith(("free", "host_pinned"))

    # ------------------------------------------------------------------ prove: once per batch, on the controller

    def _prove(self, task_vars: dict[str, Any]) -> dict[str, Any]:
        """Prove each distinct once-check of the batch not yet proven in this run; list the hosts that prove themselves.

        Only the host running this task is known to run the role. Hosts whose static conditions (import_role or a
        block with when) are false are left out; another host's unreadable variables or token only leave it out too,
        for its own run of the role to report. Any failed check fails the play before any host writes.
        """
        outcome: dict[str, Any] = {"changed": False, "proven": [], "checked": [], "each_host": [], "skipped_hosts": {}}
        if not self._honours_run_once():
            return outcome  # each host proves its own credential in its write step
        me = task_vars["inventory_hostname"]
        proven_before = list(task_vars.get("hostvars", {}).get("localhost", {}).get("registry_auth__proven", None) or [])
        pending: dict[str, tuple[str, dict[str, Any], str]] = {}  # fingerprint -> the first host that has it, its input, token
        refused = {}
        for host in [me, *(name for name in task_vars.get("ansible_play_batch") or [] if name != me)]:
            try:
                templar = self._templar_for(host, task_vars)
                if host != me and not self._runs_here(templar):
                    outcome["skipped_hosts"][host] = "it skips the role"
                    continue
                args, problems = self._inputs(templar)
                if problems or args["state"] != "present" or args["verify"] == "never":
                    if problems:
                        refused[host] = f"{host}: {' '.join(problems)}"
                    outcome["skipped_hosts"][host] = "its input is refused" if problems else "it does not check"
                    continue
                token = self._token(templar)
            except AnsibleError as error:
                if host == me:
                    raise  # a wrong vault password is one error for the batch, not one per host
                outcome["skipped_hosts"][host] = f"its variables or token cannot be read ({error.message})"
                continue
            if args["verify"] == "each_host":
                outcome["each_host"].append(host)
                continue
            key = check_fingerprint(args, token)
            if key not in proven_before:
                pending.setdefault(key, (host, args, token))
        if refused and not self._write_step_runs(task_vars):
            raise AnsibleActionFail(f"No write step runs (tags), so the input it would refuse is refused here: {'; '.join(refused.values())}")
        for key, (host, args, token) in pending.items():
            problem = self._check_on_controller(args, token)
            if problem is not None:
                raise AnsibleActionFail(f"The credential of {host} (and of every host that shares it) failed its check: {problem}")
            outcome["proven"].append(key)
            outcome["checked"].append({"host": host, "fingerprint": key})
        outcome["proven"] = proven_before + outcome["proven"]
        return outcome

    def _runs_here(self, templar: Any) -> bool:
        """Whether the conditions this task inherits statically (import_role or a block with when) hold for a host."""
        try:
            return all(templar.evaluate_conditional(condition) for condition in self._task.when or [])
        except AnsibleError:
            return True  # its own run of the role says what is wrong

    def _write_step_runs(self, task_vars: Mapping[str, Any]) -> bool:
        """Whether the write step runs under --tags/--skip-tags: it has this task's tags, with the write tag for the check's."""
        write = self._task.copy(exclude_parent=False, exclude_tasks=True)
        write.tags = [WRITE_TAG]  # its own tag; Ansible adds the tags it inherits (the role's, a block's)
        only_tags = task_vars.get("ansible_run_tags") or ["all"]
        return bool(write.evaluate_tags(only_tags, task_vars.get("ansible_skip_tags") or [], task_vars))

    def _check_on_controller(self, args: dict[str, Any], token: str) -> str | None:
        """Prove a credential here, with ghcr_registry's code and the task's environment; what failed, or None."""
        from ansible_collections.fleet.ghcr.plugins.module_utils._ghcr_registry import run_registry

        params = _registry_params(self._module_args(REGISTRY_MODULE, check_args(args, token, on_controller=True)))
        module = PipedModule(params, check_mode=False, diff=False, secrets=[params["password"]])  # given its credential: no helper runs
        environment: dict[str, str] = {}
        for layer in self._task.environment or []:
            environment.update(self._templar.template(layer) or {})
        try:
            with _environment(environment):
                run_registry(module)
        except GhcrError as error:
            return masked(str(error), module.no_log_values)
        finally:
            for warning in module.warnings:
                display.warning(masked(warning, module.no_log_values))
        return None

    # ------------------------------------------------------------------ prove_from_host: each_host, one host per loop item

    def _prove_from_host(self, task_vars: dict[str, Any]) -> dict[str, Any]:
        host = self._task.args.get("host")
        if not isinstance(host, str) or not host:
            raise AnsibleActionFail("prove_from_host needs host: the inventory name of the host (the delegate) to prove from.")
        templar = self._templar_for(host, task_vars)
        args, problems = self._inputs(templar)
        if problems:
            raise AnsibleActionFail(" ".join(problems))
        return self._check_from_host(args, self._token(templar), task_vars)

    def _check_from_host(self, args: dict[str, Any], token: str, task_vars: dict[str, Any]) -> dict[str, Any]:
        """ghcr_registry on the host this action's connection reaches, without asking the GitHub API."""
        try:
            module_args = self._module_args(REGISTRY_MODULE, check_args(args, token, on_controller=False))
            outcome = self._execute_module(REGISTRY_MODULE, module_args=module_args, task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        outcome.pop("invocation", None)
        return outcome

    # ------------------------------------------------------------------ write: per host

    def _write(self, task_vars: dict[str, Any]) -> dict[str, Any]:
        host = task_vars["inventory_hostname"]
        args, problems = self._inputs(self._templar)
        if problems:
            raise AnsibleActionFail(" ".join(problems))
        token = None
        if args["state"] == "present":
            token = self._token(self._templar)
            failure = self._proof_failure(host, args, token, task_vars)
            if failure:
                return failure
        try:
            users = args["users"] or [self._connecting_user()]
            outcome = _as_loop([self._login(args, token, user, task_vars) for user in users])
            if args["node_consumers"] and not outcome.get("failed"):
                pending = (task_vars.get("ansible_facts") or {}).get(PENDING_FACT) or []
                _add_node(outcome, self._node(args, token, task_vars), pending)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return outcome

    def _node(self, args: dict[str, Any], token: str | None, task_vars: dict[str, Any]) -> dict[str, Any]:
        """ghcr_node_auth for registry_auth_node_consumers, registries.yaml parsed here as its own action does."""

        def execute(module_args: dict[str, Any]) -> dict[str, Any]:
            return self._execute_module(NODE_MODULE, module_args=module_args, task_vars=task_vars)

        outcome = run_node_auth_task(execute, self._module_args(NODE_MODULE, node_args(args, token)), diff=bool(self._task.diff))
        outcome.pop("invocation", None)
        return outcome

    def _proof_failure(self, host: str, args: dict[str, Any], token: str, task_vars: dict[str, Any]) -> dict[str, Any] | None:
        """Why this host may not write its credential; None when it may. Under strategy free it proves it here first."""
        if args["verify"] == "never":
            return None
        if not self._honours_run_once():
            if args["verify"] == "once":
                problem = self._check_on_controller(args, token)
                return {"failed": True, "msg": f"The credential of {host} failed its check: {problem}"} if problem else None
            checked = self._check_from_host(args, token, task_vars)
            return checked if checked.get("failed") else None
        if args["verify"] != "once":
            return None  # each_host: the role's run_once loop proved it from this host before any write
        proof = task_vars.get("registry_auth__proof")
        proof = proof if isinstance(proof, Mapping) else {}
        key = check_fingerprint(args, token)
        if key not in (proof.get("proven") or []):
            raise AnsibleActionFail(unproven_message(host))
        return None

    def _connecting_user(self) -> str | None:
        """The user Ansible connects as; None when the module runs as that user anyway (no become)."""
        if not self._play_context.become:
            return None
        found = self._low_level_execute_command("id -un", sudoable=False)
        name = found.get("stdout", "").strip()
        if found.get("rc") != 0 or not name:
            problem = found.get("stderr", "").strip() or "no output"
            raise AnsibleActionFail(f"Could not find the user Ansible connects as (id -un: {problem}); list registry_auth_users.")
        return name

    def _login(self, args: dict[str, Any], token: str | None, user: Any, task_vars: dict[str, Any]) -> dict[str, Any]:
        module_args = self._module_args(LOGIN_MODULE, login_args(args, token, user))
        outcome = self._run_login(module_args, task_vars)
        outcome.pop("invocation", None)  # it carries the module arguments; the token is masked there, but nobody needs them
        outcome["item"] = user if user is not None else outcome.get("user")
        outcome["ansible_loop_var"] = "item"
        return outcome


def _add_node(outcome: dict[str, Any], node: dict[str, Any], pending: list[str]) -> None:
    """The node consumers' result under ``node``; the consumers to restart are added to the host's pending fact.

    The write task notifies the role's handler when it changed anything on a host with node consumers (Ansible
    notifies only from a task's ``notify``); the handler restarts what the fact lists, then empties it.
    """
    for key in ("warnings", "deprecations"):
        found = node.pop(key, None) or []
        if found:
            outcome[key] = [*outcome.get(key, []), *found]
    diffs = _as_list(node.pop("diff", None) or []) if node.get("changed") else []
    if diffs:
        outcome["diff"] = [*outcome.get("diff", []), *diffs]
    outcome["node"] = node
    outcome["changed"] = bool(outcome.get("changed") or node.get("changed"))
    if node.get("failed"):
        outcome.update(failed=True, msg=node.get("msg", "ghcr_node_auth failed"))
    elif node.get("restart"):
        facts = outcome.setdefault("ansible_facts", {})
        facts[PENDING_FACT] = sorted({*pending, *node["restart"]})


def _as_loop(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One result shaped like a loop over the users, which is what the role registered before it had this step.

    Ansible's callbacks and strategy read warnings, deprecations, diffs and facts (the discovered interpreter) from
    the task's result, not from its items, because to them this task is not a loop.
    """
    outcome: dict[str, Any] = {"changed": any(item.get("changed") for item in results), "results": results, "msg": "All items completed"}
    for key in ("warnings", "deprecations"):
        found = [message for item in results for message in item.pop(key, None) or []]
        if found:
            outcome[key] = found
    diffs = [diff for item in results for diff in _as_list(item.pop("diff", None) or []) if item.get("changed")]
    if diffs:
        outcome["diff"] = diffs
    facts: dict[str, Any] = {}
    for item in results:
        facts.update(item.pop("ansible_facts", None) or {})
    if facts:
        outcome["ansible_facts"] = facts
    failed = [item for item in results if item.get("failed")]
    if failed:
        outcome.update(failed=True, msg=failed[0].get("msg", "ghcr_login failed"))
        if failed[0].get("exception"):
            outcome["exception"] = failed[0]["exception"]
    return outcome
