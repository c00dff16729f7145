"""Unit tests for plugins/module_utils/_redaction.py: what a diff may show of an auth file."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.fleet.ghcr.plugins.module_utils import _authfile as af
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import ENGINES

PATH = "/home/u/.docker/config.json"


def doc(data: object, engine: str) -> af.AuthFile:
    return af.AuthFile.parse(json.dumps(data, ensure_ascii=False).encode(), PATH, engine)


def enc(username: str, secret: str) -> str:
    return base64.b64encode(f"{username}:{secret}".encode()).decode()


SECRET_SPELLINGS = {
    "auths": {
        "ghcr.io": {"Auth": enc("octocat", "ghp_SECRET_A"), "IdentityToken": "SECRET_B", "REGISTRYTOKEN": "SECRET_C", "Password": "SECRET_D",
                    "username": "octocat", "unknownfield": "SECRET_G"},
        "quay.io": {"pa\u017f\u017fword": "SECRET_E", "identitytoKen": "SECRET_F"},
        "https://user:SECRET_H@quay.io": {},
        "r.example": {"serveraddress": "https://bob:SECRET_N@r.example", "auth": enc("bob", "x")},
    },
    "httpheaders": {"Authorization": "Bearer SECRET_I"},
    "proxies": {
        "default": {"httpsProxy": "svc:SECRET_J@proxy:3128", "httpProxy": "http://u:SECRET_K@p:1", "noProxy": "localhost"},
        "other": {"httpProxy": "http://puser:SECRET_O#x/y@proxy", "ftpProxy": "puser:SECRET_P/q@proxy:21", "password": "SECRET_Q"},
    },
    "plugins": {"x": {"token": "SECRET_L"}},
    "somethingElse": {"token": "SECRET_M"},
    "psFormat": "table {{.ID}}",
}


@pytest.mark.parametrize("engine", ENGINES)
def test_redacted_shows_no_secret_in_any_spelling(engine: str) -> None:
    parsed = doc(SECRET_SPELLINGS, engine)
    shown = parsed.redacted()
    for marker in "ABCDEFGHIJKLMNOPQ":
        assert f"SECRET_{marker}" not in shown
    assert enc("octocat", "ghp_SECRET_A") not in shown and af.fingerprint(enc("octocat", "ghp_SECRET_A")) in shown
    for harmless in ('"username": "octocat"', "table {{.ID}}", "@proxy:3128", "localhost", '"Authorization"', '"plugins"'):
        assert harmless in shown
    assert json.loads(shown)["auths"]["ghcr.io"]["username"] == "octocat"
