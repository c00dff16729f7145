# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ghcr_node_auth: k3s's and RKE2's registries.yaml are parsed and rendered on the controller (_node_auth_task.py).

Without k3s or rke2 the module runs as any module does.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.fleet.ghcr.plugins.plugin_utils._node_auth_task import NODE_MODULE, needs_controller, run_node_auth_task


class ActionModule(NormalAction):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        args = dict(self._task.args)
        if not needs_controller(args):
            return super().run(tmp, task_vars)
        if self._task.async_val:
            raise AnsibleActionFail("k3s and rke2 cannot run with async: their registries.yaml is read and written in two steps.")
        result = super(NormalAction, self).run(tmp, task_vars)  # ActionBase's checks (check mode support)

        def execute(module_args: dict[str, Any]) -> dict[str, Any]:
            return self._execute_module(module_name=NODE_MODULE, module_args=module_args, task_vars=task_vars or {})

        try:
            result.update(run_node_auth_task(execute, args, diff=bool(self._task.diff)))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
