#!/usr/bin/python
# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ghcr_node_auth
short_description: Write or remove a registry credential in the node-wide files of the kubelet, CRI-O, k3s and RKE2
version_added: 0.1.0
description:
  - Puts a GitHub Container Registry (or any OCI registry) credential into the files that node-level consumers read,
    or removes it. Each consumer's file is merged, never replaced, with the same writing rules as
    M(fleet.ghcr.ghcr_login) (atomic, locked, strict parsing, nothing rewritten that cannot be read exactly as the
    consumer reads it, secrets only as fingerprints in diffs).
  - >-
    V(kubelet): O(kubelet_config_path), the Docker-format C(config.json) in the kubelet's root directory. Under
    Kubernetes it covers containerd and CRI-O alike, since the kubelet hands the credential to the runtime with
    every pull. The entry is V({"auth": base64(username:token\)}) under the plain key (V(ghcr.io)); every spelling
    the kubelet reads as the same key (V(https://ghcr.io), V(ghcr.io/), V(https://ghcr.io/v2/)) is replaced, and
    every other key, path key (V(ghcr.io/org)) and glob key (V(*.example.com)) is kept. The kubelet reads no
    credential helpers. It re-reads the file at most 5 minutes after a change; no restart is needed.
  - >-
    V(crio): CRI-O outside Kubernetes. O(crio_auth_path) gets the credential in the containers-auth.json format, and
    O(crio_dropin_path) a drop-in that sets CRI-O's C(global_auth_file) to it. CRI-O reads the auth file at every
    pull, the drop-in when it starts: RV(restart) names V(crio) exactly when the drop-in changed. No backup is ever
    left beside the drop-in, since CRI-O reads every file of its drop-in directory.
  - >-
    V(k3s), V(rke2): C(configs."<host>".auth) in O(k3s_registries_path) or O(rke2_registries_path) (C(username)
    and C(password), replacing the whole C(auth) mapping of that registry). Mirrors, C(tls) settings, other
    registries and unknown keys are kept exactly as k3s reads them (C(password: 0123) stays the text V(0123)). The
    file is parsed and rendered on the controller, which always has PyYAML, so the target needs none; the module
    writes the result only if the file is still the one read, and refuses a file it cannot rewrite so that it
    reads the same (several documents, anchors, aliases, merge keys, tags, duplicate keys). Comments are lost when
    the file has to be rewritten (a warning says so); an unchanged credential leaves the file's bytes alone. k3s
    and RKE2 read the file only when they start: RV(restart) names V(k3s) or V(rke2) when its bytes changed.
  - >-
    The files belong to root (mode C(0600) for credentials); the module must run as root (C(become: true)).
author:
  - fleet.ghcr contributors (@fleet-ghcr)
extends_documentation_fragment:
  - fleet.ghcr._attributes
  - fleet.ghcr._registry
  - fleet.ghcr._credential
attributes:
  check_mode:
    support: full
    details: Reads the files but changes nothing; RV(restart) says what a real run would restart.
  diff_mode:
    support: full
    details: Secrets appear only as fingerprints.
  idempotent:
    support: full
    details: An unchanged credential leaves every file's bytes and modification time alone, and RV(restart) empty.
options:
  consumers:
    description:
      - Which node-level consumers to log in or out.
      - V(kubelet) writes O(kubelet_config_path). V(crio) writes O(crio_auth_path) and O(crio_dropin_path).
        V(k3s) writes O(k3s_registries_path), V(rke2) O(rke2_registries_path).
    type: list
    elements: str
    choices: [kubelet, crio, k3s, rke2]
    required: true
  state:
    description:
      - V(present) writes or rotates the credential.
      - V(absent) removes the registry's key and every spelling the consumer would read in its place. The files stay
        (an empty C(auths) object); so does the CRI-O drop-in, because a C(global_auth_file) naming a missing file
        would make CRI-O fail every pull.
    type: str
    choices: [present, absent]
    default: present
  docker_config_json:
    description:
      - Instead of O(username) and O(password), a Docker config (JSON text or a dictionary) whose every C(auths)
        entry is merged, for example the content of a C(kubernetes.io/dockerconfigjson) secret. O(registry) is then
        ignored. Only with O(state=present).
    type: raw
  backup:
    description:
      - Keep a timestamped C(0600) copy of each auth file before changing it, beside the file, as
        M(fleet.ghcr.ghcr_login) does (the 5 newest are kept). Never for the CRI-O drop-in.
    type: bool
    default: false
  kubelet_config_path:
    description:
      - The kubelet's C(config.json), in its root directory (C(--root-dir), default C(/var/lib/kubelet)). It is the
        first place the kubelet looks, so once it exists the kubelet no longer reads the files it looks at later
        (C(/config.json) and C(/.docker/config.json) under systemd, or root's C(~/.docker/config.json)); the module
        warns when it creates the file while one of those exists.
    type: str
    default: /var/lib/kubelet/config.json
  crio_auth_path:
    description:
      - The auth file CRI-O reads (its C(global_auth_file)). While it is set, CRI-O reads no other auth file.
      - It must not be in the drop-in directory of O(crio_dropin_path), where CRI-O reads every file as TOML.
      - A C(--global-auth-file) option or C(CONTAINER_GLOBAL_AUTH_FILE) in CRI-O's service, or a drop-in that sorts
        later and sets C(global_auth_file) too, overrides the drop-in.
    type: str
    default: /etc/crio/registry-auth.json
  crio_dropin_path:
    description:
      - The drop-in that sets C(global_auth_file). CRI-O reads its drop-ins in file name order after C(crio.conf), and
        a later one wins; the default sorts after the packages' C(10-crio.conf) and before an administrator's C(99-).
    type: str
    default: /etc/crio/crio.conf.d/20-fleet-ghcr.conf
  k3s_registries_path:
    description:
      - k3s's C(registries.yaml) (its C(--private-registry) option, or C(private-registry) in its C(config.yaml)).
      - k3s and RKE2 match a registry by its C(host[:port]) only, so O(registry) may not name a namespace.
    type: str
    default: /etc/rancher/k3s/registries.yaml
  rke2_registries_path:
    description:
      - RKE2's C(registries.yaml), read as k3s reads its own.
    type: str
    default: /etc/rancher/rke2/registries.yaml
  registries_yaml:
    description:
      - Internal; set by the module's action on the controller, never by a task (a task that sets it fails). It
        carries what the controller read from or decided for each C(registries.yaml).
    type: str
notes:
  - Needs only the Python 3 standard library on the target (Python 3.9 or later). For V(k3s) and V(rke2) the
    controller parses the YAML (with ansible-core's PyYAML) and the module runs twice on the target, to read and
    to write; they cannot run with C(async).
  - containerd's own configuration is not written by this module; see the collection's docs on node consumers for
    why, and for what to use instead.
seealso:
  - module: fleet.ghcr.ghcr_login
  - ref: ansible_collections.fleet.ghcr.docsite.node_consumers
    description: What each node-level consumer reads and when it re-reads it (C(docs/docsite/rst/node_consumers.rst)).
  - ref: ansible_collections.fleet.ghcr.docsite.k3s_rke2
    description: How C(registries.yaml) is read and written (C(docs/docsite/rst/k3s_rke2.rst)).
"""

EXAMPLES = r"""
---
- name: Log the kubelet in to GHCR (containerd or CRI-O under Kubernetes)
  fleet.ghcr.ghcr_node_auth:
    consumers: [kubelet]
    username: "{{ ghcr_username }}"
    password: "{{ ghcr_pat }}"
  become: true

- name: Log CRI-O in outside Kubernetes
  fleet.ghcr.ghcr_node_auth:
    consumers: [crio]
    username: "{{ ghcr_username }}"
    password: "{{ ghcr_pat }}"
  become: true
  register: node_auth

# A new token needs no restart (CRI-O reads its auth file at every pull); a new drop-in does.
- name: Restart CRI-O when its configuration changed
  ansible.builtin.systemd_service:
    name: crio
    state: restarted
  become: true
  when: "'crio' in node_auth.restart"

- name: Log k3s in (configs."ghcr.io".auth in /etc/rancher/k3s/registries.yaml)
  fleet.ghcr.ghcr_node_auth:
    consumers: [k3s]
    username: "{{ ghcr_username }}"
    password: "{{ ghcr_pat }}"
  become: true
  register: k3s_auth

# k3s reads registries.yaml only when it starts; its service is k3s on servers, k3s-agent on agents.
- name: Restart k3s when its registries.yaml changed
  ansible.builtin.systemd_service:
    name: k3s
    state: restarted
  become: true
  when: "'k3s' in k3s_auth.restart"

- name: Log the kubelet out again
  fleet.ghcr.ghcr_node_auth:
    consumers: [kubelet]
    state: absent
  become: true
"""

RETURN = r"""
auth_files:
  description: Each auth file looked at, with what happened to it.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
      sample: /var/lib/kubelet/config.json
    consumer:
      description: Who reads it.
      type: str
      sample: kubelet
    action:
      description: V(created), V(updated), V(removed) or V(unchanged).
      type: str
      sample: created
    via:
      description: V(file), or V(helper) when CRI-O's auth file sends the registry to a credential helper.
      type: str
      sample: file
    helper:
      description: The credential helper that holds the credential, when RV(auth_files[].via=helper).
      type: str
      returned: when RV(auth_files[].via=helper)
      sample: pass
config_files:
  description: The consumers' configuration files the module manages (the CRI-O drop-in), with what happened to them.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/etc/crio/crio.conf.d/20-fleet-ghcr.conf", "consumer": "crio", "action": "created"}]
restart:
  description:
    - The consumers that must be restarted to read their changed configuration (V(crio), V(k3s), V(rke2)); empty
      when none.
    - The service names differ by installation (V(k3s) or V(k3s-agent), V(rke2-server) or V(rke2-agent)); the
      P(fleet.ghcr.registry_auth#role) role's handler finds them.
  returned: always
  type: list
  elements: str
  sample: [crio]
registry:
  description: The registry whose credential was written or removed; null when O(docker_config_json) names several.
  returned: always
  type: str
  sample: ghcr.io
registries:
  description: Every registry whose credential was written or removed.
  returned: always
  type: list
  elements: str
  sample: [ghcr.io]
backup_files:
  description: The backups made (O(backup)).
  returned: always
  type: list
  elements: str
leftovers_removed:
  description: Temporary files of killed runs that were removed from beside the files.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import node_module_kwargs
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.module_utils._node_auth import run_node_auth


def main() -> None:
    module = AnsibleModule(**node_module_kwargs())
    try:
        result = run_node_auth(module)
    except GhcrError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
