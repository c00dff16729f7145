# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The program ghcr_login's action and the role's write step pipe to the target's Python: ghcr_login's backend
without AnsiballZ.

Why: a module run compiles ``ansible.module_utils.basic`` and its imports from source on every host (AnsiballZ has
no byte-code cache), which is most of what ``ansible.builtin.ping`` costs. ghcr_login's backend needs none of it:
it is plain standard-library code behind ``ModuleLike``. So the write step checks the arguments here, with the
argument spec AnsibleModule would use, and sends one program over the connection's standard input: the backend's
sources, an import hook that loads them from memory, and the request. One command per user and host; no file is
written under the remote temporary directory, so not even a killed run leaves the token behind there.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.utils.display import Display

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import login_module_kwargs
from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import encode_auth

PACKAGE = "ansible_collections.fleet.ghcr.plugins.module_utils"
ENTRY = f"{PACKAGE}._piped_login"
MODULE_UTILS = Path(__file__).resolve().parent.parent / "module_utils"
_IMPORTED = re.compile(re.escape(PACKAGE) + r"(?:\.|\s+import\s+)(_\w+)")
# The registry client: for verify=true (which runs as the module: it needs ansible.module_utils.urls) and the GitHub API
# check of a token (never made by a login). Not sent, so that a login carries no HTTP code.
NEVER_PIPED = frozenset({"_registry_check", "_registry"})
MINIMUM_PYTHON = (3, 9)
INTERPRETER_MODULE = "ansible.builtin.ping"  # configured only for its interpreter line: the same for every Python module

# What a piped result may hold: ghcr_login's documented return values (RETURN; a unit test keeps them in step) and
# what every module result may carry. Anything else the target prints (add_host, _ansible_notify, ansible_facts ...)
# is dropped, as Ansible drops a module's internal keys.
RESULT_KEYS = frozenset({
    "auth_files", "backup_files", "leftovers_removed", "registries", "registry", "user", "verification",
    "changed", "failed", "msg", "warnings", "deprecations", "diff", "invocation", "exception", "skipped",
})

display = Display()

# Runs on the target. It must stay valid for every Python the modules claim (see MINIMUM_PYTHON).
_BOOTSTRAP = """\
import sys
sys.path[:] = [entry for entry in sys.path if entry not in ('', '.')]  # a program read from stdin imports from the working directory
if sys.version_info < {minimum!r}:
    sys.stdout.write('{{"failed": true, "changed": false, "msg": "ghcr_login needs Python {version} or newer on the target;'
                     ' this is Python %d.%d. Set ansible_python_interpreter."}}' % sys.version_info[:2])
    sys.exit(0)
import base64, importlib.abc, importlib.util, json, zlib
SOURCES = json.loads(zlib.decompress(base64.b64decode({sources!r})))
class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name not in SOURCES:
            return None
        return importlib.util.spec_from_loader(name, self, is_package=SOURCES[name] is None)
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        source = SOURCES[module.__name__]
        if source is not None:
            exec(compile(source, '<fleet.ghcr>/' + module.__name__.rsplit('.', 1)[-1] + '.py', 'exec'), module.__dict__)
sys.meta_path.insert(0, Finder())
from {entry} import run
sys.stdout.write(json.dumps(run(json.loads(base64.b64decode({request!r})))) + '\\n')
"""


def _imports(source: str) -> set[str]:
    """The collection's module_utils a source names, lazy imports included."""
    return set(_IMPORTED.findall(source))


@functools.cache
def _sources_blob() -> bytes:
    """The entry point and every module_utils it may import, with their packages, compressed for the program."""
    sources: dict[str, str | None] = {}
    pending = [ENTRY.rsplit(".", 1)[-1]]
    while pending:
        name = pending.pop()
        if f"{PACKAGE}.{name}" in sources or name in NEVER_PIPED:
            continue
        source = (MODULE_UTILS / f"{name}.py").read_text(encoding="utf-8")
        sources[f"{PACKAGE}.{name}"] = source
        pending.extend(_imports(source))
    parts = PACKAGE.split(".")
    for depth in range(1, len(parts) + 1):
        sources[".".join(parts[:depth])] = None
    return base64.b64encode(zlib.compress(json.dumps(sources).encode(), 9))


def program(request: dict[str, Any]) -> bytes:
    """The Python program for one request (see ``_piped_login.run``); it holds the token, so it goes over stdin only."""
    encoded = base64.b64encode(json.dumps(request).encode())
    version = ".".join(str(part) for part in MINIMUM_PYTHON)
    return _BOOTSTRAP.format(minimum=MINIMUM_PYTHON, version=version, sources=_sources_blob(), entry=ENTRY, request=encoded).encode()


@functools.cache
def _login_validator() -> tuple[ArgumentSpecValidator, tuple[str, ...], tuple[str, ...]]:
    """ghcr_login's argument spec, with ``path`` options left as text (the target expands them, as AnsibleModule
    would), the names of those options, and of the secret ones."""
    kwargs = {name: value for name, value in login_module_kwargs().items() if name != "supports_check_mode"}
    spec = kwargs["argument_spec"]
    paths = tuple(name for name, option in spec.items() if option.get("type") == "path")
    for name in paths:
        spec[name] = {**spec[name], "type": "str"}
    secret = tuple(name for name, option in spec.items() if option.get("no_log"))
    return ArgumentSpecValidator(**kwargs), paths, secret


def _secret_forms(params: dict[str, Any], secret_options: tuple[str, ...]) -> list[str]:
    """The secrets to mask: each no_log value, and base64(username:token) padded and not, for the token as given and
    as the backend uses it (surrounding whitespace removed)."""
    secrets = [params[name] for name in secret_options if isinstance(params.get(name), str) and params[name]]
    if isinstance(params.get("username"), str) and isinstance(params.get("password"), str):
        for token in dict.fromkeys((params["password"], params["password"].strip())):
            encoded = encode_auth(params["username"], token)
            secrets += [token, encoded, encoded.rstrip("=")]
    return list(dict.fromkeys(secret for secret in secrets if secret))


def login_request(module_args: dict[str, Any], check_mode: bool, diff: bool, log: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The request for ghcr_login's arguments, or None when only the module can run them (bad input, ``verify``).

    ``log`` is how AnsibleModule would log the invocation on the target (``facility``, ``info``), None for not at all.
    """
    validator, paths, secret = _login_validator()
    validated = validator.validate(module_args)
    params = validated.validated_parameters
    if validated.error_messages or params.get("verify"):
        return None  # the module says what is wrong in its own words; verify needs ansible.module_utils.urls
    return {
        "params": params,
        "path_options": list(paths),
        "no_log_options": [name for name in secret if params.get(name) is not None],
        "check_mode": check_mode,
        "diff": diff,
        "secrets": _secret_forms(params, secret),
        "log": log,
        # AnsibleModule's words for an option given twice, under its name and an alias
        "warnings": [f"Both option {found['option']} and its alias {found['alias']} are set." for found in validated._warnings],
    }


def _without_program(text: str, payload: bytes) -> str:
    """Output with every line of the program removed: a terminal that echoed it would return the request too."""
    sent = set(payload.decode().splitlines())
    return "\n".join(line for line in text.splitlines() if line not in sent)


def read_result(done: dict[str, Any], interpreter: str, payload: bytes) -> dict[str, Any]:
    """The task result from what the program's command returned: its last line of JSON, with only the keys a module
    result may hold; or a failure that says why there is none (with the output, less any echo of the program)."""
    stdout, stderr = str(done.get("stdout") or ""), str(done.get("stderr") or "")
    lines = stdout.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        try:
            outcome = json.loads(lines[index]) if lines[index].lstrip().startswith("{") else None
        except ValueError:
            continue
        if isinstance(outcome, dict):
            if any(line.strip() for position, line in enumerate(lines) if position != index):
                display.warning("ghcr_login: text around the result on the target's standard output (a login banner?) was ignored.")
            return {key: value for key, value in outcome.items() if key in RESULT_KEYS}
    missing = re.search(rf"{re.escape(interpreter)}: (?:No such file or directory|not found|command not found)", stderr + stdout)
    msg = (
        f"The module interpreter {interpreter!r} was not found. Consider overriding the configured interpreter path for this host."
        if missing
        else "ghcr_login returned no result (module result deserialization failed). See module_stdout and module_stderr."
    )
    return {
        "failed": True,
        "changed": False,
        "msg": msg,
        "module_stdout": _without_program(stdout, payload)[-4000:],
        "module_stderr": _without_program(stderr, payload)[-4000:],
        "rc": done.get("rc"),
    }


LOGIN_MODULE = "fleet.ghcr.ghcr_login"


if TYPE_CHECKING:  # the mixin is only ever combined with an ActionBase; this tells the type checker so
    from ansible.plugins.action import ActionBase as _ActionBase
else:
    _ActionBase = object


class PipedLogin(_ActionBase):
    """For an action plugin (an ActionBase): run ghcr_login piped where it may, as the module everywhere else."""

    def _pipes(self) -> bool:
        """Whether the login may go over standard input.

        Where Ansible would pipeline a module, yes. Under become otherwise, no: sudo's requiretty refuses it, and
        pipelining is the setting that says it is safe. Without become, yes unless the connection refuses for a
        reason of its own (ssh asked for a terminal, which would echo the program) or pipelining was turned off
        explicitly. keep_remote_files means someone is debugging the module: run the module.
        """
        connection = self._connection
        if not connection.has_pipelining or C.DEFAULT_KEEP_REMOTE_FILES:
            return False
        if connection.is_pipelining_enabled():
            return True
        if self._play_context.become or getattr(connection, "_is_tty_requested", lambda: False)():
            return False
        try:
            _value, origin = connection.get_option_and_origin("pipelining")
        except KeyError:
            return False
        return origin == "default"

    def _login_request(self, module_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any] | None:
        """The piped request for these arguments, or None when the module must run them."""
        if not self._pipes():
            return None
        log = None
        if not self._task.no_log and not C.config.get_config_value("DEFAULT_NO_TARGET_SYSLOG", variables=task_vars):
            facility = task_vars.get("ansible_syslog_facility", C.DEFAULT_SYSLOG_FACILITY)
            log = {"facility": facility, "info": C.config.get_config_value("TARGET_LOG_INFO", variables=task_vars)}
        return login_request(module_args, bool(self._task.check_mode), bool(self._task.diff), log)

    def _run_login(self, module_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """ghcr_login's result for these arguments, piped or as the module (whose remote tmp the caller removes)."""
        request = self._login_request(module_args, task_vars)
        if request is None:
            return self._execute_module(LOGIN_MODULE, module_args=module_args, task_vars=task_vars)
        return self._run_piped(request, task_vars)

    def _run_piped(self, request: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """ghcr_login's backend on the target in one command, with the interpreter Ansible would run the module with;
        only the keys a module result may hold are kept (see read_result)."""
        built, _path = self._configure_module(INTERPRETER_MODULE, {}, task_vars)  # ansible_python_interpreter, discovery
        command = self._connection._shell.build_module_command(self._compute_environment_string(), built.shebang, "").strip()
        payload = program(request)
        done = self._low_level_execute_command(command, sudoable=True, in_data=payload)
        outcome = read_result(done, built.shebang.removeprefix("#!").strip(), payload)
        if request["warnings"]:
            outcome["warnings"] = [*request["warnings"], *(outcome.get("warnings") or [])]
        if self._discovered_interpreter_key:
            outcome["ansible_facts"] = {self._discovered_interpreter_key: self._discovered_interpreter}
        return remove_values(outcome, set(request["secrets"]))


__all__ = ("LOGIN_MODULE", "RESULT_KEYS", "PipedLogin", "login_request", "program", "read_result")
