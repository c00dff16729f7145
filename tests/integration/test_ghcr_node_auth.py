# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet.ghcr.ghcr_node_auth through ansible-playbook: the kubelet's and CRI-O's files, merged, read by real clients.

No kubelet or CRI-O runs here. The kubelet's file is Docker's format and CRI-O's auth file containers-auth.json, so
skopeo reads what the module wrote; the key rules of the kubelet are those of its keyring (unit tests of _authfile),
and the drop-in is parsed as TOML, the format CRI-O reads.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import tomllib  # the controller runs Python 3.11 or later (ansible-core 2.19+)
import yaml

from tests.support import clients
from tests.support.ansible import assert_no_secret, run_tasks
from tests.support.registry import random_token

SEED_REF = "fleet/hello:1.0"
FakeRegistry = SimpleNamespace(host="ghcr.io")  # for files no client reads here: nothing is pulled


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def node_task(registry, state: str = "present", **args: object) -> dict:
    options = {"registry": registry.host, "state": state, **args}
    if state == "present":
        options.setdefault("username", "octocat")
        options.setdefault("password", "{{ pat }}")
    return {"name": "ghcr_node_auth under test", "fleet.ghcr.ghcr_node_auth": options}


def existing_kubelet_file(registry_host: str, stale: str) -> dict:
    """Shaped after "Interpretation of config.json" in the Kubernetes docs, plus a stale alias of our registry."""
    return {
        "auths": {
            "my-registry.example/images": {"auth": b64("images:secret-a")},
            "*.my-registry.example/images": {"auth": b64("glob:secret-b")},
            f"https://{registry_host}/v2/": {"auth": b64(f"octocat:{stale}")},
            f"{registry_host}/team": {"auth": b64("team:secret-c")},
        },
        "HttpHeaders": {"User-Agent": "kubelet-test"},
    }


def test_kubelet_file_merged_checked_written_read_by_skopeo_and_left_alone(tmp_path: Path, registry) -> None:
    token, stale = registry.users["octocat"], random_token()
    config = tmp_path / "var" / "lib" / "kubelet" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps(existing_kubelet_file(registry.host, stale), indent=4) + "\n")
    config.chmod(0o600)
    before = config.read_bytes()
    task = node_task(registry, consumers=["kubelet"], kubelet_config_path=str(config))

    check = run_tasks(tmp_path / "check", [task], secrets={"pat": token}, options=["--check", "--diff"])
    assert check.returncode == 0, check.output
    assert check.results[0]["changed"] is True and config.read_bytes() == before
    assert_no_secret(check.output + check.log + json.dumps(check.results), "octocat", token)
    assert_no_secret(check.output, "octocat", stale)

    first = run_tasks(tmp_path / "first", [task], secrets={"pat": token})
    assert first.returncode == 0, first.output
    result = first.results[0]
    assert result["auth_files"] == [{"path": str(config), "action": "updated", "via": "file", "consumer": "kubelet"}]
    assert result["restart"] == []
    written = json.loads(config.read_text())
    assert list(written["auths"]) == ["my-registry.example/images", "*.my-registry.example/images", f"{registry.host}/team", registry.host]
    assert written["auths"][registry.host] == {"auth": b64(f"octocat:{token}")}
    assert written["HttpHeaders"] == {"User-Agent": "kubelet-test"}
    assert config.read_text().startswith('{\n    "auths"'), "the file's indentation is kept"
    inspected = clients.skopeo_inspect(config, f"{registry.host}/{SEED_REF}", registry.cert_dir)
    assert inspected.returncode == 0, inspected.stderr

    written_bytes, mtime = config.read_bytes(), config.stat().st_mtime_ns
    again = run_tasks(tmp_path / "again", [task], secrets={"pat": token})
    assert again.results[0]["changed"] is False
    assert config.read_bytes() == written_bytes and config.stat().st_mtime_ns == mtime

    logout = run_tasks(tmp_path / "logout", [node_task(registry, "absent", consumers=["kubelet"], kubelet_config_path=str(config))])
    assert logout.results[0]["changed"] is True, logout.output
    assert list(json.loads(config.read_text())["auths"]) == ["my-registry.example/images", "*.my-registry.example/images", f"{registry.host}/team"]


def test_crio_auth_file_and_drop_in_restart_only_when_the_drop_in_changes(tmp_path: Path, registry, podman_env) -> None:
    etc = tmp_path / "etc" / "crio"
    (etc / "crio.conf.d").mkdir(parents=True)
    vendor = etc / "crio.conf.d" / "10-crio.conf"
    vendor.write_text('[crio.runtime]\ndefault_runtime = "crun"\n')
    auth, dropin = etc / "registry-auth.json", etc / "crio.conf.d" / "20-fleet-ghcr.conf"
    # An auth file shaped after the example of containers-auth.json(5): a registry and a namespace of another.
    others = {"myregistrydomain.com:5000": {"auth": b64("testuser:testpassword")}, "quay.io/namespace": {"auth": b64("robot:secret-d")}}
    auth.write_text(json.dumps({"auths": others}, indent="\t") + "\n")
    auth.chmod(0o600)
    paths = {"crio_auth_path": str(auth), "crio_dropin_path": str(dropin)}
    old, new = random_token(), registry.users["octocat"]

    first = run_tasks(tmp_path / "first", [node_task(registry, consumers=["crio"], **paths)], secrets={"pat": old})
    assert first.returncode == 0, first.output
    assert first.results[0]["restart"] == ["crio"]
    assert {key: value for key, value in json.loads(auth.read_text())["auths"].items() if key != registry.host} == others
    assert first.results[0]["config_files"] == [{"path": str(dropin), "consumer": "crio", "action": "created"}]
    assert tomllib.loads(dropin.read_text()) == {"crio": {"image": {"global_auth_file": str(auth)}}}
    assert oct(auth.stat().st_mode & 0o777) == "0o600"
    assert vendor.read_text() == '[crio.runtime]\ndefault_runtime = "crun"\n'

    rotated = run_tasks(tmp_path / "rotate", [node_task(registry, consumers=["crio"], **paths)], secrets={"pat": new}, options=["--diff"])
    assert rotated.results[0]["changed"] is True and rotated.results[0]["restart"] == [], "CRI-O reads the auth file at every pull"
    assert_no_secret(rotated.output, "octocat", new)
    assert_no_secret(rotated.output, "octocat", old)
    login = clients.podman_get_login(auth, registry.host, podman_env)
    assert login.returncode == 0 and login.stdout.strip() == "octocat", login.stderr
    pulled = clients.skopeo_inspect(auth, f"{registry.host}/{SEED_REF}", registry.cert_dir)
    assert pulled.returncode == 0, pulled.stderr

    stamps = [(path.read_bytes(), path.stat().st_mtime_ns) for path in (auth, dropin)]
    again = run_tasks(tmp_path / "again", [node_task(registry, consumers=["crio"], **paths)], secrets={"pat": new})
    assert again.results[0]["changed"] is False and again.results[0]["restart"] == []
    assert [(path.read_bytes(), path.stat().st_mtime_ns) for path in (auth, dropin)] == stamps, "bytes and times left alone"

    logout = run_tasks(tmp_path / "logout", [node_task(registry, "absent", consumers=["crio"], **paths)])
    assert logout.results[0]["changed"] is True and logout.results[0]["restart"] == []
    assert json.loads(auth.read_text()) == {"auths": others}
    assert dropin.exists(), "a global_auth_file naming a missing file would fail every pull"
    assert sorted(os.listdir(etc / "crio.conf.d")) == ["10-crio.conf", "20-fleet-ghcr.conf"], "nothing else beside the drop-ins"


def test_crio_check_mode_and_diff_show_the_drop_in_and_write_nothing(tmp_path: Path, registry) -> None:
    etc = tmp_path / "etc" / "crio"
    paths = {"crio_auth_path": str(etc / "registry-auth.json"), "crio_dropin_path": str(etc / "crio.conf.d" / "20-fleet-ghcr.conf")}
    token = registry.users["octocat"]
    check = run_tasks(tmp_path / "check", [node_task(registry, consumers=["crio"], **paths)], secrets={"pat": token}, options=["--check", "--diff"])
    assert check.returncode == 0, check.output
    result = check.results[0]
    assert result["changed"] is True and result["restart"] == ["crio"]
    assert f'global_auth_file = "{etc / "registry-auth.json"}"' in check.output, "the diff shows the drop-in"
    assert_no_secret(check.output + check.log + json.dumps(check.results), "octocat", token)
    assert not etc.exists(), "check mode creates no directory and no file"


def test_bad_paths_are_refused_before_anything_is_written(tmp_path: Path, registry) -> None:
    etc = tmp_path / "etc" / "crio"
    task = node_task(registry, consumers=["kubelet", "crio"], kubelet_config_path=str(tmp_path / "kubelet" / "config.json"),
                     crio_auth_path=str(etc / 'odd"name.json'), crio_dropin_path=str(etc / "crio.conf.d" / "20-fleet-ghcr.conf"))
    run = run_tasks(tmp_path / "run", [task], secrets={"pat": registry.users["octocat"]})
    assert run.results[0]["failed"] is True
    assert "crio_auth_path must not contain quotes" in run.results[0]["msg"]
    assert not etc.exists() and not (tmp_path / "kubelet").exists(), "no consumer's file was written"


# The example of "Private Registry Configuration" in the k3s docs (docs.k3s.io), with a mirror rewrite, a wildcard
# and a second registry whose password YAML 1.1 would read as a number: k3s reads it as the text 0123.
K3S_DOCS_FILE = """\
mirrors:
  docker.io:
    endpoint:
      - "https://mycustomreg.com:5000"
    rewrite:
      "^rancher/(.*)": "mirrorproject/rancher-images/$1"
  "*":
configs:
  "mycustomreg:5000":
    auth:
      username: xxxxxx # this is the registry username
      password: 0123 # this is the registry password
    tls:
      cert_file: # path to the cert file used in the registry
      key_file:  # path to the key file used in the registry
      ca_file:   # path to the ca file used in the registry
      insecure_skip_verify: yes
  ghcr.io:
    tls:
      ca_file: /etc/ssl/certs/ghcr-proxy.pem
"""


def k3s_view(path: Path) -> dict:
    """The file as k3s's Go YAML reads it into wharfie's string fields: every scalar as its text (BaseLoader)."""
    return yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # BaseLoader: only str, list and dict


def no_pyyaml_python(tmp_path: Path) -> str:
    """A target Python without PyYAML: a venv of the system Python that does not see its site packages."""
    venv = tmp_path / "bare-python"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python3")
    assert subprocess.run([python, "-c", "import yaml"], capture_output=True, check=False).returncode != 0
    return python


def test_k3s_and_rke2_registries_yaml_merged_on_a_target_without_pyyaml(tmp_path: Path) -> None:
    token, other = random_token(), random_token()
    k3s = tmp_path / "etc" / "rancher" / "k3s" / "registries.yaml"
    rke2 = tmp_path / "etc" / "rancher" / "rke2" / "registries.yaml"
    k3s.parent.mkdir(parents=True)
    k3s.write_text(K3S_DOCS_FILE)
    k3s.chmod(0o600)
    before, original = k3s.read_bytes(), k3s_view(k3s)
    paths = {"k3s_registries_path": str(k3s), "rke2_registries_path": str(rke2)}
    task = {**node_task(FakeRegistry, consumers=["k3s", "rke2"], **paths), "vars": {"ansible_python_interpreter": no_pyyaml_python(tmp_path)}}

    check = run_tasks(tmp_path / "check", [task], secrets={"pat": token}, options=["--check", "--diff"])
    assert check.returncode == 0, check.output
    assert check.results[0]["changed"] is True and check.results[0]["restart"] == ["k3s", "rke2"]
    assert k3s.read_bytes() == before and not rke2.parent.exists(), "check mode writes nothing"
    assert "ghcr-proxy.pem" in check.output and "sha256:" in check.output, "the diff shows the file, secrets as fingerprints"
    assert_no_secret(check.output + check.log + json.dumps(check.results), "octocat", token)
    assert "0123" not in check.output, "another registry's password is fingerprinted in the diff"

    first = run_tasks(tmp_path / "first", [task], secrets={"pat": token})
    assert first.returncode == 0, first.output
    result = first.results[0]
    assert [(item["consumer"], item["action"]) for item in result["auth_files"]] == [("k3s", "updated"), ("rke2", "created")]
    assert result["restart"] == ["k3s", "rke2"]
    assert any("had comments" in warning for warning in result.get("warnings", [])), "the lost comments are reported"
    assert_no_secret(first.output + first.log + json.dumps(first.results), "octocat", token)
    written = k3s_view(k3s)
    assert written["configs"]["ghcr.io"] == {"auth": {"username": "octocat", "password": token}, "tls": {"ca_file": "/etc/ssl/certs/ghcr-proxy.pem"}}
    del written["configs"]["ghcr.io"]["auth"], original["configs"]["ghcr.io"]
    assert written == {**original, "configs": {**original["configs"], "ghcr.io": {"tls": {"ca_file": "/etc/ssl/certs/ghcr-proxy.pem"}}}}
    assert "password: 0123" in k3s.read_text(), "the other registry's password keeps its text"
    assert k3s_view(rke2) == {"configs": {"ghcr.io": {"auth": {"username": "octocat", "password": token}}}}
    assert (rke2.stat().st_mode & 0o777, k3s.stat().st_mode & 0o777) == (0o600, 0o600)

    stamps = (k3s.stat().st_mtime_ns, rke2.stat().st_mtime_ns)
    again = run_tasks(tmp_path / "again", [task], secrets={"pat": token})
    assert again.returncode == 0, again.output
    assert again.results[0]["changed"] is False and again.results[0]["restart"] == []
    assert (k3s.stat().st_mtime_ns, rke2.stat().st_mtime_ns) == stamps, "an unchanged credential leaves the bytes alone"

    rotated = run_tasks(tmp_path / "rotate", [task], secrets={"pat": other})
    assert rotated.results[0]["restart"] == ["k3s", "rke2"] and k3s_view(k3s)["configs"]["ghcr.io"]["auth"]["password"] == other

    logout = run_tasks(tmp_path / "logout", [node_task(FakeRegistry, "absent", consumers=["k3s", "rke2"], **paths)])
    assert logout.returncode == 0, logout.output
    assert [item["action"] for item in logout.results[0]["auth_files"]] == ["removed", "removed"]
    assert k3s_view(k3s)["configs"]["ghcr.io"] == {"tls": {"ca_file": "/etc/ssl/certs/ghcr-proxy.pem"}}
    assert rke2.read_text() == "{}\n"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("configs:\n  a.example: &creds\n    auth: {username: u, password: secret-a}\n  b.example: *creds\n", "anchors or aliases"),
        ("configs:\n  ghcr.io: {}\n---\nconfigs: {}\n", "second YAML document"),
        ("configs:\n  ghcr.io: {}\n  ghcr.io: {auth: {username: u, password: secret-b}}\n", "duplicate key"),
        ("configs: [ghcr.io]\n", "not a mapping"),
        ("configs:\n  x: {auth: {password: 'secret-c\n", "not valid YAML"),
    ],
)
def test_k3s_file_that_cannot_be_rewritten_exactly_is_refused_and_left_alone(tmp_path: Path, content: str, problem: str) -> None:
    k3s = tmp_path / "registries.yaml"
    k3s.write_text(content)
    run = run_tasks(tmp_path / "run", [node_task(FakeRegistry, consumers=["k3s"], k3s_registries_path=str(k3s))], secrets={"pat": random_token()})
    result = run.results[0]
    assert result["failed"] is True and problem in result["msg"], result["msg"]
    assert k3s.read_text() == content
    assert "Traceback" not in run.output and "secret-" not in run.output, "no text of the file in the message"
