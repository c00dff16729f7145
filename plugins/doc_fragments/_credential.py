# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import annotations


class ModuleDocFragment:
    # Mirrors _CREDENTIAL_ARGS in plugins/module_utils/_argspec.py: the credential a module writes.
    DOCUMENTATION = r"""
options:
  username:
    description:
      - The registry user name; for GHCR the GitHub login that owns the token.
      - Must not be empty or contain V(:) or whitespace.
      - Required with O(state=present) unless O(docker_config_json) is given.
    type: str
  password:
    description:
      - The token (for GHCR a personal access token, classic, with C(read:packages)).
      - Surrounding whitespace, such as a trailing newline from a file, is removed with a warning; an empty token
        or whitespace inside it is an error.
    type: str
    aliases: [token, pat]
"""
