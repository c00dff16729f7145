# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import annotations


class ModuleDocFragment:
    # Mirrors REGISTRY_ARGS in plugins/module_utils/_argspec.py.
    DOCUMENTATION = r"""
options:
  registry:
    description:
      - The registry, as V(host), V(host:port) or a URL; a scheme and trailing V(/) are dropped, the host is
        lower-cased, and Docker Hub's aliases become V(docker.io).
      - A path (V(ghcr.io/my-org)) makes a namespaced key, which only Podman, Skopeo and Buildah honour; with the
        V(docker) engine it is an error, because Docker keeps one credential per registry host.
    type: str
    default: ghcr.io
"""
