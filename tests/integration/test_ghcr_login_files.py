# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ghcr_login on files other tools wrote: real clients read them before and after a run and agree.

Every other registry's credential resolves the same for skopeo (containers/image, what Podman runs) and loads
cleanly for the Docker CLI; values the module does not touch keep their text; --check --diff never shows a
secret of another entry, whatever its spelling; one bad file means nothing is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.ansible import assert_no_secret, login_task, run_tasks
from tests.support.authfiles import encode_auth
from tests.support.clients import docker_load_warning, docker_manifest_inspect, skopeo_get_login

SEED_REF = "fleet/hello:1.0"
LOOKUPS = ["docker.io/library/busybox", "quay.io/x/y", "registry.example:5000/a/b", "ghcr.io/org-a/app", "ghcr.io/org-b/app", "ghcr.io/other/app"]
OTHER_SECRETS = {
    "hub": ("hubuser", "SECRET_hub"),
    "quay": ("quayuser", "SECRET_quay"),
    "scheme": ("schemeuser", "SECRET_scheme"),
    "orga": ("orga", "SECRET_orga"),
    "orgb": ("orgb", "SECRET_orgb"),
    "ghcr": ("ghcruser", "SECRET_ghcr"),
    "podhub": ("podhub", "SECRET_podhub"),
    "stale": ("octocat", "SECRET_stale"),
}


def enc(name: str) -> str:
    return encode_auth(*OTHER_SECRETS[name])


def docker_text(host: str) -> str:
    """A Docker config as another tool left it: 4-space indent, numbers Python cannot hold, secrets outside auths."""
    return (
        "{\n"
        '    "auths": {\n'
        f'        "https://index.docker.io/v1/": {{"auth": "{enc("hub")}"}},\n'
        f'        "quay.io": {{"auth": "{enc("quay")}", "email": "q@example.com"}},\n'
        f'        "https://registry.example:5000/v2/": {{"auth": "{enc("scheme")}"}},\n'
        f'        "ghcr.io/org-a": {{"auth": "{enc("orga")}"}},\n'
        f'        "{host}": {{"auth": "{enc("stale")}"}},\n'
        f'        "https://{host}": {{"Auth": "{enc("stale")}"}}\n'
        "    },\n"
        '    "HttpHeaders": {"X-Meta": "SECRET_header"},\n'
        '    "proxies": {"default": {"httpsProxy": "svc:SECRET_proxy@proxy:3128"}},\n'
        '    "psFormat": "table {{.ID}}",\n'
        '    "x-tool": {"overflow": 1e999, "big": 123456789012345678901234567890123456789012345678901234567890, "kept": 1.50}\n'
        "}\n"
    )


def podman_text(host: str) -> str:
    return json.dumps(
        {
            "auths": {
                "docker.io": {"auth": enc("podhub")},
                "ghcr.io/org-b": {"auth": enc("orgb")},
                "ghcr.io": {"auth": enc("ghcr")},
                "https://registry.example:5000": {"auth": enc("scheme")},
                host: {"auth": enc("stale")},
            },
            "credHelpers": {"gcr.io": "gcloud"},
        },
        indent="\t",
    )


def write_files(home: Path, host: str) -> tuple[Path, Path]:
    docker_file, podman_file = home / ".docker" / "config.json", home / ".config" / "containers" / "auth.json"
    for path, text in ((docker_file, docker_text(host)), (podman_file, podman_text(host))):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(text)
        os.chmod(path, 0o600)
    return docker_file, podman_file


def login(host: str, home: Path, **extra: object) -> dict:
    args = {
        "registry": host,
        "username": "octocat",
        "password": "{{ pat }}",
        "docker_config_path": str(home / ".docker" / "config.json"),
        "podman_auth_path": str(home / ".config" / "containers" / "auth.json"),
        "sync_runtime_auth": False,
        **extra,
    }
    return login_task(**{key: value for key, value in args.items() if value is not None})


def resolved(files: tuple[Path, Path], keys: list[str]) -> dict[tuple[str, str], str | None]:
    return {(path.name, key): skopeo_get_login(path, key) for path in files for key in keys}


def test_other_registries_resolve_the_same_for_real_clients_after_a_run(tmp_path: Path, registry) -> None:
    home = tmp_path / "home"
    files = write_files(home, registry.host)
    own = f"{registry.host}/fleet/hello"
    before = resolved(files, [*LOOKUPS, own])
    assert before[("config.json", "ghcr.io/org-a/app")] == "orga" and before[("auth.json", "docker.io/library/busybox")] == "podhub"
    assert docker_load_warning(files[0].parent) == ""

    token = registry.users["octocat"]
    run = run_tasks(
        tmp_path / "run",
        [login(registry.host, home), login("registry.example:5000", home, state="absent", username=None, password=None)],
        secrets={"pat": token},
        options=["--diff", "-vvvv"],
    )
    assert all(not result.get("failed") for result in run.results), run.results
    after = resolved(files, [*LOOKUPS, own])
    expected = {**before, **{(name, own): "octocat" for name in ("config.json", "auth.json")}}
    expected.update({(name, "registry.example:5000/a/b"): None for name in ("config.json", "auth.json")})
    assert after == expected

    assert docker_load_warning(files[0].parent) == "", "the Docker CLI loads the rewritten file"
    manifest = docker_manifest_inspect(files[0].parent, f"{registry.host}/{SEED_REF}")
    assert manifest.returncode == 0, manifest.stderr
    text = files[0].read_text()
    assert '"overflow": 1e999' in text and "123456789012345678901234567890123456789012345678901234567890" in text and '"kept": 1.50' in text
    assert text.startswith('{\n    "auths": {') and text.endswith("}\n"), "the file keeps its own layout"
    assert f'"https://{registry.host}"' not in text, "the stale spelling of the registry is gone"

    shown = run.output + run.log + json.dumps(run.results)
    assert_no_secret(shown, "octocat", token)
    for username, secret in OTHER_SECRETS.values():
        assert_no_secret(shown, username, secret)
    for marker in ("SECRET_header", "SECRET_proxy"):
        assert marker not in shown


SPELLINGS = {
    "auths": {
        "a.example": {"Auth": encode_auth("u1", "SECRET_auth_case")},
        "b.example": {"IdentityToken": "SECRET_identity", "username": "u2"},
        "c.example": {"REGISTRYTOKEN": "SECRET_registrytoken"},
        "d.example": {"Password": "SECRET_password", "UserName": "u4"},
        "e.example": {"pa\u017f\u017fword": "SECRET_long_s"},
        "f.example": {"identitytoKen": "SECRET_kelvin"},
        "g.example": {"unknown": "SECRET_unknown_field"},
        "https://u:SECRET_key_userinfo@h.example": {},
    },
    "httpheaders": {"Authorization": "Bearer SECRET_header_lower"},
    "proxies": {
        "default": {"httpProxy": "http://svc:SECRET_proxy_scheme@proxy:3128", "httpsProxy": "svc:SECRET_proxy_bare@proxy:3128", "noProxy": "localhost"}
    },
    "plugins": {"x": {"token": "SECRET_plugin"}},
    "credentialsOfSomeTool": {"token": "SECRET_unknown_top"},
}


def test_check_diff_shows_no_secret_of_any_other_entry_in_any_spelling(tmp_path: Path) -> None:
    home = tmp_path / "home"
    docker_file, podman_file = home / ".docker" / "config.json", home / ".config" / "containers" / "auth.json"
    for path in (docker_file, podman_file):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(SPELLINGS, indent=2, ensure_ascii=False))
    before = [path.read_bytes() for path in (docker_file, podman_file)]
    token = "ghp_diffcheck000000000000000000000000000"
    run = run_tasks(tmp_path / "run", [{**login("ghcr.io", home), "check_mode": True}], secrets={"pat": token}, options=["--diff", "-vvvv"])
    assert run.result["changed"] and not run.result.get("failed"), run.result
    shown = run.output + run.log + json.dumps(run.results)
    leaked = sorted({word for word in shown.replace('"', " ").replace("@", " ").split() if "SECRET_" in word})
    assert leaked == []
    assert encode_auth("u1", "SECRET_auth_case") not in shown
    assert_no_secret(shown, "octocat", token)
    assert "a.example" in shown and "sha256:" in shown and "u2" in shown, "the diff still names keys and user names"
    assert [path.read_bytes() for path in (docker_file, podman_file)] == before


BAD_PODMAN_FILES = {
    "lone-surrogate": '{"auths": {"x.example": {"auth": "eDp5"}}, "note": "\\ud800"}',
    "nan": '{"auths": {}, "n": NaN}',
    "duplicate-key": '{"auths": {"x.example": {}, "x.example": {}}}',
    "two-spellings": '{"auths": {}, "Auths": {}}',
    "too-deep": '{"auths": {}, "n": ' + "[" * 100 + "]" * 100 + "}",
    "not-json": '{"auths": {',
}


@pytest.mark.parametrize("content", list(BAD_PODMAN_FILES.values()), ids=list(BAD_PODMAN_FILES))
def test_one_bad_file_means_nothing_is_written(tmp_path: Path, content: str) -> None:
    home = tmp_path / "home"
    docker_file, podman_file = write_files(home, "registry.example:5000")
    podman_file.write_text(content)
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in (docker_file, podman_file)}
    listing = sorted(home.rglob("*"))
    run = run_tasks(tmp_path / "run", [login("ghcr.io", home)], secrets={"pat": "ghp_bad0000000000000000000000000000000000"})
    assert run.result.get("failed") and str(podman_file) in run.result["msg"], run.result
    assert not run.result["changed"] and run.result["auth_files"] == []
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in before} == before
    assert sorted(home.rglob("*")) == listing, "no temporary or backup file is left behind"
    assert "Traceback" not in run.output


def test_a_docker_file_docker_cannot_load_is_refused_but_a_fix_is_allowed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    docker_file, _podman_file = write_files(home, "registry.example:5000")
    broken = json.loads(docker_file.read_text().replace("1e999", "1"))
    broken["auths"]["quay.io"]["auth"] = "not base64!"
    docker_file.write_text(json.dumps(broken))
    before = docker_file.read_bytes()
    run = run_tasks(tmp_path / "run", [login("ghcr.io", home, engines=["docker"])], secrets={"pat": "ghp_x"})
    assert run.result.get("failed") and "'quay.io'" in run.result["msg"] and "Docker refuses the whole file" in run.result["msg"], run.result
    assert docker_file.read_bytes() == before
    fixed = run_tasks(
        tmp_path / "fix",
        [login("quay.io", home, engines=["docker"], username="quayuser")],
        secrets={"pat": "ghp_quayfixed"},
    )
    assert fixed.result["changed"] and not fixed.result.get("failed"), fixed.result
    assert docker_load_warning(docker_file.parent) == ""
