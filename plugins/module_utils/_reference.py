# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Registry and image names: the one place where a registry given as a host, key or URL is understood."""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

from ansible_collections.fleet.ghcr.plugins.module_utils._errors import InputError

DOCKER = "docker"
PODMAN = "podman"
ENGINES = (DOCKER, PODMAN)
# The kubelet's node-wide config.json: Docker's file format, read by the kubelet's own rules (no credential helpers,
# keys matched by host and path prefix). Not a user's engine: ghcr_node_auth writes it.
KUBELET = "kubelet"

DOCKER_HUB = "docker.io"
DOCKER_HUB_KEY = "https://index.docker.io/v1/"  # the only key Docker reads for Docker Hub
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_NAME_RE = re.compile(rf"^(?P<name>{_LABEL}(?:\.{_LABEL})*|\[(?P<ipv6>[0-9a-f:.]+)\])(?::(?P<port>[1-9][0-9]{{0,4}}))?$")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_COMPONENT_RE = re.compile(rf"^{_COMPONENT}$")
_REPOSITORY_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_SCHEME_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_API_ROOTS = ("v1", "v2")


class ImageName(NamedTuple):
    """``repository`` below a registry and the tag or digest (``reference``) asked for."""

    repository: str
    reference: str = "latest"


class Registry(NamedTuple):
    """A registry, or a namespace inside one, as every plugin of the collection talks about it.

    ``host`` is the lower-case ``host[:port]`` (``docker.io`` for every Docker Hub alias), ``namespace`` the
    path below it (empty for the whole registry), ``scheme`` the one the user wrote, if any.
    """

    host: str
    namespace: str = ""
    scheme: str | None = None

    @classmethod
    def parse(cls, value: object, option: str = "registry") -> Registry:
        """Understand a registry given as a host, an auth-file key or a URL; InputError says what to fix.

        A scheme and trailing slashes are dropped, the host is lower-cased, an API root (``/v1``, ``/v2``)
        after a URL is dropped, and every Docker Hub alias becomes ``docker.io``.
        """
        text = value if isinstance(value, str) else ""
        if not text:
            raise InputError(f"{option} must not be empty: give a host such as ghcr.io or registry.example.com:5000.")
        if any(char.isspace() for char in text):
            raise InputError(f"{option} {text!r} contains whitespace: give a host such as ghcr.io.")
        scheme = None
        match = _SCHEME_RE.match(text)
        if match:
            scheme = match.group("scheme").lower()
            if scheme not in ("http", "https"):
                raise InputError(f"{option} {text!r} has the scheme {match.group('scheme')!r}: only http:// and https:// may be given.")
            text = text[match.end():]
        host, _sep, path = text.rstrip("/").partition("/")
        host = _checked_host(host.lower(), value, option)
        if scheme and path in _API_ROOTS:
            path = ""
        if host in DOCKER_HUB_HOSTS and path in ("", *_API_ROOTS):
            return cls(DOCKER_HUB, "", scheme)
        if host in DOCKER_HUB_HOSTS:
            host = DOCKER_HUB
        for component in path.split("/") if path else ():
            if not _COMPONENT_RE.match(component):
                raise InputError(
                    f"{option} {value!r} is malformed: the namespace part {component!r} must be lower-case letters, digits"
                    " and single separators (., _, __ or -), with no tag or digest."
                )
        return cls(host, path, scheme)

    @property
    def name(self) -> str:
        """``host[/namespace]``: the canonical text, and the key containers-auth.json files use."""
        return f"{self.host}/{self.namespace}" if self.namespace else self.host

    def __str__(self) -> str:
        return self.name

    @property
    def is_docker_hub(self) -> bool:
        return self.host == DOCKER_HUB

    @property
    def is_namespaced(self) -> bool:
        return bool(self.namespace)

    def whole(self) -> Registry:
        """The registry this namespace belongs to (itself when it names no namespace)."""
        return Registry(self.host, "", self.scheme) if self.namespace else self

    def key(self, engine: str) -> str:
        """The ``auths`` key ``engine`` writes and looks up first; Docker has no per-namespace credentials."""
        if engine in (PODMAN, KUBELET):
            return self.name
        if self.namespace:
            raise InputError(
                f"registry {self.name!r} names a namespace, but Docker keeps one credential per registry host"
                f" (it would use a namespaced key for all of {self.host}): use registry={self.host} for Docker,"
                " or engines=[podman] for a per-namespace credential."
            )
        return DOCKER_HUB_KEY if self.is_docker_hub else self.host

    def helper_server(self, engine: str) -> str:
        """What a credential helper is asked for: Docker passes its key, containers/image the bare host."""
        return self.key(DOCKER) if engine == DOCKER else self.host

    @property
    def base_url(self) -> str:
        """Where the registry API answers: https unless the user wrote http://."""
        host = DOCKER_HUB_API if self.is_docker_hub else self.host
        return f"{self.scheme or 'https'}://{host}"

    def image(self, text: str) -> ImageName:
        """``owner/name[:tag|@digest]`` of this registry; a leading host of this registry is accepted and dropped."""
        image = text.strip()
        if image.startswith(self.host + "/"):
            image = image[len(self.host) + 1:]
        first, _sep, rest = image.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            raise InputError(f"image {text!r} names the registry {first}, not {self.host}: give images as owner/name[:tag] of {self.host}.")
        if "@" in image:
            repository, reference = image.split("@", 1)
        else:
            slash, colon = image.rfind("/"), image.rfind(":")
            repository, reference = (image[:colon], image[colon + 1:]) if colon > slash else (image, "latest")
        if not _REPOSITORY_RE.match(repository) or not reference:
            raise InputError(f"image {text!r} is not of the form owner/name[:tag] (lower-case, no registry host other than {self.host}).")
        return ImageName(repository, reference)


def _checked_host(host: str, value: object, option: str) -> str:
    match = _NAME_RE.match(host)
    port = match.group("port") if match else None
    valid = match is not None and (port is None or 0 < int(port) < 65536)
    if valid and match is not None and match.group("ipv6") is not None:
        try:
            ipaddress.IPv6Address(match.group("ipv6"))
        except ValueError:
            valid = False
    if not valid:
        raise InputError(
            f"{option} {value!r} is malformed: {host!r} is not a host name, an IPv4 address or a bracketed IPv6 address"
            " ([::1]), with an optional :port from 1 to 65535."
        )
    return host


__all__ = ("DOCKER", "DOCKER_HUB", "DOCKER_HUB_HOSTS", "DOCKER_HUB_KEY", "ENGINES", "KUBELET", "PODMAN", "ImageName", "Registry")
