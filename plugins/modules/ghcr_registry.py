#!/usr/bin/python
# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ghcr_registry
short_description: Prove what a registry credential can do, and explain failures in the registry's own words
version_added: 0.1.0
description:
  - >-
    Performs the registry's real authentication handshake from the host it runs on: C(GET /v2/) for the challenge,
    then a token from the realm and service that the challenge names (never hard-coded), with HTTP Basic auth and
    real C(repository:<owner>/<name>:pull) scopes, one token request for all O(images).
  - For each image, a manifest C(HEAD) with the OCI and Docker media types proves pull access and reports the digest.
    With O(check_push), an upload C(POST) that must answer C(202) proves push access; the upload is cancelled at once,
    so nothing is written.
  - >-
    C(docker login) and C(podman login) only check C(/v2/) without a scope, so a PAT without C(read:packages), or
    without access to the package, "logs in" and then fails on the first pull. This module tells those apart.
  - Every failure is classified (RV(error.code)), with the registry's own message verbatim and a hint on what to do.
  - HTTP 429 and 5xx answers are retried, waiting as long as the C(Retry-After) header or GHCR's message text asks.
  - For GitHub tokens, the GitHub API can tell the token's scopes and expiry (O(inspect_token)).
  - The module only reads; it never changes anything and is safe in check mode.
author:
  - fleet.ghcr contributors (@fleet-ghcr)
extends_documentation_fragment:
  - fleet.ghcr._attributes
  - fleet.ghcr._registry
  - fleet.ghcr._registry.connection
attributes:
  check_mode:
    support: full
    details: The module only reads, so it does the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  username:
    description:
      - The registry user name (for GHCR the GitHub login that owns the token).
      - Without O(username), O(password) and O(auth_file), the check is anonymous (public images only).
    type: str
  password:
    description:
      - The token. Never printed.
    type: str
    aliases: [token, pat]
  auth_file:
    description:
      - Instead of O(username) and O(password), read the credential for O(registry) from this Docker
        C(config.json) or containers C(auth.json) on the host, as the clients would (including a credential helper
        named in the file). This proves that the file the host really uses works from the host's own network.
      - C(~) means the home of O(user).
      - The file is read by the rules of the client that reads it (see O(auth_file_engine)), so the credential proven
        is the one that client would send; an empty entry that stops the client's search, an entry it cannot decode,
        or several spellings of the registry holding different credentials are errors that name the entry.
    type: str
  auth_file_engine:
    description:
      - Whose rules O(auth_file) is read by.
      - V(docker) follows the Docker CLI, with one credential per registry host. It checks C(credHelpers), then
        C(credsStore), then the exact key, then any other key of the same host (V(https://ghcr.io)). The exact key
        wins even when it is an empty entry.
      - V(podman) follows Podman, Skopeo and Buildah (containers/image). It checks C(credHelpers) by host and ignores
        C(credsStore). It tries the most specific key first, per image (V(ghcr.io/org/app), V(ghcr.io/org), then
        V(ghcr.io)), and then the URL spellings and Docker Hub aliases of the host. Images that resolve to different
        credentials are each checked with their own.
      - V(auto) takes a file named C(config.json) for Docker's and any other file for Podman's.
    type: str
    choices: [auto, docker, podman]
    default: auto
  user:
    description:
      - Whose O(auth_file) it is (its C(~), and the account credential helpers run as). Defaults to the user the
        module runs as.
    type: str
  images:
    description:
      - Images to prove pull access for, as V(owner/name), V(owner/name:tag) or V(owner/name@sha256:...); the tag
        defaults to V(latest). A leading registry host equal to O(registry) is allowed.
    type: list
    elements: str
    default: []
  check_push:
    description:
      - Also prove push access to each image, without writing anything.
    type: bool
    default: false
  inspect_token:
    description:
      - Ask the GitHub API (C(GET /user)) for the token's kind, scopes and expiry.
      - V(auto) asks only when O(registry) is V(ghcr.io).
      - What the API says is returned in RV(token) and its warnings (missing C(read:packages), broader scopes than
        pulling needs, expiry within 14 days, token kinds GHCR does not document) are also Ansible warnings.
    type: str
    choices: [auto, always, never]
    default: auto
  github_api_url:
    description:
      - The GitHub API to ask, for GitHub Enterprise Server or tests.
      - O(ca_path) applies to it too when it is not the default; the default API is checked against the system's CAs.
    type: str
    default: https://api.github.com
  require_read_packages:
    description:
      - When the GitHub API was asked about a classic PAT (see O(inspect_token)), treat a token without
        C(read:packages) (or C(write:packages), which implies it) as a failure, error code V(denied).
      - Fails closed when the API cannot be asked or refuses the token.
      - Other kinds of token do not report scopes; they are judged by their warnings alone.
    type: bool
    default: false
  fail_on_error:
    description:
      - By default the task fails when the credential is rejected, the registry cannot be reached, or a listed image is
        not pullable (not pushable, with O(check_push)).
      - V(false) reports the same result without failing, for audits.
    type: bool
    default: true
notes:
  - Needs only the Python 3 standard library on the host it runs on (Python 3.9 or later).
  - The requests go out from the host the task runs on, with its proxies (C(https_proxy)) and CA certificates.
seealso:
  - ref: ansible_collections.fleet.ghcr.docsite.ghcr_registry
    description: What the module proves and how to read its answers (C(docs/docsite/rst/ghcr_registry.rst)).
  - module: fleet.ghcr.ghcr_login
  - name: Distribution token authentication
    description: The handshake this module performs.
    link: https://distribution.github.io/distribution/spec/auth/token/
"""

EXAMPLES = r"""
---
- name: Prove that the PAT can pull the application image from every host
  fleet.ghcr.ghcr_registry:
    username: "{{ ghcr_username }}"
    password: "{{ ghcr_pat }}"
    images:
      - my-org/app:1.4.0
  register: ghcr_check

- name: Audit the credential each host really uses, without failing the play
  fleet.ghcr.ghcr_registry:
    auth_file: ~/.docker/config.json
    user: deploy
    images: [my-org/app:1.4.0]
    fail_on_error: false
  become: true
  register: ghcr_audit

- name: Report hosts whose credential does not work
  ansible.builtin.debug:
    msg: "{{ ghcr_audit.error.code | default(ghcr_audit.images[0].error.code) }}: {{ ghcr_audit.error.hint | default(ghcr_audit.images[0].error.hint) }}"
  when: ghcr_audit.error or not ghcr_audit.images[0].pullable

- name: Check push access of a CI token, on the controller
  fleet.ghcr.ghcr_registry:
    username: "{{ ghcr_username }}"
    password: "{{ ghcr_ci_pat }}"
    images: [my-org/app]
    check_push: true
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
registry:
  description: The registry host that was checked.
  returned: always
  type: str
  sample: ghcr.io
authenticated:
  description: Whether the registry accepted the credential (V(false) for an anonymous check).
  returned: always
  type: bool
  sample: true
error:
  description:
    - Why the credential, or the registry, failed as a whole; V(null) when the handshake succeeded.
    - Problems with single images are in RV(images[].error).
  returned: always
  type: dict
  contains:
    code:
      description:
        - One of V(unauthorized) (unknown, revoked or mistyped credential), V(denied) (refused, that is an expired PAT at
          the token endpoint, or missing scope or package access at an image), V(name_unknown), V(manifest_unknown),
          V(rate_limited), V(unreachable), V(tls_error), V(server_error).
      type: str
      sample: unauthorized
    message:
      description: The registry's own message, verbatim.
      type: str
      sample: "unauthenticated: User cannot be authenticated with the token provided."
    hint:
      description: What to do about it.
      type: str
    status:
      description: The HTTP status, when there was one.
      type: int
      sample: 401
images:
  description: One entry per O(images) item, in order.
  returned: always
  type: list
  elements: dict
  contains:
    ref:
      description: The image as given.
      type: str
      sample: my-org/app:1.4.0
    pullable:
      description: Whether the manifest could be read.
      type: bool
    pushable:
      description: Whether an upload could be started; V(null) without O(check_push).
      type: bool
    digest:
      description: The manifest digest the registry reported.
      type: str
      sample: sha256:4f5cd0c5a5e4e2f0d1c6f4b8a0a9e7b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8
    error:
      description: Like RV(error), for this image; V(null) when it is pullable (and pushable, if asked).
      type: dict
token:
  description:
    - What is known of the token; V(null) when O(inspect_token) did not apply.
  returned: always
  type: dict
  contains:
    kind:
      description: From the prefix only, V(classic), V(fine_grained), V(oauth), V(app_user), V(app_installation) or V(unknown).
      type: str
      sample: classic
    scopes:
      description: The classic PAT's scopes, from C(X-OAuth-Scopes); V(null) when GitHub does not report them.
      type: list
      elements: str
      sample: [read:packages]
    expires_at:
      description: When the token expires (ISO 8601), V(null) if it does not or GitHub does not say.
      type: str
      sample: "2026-12-01T10:00:00+00:00"
    warnings:
      description: Missing C(read:packages), broader scopes than the job needs, expiry within 14 days, unsupported kinds.
      type: list
      elements: str
    answered:
      description:
        - V(true) when the GitHub API answered about a classic or fine-grained PAT, V(false) when it could not be
          asked or refused the token, V(null) when it was not asked (other kinds).
      type: bool
requests:
  description: How many HTTP requests the check made (registry, token endpoint and GitHub API, with retries).
  returned: always
  type: int
  sample: 3
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import registry_module_kwargs
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import GhcrError
from ansible_collections.fleet.ghcr.plugins.module_utils._ghcr_registry import run_registry


def main() -> None:
    module = AnsibleModule(**registry_module_kwargs())
    try:
        result = run_registry(module)
    except GhcrError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
