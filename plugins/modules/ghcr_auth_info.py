#!/usr/bin/python
# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ghcr_auth_info
short_description: List the registries a user's Docker and Podman auth files hold, and what is wrong with them
version_added: 0.1.0
description:
  - Reads the auth files that M(fleet.ghcr.ghcr_login) manages for O(user) (Docker's C(config.json), Podman's persistent
    file and Podman's runtime files under C(/run)) and reports, per file, the registries it holds, the user name of each
    credential, whether the secret is in the file or in a credential helper, and problems a client would have.
  - Each file is read by the rules of its client (Docker's for C(config.json), containers/image's for Podman's
    files), through the same model as M(fleet.ghcr.ghcr_login).
  - Problems reported are modes readable by group or others, files not owned by O(user), files that do not parse or
    are not regular files, entries Docker cannot decode (which make Docker ignore the whole file), several spellings
    of one registry with different credentials, and Podman runtime files that shadow the persistent file.
  - A file larger than 4 MiB (4194304 bytes), or one that is not a regular file, is reported as a problem without
    being read.
  - Never returns a secret; only user names. Credential helpers are not run.
  - With O(node_consumers), it also reports the node-wide files that M(fleet.ghcr.ghcr_node_auth) writes, in
    RV(node_files). k3s's and RKE2's C(registries.yaml) are read on the target and parsed on the controller, as
    M(fleet.ghcr.ghcr_node_auth) does, so the target needs no PyYAML.
  - Use M(fleet.ghcr.ghcr_registry) with O(fleet.ghcr.ghcr_registry#module:auth_file) to prove that a listed credential
    works; C(playbooks/verify.yml) does both for a whole inventory.
author:
  - fleet.ghcr contributors (@fleet-ghcr)
extends_documentation_fragment:
  - fleet.ghcr._attributes
  - fleet.ghcr._user_files
options:
  node_consumers:
    description:
      - Node-level consumers whose files to report as well, in RV(node_files) (reading them needs root).
      - With O(engines=[]), only these are reported, and RV(files) is empty.
    type: list
    elements: str
    choices: [kubelet, crio, k3s, rke2]
    default: []
  kubelet_config_path:
    description: The kubelet's C(config.json), as in M(fleet.ghcr.ghcr_node_auth).
    type: str
    default: /var/lib/kubelet/config.json
  crio_auth_path:
    description: CRI-O's global auth file, as in M(fleet.ghcr.ghcr_node_auth).
    type: str
    default: /etc/crio/registry-auth.json
  k3s_registries_path:
    description: k3s's C(registries.yaml), as in M(fleet.ghcr.ghcr_node_auth).
    type: str
    default: /etc/rancher/k3s/registries.yaml
  rke2_registries_path:
    description: RKE2's C(registries.yaml), as in M(fleet.ghcr.ghcr_node_auth).
    type: str
    default: /etc/rancher/rke2/registries.yaml
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
  idempotent:
    support: full
seealso:
  - module: fleet.ghcr.ghcr_login
  - module: fleet.ghcr.ghcr_node_auth
  - module: fleet.ghcr.ghcr_registry
"""

EXAMPLES = r"""
---
- name: What do the deploy user's auth files hold?
  fleet.ghcr.ghcr_auth_info:
    user: deploy
  become: true
  register: deploy_auth

- name: Warn about files with problems
  ansible.builtin.debug:
    msg: "{{ item.path }}: {{ item.problems | join('; ') }}"
  loop: "{{ deploy_auth.files | selectattr('problems') }}"
  loop_control:
    label: "{{ item.path }}"

- name: What do the kubelet's and k3s's files hold?
  fleet.ghcr.ghcr_auth_info:
    engines: []
    node_consumers: [kubelet, k3s]
  become: true
  register: node_auth
"""

RETURN = r"""
user:
  description: The user whose files were read.
  returned: always
  type: str
  sample: deploy
files:
  description: Each auth file a client of the engines would read; runtime files only when they exist.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
      sample: /home/deploy/.docker/config.json
    engine:
      description: V(docker) or V(podman).
      type: str
    kind:
      description: V(persistent), or V(runtime) for Podman's files under C(/run), which Podman reads first.
      type: str
    exists:
      description: Whether the file exists.
      type: bool
    mode:
      description: The file's mode, as four octal digits.
      type: str
      sample: "0600"
    owner:
      description: The file's owner.
      type: str
      sample: deploy
    registries:
      description: One entry per key of C(auths).
      type: list
      elements: dict
      contains:
        key:
          description: The key as stored.
          type: str
          sample: ghcr.io
        registry:
          description: The normalised registry.
          type: str
          sample: ghcr.io
        username:
          description: The user name of an inline credential; V(null) otherwise.
          type: str
          sample: octocat
        fingerprint:
          description:
            - The fingerprint of an inline credential's secret (C(sha256:) and the first 12 hex digits of the SHA-256 of
              the token), the same as C({{ token | hash('sha256') }}) cut to 12 digits. It tells which token a host
              holds, for example the one in inventory after a rotation, without revealing it. V(null) otherwise.
          type: str
          sample: "sha256:1a2b3c4d5e6f"
        via:
          description:
            - V(file) (a user name and secret in the file), V(helper) (the client asks a credential helper),
              V(token) (an identity or registry token that Docker sends), V(none) (an empty entry) or V(broken) (an
              entry the client cannot decode).
          type: str
        used:
          description:
            - Whether the file's client uses this entry for its registry. V(false) when another spelling of the same
              registry wins (the exact key does, even when empty), when a credential helper answers instead, or when
              the client cannot use the file at all.
          type: bool
        helper:
          description: The credential helper's name, when RV(files[].registries[].via=helper).
          type: str
    problems:
      description: What a client would trip over, in words.
      type: list
      elements: str
node_files:
  description:
    - The files of O(node_consumers), each as in RV(files), with RV(node_files[].consumer) and V(node) as its
      RV(node_files[].kind); C(engine) is V(kubelet), V(podman) (CRI-O's file) or the consumer (k3s, rke2). Missing
      files are listed too, with C(exists=false).
    - For C(registries.yaml), one entry per C(configs) key with an C(auth) mapping, by the rules k3s's containerd
      applies (C(username) and C(password), else C(identity_token), else the user name inside C(auth)).
  returned: always
  type: list
  elements: dict
  contains:
    consumer:
      description: V(kubelet), V(crio), V(k3s) or V(rke2).
      type: str
      sample: k3s
    kind:
      description: V(node).
      type: str
    path:
      description: The file.
      type: str
      sample: /etc/rancher/k3s/registries.yaml
  sample:
    - consumer: k3s
      kind: node
      engine: k3s
      path: /etc/rancher/k3s/registries.yaml
      exists: true
      mode: "0600"
      owner: root
      registries: [{key: ghcr.io, registry: ghcr.io, username: octocat, fingerprint: "sha256:1a2b3c4d5e6f", via: file, used: true, helper: null}]
      problems: []
shadowed:
  description: Registries that a Podman runtime file holds as well as the persistent file (Podman uses the runtime one).
  returned: always
  type: list
  elements: dict
  sample: [{registry: ghcr.io, runtime_path: /run/user/1000/containers/auth.json, persistent_path: /home/deploy/.config/containers/auth.json}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import info_module_kwargs
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.module_utils._ghcr_auth_info import run_info


def main() -> None:
    module = AnsibleModule(**info_module_kwargs())
    try:
        result = run_info(module)
    except GhcrError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
