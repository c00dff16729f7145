# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ghcr_node_auth's request: every option checked before anything is touched; the CRI-O drop-in's exact text."""

from __future__ import annotations

from typing import Any

import pytest
import tomllib

from ansible_collections.fleet.ghcr.plugins.module_utils._argspec import node_module_kwargs
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._node_auth import build_node_request, dropin_text
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import KUBELET, PODMAN

TOKEN = "ghp_" + "N0d3n0d3N0d3n0d3N0d3n0d3N0d3n0d3N0d3"


def params(**given: Any) -> dict[str, Any]:
    spec = node_module_kwargs()["argument_spec"]
    values = {name: option.get("default") for name, option in spec.items()}
    values.update(username="octocat", password=TOKEN, consumers=["kubelet", "crio"])
    values.update(given)
    return values


def test_both_consumers_give_their_files_with_their_engines() -> None:
    request = build_node_request(params(), print)
    assert [(spec.engine, spec.path) for spec in request.login.files] == [
        (KUBELET, "/var/lib/kubelet/config.json"),
        (PODMAN, "/etc/crio/registry-auth.json"),
    ]
    assert request.consumer_of == {"/var/lib/kubelet/config.json": "kubelet", "/etc/crio/registry-auth.json": "crio"}
    assert request.dropin == "/etc/crio/crio.conf.d/20-fleet-ghcr.conf"
    assert request.login.account.name == "root"


def test_the_drop_in_is_toml_that_sets_only_global_auth_file() -> None:
    assert tomllib.loads(dropin_text("/etc/crio/registry-auth.json").decode()) == {"crio": {"image": {"global_auth_file": "/etc/crio/registry-auth.json"}}}


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"consumers": []}, "consumers must name at least one"),
        ({"kubelet_config_path": "relative/config.json"}, "kubelet_config_path must be an absolute path"),
        ({"crio_auth_path": '/etc/crio/a"b.json'}, "must not contain quotes"),
        ({"crio_auth_path": "/etc/crio/a\nb.json"}, "control characters"),
        ({"crio_auth_path": "/var/lib/kubelet/config.json"}, "are the same file"),
        ({"crio_dropin_path": "/etc/crio/registry-auth.json"}, "must be a file of its own"),
        ({"crio_auth_path": "/etc/crio/crio.conf.d/auth.json"}, "must not be in the drop-in directory"),
        ({"password": "   "}, "is empty"),
    ],
)
def test_bad_options_are_refused_before_anything_is_touched(given: dict[str, Any], says: str) -> None:
    with pytest.raises(InputError, match=says) as caught:
        build_node_request(params(**given), print)
    assert TOKEN not in str(caught.value)


def test_a_namespaced_registry_is_a_kubelet_path_key() -> None:
    request = build_node_request(params(registry="ghcr.io/my-org", consumers=["kubelet"]), print)
    assert request.login.credentials[0].registry.key(KUBELET) == "ghcr.io/my-org"
