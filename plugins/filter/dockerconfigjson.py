# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: dockerconfigjson
short_description: The C(.dockerconfigjson) of a Kubernetes image pull secret, from a username and a token
version_added: 0.1.0
author: fleet.ghcr contributors
description:
  - Returns the JSON text of a Docker config that holds one registry credential, for the C(.dockerconfigjson) key of a
    Secret of type C(kubernetes.io/dockerconfigjson) (what C(imagePullSecrets) of a pod names).
  - "The text is what C(kubectl create secret docker-registry) puts there, byte for byte for ASCII credentials
    (C({\"auths\":{\"ghcr.io\":{\"username\":...,\"password\":...,\"auth\":...}}})) with C(auth) the base64 of
    C(username:token), compact, without C(email)."
  - "B(The result is a secret.) Run every task that handles it with C(no_log: true), and base64-encode it into the
    Secret's C(data) (see the Kubernetes page of the docs for why)."
  - The token is checked as M(fleet.ghcr.ghcr_login) checks its O(fleet.ghcr.ghcr_login#module:password) (whitespace
    around it is removed); errors never quote it.
options:
  _input:
    description: The GitHub login that owns the token (C(ghcr_username)).
    type: string
    required: true
  token:
    description: The personal access token, for example the vault-encrypted C(ghcr_pat) or the lookup P(fleet.ghcr.ghcr_pat#lookup).
    type: string
    required: true
  registry:
    description:
      - The registry, as for M(fleet.ghcr.ghcr_login)'s O(fleet.ghcr.ghcr_login#module:registry). The kubelet matches
        the key by host and plain path prefix, so V(ghcr.io/my-org) limits the credential to images whose name starts
        with C(ghcr.io/my-org).
    type: string
    default: ghcr.io
seealso:
  - module: fleet.ghcr.ghcr_login
  - ref: ansible_collections.fleet.ghcr.docsite.kubernetes
    description: The Kubernetes pages of the collection's docs (C(docs/docsite/rst/kubernetes.rst)).
"""

EXAMPLES = r"""
- name: Image pull secret for the app namespace, from the vault-encrypted token in inventory
  kubernetes.core.k8s:
    state: present
    definition:
      apiVersion: v1
      kind: Secret
      type: kubernetes.io/dockerconfigjson
      metadata:
        name: ghcr-pull
        namespace: app
      data:
        .dockerconfigjson: "{{ ghcr_username | fleet.ghcr.dockerconfigjson(ghcr_pat) | b64encode }}"
    hidden_fields:
      - data
  no_log: true

- name: The same for one organisation's images only
  ansible.builtin.set_fact:
    pull_secret_json: "{{ ghcr_username | fleet.ghcr.dockerconfigjson(lookup('fleet.ghcr.ghcr_pat'), registry='ghcr.io/my-org') }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: The JSON text, one line, for the C(.dockerconfigjson) key of the Secret.
  type: string
  sample: '{"auths":{"ghcr.io":{"username":"octocat","password":"ghp_...","auth":"b2N0b2NhdDpnaHBf..."}}}'
"""

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import check_username, encode_auth
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import Registry
from ansible_collections.fleet.ghcr.plugins.module_utils._token import clean_token


def dockerconfigjson(username: object, token: object, registry: object = "ghcr.io") -> str:
    """``{"auths":{key:{"username","password","auth"}}}`` as kubectl writes it (compact, in that order)."""
    if not isinstance(username, str) or not isinstance(token, str):
        raise AnsibleFilterError("fleet.ghcr.dockerconfigjson: the username (its input) and the token must be strings.")
    try:
        key = Registry.parse(registry).name  # the kubelet matches host and path prefix, unlike the Docker CLI
        login = check_username(username)
        secret, _stripped = clean_token(token, "the token argument")
    except GhcrError as error:
        raise AnsibleFilterError(f"fleet.ghcr.dockerconfigjson: {error}") from None
    entry = {"username": login, "password": secret, "auth": encode_auth(login, secret)}
    return json.dumps({"auths": {key: entry}}, separators=(",", ":"))


class FilterModule:
    def filters(self) -> dict:
        return {"dockerconfigjson": dockerconfigjson}
