# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import annotations


class ModuleDocFragment:
    # Mirrors USER_FILES_ARGS in plugins/module_utils/_argspec.py: whose auth files, and which.
    DOCUMENTATION = r"""
options:
  user:
    description:
      - Whose files these are. Home, uid and gid come from the passwd database; C(~) in the path options means
        this user's home.
      - >-
        Another user's files need root (C(become: true)). As root, a path that leads through files owned by a
        third user, or that the user could redirect onto a file they cannot write (a symbolic link to C(/etc), a
        root-owned file in their home), is refused.
      - Defaults to the user the module runs as.
    type: str
  engines:
    description:
      - >-
        Which engines' auth files. V(docker) is Docker's C(config.json), V(podman) the C(containers-auth.json)
        file that Podman, Skopeo and Buildah read.
      - >-
        Podman, Skopeo and Buildah also read Docker's C(config.json) after their own files (by their own rules:
        per-namespace keys, no C(credsStore)). With V([podman]) alone, Docker's file is neither read nor changed, so
        a credential that it holds stays visible to Podman for registries that Podman's own files do not answer.
    type: list
    elements: str
    choices: [docker, podman]
    default: [docker, podman]
  docker_config_path:
    description:
      - Docker's config file. C(DOCKER_CONFIG) of the target is not read; give the path here if you use it.
      - Defaults to C(~/.docker/config.json) of O(user).
    type: str
  podman_auth_path:
    description:
      - The Podman, Skopeo and Buildah auth file.
      - Defaults to the persistent C(~/.config/containers/auth.json) of O(user), which survives reboots, unlike
        Podman's own default under C(/run). C(REGISTRY_AUTH_FILE) of the target is not read; give the path here
        if your services use it.
    type: str
"""
