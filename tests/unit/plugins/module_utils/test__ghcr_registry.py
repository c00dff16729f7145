"""Unit tests for plugins/module_utils/_verify.py: which stored key a client would use for a registry."""

from __future__ import annotations

from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import encode_auth
from ansible_collections.fleet.ghcr.plugins.module_utils._verify import _from_entries, _lookup_order


def test_the_most_specific_namespace_wins_as_in_podman() -> None:
    auths = {"ghcr.io": {}, "ghcr.io/org": {}, "https://ghcr.io": {}, "quay.io": {}}
    assert _lookup_order(auths, "ghcr.io/org/app") == ["ghcr.io/org/app", "ghcr.io/org", "ghcr.io", "https://ghcr.io"]
    assert _lookup_order(auths, "ghcr.io") == ["ghcr.io", "ghcr.io/org", "https://ghcr.io"]


def test_from_entries_picks_the_namespaced_credential() -> None:
    doc = {"auths": {"ghcr.io": {"auth": encode_auth("hostuser", "a")}, "ghcr.io/org": {"auth": encode_auth("orguser", "b")}}}
    assert _from_entries(doc, "ghcr.io/org", "f") == ("orguser", "b")
    assert _from_entries(doc, "ghcr.io", "f") == ("hostuser", "a")
