# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ghcr_login: the module's backend piped to the target's Python in one command, or the module as Ansible runs it.

The piped run is what makes a login cost less than ansible.builtin.ping (see plugin_utils/_piped.py). It is used
where Ansible would pipeline a module, and without become always; the module runs as usual under become without
pipelining, with async, with keep_remote_files, with verify (which needs ansible.module_utils.urls), and for
arguments the module must refuse in its own words.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.fleet.ghcr.plugins.plugin_utils._piped import PipedLogin


class ActionModule(PipedLogin, NormalAction):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        request = None if self._task.async_val else self._login_request(dict(self._task.args), task_vars)
        if request is None:
            return super().run(tmp, task_vars)
        result = super(NormalAction, self).run(tmp, task_vars)  # ActionBase's checks (check mode, async support)
        result.update(self._run_piped(request, task_vars))
        return result
