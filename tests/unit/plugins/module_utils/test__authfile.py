"""Unit tests for plugins/module_utils/_authfile.py: strict parsing, resolution per client, changes, redaction.

The Go oracle (tests/support/go_oracle) runs the decoding and lookup code of docker/cli and containers/image on
the same bytes, so the tables below are checked against what the real clients do, not only against our reading.
"""

from __future__ import annotations

import base64
import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.fleet.ghcr.plugins.module_utils import _authfile as af
from ansible_collections.fleet.ghcr.plugins.module_utils._errors import AuthFileError, InputError
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import DOCKER, ENGINES, KUBELET, PODMAN, Registry
from tests.support import go_oracle

PATH = "/home/u/.docker/config.json"


def enc(username: str, secret: str) -> str:
    return base64.b64encode(f"{username}:{secret}".encode()).decode()


def doc(data: object, engine: str = DOCKER) -> af.AuthFile:
    text = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return af.AuthFile.parse(text.encode() if isinstance(text, str) else text, PATH, engine)


# --------------------------------------------------------------------------- parsing

REFUSED = [
    (b"", "is empty", ENGINES),
    (b"  \n", "is empty", ENGINES),
    (b'{"auths": {', "not valid JSON", ENGINES),
    (b"[]", "does not hold a JSON object", ENGINES),
    (b"null", "does not hold a JSON object", ENGINES),
    (b'{"auths": []}', "'auths' must be an object", ENGINES),
    (b'{"auths": {"ghcr.io": "x"}}', "must be an object of objects", ENGINES),
    (b'{"auths": {"ghcr.io": {"auth": 5}}}', "'auth'\\] must be a string", ENGINES),
    (b'{"credHelpers": {"ghcr.io": 1}}', "must be an object of strings", ENGINES),
    (b'{"credsStore": true}', "'credsStore' must be a string", (DOCKER,)),
    (b'{"psFormat": 5}', "'psFormat' must be a string", (DOCKER,)),
    (b'{"proxies": {"default": {"httpProxy": 1}}}', "must be a string", (DOCKER,)),
    (b'{"plugins": {"x": {"a": 1}}}', "must be an object of strings", (DOCKER,)),
    (b"\xff\xfe", "not UTF-8", ENGINES),
    (b'\xef\xbb\xbf{"auths": {}}', "not valid JSON", ENGINES),
    (b'{"auths": {}, "x": NaN}', "holds NaN", ENGINES),
    (b'{"auths": {}, "x": Infinity}', "holds Infinity", ENGINES),
    (b'{"auths": {}, "x": -Infinity}', "holds -Infinity", ENGINES),
    (b'{"auths": {}, "auths": {}}', "the key 'auths' appears twice", ENGINES),
    (b'{"auths": {"ghcr.io": {}, "ghcr.io": {"auth": "eDp5"}}}', "the key 'ghcr.io' appears twice", ENGINES),
    (b'{"plugins": {"a": {}, "a": {}}}', "appears twice", ENGINES),
    (b'{"auths": {}, "Auths": {}}', "has both 'auths' and 'Auths'", ENGINES),
    (b'{"auths": {"ghcr.io": {"auth": "eDp5", "AUTH": "eDp6"}}}', "has both 'auth' and 'AUTH'", ENGINES),
    (b'{"credHelpers": {}, "CREDHELPERS": {}}', "has both", ENGINES),
    (b'{"auths": {}, "x": ' + b"[" * 65 + b"]" * 65 + b"}", "more than 64 levels", ENGINES),
    (b"[" * 10001 + b"]" * 10001, "more than 64 levels", ENGINES),
    (b'{"auths": {}, "x": "\\ud800"}', "lone UTF-16 surrogate", ENGINES),
    (b'{"auths": {"\\udc00x": {}}}', "lone UTF-16 surrogate escape", ENGINES),
    (b'{"auths": {}} trailing', "not valid JSON", ENGINES),
    (b'{"auths": {}}{}', "not valid JSON", ENGINES),
]


@pytest.mark.parametrize(("data", "message", "engines"), REFUSED)
def test_parse_refuses(data: bytes, message: str, engines: tuple[str, ...]) -> None:
    for engine in engines:
        with pytest.raises(AuthFileError, match=message) as caught:
            af.AuthFile.parse(data, PATH, engine)
        assert PATH in str(caught.value) and "left unchanged" in str(caught.value)


def test_a_podman_file_may_carry_what_only_docker_types() -> None:
    assert doc({"auths": {}, "psFormat": 5, "credsStore": True}, PODMAN).auths == {}


def test_parse_errors_do_not_quote_the_file() -> None:
    with pytest.raises(AuthFileError) as caught:
        doc(b'{"auths": {"ghcr.io": {"auth": "c2VjcmV0OnRva2Vu"}}, oops}')
    assert "c2VjcmV0OnRva2Vu" not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        '{"auths":{},"x":1e999}',
        '{"auths":{},"x":' + "9" * 5000 + "}",
        '{"auths":{},"numbers":[1.0,-0,1E+2,0.1000,12345678901234567890]}',
        '{\n    "auths": {},\n    "text": "é ✓ \\u00e9"\n}\n',
        '{\n\t"Auths": {\n\t\t"ghcr.io": {\n\t\t\t"Auth": "eDp5"\n\t\t}\n\t}\n}',
        '{"auths":null,"credHelpers":null,"credsStore":null}',
        '{"auths":{"ghcr.io":null}}',
    ],
)
def test_values_we_do_not_touch_are_written_back_as_read(text: str) -> None:
    parsed = doc(text)
    expected = text.replace("\\u00e9", "é")
    assert af.load_json(parsed.serialize(), PATH) == af.load_json(expected.encode(), PATH)
    assert parsed.serialize().decode() == expected, "numbers keep their text, and the file its layout"


def test_the_clients_spelling_of_a_field_is_used_and_kept() -> None:
    parsed = doc({"Auths": {"ghcr.io": {"Auth": enc("octocat", "old")}}})
    assert parsed.resolve(Registry.parse("ghcr.io")).secret == "old"
    changed = parsed.with_entry(Registry.parse("ghcr.io"), {"auth": enc("octocat", "new")})
    assert json.loads(changed.serialize()) == {"Auths": {"ghcr.io": {"auth": enc("octocat", "new")}}}


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (None, b'{\n\t"auths": {\n\t\t"ghcr.io": {}\n\t}\n}'),
        (b'{\n    "auths": {}\n}\n', b'{\n    "auths": {\n        "ghcr.io": {}\n    }\n}\n'),
        (b'{"auths": {}}', b'{"auths":{"ghcr.io":{}}}'),
    ],
)
def test_serialize_keeps_the_file_style(existing: bytes | None, expected: bytes) -> None:
    parsed = af.AuthFile.parse(existing, PATH, DOCKER)
    assert parsed.with_entry(Registry.parse("ghcr.io"), {}).serialize() == expected


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)
AUTH_VALUES = st.builds(enc, st.text(string.ascii_letters, min_size=1, max_size=5), st.text(max_size=5))
ENTRY = st.fixed_dictionaries({}, optional={"auth": AUTH_VALUES, "email": st.text(max_size=4)})
DOCUMENTS = st.fixed_dictionaries(
    {"auths": st.dictionaries(st.sampled_from(["ghcr.io", "quay.io", "https://ghcr.io", "ghcr.io/org", "docker.io"]), ENTRY, max_size=4)},
    optional={"credHelpers": st.dictionaries(st.sampled_from(["gcr.io", "x.io"]), st.sampled_from(["gcloud", "pass"])), "zz": JSON_VALUES},
)


@given(DOCUMENTS, st.sampled_from(["\t", "  ", None]), st.booleans(), st.sampled_from(ENGINES))
def test_whatever_the_parser_accepts_is_written_back_unchanged(document: dict, indent: str | None, newline: bool, engine: str) -> None:
    text = json.dumps(document, indent=indent, ensure_ascii=False, separators=(",", ": ") if indent else (",", ":")) + ("\n" if newline else "")
    parsed = af.AuthFile.parse(text.encode(), PATH, engine)
    assert parsed.serialize() == text.encode()


# --------------------------------------------------------------------------- resolution, checked against the Go clients

HUB = ["docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"]
FILES: dict[str, object] = {
    "plain": {"auths": {"ghcr.io": {"auth": enc("octocat", "ghp_a")}}},
    "empty exact key wins": {"auths": {"ghcr.io": {}, "https://ghcr.io": {"auth": enc("octocat", "ghp_b")}}},
    "scheme spelling only": {"auths": {"https://ghcr.io/": {"auth": enc("octocat", "ghp_c")}}},
    "two spellings, different": {"auths": {"https://ghcr.io": {"auth": enc("a", "1")}, "http://ghcr.io/v2/": {"auth": enc("b", "2")}}},
    "two spellings, same": {"auths": {"https://ghcr.io": {"auth": enc("a", "1")}, "http://ghcr.io/v2/": {"auth": enc("a", "1")}}},
    "namespaces": {"auths": {"ghcr.io": {"auth": enc("host", "h")}, "ghcr.io/org": {"auth": enc("org", "o")}, "ghcr.io/org/app": {}}},
    "namespace only": {"auths": {"ghcr.io/org": {"auth": enc("org", "o")}}},
    "helper by key": {"auths": {"ghcr.io": {}}, "credHelpers": {"ghcr.io": "gh"}, "credsStore": "pass"},
    "store only": {"auths": {"ghcr.io": {"auth": enc("octocat", "inline")}}, "credsStore": "desktop"},
    "empty helper means the file": {"auths": {"ghcr.io": {"auth": enc("octocat", "f")}}, "credHelpers": {"ghcr.io": ""}, "credsStore": "pass"},
    "legacy fields": {"auths": {"ghcr.io": {"username": "u", "password": "p"}}},
    "identity token only": {"auths": {"ghcr.io": {"identitytoken": "tok"}}},
    "any letter case": {"AUTHS": {"ghcr.io": {"AUTH": enc("octocat", "up")}}, "CredHelpers": {}},
    "long s": {"auth\u017f": {"ghcr.io": {"pa\u017f\u017fword": "p", "username": "u"}}},
    "kelvin": {"auths": {"ghcr.io": {"identitytoKen": "t"}}},
    "null entry": {"auths": {"ghcr.io": None, "https://ghcr.io": {"auth": enc("x", "y")}}},
    "null auths": {"auths": None},
    "upper-case host": {"auths": {"GHCR.IO": {"auth": enc("x", "y")}, "https://ghcr.io:443": {"auth": enc("x", "z")}}},
    "empty username": {"auths": {"ghcr.io": {"auth": enc("", "pw")}}},
    "no colon": {"auths": {"ghcr.io": {"auth": base64.b64encode(b"nocolon").decode()}}},
    "unpadded": {"auths": {"ghcr.io": {"auth": enc("octocat", "ghp_x").rstrip("=")}}},
    "line break in base64": {"auths": {"ghcr.io": {"auth": enc("octocat", "ghp_long_token_value")[:8] + "\n" + enc("octocat", "ghp_long_token_value")[8:]}}},
    "bad entry elsewhere": {"auths": {"ghcr.io": {"auth": enc("octocat", "ok")}, "quay.io": {"auth": "!!"}}},
    "nul padding": {"auths": {"ghcr.io": {"auth": base64.b64encode(b"u:\x00pw\x00").decode()}}},
    "hub aliases": {"auths": {key: {"auth": enc(key.split("/")[-2] if "/" in key else key, "s")} for key in HUB}},
    "hub short keys": {"auths": {"index.docker.io": {"auth": enc("i", "s")}}},
    "hub helper": {"auths": {}, "credHelpers": {"docker.io": "podmanhelper", "https://index.docker.io/v1/": "dockerhelper"}},
    "unknown fields": {"auths": {"ghcr.io": {"auth": enc("octocat", "k"), "x": [1, {"y": None}]}}, "zz": {"deep": [1.5, "s"]}},
}
REGISTRIES = ["ghcr.io", "ghcr.io/org/app", "ghcr.io/other", "docker.io", "quay.io"]


def oracle_view(report: dict) -> tuple:
    if report["source"] == "ambiguous":
        answers = {(item["source"], item["username"], item["password"], item["lookup_error"]) for item in report["alternatives"]}
        if len(answers) > 1 or not report["loaded"] or any(item["lookup_error"] for item in report["alternatives"]):
            return ("broken",)
        report = {**report, **report["alternatives"][0], "key": None}
    if not report["loaded"] or report["fatal"] or report["lookup_error"]:
        return ("broken",)
    if report["source"] == "helper":
        return ("helper", report["helper"]) if report["helper"] else ("broken",)  # the client would run "docker-credential-"
    if report["source"] == "entry":
        if report["username"] or report["password"]:
            return ("entry", report["key"], report["username"], report["password"])
        return ("token", report["key"])
    return ("none",)


def model_view(resolution: af.Resolution) -> tuple:
    if resolution.source == "entry":
        return ("entry", resolution.key, resolution.username, resolution.secret)
    if resolution.source in ("helper",):
        return ("helper", resolution.helper)
    if resolution.source == "token":
        return ("token", resolution.key)
    return (resolution.source,)


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("engine", ENGINES)
def test_resolution_agrees_with_the_go_clients(name: str, engine: str) -> None:
    data = json.dumps(FILES[name], ensure_ascii=False).encode()
    parsed = af.AuthFile.parse(data, PATH, engine)
    for registry in REGISTRIES:
        # Docker looks up the host only; containers/image the most specific name.
        key = registry.partition("/")[0] if engine == DOCKER else registry
        expected = oracle_view(go_oracle.resolve(engine, data, key))
        assert model_view(parsed.resolve(Registry.parse(registry))) == expected, (name, engine, registry)


@pytest.mark.parametrize("name", FILES)
def test_podman_reads_a_docker_file_by_its_own_rules(name: str) -> None:
    data = json.dumps(FILES[name], ensure_ascii=False).encode()
    parsed = af.AuthFile.parse(data, PATH, DOCKER)
    for registry in REGISTRIES:
        expected = oracle_view(go_oracle.resolve(PODMAN, data, registry))
        assert model_view(parsed.resolve(Registry.parse(registry), PODMAN)) == expected, (name, registry)


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("engine", ENGINES)
def test_a_rewrite_changes_nothing_any_client_resolves(name: str, engine: str) -> None:
    data = json.dumps(FILES[name], ensure_ascii=False, indent=2).encode()
    parsed = af.AuthFile.parse(data, PATH, engine)
    if parsed.load_problem():
        with pytest.raises(AuthFileError, match="nothing was written"):
            parsed.serialize()
        return
    other = Registry.parse("unrelated.example:5000")
    rewritten = parsed.with_entry(other, {"auth": enc("n", "n")}).serialize()
    for registry in REGISTRIES:
        key = registry.partition("/")[0] if engine == DOCKER else registry
        for reader in sorted({engine, PODMAN}):
            read_key = key if reader == engine else registry
            after, before = go_oracle.resolve(reader, rewritten, read_key), go_oracle.resolve(reader, data, read_key)
            assert oracle_view(after) == oracle_view(before), (name, reader, registry)


def test_docker_cannot_load_a_file_with_one_bad_entry() -> None:
    parsed = doc(FILES["bad entry elsewhere"])
    assert "'quay.io'" in parsed.load_problem()
    assert parsed.resolve(Registry.parse("ghcr.io")).source == "broken"
    assert doc(FILES["bad entry elsewhere"], PODMAN).resolve(Registry.parse("ghcr.io")).secret == "ok"
    fixed = parsed.with_entry(Registry.parse("quay.io"), {"auth": enc("q", "q")})
    assert fixed.load_problem() is None and fixed.serialize()


# --------------------------------------------------------------------------- changing a document


def test_with_entry_keeps_everything_else_in_place() -> None:
    parsed = doc({
        "auths": {"quay.io": {"auth": "eDp5", "email": "x"}, "https://ghcr.io": {"auth": "b2xkOm9sZA=="}, "ghcr.io": {"auth": "b2xkOjI="}},
        "HttpHeaders": {"X": "y"},
        "credHelpers": {"gcr.io": "gcloud"},
        "psFormat": "table",
    })
    new = parsed.with_entry(Registry.parse("ghcr.io"), {"auth": "bmV3Om5ldw=="})
    assert new.tree["auths"] == {"quay.io": {"auth": "eDp5", "email": "x"}, "ghcr.io": {"auth": "bmV3Om5ldw=="}}
    assert list(new.tree) == ["auths", "HttpHeaders", "credHelpers", "psFormat"]
    assert parsed.tree["auths"]["ghcr.io"] == {"auth": "b2xkOjI="}, "the input must not be modified"


@pytest.mark.parametrize(
    ("engine", "registry", "keys", "left"),
    [
        (DOCKER, "ghcr.io", ["ghcr.io", "https://ghcr.io/", "http://ghcr.io", "ghcr.io/org", "HTTPS://ghcr.io/x", "quay.io"], ["quay.io"]),
        (PODMAN, "ghcr.io", ["ghcr.io", "https://ghcr.io/", "http://ghcr.io", "ghcr.io/org", "quay.io"], ["ghcr.io/org", "quay.io"]),
        (PODMAN, "ghcr.io/org", ["ghcr.io", "https://ghcr.io/org", "ghcr.io/org", "quay.io"], ["ghcr.io", "https://ghcr.io/org", "quay.io"]),
        (PODMAN, "docker.io", [*HUB, "https://docker.io/v2/", "docker.io/library", "quay.io"], ["docker.io/library", "quay.io"]),
        (DOCKER, "docker.io", [*HUB, "quay.io"], ["quay.io"]),
        (DOCKER, "ghcr.io", ["GHCR.IO", "https://ghcr.io:443"], ["GHCR.IO", "https://ghcr.io:443"]),
    ],
)
def test_without_entry_leaves_nothing_a_client_would_resolve(engine: str, registry: str, keys: list[str], left: list[str]) -> None:
    parsed = doc({"auths": {key: {"auth": enc(f"u{index}", "s")} for index, key in enumerate(keys)}}, engine)
    removed = parsed.without_entry(Registry.parse(registry))
    assert list(removed.auths) == left
    assert not removed.holds(Registry.parse(registry))
    data = removed.serialize()
    target = Registry.parse(registry)
    readers = [(engine, target.whole().key(DOCKER) if engine == DOCKER else target.name)] + ([(PODMAN, target.name)] if engine == DOCKER else [])
    gone = set(keys) - set(left)
    for reader, key in readers:
        answer = go_oracle.resolve(reader, data, key)
        assert answer["key"] not in gone and not {item["key"] for item in answer["alternatives"]} & gone, (reader, key)
        if not target.is_namespaced:  # a namespace falls back to its host's credential, as it should
            assert oracle_view(answer) == ("none",), (reader, key)


def test_writing_docker_hub_removes_aliases_podman_would_read_first() -> None:
    parsed = doc({"auths": {"docker.io": {"auth": enc("stale", "s")}, "quay.io": {}}})
    data = parsed.with_entry(Registry.parse("docker.io"), {"auth": enc("new", "n")}).serialize()
    assert list(json.loads(data)["auths"]) == ["quay.io", "https://index.docker.io/v1/"]
    assert go_oracle.resolve(PODMAN, data, "docker.io/library/busybox")["username"] == "new"


KEYS = st.sampled_from(["ghcr.io", "quay.io", "registry.example:5000", "https://ghcr.io", "ghcr.io/org", "docker.io", "index.docker.io"])


@settings(max_examples=60)
@given(st.dictionaries(KEYS, st.builds(lambda user: {"auth": enc(user, "s")}, st.text(string.ascii_lowercase, min_size=1, max_size=4)), max_size=5),
       st.sampled_from(["ghcr.io", "quay.io", "docker.io"]), st.sampled_from(ENGINES))
def test_changes_touch_only_the_registry_and_are_idempotent(auths: dict, registry_text: str, engine: str) -> None:
    registry = Registry.parse(registry_text)
    parsed = doc({"auths": auths}, engine)
    added = parsed.with_entry(registry, {"auth": enc("new", "n")})
    assert added.with_entry(registry, {"auth": enc("new", "n")}) == added
    assert added.resolve(registry).username == "new"
    removed = parsed.without_entry(registry)
    assert removed.without_entry(registry) == removed and not removed.holds(registry)
    assert removed.resolve(registry).source == "none"
    for other in {"ghcr.io", "quay.io", "docker.io", "registry.example:5000"} - {registry_text}:
        before = parsed.resolve(Registry.parse(other))
        if before.source != "broken":
            assert added.resolve(Registry.parse(other)) == before
            assert removed.resolve(Registry.parse(other)) == before


def test_helper_for_follows_each_client() -> None:
    settings_ = {"credsStore": "pass", "credHelpers": {"ghcr.io": "gh", "quay.io": ""}}
    docker, podman = doc(settings_), doc(settings_, PODMAN)
    assert docker.helper_for(Registry.parse("ghcr.io")) == ("gh", "credHelpers['ghcr.io']")
    assert docker.helper_for(Registry.parse("quay.io")) is None, "an empty name in credHelpers means the file itself"
    assert docker.helper_for(Registry.parse("gcr.io")) == ("pass", "credsStore")
    assert podman.helper_for(Registry.parse("gcr.io")) is None, "containers/image does not read credsStore"
    assert podman.helper_for(Registry.parse("ghcr.io/org")) == ("gh", "credHelpers['ghcr.io']")


# --------------------------------------------------------------------------- credentials in entries and input


@given(st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=39), st.text(string.printable, min_size=1, max_size=300))
def test_encode_decode_round_trip(username: str, secret: str) -> None:
    assert af.decode_auth(af.encode_auth(username, secret)) == (username, secret.strip("\x00"))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (enc("octocat", "ghp_x").rstrip("="), "padded"),
        (base64.urlsafe_b64encode(b"\xfb\xff:x").decode(), "padded"),
        (enc("a", "b") + "=", "padded"),
        (base64.b64encode(b"no-colon").decode(), "username:secret"),
        (base64.b64encode(b":secret").decode(), "empty username"),
        (123, "not a string"),
    ],
)
def test_decode_auth_refuses_what_docker_refuses(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        af.decode_auth(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("username", "message"), [(None, "must not be empty"), ("", "must not be empty"), ("a:b", "must not contain ':'"), ("a b", "whitespace")]
)
def test_check_username(username: str | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        af.check_username(username)


def test_a_refusal_never_quotes_the_value_it_refuses() -> None:
    with pytest.raises(AuthFileError) as caught:
        doc(b'{"auths": {"quay.io": {"password": "ghp_TOPSECRET0123456789\\udc00"}}}')
    assert "TOPSECRET" not in str(caught.value) and "surrogate" in str(caught.value)


# --------------------------------------------------------------------------- the kubelet's node-wide config.json

KUBELET_ALIASES = ["ghcr.io", "https://ghcr.io", "http://ghcr.io", "ghcr.io/", "https://ghcr.io/v2/", "https://ghcr.io/v1/"]
# Keys the kubelet keeps apart from ghcr.io: a path prefix, a port, a glob, a /v2 without its slash, another host.
KUBELET_OTHERS = ["ghcr.io/org", "https://ghcr.io/v2/org", "ghcr.io:443", "*.ghcr.io", "*.io", "https://ghcr.io/v2", "quay.io"]


@pytest.mark.parametrize(
    ("key", "normalised"),
    [
        *[(alias, "ghcr.io") for alias in KUBELET_ALIASES],
        ("ghcr.io/org", "ghcr.io/org"),
        ("https://ghcr.io/v2/org", "ghcr.io/org"),
        ("https://ghcr.io/v2", "ghcr.io/v2"),
        ("https://user@ghcr.io:5000/v1/x?q#f", "ghcr.io:5000/x"),
        ("*.ghcr.io", "*.ghcr.io"),
    ],
)
def test_kubelet_key_is_what_the_kubelet_keyring_stores(key: str, normalised: str) -> None:
    assert af.kubelet_key(key) == normalised


def kubelet_file() -> dict:
    keys = KUBELET_ALIASES[1:] + KUBELET_OTHERS
    return {"auths": {key: {"auth": enc(f"user{index}", f"secret{index}")} for index, key in enumerate(keys)}, "HttpHeaders": {"X-A": "b"}}


def test_writing_replaces_every_alias_and_keeps_every_other_key() -> None:
    before = doc(kubelet_file(), KUBELET)
    after = before.with_entry(Registry.parse("ghcr.io"), {"auth": enc("octocat", "ghp_new")})
    assert list(after.auths) == [*KUBELET_OTHERS, "ghcr.io"]
    assert all(after.auths[key] == before.auths[key] for key in KUBELET_OTHERS)
    assert after.tree["HttpHeaders"] == {"X-A": "b"}
    assert after.resolve(Registry.parse("ghcr.io")).secret == "ghp_new"


def test_a_namespace_is_a_key_of_its_own_and_logout_of_the_host_leaves_it() -> None:
    before = doc(kubelet_file(), KUBELET)
    written = before.with_entry(Registry.parse("ghcr.io/org"), {"auth": enc("octocat", "ghp_org")})
    assert "ghcr.io/org" in written.auths and "https://ghcr.io/v2/org" not in written.auths
    removed = before.without_entry(Registry.parse("ghcr.io"))
    assert list(removed.auths) == KUBELET_OTHERS


def test_the_kubelet_reads_no_helpers_and_no_other_docker_fields() -> None:
    tree = {"auths": {}, "credsStore": "pass", "credHelpers": {"ghcr.io": "gh"}, "psFormat": 5}
    with pytest.raises(AuthFileError):
        doc(tree, DOCKER)  # Docker decodes psFormat as a string
    kubelet = doc(tree, KUBELET)
    assert kubelet.helper_for(Registry.parse("ghcr.io")) is None
    assert kubelet.resolve(Registry.parse("ghcr.io")).source == "none"


def test_the_kubelet_reads_unpadded_auth_but_ignores_a_file_with_an_auth_without_colon() -> None:
    unpadded = base64.b64encode(b"octocat:ghp_x").decode().rstrip("=")
    assert unpadded != base64.b64encode(b"octocat:ghp_x").decode()
    readable = doc({"auths": {"ghcr.io": {"auth": unpadded}}}, KUBELET)
    assert readable.load_problem() is None
    assert readable.resolve(Registry.parse("ghcr.io")).username == "octocat"
    broken = doc({"auths": {"quay.io": {"auth": base64.b64encode(b"nocolon").decode()}}}, KUBELET)
    assert "the kubelet ignores the whole file" in broken.load_problem()
    with pytest.raises(AuthFileError, match="cannot be written"):
        broken.with_entry(Registry.parse("ghcr.io"), {"auth": enc("octocat", "ghp_x")}).serialize()


def test_aliases_with_different_credentials_are_reported_as_a_random_pick() -> None:
    tree = {"auths": {"ghcr.io": {"auth": enc("a", "1")}, "https://ghcr.io/v2/": {"auth": enc("b", "2")}}}
    resolution = doc(tree, KUBELET).resolve(Registry.parse("ghcr.io"))
    assert resolution.source == "broken" and "at random" in resolution.problem


def test_kubelet_docker_hub_key_is_docker_io_and_index_docker_io_is_its_alias() -> None:
    tree = {"auths": {"https://index.docker.io/v1/": {"auth": enc("old", "1")}, "docker.io": {"auth": enc("old", "2")}}}
    tree["auths"]["docker.io/org"] = {"auth": enc("o", "3")}
    written = doc(tree, KUBELET).with_entry(Registry.parse("docker.io"), {"auth": enc("octocat", "ghp_new")})
    assert list(written.auths) == ["docker.io", "docker.io/org"]  # the own key keeps its place
    assert list(doc(tree, KUBELET).without_entry(Registry.parse("index.docker.io")).auths) == ["docker.io/org"]
    assert Registry.parse("docker.io/org").key(KUBELET) == "docker.io/org"


def test_kubelet_path_key_with_a_trailing_slash_is_the_same_key() -> None:
    tree = {"auths": {"ghcr.io/org/": {"auth": enc("old", "1")}, "https://ghcr.io/v2/org/": {"auth": enc("old", "2")}, "ghcr.io/org2": {"auth": enc("x", "3")}}}
    assert list(doc(tree, KUBELET).without_entry(Registry.parse("ghcr.io/org")).auths) == ["ghcr.io/org2"]


def test_kubelet_rejects_a_half_padded_auth_as_the_kubelet_does() -> None:
    padded = base64.b64encode(b"octocat:ghp_x").decode()
    assert padded.endswith("==")
    assert doc({"auths": {"ghcr.io": {"auth": padded[:-1]}}}, KUBELET).load_problem() is not None


def test_messages_never_quote_user_info_of_a_key() -> None:
    tree = {"auths": {"https://user:hunter2@quay.io": {"auth": base64.b64encode(b"nocolon").decode()}}}
    problem = doc(tree, KUBELET).load_problem()
    assert "hunter2" not in problem and "quay.io" in problem
