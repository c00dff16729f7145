# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Let ``ansible-test --venv`` bootstrap pip without the internet.

ansible-test bootstraps pip into each virtualenv it makes with a get-pip script that it downloads from
ci-files.testing.ansible.com unless ``~/.ansible/test/cache/get_pip_<version>.py`` already exists
(https://github.com/ansible/ansible/issues/77304). That host is not reachable here.

``python tools/ansible_test_offline_pip.py``, run by the Python that has ansible-test installed (the nox
sessions do), copies this file to that cache path for the pip version this ansible-test pins, unless a
script is there already. ansible-test then runs it as get-pip: pip comes from the interpreter's own
``ensurepip``, and is then upgraded to the pinned version from the package index pip is configured with.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import types
from pathlib import Path


def pinned_pip_version(python_version: str) -> str:
    from ansible_test._internal.python_requirements import get_venv_packages

    return get_venv_packages(types.SimpleNamespace(version=python_version))["pip"]


def install_standin() -> int:
    version = pinned_pip_version(f"{sys.version_info[0]}.{sys.version_info[1]}")
    target = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{version.replace('.', '_')}.py"
    if target.is_file() and target.stat().st_size:
        print(f"ansible-test's pip {version} bootstrap script is in place: {target}")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(__file__, target)
    print(f"wrote an offline pip {version} bootstrap script for ansible-test: {target}")
    return 0


def act_as_get_pip(argv: list[str]) -> int:
    """What get-pip.py does, from ensurepip: install pip (and the packages in ``argv``), honour --no-setuptools/--no-wheel."""
    args = [arg for arg in argv if arg not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], stdout=subprocess.DEVNULL)
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *args])
    for name in ("setuptools", "wheel"):
        if f"--no-{name}" in argv:
            subprocess.call([sys.executable, "-m", "pip", "uninstall", "--quiet", "--yes", name])
    return 0


if __name__ == "__main__":
    # Run from the checkout (tools/...): install the stand-in. Run from ansible-test's cache: be get-pip.
    in_checkout = Path(__file__).resolve().parent.name == "tools"
    sys.exit(install_standin() if in_checkout else act_as_get_pip(sys.argv[1:]))
