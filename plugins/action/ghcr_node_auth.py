# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ghcr_node_auth: k3s's and RKE2's registries.yaml are parsed and rendered here, on the controller.

Targets often lack PyYAML; the controller always has it (ansible-core needs it). For the consumers k3s and rke2 the
action runs the module twice: once to read the files (their bytes, under the module's path and size rules), then,
with the new content decided here, to write everything of the task in one run: the other consumers' files as
usual, and each registries.yaml only if its bytes are still those read (else the module refuses: "run again").
Without k3s or rke2 the module runs as any module does.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import node_module_kwargs
from ansible_collections.fleet.ghcr.plugins.module_utils._authwrite import PRESENT, credentials_from
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.module_utils._node_auth import REGISTRIES_YAML_CONSUMERS, registries_paths
from ansible_collections.fleet.ghcr.plugins.plugin_utils._registries_yaml import RegistriesYaml, host_key

MODULE = "fleet.ghcr.ghcr_node_auth"
PAYLOAD = "registries_yaml"


def _consumers(value: Any) -> list[str]:
    """The consumers as AnsibleModule would read a list option (a list, or text separated by commas)."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return [str(item) for item in value] if isinstance(value, list) else []


class ActionModule(NormalAction):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        args = dict(self._task.args)
        consumers = _consumers(args.get("consumers"))
        if PAYLOAD in args:
            raise AnsibleActionFail(f"{PAYLOAD} is set by this action on the controller; do not set it.")
        if not any(consumer in REGISTRIES_YAML_CONSUMERS for consumer in consumers):
            return super().run(tmp, task_vars)
        if self._task.async_val:
            raise AnsibleActionFail("k3s and rke2 cannot run with async: their registries.yaml is read and written in two steps.")
        result = super(NormalAction, self).run(tmp, task_vars)  # ActionBase's checks (check mode support)
        try:
            return self._run_with_registries(result, args, consumers, task_vars or {})
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _run_with_registries(self, result: dict[str, Any], args: dict[str, Any], consumers: list[str], task_vars: dict[str, Any]) -> dict[str, Any]:
        try:
            params = self._params(args, consumers)
            files = self._plan(params, consumers, task_vars)
            if "failed" in files:
                return {**result, **files}
        except GhcrError as exc:
            return {**result, "failed": True, "changed": False, "msg": str(exc)}
        module_args = {**args, PAYLOAD: json.dumps({"write": [item["write"] for item in files["files"]]})}
        outcome = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        result.update(outcome)
        if self._task.diff and not outcome.get("failed"):
            result.setdefault("diff", []).extend(item["diff"] for item in files["files"])
        warnings = [item["warning"] for item in files["files"] if item["warning"]]
        if warnings:
            result["warnings"] = [*result.get("warnings", []), *warnings]
        return result

    @staticmethod
    def _params(args: dict[str, Any], consumers: list[str]) -> dict[str, Any]:
        """The module's parameters with their defaults, as far as the controller needs them."""
        spec = node_module_kwargs()["argument_spec"]
        params = {name: option.get("default") for name, option in spec.items()}
        params.update(args)
        params["consumers"] = consumers
        return params

    def _plan(self, params: dict[str, Any], consumers: list[str], task_vars: dict[str, Any]) -> dict[str, Any]:
        """Read each registries.yaml through the module and decide its new content; a failed read is returned as is."""
        paths = registries_paths(params, consumers)
        credentials = credentials_from(params, lambda _message: None)  # the module warns in the write run
        keys = {consumer: [host_key(credential.registry, consumer) for credential in credentials] for consumer in set(paths.values())}
        read_args = {
            "consumers": sorted(set(paths.values())),
            **{f"{consumer}_registries_path": path for path, consumer in paths.items()},
            "state": "absent",
            "registry": credentials[0].registry.name,
            PAYLOAD: json.dumps({"read": True}),
        }
        read = self._execute_module(module_name=MODULE, module_args=read_args, task_vars=task_vars)
        if read.get("failed"):
            return {"failed": True, "changed": False, "msg": read.get("msg", "Reading registries.yaml failed.")}
        files = []
        for found in read["registries_files"]:
            data = base64.b64decode(found["data"]) if found["data"] is not None else None
            decided = self._decide(found["path"], found["consumer"], data, keys[found["consumer"]], credentials, params["state"] == PRESENT)
            files.append(decided)
        return {"files": files}

    @staticmethod
    def _decide(path: str, consumer: str, data: bytes | None, keys: list[str], credentials: list[Any], present: bool) -> dict[str, Any]:
        before = RegistriesYaml.parse(data, path)
        after = before
        for key, credential in zip(keys, credentials):
            after = after.with_auth(key, *credential.pair()) if present else after.without_auth(key)
        content = after.serialize() if after is not before or (data is None and present) else None
        warning = None
        if content is not None and before.had_comments:
            warning = f"{path} had comments; they are gone, since the file had to be rewritten (its content is kept; comments cannot be)."
        return {
            "write": {
                "path": path,
                "consumer": consumer,
                "sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
                "content": content.decode("utf-8") if content is not None else None,
            },
            "diff": {"before_header": path, "after_header": path, "before": before.redacted() if data is not None else "", "after": after.redacted()},
            "warning": warning,
        }
