#!/usr/bin/python
# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: registry_auth_step
short_description: One step of the fleet.ghcr.registry_auth role (prove once, prove from a host, or write)
version_added: 0.1.0
description:
  - The tasks of the P(fleet.ghcr.registry_auth#role) role, as one action each, so that the role costs each host one
    task besides Ansible's argument check. Use the role; this action reads the role's variables, not options of its
    own, and its interface may change with the role.
  - O(step=prove) runs once per batch (C(run_once)). It reads every host of the batch's role variables as Ansible
    would for that host, and proves each distinct credential of the hosts with C(registry_auth_verify=once) once in
    the run, on the controller, with the code of M(fleet.ghcr.ghcr_registry), the play's C(module_defaults) for it
    and the task's C(environment). A host with bad input is left to its own write step, unless no write step runs
    (C(--tags registry_auth_check)); then this step refuses it. It fails when any check fails, and when the running
    host's token cannot be read (a wrong vault password is one error, not one per host). Hosts whose static
    conditions (C(import_role) or a block with C(when)) are false are left out; those that skip a dynamic
    C(include_role) cannot be told apart and are checked too.
  - Under C(strategy=free) (and C(host_pinned)) Ansible runs C(run_once) tasks on every host; this step then does
    nothing, and each host proves its own credential in its write step.
  - O(step=prove_from_host) runs M(fleet.ghcr.ghcr_registry) on the host named by O(host) (the task delegates to it),
    with that host's credential, without asking the GitHub API. The role loops it over the hosts with
    C(registry_auth_verify=each_host), one after another.
  - O(step=restarted) is the last task of the role's handler. It empties the host's list of node consumers waiting
    for a restart (the fact C(registry_auth__restart_pending), which the write step adds to).
  - O(step=write) checks the host's role input (converted as Ansible converts module options, so V(false) given as a
    string is false), refuses a credential that C(registry_auth_verify=once) has not proven in this run, finds the
    connecting user when C(registry_auth_users) is empty, and runs M(fleet.ghcr.ghcr_login) for each user, with the
    play's C(module_defaults) for it, to log in or out; then M(fleet.ghcr.ghcr_node_auth) for
    C(registry_auth_node_consumers), whose consumers to restart it adds to the host's fact C(registry_auth__restart_pending).
author:
  - fleet.ghcr contributors (@fleet-ghcr)
extends_documentation_fragment:
  - fleet.ghcr._attributes
options:
  step:
    description: Which step to run.
    type: str
    required: true
    choices: [prove, prove_from_host, write, restarted]
  host:
    description: With O(step=prove_from_host), the inventory name of the host to prove from (the delegate).
    type: str
attributes:
  check_mode:
    support: full
    details: The checks run in check mode too (they change nothing); M(fleet.ghcr.ghcr_login) runs in check mode.
  diff_mode:
    support: full
    details: As M(fleet.ghcr.ghcr_login), per user.
  idempotent:
    support: full
  action:
    support: full
    description: Runs on the controller and runs modules on the host.
seealso:
  - module: fleet.ghcr.ghcr_login
  - module: fleet.ghcr.ghcr_registry
notes:
  - The steps read the role's variables (C(registry_auth_registry), C(registry_auth_users) and the others the role
    documents) and the role's internal C(registry_auth__pat), the token, which is templated only when a host logs in.
"""

EXAMPLES = r"""
# The role's own tasks, in short; use the role.
- name: Prove each distinct credential of the batch once, before any host changes
  fleet.ghcr.registry_auth_step:
    step: prove
  run_once: true
  register: registry_auth__proof

- name: Write the credential into each user's auth files
  fleet.ghcr.registry_auth_step:
    step: write
  register: registry_auth_result
"""

RETURN = r"""
proven:
  description: With O(step=prove), the fingerprints (hashes; no token) of every check proven so far in this run.
  returned: when O(step=prove)
  type: list
  elements: str
checked:
  description: With O(step=prove), the checks made by this step, each with the host whose variables it used.
  returned: when O(step=prove)
  type: list
  elements: dict
  sample: [{host: web1, fingerprint: 5a0c...}]
each_host:
  description: With O(step=prove), the hosts of the batch that prove the credential from their own network.
  returned: when O(step=prove)
  type: list
  elements: str
skipped_hosts:
  description: With O(step=prove), hosts left out of the checks, and why (each one's write step says more).
  returned: when O(step=prove)
  type: dict
results:
  description: With O(step=write), the result of M(fleet.ghcr.ghcr_login) for each user (its return values), and the user.
  returned: when O(step=write)
  type: list
  elements: dict
  contains:
    item:
      description: The entry of C(registry_auth_users) (a name or a dict), or the connecting user's name when the list is empty.
      type: raw
      sample: deploy
"""
