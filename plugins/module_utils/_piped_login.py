# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""ghcr_login's backend run from the program the role's write step pipes to the target's Python (no AnsiballZ).

The controller has already checked the arguments against ghcr_login's argument spec and filled in its defaults
(``plugin_utils/_piped.py``); what is left for the target is what AnsibleModule does there: expanding ``path``
options, masking secrets in the result, and reporting a failure as a result rather than a traceback. Standard
library only, and nothing here imports ``ansible.module_utils``: not loading AnsibleModule is the point.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.module_utils._redaction import map_strings

MASK = "********"
NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"  # AnsibleModule's, in invocation
NOT_LOGGED = "NOT_LOGGING_PARAMETER"  # AnsibleModule's, in the target's log
SBIN_DIRS = ("/sbin", "/usr/sbin", "/usr/local/sbin")


class PipedModule:
    """The ModuleLike that run_login needs, filled from the controller's request."""

    def __init__(self, params: dict[str, Any], check_mode: bool, diff: bool, secrets: list[str]) -> None:
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values: set[str] = {secret for secret in secrets if secret}
        self.warnings: list[str] = []

    def warn(self, warning: str) -> None:
        self.warnings.append(warning)

    def get_bin_path(self, arg: str, required: bool = False, opt_dirs: list[str] | None = None) -> str | None:
        """AnsibleModule.get_bin_path's search: opt_dirs, then PATH, then the sbin directories."""
        directories = [*(opt_dirs or []), *os.environ.get("PATH", "").split(os.pathsep)]
        directories += [directory for directory in SBIN_DIRS if directory not in directories]
        for directory in directories:
            candidate = os.path.join(directory, arg)
            if directory and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
        if required:
            raise GhcrError(f"Failed to find required executable {arg!r} in paths: {os.pathsep.join(directories)}")
        return None


def masked(value: Any, secrets: set[str]) -> Any:
    """``value`` with every secret replaced, in keys and values, as AnsibleModule masks what it prints."""
    longest_first = sorted(secrets, key=len, reverse=True)

    def mask(text: str) -> str:
        for secret in longest_first:
            text = text.replace(secret, MASK)
        return text

    return map_strings(value, mask, keys=True)


def log_invocation(params: dict[str, Any], no_log_options: list[str], log: dict[str, Any], secrets: set[str]) -> None:
    """What AnsibleModule leaves in the target's log for each run (syslog, which the journal also collects)."""
    try:
        import syslog
    except ImportError:
        return
    shown = " ".join(f"{name}={NOT_LOGGED if name in no_log_options else value}" for name, value in params.items())
    message = masked(" ".join(part for part in (log.get("info"), f"Invoked with {shown}") if part), secrets)
    syslog.openlog("ansible-ghcr_login", 0, getattr(syslog, str(log.get("facility")), syslog.LOG_USER))
    syslog.syslog(syslog.LOG_INFO, message)


def run(request: dict[str, Any]) -> dict[str, Any]:
    """The task result for one ghcr_login request (see plugin_utils/_piped.py, login_request)."""
    params = dict(request["params"])
    for name in request.get("path_options", ()):
        if isinstance(params.get(name), str):
            params[name] = os.path.expanduser(os.path.expandvars(params[name]))
    no_log_options = list(request.get("no_log_options", ()))
    module = PipedModule(params, bool(request.get("check_mode")), bool(request.get("diff")), list(request.get("secrets", ())))
    try:
        if request.get("log"):  # a message syslog refuses fails the task, as it does AnsibleModule's
            log_invocation(params, no_log_options, request["log"], module.no_log_values)
        from ansible_collections.fleet.ghcr.plugins.module_utils._ghcr_login import run_login

        result = run_login(module)
    except GhcrError as exc:
        result = {**exc.result, "failed": True, "msg": str(exc)}
    except Exception as exc:  # reported as AnsibleModule reports a crash, not as a traceback on stderr
        result = {"failed": True, "changed": False, "msg": f"ghcr_login failed: {type(exc).__name__}: {exc}", "exception": traceback.format_exc()}
    if module.warnings:
        result["warnings"] = module.warnings
    result["invocation"] = {"module_args": {name: NO_LOG_PLACEHOLDER if name in no_log_options else value for name, value in params.items()}}
    return masked(result, module.no_log_values)


__all__ = ("PipedModule", "log_invocation", "masked", "run")
