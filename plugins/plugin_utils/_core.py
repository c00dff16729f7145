# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ansible-core the controller-side plugins need, and the one message for a controller that is older.

The lookup and the role's action are built on the data tagging of ansible-core 2.19 (vault-encrypted values as
tagged strings, ``VaultHelper``, ``trust_as_template``). On an older core they must still load, so that Ansible runs
them and they can say what to do, instead of failing at import with a traceback.
"""

from __future__ import annotations

from ansible.release import __version__ as ansible_core_version

try:  # what the lookup and the role's action import from ansible-core 2.19
    from ansible.parsing.vault import VaultHelper, VaultSecretsContext  # noqa: F401  # pylint: disable=unused-import
    from ansible.template import trust_as_template  # noqa: F401  # pylint: disable=unused-import
except ImportError:  # ansible-core < 2.19
    HAS_DATA_TAGGING = False
else:
    HAS_DATA_TAGGING = True


def unsupported_core(plugin: str, version: str = ansible_core_version) -> str:
    return (
        f"{plugin} needs ansible-core 2.19 or later, and this controller runs {version}: it reads vault-encrypted"
        " values through the data tagging of ansible-core 2.19. Upgrade ansible-core (2.19 to 2.21 are supported);"
        " in AWX or Automation Platform, run the job in an execution environment built with ansible-core>=2.20,<2.22"
        " (see the collection's AWX guide)."
    )
