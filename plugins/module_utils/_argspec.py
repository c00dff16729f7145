# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Argument specs, built once and mirrored by the doc fragments of the same names."""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.fleet.ghcr.plugins.module_utils._token import GITHUB_API_URL

# Mirrors doc fragment fleet.ghcr._registry: the registry every module and the role talk about.
REGISTRY_ARGS: dict[str, dict[str, Any]] = {
    "registry": {"type": "str", "default": "ghcr.io"},
}

# Mirrors doc fragment fleet.ghcr._registry.connection: how to reach the registry.
CONNECTION_ARGS: dict[str, dict[str, Any]] = {
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "timeout": {"type": "float", "default": 10},
    "retries": {"type": "int", "default": 3},
}

# Mirrors doc fragment fleet.ghcr._credential: the credential a module writes.
_CREDENTIAL_ARGS: dict[str, dict[str, Any]] = {
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True, "aliases": ["token", "pat"]},
}

# Mirrors doc fragment fleet.ghcr._user_files: whose auth files, and which.
USER_FILES_ARGS: dict[str, dict[str, Any]] = {
    "user": {"type": "str"},
    "engines": {"type": "list", "elements": "str", "default": ["docker", "podman"], "choices": ["docker", "podman"]},
    "docker_config_path": {"type": "str"},
    "podman_auth_path": {"type": "str"},
}

_LOGIN_ARGS: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "missing_user": {"type": "str", "default": "fail", "choices": ["fail", "skip", "warn"]},
    "sync_runtime_auth": {"type": "bool", "default": True},
    "docker_config_json": {"type": "raw", "no_log": True},
    "credential_helpers": {"type": "bool", "default": True},
    "backup": {"type": "bool", "default": False},
    "verify": {"type": "bool", "default": False},
    "verify_image": {"type": "str"},
}

NODE_CONSUMERS = ("kubelet", "crio", "k3s", "rke2")
# The node consumers' credential files, for ghcr_node_auth (which writes them) and ghcr_auth_info (which reads them).
_NODE_FILE_ARGS: dict[str, dict[str, Any]] = {
    "kubelet_config_path": {"type": "str", "default": "/var/lib/kubelet/config.json"},
    "crio_auth_path": {"type": "str", "default": "/etc/crio/registry-auth.json"},
    "k3s_registries_path": {"type": "str", "default": "/etc/rancher/k3s/registries.yaml"},
    "rke2_registries_path": {"type": "str", "default": "/etc/rancher/rke2/registries.yaml"},
}

_NODE_ARGS: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "docker_config_json": {"type": "raw", "no_log": True},
    "backup": {"type": "bool", "default": False},
    "consumers": {"type": "list", "elements": "str", "required": True, "choices": list(NODE_CONSUMERS)},
    **_NODE_FILE_ARGS,
    "crio_dropin_path": {"type": "str", "default": "/etc/crio/crio.conf.d/20-fleet-ghcr.conf"},
    "registries_yaml": {"type": "str", "no_log": True},
}

# What ghcr_auth_info reads of the node: the consumers and their credential files (not the CRI-O drop-in).
_INFO_NODE_ARGS: dict[str, dict[str, Any]] = {
    "node_consumers": {"type": "list", "elements": "str", "default": [], "choices": list(NODE_CONSUMERS)},
    **_NODE_FILE_ARGS,
}

_REGISTRY_CHECK_ARGS: dict[str, dict[str, Any]] = {
    "auth_file": {"type": "str"},
    "auth_file_engine": {"type": "str", "default": "auto", "choices": ["auto", "docker", "podman"]},
    "user": {"type": "str"},
    "images": {"type": "list", "elements": "str", "default": []},
    "check_push": {"type": "bool", "default": False},
    "inspect_token": {"type": "str", "default": "auto", "choices": ["auto", "always", "never"]},
    "github_api_url": {"type": "str", "default": GITHUB_API_URL},
    "require_read_packages": {"type": "bool", "default": False},
    "fail_on_error": {"type": "bool", "default": True},
}


def _spec(*groups: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for group in groups:
        merged.update(copy.deepcopy(group))
    return merged


def login_module_kwargs() -> dict[str, Any]:
    """Keyword arguments for the AnsibleModule of ghcr_login."""
    return {
        "argument_spec": _spec(REGISTRY_ARGS, _CREDENTIAL_ARGS, USER_FILES_ARGS, _LOGIN_ARGS, CONNECTION_ARGS),
        "required_if": [("state", "present", ("username", "docker_config_json"), True)],
        "required_together": [("username", "password")],
        "mutually_exclusive": [("docker_config_json", "username"), ("docker_config_json", "password")],
        "supports_check_mode": True,
    }


def node_module_kwargs() -> dict[str, Any]:
    """Keyword arguments for the AnsibleModule of ghcr_node_auth."""
    return {
        "argument_spec": _spec(REGISTRY_ARGS, _CREDENTIAL_ARGS, _NODE_ARGS),
        "required_if": [("state", "present", ("username", "docker_config_json"), True)],
        "required_together": [("username", "password")],
        "mutually_exclusive": [("docker_config_json", "username"), ("docker_config_json", "password")],
        "supports_check_mode": True,
    }


def registry_module_kwargs() -> dict[str, Any]:
    """Keyword arguments for the AnsibleModule of ghcr_registry."""
    return {
        "argument_spec": _spec(REGISTRY_ARGS, _CREDENTIAL_ARGS, _REGISTRY_CHECK_ARGS, CONNECTION_ARGS),
        "required_together": [("username", "password")],
        "mutually_exclusive": [("auth_file", "username"), ("auth_file", "password")],
        "required_by": {"user": "auth_file"},
        "supports_check_mode": True,
    }


def info_module_kwargs() -> dict[str, Any]:
    """Keyword arguments for the AnsibleModule of ghcr_auth_info."""
    return {"argument_spec": _spec(USER_FILES_ARGS, _INFO_NODE_ARGS), "supports_check_mode": True}


__all__ = (
    "CONNECTION_ARGS",
    "REGISTRY_ARGS",
    "USER_FILES_ARGS",
    "info_module_kwargs",
    "login_module_kwargs",
    "node_module_kwargs",
    "registry_module_kwargs",
)
