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

    # Mirrors CONNECTION_ARGS in plugins/module_utils/_argspec.py.
    CONNECTION = r"""
options:
  validate_certs:
    description:
      - Verify the registry's TLS certificate. Set to V(false) only for test registries.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of CA certificates that the registry's certificate must chain to, instead of the system's.
    type: path
  timeout:
    description:
      - Seconds each HTTP request may take in all, headers and body together. A registry that trickles its answer
        cannot stretch it, and no answer is read beyond 1 MiB (1048576 bytes).
      - >-
        Each credential check (every request, retry and wait) must end within O(timeout) * (O(retries) + 1) * (2 + 3 per
        image, + 2 per image with push probes) seconds. A request that cannot start in time is V(unreachable), naming
        the registry. A retry that would overrun is not made, and the last answer is reported as it was.
      - O(timeout) must be above 0 and at most 3600; O(retries) from 0 to 10.
    type: float
    default: 10
  retries:
    description:
      - >-
        How often to retry a request answered with HTTP 429 or 5xx. The wait honours the C(Retry-After) header and the
        wait GHCR writes into its message (V(retry-after: 22.625684ms, allowed: 2000/minute)); a registry asking for more
        than 30 seconds is not retried, and the error says so.
    type: int
    default: 3
"""
