#!/usr/bin/python
# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ghcr_login
short_description: Write, rotate or remove a registry credential in a user's Docker and Podman auth files
version_added: 0.1.0
description:
  - Puts a GitHub Container Registry (or any OCI registry) credential into the files that Docker
    (C(~/.docker/config.json)) and Podman, Skopeo and Buildah (C(containers-auth.json)) read, for one Unix user,
    or removes it. No Docker daemon, Podman binary or network access is needed on the target.
  - >-
    The entry is written exactly as the real clients write it, V({"auth": base64(username:token\)}), under the
    normalised key (V(https://ghcr.io/) becomes V(ghcr.io)). Every other key and entry of the file is kept as it
    was, and so is the file's indentation. C(http://) and C(https://) spellings of the same key are removed, so
    that a stale token cannot linger under another spelling.
  - Files are replaced atomically (a C(0600) temporary file in the same directory, fsync, rename) under an advisory
    lock on the directory, so parallel runs lose no entry. New files are created with mode C(0600) in C(0700)
    directories and belong to O(user); existing files keep their owner, mode and SELinux label, except that a mode
    readable by group or others is tightened (with a warning).
  - >-
    A run killed at any point leaves nothing in the way. Temporary files that a killed run left beside a file are
    removed by the next run, whatever its O(state) (see RV(leftovers_removed)). A missing directory is created
    under a temporary name and renamed into place only once it belongs to O(user). The home directory of O(user)
    is never created: a missing one is an error.
  - >-
    Bounds. An auth file larger than 4 MiB (4194304 bytes), or one that is not a regular file, is refused before
    it is read. With O(verify), every HTTP request must finish, headers and body, within O(timeout). Each credential
    check must finish within O(timeout) times (O(retries) + 1) times the number of requests it can make. No answer is
    read beyond 1 MiB.
  - >-
    Files are read exactly as the Go clients read them, field names in any letter case included. Some files are
    never rewritten: one that is empty or does not parse; one that holds a key twice, two spellings of one field,
    V(NaN), nesting deeper than 64 levels or a lone surrogate escape; and a Docker file that Docker itself could
    not load. The task fails, names the file and what to fix, and changes no file, because every file is planned in
    memory before the first is written. Values the module does not touch keep their text, numbers included.
  - If Docker's C(credHelpers) or C(credsStore) sends the registry to a credential helper, the credential is
    stored through C(docker-credential-<name>) over standard input, as the Docker CLI does, and the file only gets
    the empty placeholder entry the Docker CLI writes. The same holds for C(credHelpers) in a Podman file.
  - >-
    The module never prints a secret. The diff shows key and user names. Every other value of an entry, in any
    letter case, and every C(HttpHeaders) value appears only as a fingerprint (C(sha256:) and the first 12 hex
    digits of its hash), as do unknown fields and passwords in proxy URLs. A rotation is visible without leaking
    anything.
author:
  - fleet.ghcr contributors (@fleet-ghcr)
extends_documentation_fragment:
  - fleet.ghcr._attributes
  - fleet.ghcr._registry
  - fleet.ghcr._registry.connection
  - fleet.ghcr._credential
  - fleet.ghcr._user_files
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details: The arguments are checked on the controller; the files are always written on the target.
  check_mode:
    support: full
    details: Reads the files (and asks credential helpers with their read-only C(get) action) but changes nothing.
  diff_mode:
    support: full
    details: Secrets appear only as fingerprints.
  idempotent:
    support: full
    details: Compares content, not bytes; an unchanged credential leaves the file's bytes and modification time alone.
options:
  state:
    description:
      - V(present) writes or rotates the credential.
      - V(absent) removes the key and every spelling a client would read in its place, from the files and from
        credential helpers. In a Docker file this includes namespaced keys of the host (V(ghcr.io/org)), because
        Docker applies them to the whole host.
    type: str
    choices: [present, absent]
    default: present
  missing_user:
    description:
      - What to do when O(user) does not exist on the host, for O(state=present).
      - V(fail) fails the task. V(skip) does nothing and reports the task as skipped. V(warn) does the same with a
        warning. Useful for mixed fleets where not every host has every user.
      - With O(state=absent) a missing user is never an error; there is nothing to log out.
    type: str
    choices: [fail, skip, warn]
    default: fail
  sync_runtime_auth:
    description:
      - Podman reads C($XDG_RUNTIME_DIR/containers/auth.json) (C(/run/user/UID/...), and for root also
        C(/run/containers/0/auth.json)) before the persistent file. If such a file exists and holds the registry,
        update or remove the entry there too, so a stale entry cannot shadow the new one.
      - Runtime files that do not exist or do not hold the registry are left alone.
    type: bool
    default: true
  docker_config_json:
    description:
      - Instead of O(username) and O(password), a Docker config (JSON text or a dictionary) whose every C(auths)
        entry is merged, for example the content of an existing C(~/.docker/config.json) or of a
        C(kubernetes.io/dockerconfigjson) secret. O(registry) is then ignored.
      - Entries need C(auth), or C(username) and C(password). Only with O(state=present).
    type: raw
  credential_helpers:
    description:
      - Honour C(credHelpers) and C(credsStore), and store the credential through C(docker-credential-<name>), as the
        Docker CLI does. The task fails if the helper binary is missing.
      - When V(false), write the credential into the file anyway, with a warning that the client will ignore it
        there while the helper setting stays.
      - Like the Docker CLI, the module does not pick a platform default store on its own; set C(credsStore) in the
        file to opt in.
    type: bool
    default: true
  backup:
    description:
      - Keep a timestamped C(0600) copy of each file before changing it, beside the file
        (C(config.json.YYYY-MM-DD@HH:MM:SS.PID.ghcr~)). The copy is written like the file itself (a temporary file,
        then a rename) and removed again if the change then fails, so RV(backup_files) lists exactly what exists.
      - Backups hold old credentials, so only the 5 newest backups of each file made this way are kept; older
        ones are removed when a new one is made.
    type: bool
    default: false
  verify:
    description:
      - Before writing anything, prove the credential against the registry from this host, with the same handshake
        as M(fleet.ghcr.ghcr_registry). That is a token from the registry's token endpoint and, with O(verify_image),
        a pull-scoped token and a manifest C(HEAD).
      - On failure the task fails with the classified error (RV(verification)) and every file is left untouched.
      - Only with O(state=present). Without O(verify), the module never touches the network.
    type: bool
    default: false
  verify_image:
    description:
      - An image (V(owner/name[:tag])) whose pull access O(verify) proves. Without it, O(verify) proves only that the
        registry accepts the credential, which cannot detect a missing C(read:packages) scope.
    type: str
notes:
  - Needs only the Python 3 standard library on the target (Python 3.9 or later).
  - Credential helpers run as O(user), with that user's home. When the module already runs as that user, the
    task's environment (for example C(PASSWORD_STORE_DIR)) reaches the helper.
  - >-
    How it runs: the action plugin checks the arguments on the controller with the module's argument spec and sends
    the module's code and arguments over the connection's standard input to the target's Python, in one command,
    without AnsibleModule (which is most of what a module costs). Nothing is written under the remote temporary
    directory, so not even a killed run leaves the token there, and the token is never on a command line. Of the
    output only the keys a module result may hold are kept, and the invocation is logged on the target as
    AnsibleModule logs it.
  - >-
    It does so wherever Ansible would pipeline a module, and without C(become) unless pipelining is turned off
    explicitly (C(pipelining = False) in C(ansible.cfg), C(ANSIBLE_PIPELINING=0) or C(ansible_pipelining=false))
    or SSH is asked for a terminal. It runs as an ordinary module under C(become) without pipelining (sudo's
    C(requiretty)), with C(async), with C(keep_remote_files), with O(verify=true) (which needs Ansible's HTTP
    code), and for arguments the module refuses, which it reports in its own words.
seealso:
  - ref: ansible_collections.fleet.ghcr.docsite.ghcr_login
    description: How the module behaves where the clients' rules are subtle (C(docs/docsite/rst/ghcr_login.rst)).
  - name: containers-auth.json(5)
    description: The file format Podman, Skopeo and Buildah read.
    link: https://github.com/containers/image/blob/main/docs/containers-auth.json.5.md
  - name: docker login
    description: How the Docker CLI stores credentials and uses credential helpers.
    link: https://docs.docker.com/reference/cli/docker/login/
"""

EXAMPLES = r"""
---
- name: Log the deploy user in to GHCR for Docker and Podman
  fleet.ghcr.ghcr_login:
    username: "{{ ghcr_username }}"
    password: "{{ ghcr_pat }}"
    user: deploy
  become: true

- name: Log root's Podman services in, with an auth file they name in AuthFile=
  fleet.ghcr.ghcr_login:
    username: "{{ ghcr_username }}"
    password: "{{ ghcr_pat }}"
    user: root
    engines: [podman]
    podman_auth_path: /etc/containers/ghcr-auth.json
  become: true

- name: A per-organisation credential for Podman only
  fleet.ghcr.ghcr_login:
    registry: ghcr.io/my-org
    engines: [podman]
    username: "{{ ghcr_username }}"
    password: "{{ ghcr_pat }}"

- name: Reuse a whole Docker config blob, keeping a backup of each changed file
  fleet.ghcr.ghcr_login:
    docker_config_json: "{{ lookup('ansible.builtin.file', 'files/ci-config.json') }}"
    backup: true

- name: Rotate to a new PAT only if it can really pull the application image
  fleet.ghcr.ghcr_login:
    username: "{{ ghcr_username }}"
    password: "{{ ghcr_pat_new }}"
    user: deploy
    verify: true
    verify_image: my-org/app:1.4.0
  become: true

- name: Log the deploy user out of GHCR everywhere a client would read it
  fleet.ghcr.ghcr_login:
    state: absent
    user: deploy
  become: true
"""

RETURN = r"""
user:
  description: The Unix user whose files were handled (O(user), or the user the module ran as).
  returned: always
  type: str
  sample: deploy
registry:
  description:
    - The normalised registry (V(ghcr.io), V(registry.example.com:5000), V(ghcr.io/my-org), V(docker.io)).
    - V(null) when O(docker_config_json) held more than one registry; see RV(registries).
  returned: always
  type: str
  sample: ghcr.io
registries:
  description: Every normalised registry the task handled.
  returned: always
  type: list
  elements: str
  sample: [ghcr.io]
auth_files:
  description: What happened to each file, in the order they were handled.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file, as configured (a symbolic link is followed, and its target is what gets replaced).
      type: str
      sample: /home/deploy/.docker/config.json
    engine:
      description: The engine that reads the file.
      type: str
      sample: docker
    action:
      description: V(created), V(updated), V(removed) or V(unchanged).
      type: str
      sample: created
    via:
      description: V(file) when the secret is in the file, V(helper) when it went to a credential helper.
      type: str
      sample: file
    helper:
      description: The credential helper's name, when RV(auth_files[].via=helper).
      type: str
      returned: when a credential helper was used
      sample: pass
  sample:
    - {path: /home/deploy/.docker/config.json, engine: docker, action: created, via: file}
    - {path: /home/deploy/.config/containers/auth.json, engine: podman, action: unchanged, via: file}
verification:
  description:
    - With O(verify=true), what the registry said of each credential, as in M(fleet.ghcr.ghcr_registry).
  returned: when O(verify=true)
  type: list
  elements: dict
  sample:
    - registry: ghcr.io
      authenticated: true
      error: null
      images: [{ref: my-org/app:1.4.0, pullable: true, pushable: null, digest: "sha256:4f5c...", error: null}]
      requests: 3
backup_files:
  description: The backup copies made because of O(backup=true).
  returned: always
  type: list
  elements: str
  sample: [/home/deploy/.docker/config.json.2026-11-22@10:15:02.4242.ghcr~]
leftovers_removed:
  description:
    - Temporary files (C(.config.json.tmp-PID-NANOSECONDS)) that a killed run left beside a file, which this run
      removed (in check mode, would remove). They may hold credentials, so removing them counts as a change.
  returned: always
  type: list
  elements: str
  sample: [/home/deploy/.docker/.config.json.tmp-4242-1733080000000000000]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import login_module_kwargs
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.module_utils._ghcr_login import run_login


def main() -> None:
    module = AnsibleModule(**login_module_kwargs())
    try:
        result = run_login(module)
    except GhcrError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
