# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet.ghcr.dockerconfigjson: the .dockerconfigjson of an image pull secret, as kubectl writes it."""

from __future__ import annotations

import base64
import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.fleet.ghcr.plugins.filter.dockerconfigjson import dockerconfigjson

TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"


def test_kubectl_shape_compact_and_in_kubectls_field_order() -> None:
    auth = base64.b64encode(f"octocat:{TOKEN}".encode()).decode()
    # What `kubectl create secret docker-registry --docker-server=ghcr.io ...` puts in .dockerconfigjson.
    expected = '{"auths":{"ghcr.io":{"username":"octocat","password":"' + TOKEN + '","auth":"' + auth + '"}}}'
    assert dockerconfigjson("octocat", TOKEN) == expected


def test_a_namespaced_registry_is_the_key_and_a_token_with_a_newline_is_cleaned() -> None:
    parsed = json.loads(dockerconfigjson("octocat", TOKEN + "\n", registry="https://ghcr.io/my-org"))
    assert list(parsed["auths"]) == ["ghcr.io/my-org"]
    assert parsed["auths"]["ghcr.io/my-org"]["password"] == TOKEN


@pytest.mark.parametrize(
    ("username", "token", "registry", "says"),
    [
        ("", TOKEN, "ghcr.io", "username must not be empty"),
        ("octo:cat", TOKEN, "ghcr.io", "must not contain ':'"),
        ("octocat", "", "ghcr.io", "the token from the token argument is empty"),
        ("octocat", TOKEN[:10] + " " + TOKEN[10:], "ghcr.io", "whitespace or control characters inside it"),
        ("octocat", TOKEN, "ghcr.io/My Org", "registry"),
        (None, TOKEN, "ghcr.io", "must be strings"),
    ],
)
def test_bad_input_is_refused_without_quoting_the_token(username: object, token: str, registry: str, says: str) -> None:
    with pytest.raises(AnsibleFilterError) as caught:
        dockerconfigjson(username, token, registry=registry)
    message = str(caught.value)
    assert says in message
    assert TOKEN not in message and TOKEN[4:20] not in message


def test_through_the_templar_as_playbooks_use_it() -> None:
    templar = Templar(loader=DataLoader(), variables={"ghcr_username": "octocat", "ghcr_pat": TOKEN})
    rendered = templar.template(trust_as_template("{{ ghcr_username | fleet.ghcr.dockerconfigjson(ghcr_pat) }}"))
    assert json.loads(rendered)["auths"]["ghcr.io"]["username"] == "octocat"
