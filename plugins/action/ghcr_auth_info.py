# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ghcr_auth_info: the module, plus k3s's and RKE2's registries.yaml, read on the target and parsed here.

Targets often lack PyYAML; ghcr_node_auth reads the files (under the rules of every write) and the controller parses
them as k3s does (_node_auth_task.py). Without k3s or rke2 in node_consumers the module runs as any module does.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.fleet.ghcr.plugins.module_utils._node_auth import REGISTRIES_YAML_CONSUMERS
from ansible_collections.fleet.ghcr.plugins.plugin_utils._node_auth_task import NODE_MODULE, consumers_of, describe_registries

INFO_MODULE = "fleet.ghcr.ghcr_auth_info"


class ActionModule(NormalAction):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        args = dict(self._task.args)
        consumers = consumers_of(args.get("node_consumers"))
        if self._task.async_val or not any(consumer in REGISTRIES_YAML_CONSUMERS for consumer in consumers):
            return super().run(tmp, task_vars)
        result = super(NormalAction, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        try:
            result.update(self._execute_module(module_name=INFO_MODULE, module_args=args, task_vars=task_vars))
            if result.get("failed"):
                return result

            def execute(read_args: dict[str, Any]) -> dict[str, Any]:
                return self._execute_module(module_name=NODE_MODULE, module_args=read_args, task_vars=task_vars)

            described = describe_registries(execute, args)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        if isinstance(described, dict):
            return {**result, **described}
        order = {consumer: index for index, consumer in enumerate(consumers)}
        result["node_files"] = sorted([*result.get("node_files", []), *described], key=lambda file: order.get(file["consumer"], 0))
        return result
