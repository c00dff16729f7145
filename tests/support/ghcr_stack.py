# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A GHCR-faithful registry stack for integration tests: real Distribution behind GHCR-like fronts.

Components (all on 127.0.0.1, free ports; the TLS ones share one throwaway CA
from :mod:`tests.support.tls`):

* **Distribution** (``/usr/bin/docker-registry serve``, 2.8.2), plain HTTP,
  token authentication (``auth.token``: realm = the token server, service
  :data:`SERVICE`, issuer :data:`ISSUER`, rootcertbundle = a private signing CA).
* **front** (TLS; ``stack.host``): what clients talk to. A streaming reverse
  proxy to Distribution that makes the answers GHCR-like (see
  :class:`GhcrStack`), counts requests and can inject 429/5xx answers.
* **token server** (TLS; ``stack.token_url``): ``GET /token`` as GHCR does it.
* **fake GitHub API** (TLS; ``stack.github_api_url``): ``GET /user``.

Script use (a demo, Molecule)::

    python -m tests.support.ghcr_stack start --state-dir DIR [--pats-json FILE] [--grant USER:REPO:ACTIONS] [--public REPO] [--seed REPO:TAG]

prints one JSON line (host, url, ca, cert_dir, token_url, github_api_url,
service, tokens, seeded), writes it to DIR/ghcr.json (mode 0600) and serves
until SIGTERM/SIGINT. Without --pats-json/--grant/--public/--seed it sets up
the same PATs, grants and images as the ``ghcr`` pytest fixture
(:func:`populate_defaults`).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import http.client
import json
import re
import secrets
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import trustme
from cryptography.hazmat.primitives import serialization

from tests.support.authfiles import write_auth_json
from tests.support.registry import (
    STOP_TIMEOUT,
    DistributionProcess,
    RegistryError,
    build_tiny_oci_image,
    distribution_config,
    missing_binaries,
    push_tiny_image,
    random_token,
    serve_until_signalled,
)
from tests.support.service import Service
from tests.support.tls import TlsFiles, write_tls_files

REQUIRED_BINARIES = ("docker-registry", "skopeo", "umoci")
ADDRESS = "127.0.0.1"
SERVICE = "ghcr-test.local"
ISSUER = "ghcr-test.local token server"
ADMIN_USER = "ghcr-test-admin"
TOKEN_LIFETIME = 300  # seconds in the JWT; like GHCR, the JSON answer carries no expires_in
EXPIRATION_FORMAT = "%Y-%m-%d %H:%M:%S UTC"  # GitHub-Authentication-Token-Expiration
DEFAULT_429_MESSAGE = "retry-after: 22.625684ms, allowed: 2000/minute"
UNAUTHENTICATED_MESSAGE = "unauthenticated: User cannot be authenticated with the token provided."
TOKEN_BASIC_REALM = 'Basic realm="GitHub Package Registry"'
TARGETS = ("registry", "token", "api")
PACKAGE_SCOPES = ("read:packages", "write:packages", "delete:packages")
HANDLER_IDLE_TIMEOUT = 15.0  # keep-alive connections idle longer than this are closed
COPY_CHUNK = 64 * 1024
JSON_TYPE = "application/json; charset=utf-8"
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "expect"}
)
INSUFFICIENT_SCOPE = re.compile(r'error\s*=\s*"?insufficient_scope"?', re.IGNORECASE)
TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class GhcrStackError(RegistryError):
    """The stack could not be started, or an image could not be seeded."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def fine_grained_token() -> str:
    """A random token shaped like a fine-grained PAT: ``github_pat_`` + 22 + ``_`` + 59."""
    def part(length: int) -> str:
        return "".join(secrets.choice(TOKEN_ALPHABET) for _index in range(length))

    return f"github_pat_{part(22)}_{part(59)}"


def errors_body(code: str, message: str) -> bytes:
    """The registry error document ``{"errors":[{"code":..., "message":...}]}``."""
    return json.dumps({"errors": [{"code": code, "message": message}]}, separators=(",", ":")).encode()


def parse_scope(text: str) -> tuple[str, str, tuple[str, ...]] | None:
    """``type:name:actions`` -> (type, name, actions), or None when malformed.

    The type ends at the first ':' (a ``(class)`` suffix is dropped) and the
    actions start after the last one, so names with a registry port survive.
    """
    resource_type, sep, rest = text.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not (sep and sep2 and resource_type and name):
        return None
    resource_type = resource_type.split("(", 1)[0]
    return resource_type, name, tuple(dict.fromkeys(action for action in actions.split(",") if action))


def answers_bearer_401(port: int) -> bool:
    """True when plain-HTTP Distribution on ``port`` asks for a Bearer token on ``/v2/`` (it is up)."""
    connection = http.client.HTTPConnection(ADDRESS, port, timeout=2)
    try:
        connection.request("GET", "/v2/")
        response = connection.getresponse()
        response.read()
        return response.status == 401 and "Bearer" in (response.getheader("WWW-Authenticate") or "")
    except OSError:
        return False
    finally:
        connection.close()


def libtrust_key_id(public_key) -> str:
    """docker/libtrust KeyID: base32(sha256(DER SubjectPublicKeyInfo)[:30]) in 4-char groups joined by ':'."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii")
    return ":".join(encoded[index : index + 4] for index in range(0, len(encoded), 4))


@dataclass
class Pat:
    """A personal access token known to the stack (token server + fake API)."""

    token: str
    user: str
    scopes: tuple[str, ...] = ("read:packages",)
    expires_at: dt.datetime | None = None
    revoked: bool = False

    @property
    def fine_grained(self) -> bool:
        return self.token.startswith("github_pat_")

    def expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at is not None and (now or utcnow()) >= self.expires_at

    @property
    def expiration_header(self) -> str | None:
        return None if self.expires_at is None else self.expires_at.strftime(EXPIRATION_FORMAT)


@dataclass(frozen=True)
class _Injected:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]


# -- HTTP plumbing ---------------------------------------------------------------


class _TlsServer(ThreadingHTTPServer):
    """A TLS ThreadingHTTPServer whose handler threads are all joined at close.

    The TLS handshake runs in the handler thread (not in the accept loop), and
    :meth:`close_connections` cuts open keep-alive connections so that
    ``server_close()`` can join every thread.
    """

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext, stack: GhcrStack, component: str, counted: bool) -> None:
        super().__init__((ADDRESS, 0), handler)
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.stack = stack
        self.component = component
        self.counted = counted
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)  # the raw fd: wakes a blocked SSL read

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        self.stack._log(self.component, f"connection from {client_address[0]}:{client_address[1]} ended: {error!r}")


class _Handler(BaseHTTPRequestHandler):
    """Common request handling: TLS handshake, counting, injected answers, JSON replies."""

    protocol_version = "HTTP/1.1"
    server_version = "ghcr-test"
    timeout = HANDLER_IDLE_TIMEOUT
    server: _TlsServer

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (BaseHTTPRequestHandler's signature)
        self.server.stack._log(self.server.component, format % args)

    def _dispatch(self) -> None:
        stack = self.server.stack
        if self.server.counted and not self.internal():
            injected = stack._count_and_take_injection(self.server.component)
            if injected is not None:
                for _chunk in self.body_chunks():
                    pass
                self.send_bytes(injected.status, injected.body, list(injected.headers))
                return
        self.serve()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def internal(self) -> bool:
        """True for requests of the stack's own admin (neither counted nor injected)."""
        return False

    def serve(self) -> None:
        raise NotImplementedError

    def body_chunks(self) -> Iterator[bytes]:
        """The request body (Content-Length or chunked), in pieces."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                while size:
                    piece = self.rfile.read(min(size, COPY_CHUNK))
                    if not piece:
                        raise ConnectionError("client closed the connection inside a chunk")
                    size -= len(piece)
                    yield piece
                self.rfile.readline(3)
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                piece = self.rfile.read(min(remaining, COPY_CHUNK))
                if not piece:
                    raise ConnectionError("client closed the connection inside the body")
                remaining -= len(piece)
                yield piece

    def send_bytes(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None, content_type: str = JSON_TYPE) -> None:
        """Answer ``status`` with ``body`` (no body for HEAD); ``headers`` may override Content-Type."""
        headers = list(headers or [])
        self.send_response(status)
        if not any(name.lower() == "content-type" for name, _value in headers):
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, document: object, headers: list[tuple[str, str]] | None = None) -> None:
        self.send_bytes(status, json.dumps(document, separators=(",", ":")).encode(), headers)


class _FrontHandler(_Handler):
    """Reverse proxy to Distribution with GHCR's denial texts."""

    def serve(self) -> None:
        stack = self.server.stack
        had_bearer = self.headers.get("Authorization", "").lower().startswith("bearer ")
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        connection = http.client.HTTPConnection(ADDRESS, stack._backend_port, timeout=120)
        try:
            try:
                connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                dropped = HOP_BY_HOP | {token.strip().lower() for token in self.headers.get("Connection", "").split(",")}
                for name, value in self.headers.items():
                    if name.lower() not in dropped:
                        connection.putheader(name, value)
                connection.putheader("X-Forwarded-Proto", "https")
                connection.putheader("X-Forwarded-For", self.client_address[0])
                if chunked:
                    connection.putheader("Transfer-Encoding", "chunked")
                connection.endheaders()
                for piece in self.body_chunks():
                    connection.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                if chunked:
                    connection.send(b"0\r\n\r\n")
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as error:
                self.close_connection = True
                self.send_bytes(502, errors_body("UNKNOWN", f"ghcr-test front: backend unavailable: {error}"))
                return
            self._relay(response, had_bearer)
        finally:
            connection.close()

    def _relay(self, response: http.client.HTTPResponse, had_bearer: bool) -> None:
        headers = response.getheaders()
        challenges = [value for name, value in headers if name.lower() == "www-authenticate"]
        if response.status == 401 and had_bearer and any(INSUFFICIENT_SCOPE.search(value) for value in challenges):
            response.read()
            action = "read_package" if self.command in ("GET", "HEAD") else "write_package"
            kept = [(name, value) for name, value in headers if name.lower() == "docker-distribution-api-version"]
            self.send_bytes(403, errors_body("DENIED", f"permission_denied: {action}"), kept)
            return
        self.send_response_only(response.status, response.reason)
        length = response.getheader("Content-Length")
        no_body = self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        rechunk = not no_body and length is None
        if rechunk:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if no_body:
            response.read()
            return
        while True:
            piece = response.read(COPY_CHUNK)
            if not piece:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if rechunk else piece)
        if rechunk:
            self.wfile.write(b"0\r\n\r\n")


class _TokenHandler(_Handler):
    """GHCR's ``/token`` endpoint."""

    def internal(self) -> bool:
        return self.server.stack._is_admin_basic(self.headers.get("Authorization"))

    def serve(self) -> None:
        for _chunk in self.body_chunks():
            pass
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token" or self.command not in ("GET", "HEAD"):
            # A 404 on POST tells OAuth2-capable clients to use GET (distribution oauth.md).
            self.send_bytes(404, b"404 page not found\n", content_type="text/plain; charset=utf-8")
            return
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        status, document, headers = self.server.stack._issue_token(self.headers.get("Authorization"), query, internal=self.internal())
        self.send_json(status, document, headers)


class _ApiHandler(_Handler):
    """The GitHub REST API's ``GET /user`` (enough to read X-OAuth-Scopes and the expiry)."""

    def serve(self) -> None:
        for _chunk in self.body_chunks():
            pass
        url = urllib.parse.urlsplit(self.path)
        if url.path.rstrip("/") != "/user" or self.command not in ("GET", "HEAD"):
            self.send_json(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})
            return
        status, document, headers = self.server.stack._api_user(self.headers.get("Authorization"))
        self.send_json(status, document, headers)


# -- the stack -------------------------------------------------------------------


class GhcrStack(Service):
    """A real Distribution registry behind GHCR-like front, token server and GitHub API.

    Use as a context manager or call start()/stop(); stop() is idempotent and
    also cleans up after a start() that failed halfway.

    What the front does to Distribution's answers:

    * a 401 carrying ``error="insufficient_scope"`` in WWW-Authenticate, to a
      request that presented a Bearer token, becomes GHCR's 403
      ``{"errors":[{"code":"DENIED","message":"permission_denied: read_package"}]}``
      (GET/HEAD) or ``...write_package`` (other methods); HEAD gets no body;
    * everything else passes through unchanged (Location headers are
      relative: Distribution runs with ``http.relativeurls``);
    * :meth:`inject_429` / :meth:`inject_status` answers come first, per target.

    Token server (``GET /token``), as GHCR:

    * no Authorization: anonymous token, ``pull`` on public repositories only;
    * Basic with an unknown or revoked PAT, any non-Basic scheme (a Bearer PAT)
      or a fine-grained ``github_pat_`` token: 401 UNAUTHORIZED
      ``unauthenticated: User cannot be authenticated with the token provided.``
      plus ``WWW-Authenticate: Basic realm=...``. GitHub documents that GHCR
      supports classic PATs only, so a fine-grained token is treated as unknown
      here, even when registered with :meth:`add_pat` (the fake API still knows it);
    * an expired PAT: 403 ``{"errors":[{"code":"DENIED","message":"denied"}]}``,
      also for public repositories (stale credentials are worse than none);
    * otherwise 200 ``{"token": JWT}`` (no ``expires_in``, like GHCR). Each
      requested scope gets requested ∩ allowed actions, possibly none (not an
      error): ``pull`` if the repo is public, or the PAT has read:packages or
      write:packages and the user has a pull grant; ``push`` needs
      write:packages and a push grant; ``delete`` needs delete:packages and a
      delete grant. A push grant implies pull; a delete grant implies push and pull;
    * the Basic user name is not checked against the PAT owner (GHCR's
      behaviour is undocumented) unless ``strict_usernames`` is set;
    * the JWT audience is the ``service`` query parameter (default
      :data:`SERVICE`), so a client sending a wrong service gets a token that
      Distribution refuses (401 ``invalid_token``).

    Fake GitHub API ``GET /user`` (``Authorization: Bearer X`` or ``token X``):
    a live classic PAT gives 200 ``{"login": ...}`` with ``X-OAuth-Scopes``
    (``", "``-joined) and, if it expires, ``GitHub-Authentication-Token-Expiration``
    (``YYYY-MM-DD HH:MM:SS UTC``); a live fine-grained PAT the same without
    ``X-OAuth-Scopes``; unknown/revoked/expired: 401 ``{"message":"Bad credentials",...}``.

    The stack's own admin (used by :meth:`seed_image`) pushes through a second,
    uncounted front listener; its token requests are neither counted, logged
    nor subject to injection.
    """

    def __init__(self, state_dir: Path | str | None = None, service: str = SERVICE, strict_usernames: bool = False) -> None:
        self._own_state_dir = state_dir is None
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="fleet-ghcr-"))
        self._service = service
        self.strict_usernames = strict_usernames
        self.tls: TlsFiles | None = None
        self.tokens: dict[str, str] = {}
        self.seeded: dict[str, str] = {}
        self._lock = threading.RLock()
        self._log_lock = threading.Lock()
        self._pats: dict[str, Pat] = {}
        self._grants: dict[tuple[str, str], set[str]] = {}
        self._public: set[str] = set()
        self._counters = dict.fromkeys(TARGETS, 0)
        self._token_requests: list[dict] = []
        self._injections: dict[str, list[_Injected]] = {target: [] for target in TARGETS}
        self._servers: list[tuple[_TlsServer, threading.Thread]] = []
        self._front: _TlsServer | None = None
        self._admin_front: _TlsServer | None = None
        self._token_server: _TlsServer | None = None
        self._api_server: _TlsServer | None = None
        self._distribution = DistributionProcess(self.state_dir / "distribution.yml", self.registry_log_file, ADDRESS, "Distribution", GhcrStackError)
        self._backend_port: int | None = None
        self._signing_key = None
        self._jwt_headers: dict = {}
        self._admin_token: str | None = None
        self._image_cache: Path | None = None

    # -- properties -------------------------------------------------------

    @property
    def service(self) -> str:
        return self._service

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT`` of the front: the registry name clients use."""
        return f"{ADDRESS}:{self._started(self._front).port}"

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    @property
    def token_url(self) -> str:
        """The token realm (what the Bearer challenge names)."""
        return f"https://{ADDRESS}:{self._started(self._token_server).port}/token"

    @property
    def github_api_url(self) -> str:
        return f"https://{ADDRESS}:{self._started(self._api_server).port}"

    @property
    def backend_url(self) -> str:
        """Plain-HTTP Distribution, for observing its raw answers."""
        if self._backend_port is None:
            raise GhcrStackError("the stack is not started")
        return f"http://{ADDRESS}:{self._backend_port}"

    @property
    def ca_file(self) -> Path:
        return self._started(self.tls).ca_file

    @property
    def cert_dir(self) -> Path:
        return self._started(self.tls).cert_dir

    @property
    def log_file(self) -> Path:
        """Access/error log of the front, token server and API."""
        return self.state_dir / "ghcr-stack.log"

    @property
    def registry_log_file(self) -> Path:
        return self.state_dir / "distribution.log"

    @property
    def running(self) -> bool:
        return self._distribution.running and bool(self._servers)

    @property
    def counters(self) -> dict[str, int]:
        """Requests received per component: ``{"registry": n, "token": n, "api": n}``."""
        with self._lock:
            return dict(self._counters)

    @property
    def token_requests(self) -> list[dict]:
        """One dict per token request: account, username, service, scopes, authenticated, user, status, granted."""
        with self._lock:
            return [dict(entry) for entry in self._token_requests]

    def _started(self, thing):
        if thing is None:
            raise GhcrStackError("the stack is not started")
        return thing

    # -- lifecycle --------------------------------------------------------

    def _start(self) -> None:
        missing = missing_binaries(REQUIRED_BINARIES)
        if missing:
            raise GhcrStackError(f"required binaries not found on PATH: {', '.join(missing)}")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.tls = write_tls_files(self.state_dir / "tls")
        bundle = self._make_signer(self.state_dir / "token-signer")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.tls.cert_file), str(self.tls.key_file))
        self._token_server = self._serve(_TokenHandler, context, "token", counted=True)
        self._api_server = self._serve(_ApiHandler, context, "api", counted=True)
        self._start_distribution(bundle)
        self._front = self._serve(_FrontHandler, context, "registry", counted=True)
        self._admin_front = self._serve(_FrontHandler, context, "registry", counted=False)
        self._admin_token = random_token()
        self.add_pat(self._admin_token, ADMIN_USER, scopes=PACKAGE_SCOPES)
        self.grant(ADMIN_USER, "*", ("pull", "push", "delete"))

    def stop(self) -> None:
        """Stop every listener thread and Distribution; safe to call more than once."""
        try:
            self._stop_servers(lambda server: server.component == "registry")
            self._distribution.stop()
            self._stop_servers(lambda server: True)
        finally:
            self._front = self._admin_front = self._token_server = self._api_server = None
            self._backend_port = None
            if self._own_state_dir:
                shutil.rmtree(self.state_dir, ignore_errors=True)

    def _serve(self, handler: type[_Handler], context: ssl.SSLContext, component: str, counted: bool) -> _TlsServer:
        server = _TlsServer(handler, context, self, component, counted)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name=f"ghcr-{component}-{server.port}", daemon=True)
        self._servers.append((server, thread))
        thread.start()
        return server

    def _stop_servers(self, which) -> None:
        chosen = [entry for entry in self._servers if which(entry[0])]
        self._servers = [entry for entry in self._servers if not which(entry[0])]
        for server, thread in chosen:
            try:
                server.shutdown()
            finally:
                server.close_connections()
                server.server_close()  # joins the handler threads
                thread.join(STOP_TIMEOUT)

    def _make_signer(self, directory: Path) -> Path:
        """A signing CA (Distribution's rootcertbundle) and a leaf whose key signs the JWTs.

        Distribution 2.8 takes the signing key from the JWT header: ``x5c``
        (standard base64 DER, leaf first), verified against rootcertbundle; or
        ``kid``, a libtrust fingerprint of a key *in* rootcertbundle. We send
        x5c (preferred by Distribution); the kid of the leaf is informative only.
        """
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="ghcr-test token signing CA")
        leaf = ca.issue_cert("token-signer." + self._service, common_name="ghcr-test token signer")
        bundle = directory / "rootcertbundle.pem"
        ca.cert_pem.write_to_path(str(bundle))
        leaf.private_key_pem.write_to_path(str(directory / "signer.key"))
        (directory / "signer.key").chmod(0o600)
        leaf_pem = leaf.cert_chain_pems[0].bytes()
        (directory / "signer.crt").write_bytes(leaf_pem)
        from cryptography import x509  # local: only needed here

        certificate = x509.load_pem_x509_certificate(leaf_pem)
        self._signing_key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
        self._jwt_headers = {
            "x5c": [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")],
            "kid": libtrust_key_id(certificate.public_key()),
        }
        return bundle

    def _distribution_config(self, port: int, bundle: Path) -> str:
        return distribution_config(
            ADDRESS,
            port,
            self.state_dir / "storage",
            {"token": {"realm": self.token_url, "service": self._service, "issuer": ISSUER, "rootcertbundle": str(bundle)}},
            relativeurls=True,
        )

    def _start_distribution(self, bundle: Path) -> None:
        self._distribution.start(lambda port: self._distribution_config(port, bundle), answers_bearer_401, "a Bearer 401 on {host}/v2/")
        self._backend_port = self._distribution.port

    def registry_log_tail(self, lines: int = 30) -> str:
        return self._distribution.log_tail(lines)

    def _log(self, component: str, message: str) -> None:
        with self._log_lock, contextlib.suppress(OSError), self.log_file.open("a", encoding="utf-8") as handle:
            handle.write(f"{time.strftime('%H:%M:%S')} {component}: {message}\n")

    # -- PATs, grants, public packages --------------------------------------

    def add_pat(
        self,
        token: str,
        user: str,
        scopes: tuple[str, ...] | list[str] = ("read:packages",),
        expires_at: dt.datetime | None = None,
        revoked: bool = False,
    ) -> str:
        """Register (or replace) a PAT; naive ``expires_at`` is taken as UTC. Returns ``token``."""
        if expires_at is not None and expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
        with self._lock:
            self._pats[token] = Pat(token, user, tuple(scopes), expires_at, revoked)
        return token

    def revoke(self, token: str) -> None:
        with self._lock:
            self._pats[token].revoked = True

    def pat(self, token: str) -> Pat | None:
        with self._lock:
            return self._pats.get(token)

    def grant(self, user: str, repo: str, actions: tuple[str, ...] | list[str] = ("pull",)) -> None:
        """Give ``user`` package permissions on ``repo`` ("*" = every repository)."""
        implied = set(actions)
        if "delete" in implied:
            implied |= {"push", "pull"}
        if "push" in implied:
            implied.add("pull")
        with self._lock:
            self._grants.setdefault((user, repo), set()).update(implied)

    def make_public(self, repo: str) -> None:
        with self._lock:
            self._public.add(repo)

    def allowed_actions(self, pat: Pat | None, resource_type: str, name: str) -> set[str]:
        """What ``pat`` (None = anonymous) may do on a resource, by GHCR's rules."""
        if resource_type != "repository":
            return set()
        with self._lock:
            allowed = {"pull"} if name in self._public else set()
            if pat is None:
                return allowed
            grants = self._grants.get((pat.user, name), set()) | self._grants.get((pat.user, "*"), set())
        scopes = set(pat.scopes)
        if scopes & {"read:packages", "write:packages"} and "pull" in grants:
            allowed.add("pull")
        if "write:packages" in scopes and "push" in grants:
            allowed.add("push")
        if "delete:packages" in scopes and "delete" in grants:
            allowed.add("delete")
        return allowed

    # -- counters and injection -------------------------------------------

    def reset_counters(self) -> None:
        """Zero the counters and clear the token request log."""
        with self._lock:
            self._counters = dict.fromkeys(TARGETS, 0)
            self._token_requests.clear()

    def reset(self) -> None:
        """reset_counters() and drop pending injections."""
        with self._lock:
            self.reset_counters()
            for queue in self._injections.values():
                queue.clear()

    def inject_429(self, count: int = 1, message: str = DEFAULT_429_MESSAGE, retry_after_header: str | int | None = None, target: str = "registry") -> None:
        """The next ``count`` requests to ``target`` answer GHCR's 429 TOOMANYREQUESTS."""
        headers = [] if retry_after_header is None else [("Retry-After", str(retry_after_header))]
        self.inject_status(429, count, target, body=errors_body("TOOMANYREQUESTS", message), headers=headers)

    def inject_status(
        self,
        status: int,
        count: int = 1,
        target: str = "registry",
        body: bytes | str | dict | None = None,
        headers: list[tuple[str, str]] | dict[str, str] | None = None,
    ) -> None:
        """The next ``count`` requests to ``target`` ("registry", "token" or "api") answer ``status``."""
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
        if body is None:
            reason = http.client.responses.get(status, "Error")
            body = {"message": reason} if target == "api" else errors_body("UNKNOWN", f"{status} {reason}")
        if isinstance(body, dict):
            body = json.dumps(body, separators=(",", ":"))
        if isinstance(body, str):
            body = body.encode()
        pairs = tuple((headers or {}).items()) if isinstance(headers, dict) else tuple(headers or ())
        with self._lock:
            self._injections[target].extend([_Injected(status, body, pairs)] * count)

    def pending_injections(self, target: str = "registry") -> int:
        with self._lock:
            return len(self._injections[target])

    def _count_and_take_injection(self, target: str) -> _Injected | None:
        with self._lock:
            self._counters[target] += 1
            queue = self._injections[target]
            return queue.pop(0) if queue else None

    # -- token server -------------------------------------------------------

    def _is_admin_basic(self, authorization: str | None) -> bool:
        credentials = _basic_credentials(authorization)
        return credentials is not None and self._admin_token is not None and credentials[1] == self._admin_token

    def _issue_token(self, authorization: str | None, query: dict[str, list[str]], internal: bool = False) -> tuple[int, dict, list[tuple[str, str]]]:
        raw_scopes = [part for value in query.get("scope", []) for part in value.split()]
        service = (query.get("service") or [""])[0] or self._service
        entry = {
            "account": (query.get("account") or [None])[0],
            "username": None,
            "service": (query.get("service") or [None])[0],
            "scopes": raw_scopes,
            "authenticated": False,
            "user": None,
            "status": 200,
            "granted": [],
        }
        status, document, headers = self._token_answer(authorization, raw_scopes, service, entry)
        entry["status"] = status
        if not internal:
            with self._lock:
                self._token_requests.append(entry)
        return status, document, headers

    def _token_answer(self, authorization: str | None, raw_scopes: list[str], service: str, entry: dict) -> tuple[int, dict, list[tuple[str, str]]]:
        unauthorized = (401, {"errors": [{"code": "UNAUTHORIZED", "message": UNAUTHENTICATED_MESSAGE}]}, [("WWW-Authenticate", TOKEN_BASIC_REALM)])
        pat = None
        if authorization:
            credentials = _basic_credentials(authorization)
            if credentials is None:
                return unauthorized
            entry["username"] = credentials[0]
            pat = self.pat(credentials[1])
            if pat is None or pat.revoked or pat.fine_grained:
                return unauthorized
            if self.strict_usernames and credentials[0].lower() != pat.user.lower():
                return unauthorized
            if pat.expired():
                return 403, {"errors": [{"code": "DENIED", "message": "denied"}]}, []
            entry["authenticated"] = True
            entry["user"] = pat.user
        access = []
        for text in raw_scopes:
            parsed = parse_scope(text)
            if parsed is None:
                continue
            resource_type, name, requested = parsed
            allowed = self.allowed_actions(pat, resource_type, name)
            access.append({"type": resource_type, "name": name, "actions": [action for action in requested if action in allowed]})
        entry["granted"] = access
        return 200, {"token": self._sign(pat.user if pat else "", service, access)}, []

    def _sign(self, subject: str, audience: str, access: list[dict]) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": audience,
            "exp": now + TOKEN_LIFETIME,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        return jwt.encode(claims, self._signing_key, algorithm="ES256", headers=self._jwt_headers)

    # -- fake GitHub API ----------------------------------------------------

    def _api_user(self, authorization: str | None) -> tuple[int, dict, list[tuple[str, str]]]:
        scheme, _sep, token = (authorization or "").strip().partition(" ")
        if not authorization:
            return 401, {"message": "Requires authentication", "documentation_url": "https://docs.github.com/rest", "status": "401"}, []
        pat = self.pat(token.strip()) if scheme.lower() in ("bearer", "token") else None
        if pat is None or pat.revoked or pat.expired():
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}, []
        headers = [("X-GitHub-Media-Type", "github.v3; format=json"), ("X-Accepted-OAuth-Scopes", "")]
        if not pat.fine_grained:
            headers.append(("X-OAuth-Scopes", ", ".join(pat.scopes)))
        if pat.expiration_header:
            headers.append(("GitHub-Authentication-Token-Expiration", pat.expiration_header))
        user_id = int.from_bytes(hashlib.sha256(pat.user.encode()).digest()[:3], "big")
        return 200, {"login": pat.user, "id": user_id, "type": "User"}, headers

    # -- clients' helpers ---------------------------------------------------

    def write_authfile(self, path: Path | str, token: str | None, user: str | None = None) -> Path:
        """A containers-auth.json for ``stack.host`` (``token`` None: an empty ``auths``)."""
        if token is None:
            return write_auth_json(Path(path), {})
        pat = self.pat(token)
        return write_auth_json(Path(path), {self.host: (user or (pat.user if pat else "octocat"), token)})

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    # -- seeding ------------------------------------------------------------

    def seed_image(self, repo: str, tag: str) -> str:
        """Push a tiny OCI image as ``repo:tag`` through the (uncounted) admin front; return its digest."""
        if self._admin_front is None or self._admin_token is None:
            raise GhcrStackError("the stack is not started")
        if self._image_cache is None:
            self._image_cache = build_tiny_oci_image(self.state_dir / "oci-image")
        admin_host = f"{ADDRESS}:{self._admin_front.port}"
        try:
            digest = push_tiny_image(self._image_cache, admin_host, (ADMIN_USER, self._admin_token), self.cert_dir, repo, tag, self.state_dir)
        except RegistryError as error:
            raise GhcrStackError(f"{error}\nDistribution log:\n{self.registry_log_tail()}") from error
        self.seeded[f"{repo}:{tag}"] = digest
        return digest

    # -- description ----------------------------------------------------------

    def describe(self) -> dict:
        return {
            "host": self.host,
            "url": self.url,
            "ca": str(self.ca_file),
            "cert_dir": str(self.cert_dir),
            "token_url": self.token_url,
            "github_api_url": self.github_api_url,
            "service": self.service,
            "tokens": dict(self.tokens),
            "seeded": dict(self.seeded),
            "public": sorted(self._public),
            "log_file": str(self.log_file),
            "registry_log_file": str(self.registry_log_file),
            "registry_pid": self._distribution.pid,
        }


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(user, password) from ``Basic base64(user:password)``, or None."""
    scheme, _sep, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


# -- the standard population (pytest fixture ``ghcr`` and script mode) ----------

PRIVATE_REPO = "fleet/hello"
PUBLIC_REPO = "fleet/public"
SEED_TAG = "1.0"


def populate_defaults(stack: GhcrStack) -> dict[str, str]:
    """Named PATs, grants and images; sets and returns ``stack.tokens``; resets counters.

    Images: ``fleet/hello:1.0`` (private; octocat may pull and push) and
    ``fleet/public:1.0`` (public). Tokens (all owned by octocat unless said):
    good (read:packages, expires in 60 days), push (write+read:packages),
    noscope (repo only), expired (yesterday), revoked, unknown (never
    registered), soon (read:packages, 7 days), broad (read/write/delete:packages,
    repo, admin:org), finegrained (github_pat_..., registered, 30 days),
    stranger (user hubot, read:packages, no package grant).
    """
    now = utcnow()
    day = dt.timedelta(days=1)
    tokens = {
        "good": stack.add_pat(random_token(), "octocat", ("read:packages",), now + 60 * day),
        "push": stack.add_pat(random_token(), "octocat", ("write:packages", "read:packages")),
        "noscope": stack.add_pat(random_token(), "octocat", ("repo",)),
        "expired": stack.add_pat(random_token(), "octocat", ("read:packages",), now - day),
        "revoked": stack.add_pat(random_token(), "octocat", ("read:packages",), revoked=True),
        "unknown": random_token(),
        "soon": stack.add_pat(random_token(), "octocat", ("read:packages",), now + 7 * day),
        "broad": stack.add_pat(random_token(), "octocat", ("read:packages", "write:packages", "delete:packages", "repo", "admin:org")),
        "finegrained": stack.add_pat(fine_grained_token(), "octocat", (), now + 30 * day),
        "stranger": stack.add_pat(random_token(), "hubot", ("read:packages",), now + 60 * day),
    }
    stack.grant("octocat", PRIVATE_REPO, ("pull", "push"))
    stack.make_public(PUBLIC_REPO)
    stack.seed_image(PRIVATE_REPO, SEED_TAG)
    stack.seed_image(PUBLIC_REPO, SEED_TAG)
    stack.tokens = tokens
    stack.reset()
    return tokens


# -- script entry point -------------------------------------------------------------


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.support.ghcr_stack")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start the stack and serve until SIGTERM/SIGINT")
    start.add_argument("--state-dir", required=True, type=Path)
    start.add_argument(
        "--pats-json",
        type=Path,
        help='JSON file: {"NAME": {"token": ..., "user": ..., "scopes": [...], "expires_at": ISO8601|null, "revoked": false}} (secrets never on argv)',
    )
    start.add_argument("--grant", action="append", default=[], metavar="USER:REPO:ACTION[,ACTION]")
    start.add_argument("--public", action="append", default=[], metavar="REPO")
    start.add_argument("--seed", action="append", default=[], metavar="REPO:TAG")
    return parser.parse_args(argv)


def _apply_args(stack: GhcrStack, args: argparse.Namespace) -> None:
    if not (args.pats_json or args.grant or args.public or args.seed):
        populate_defaults(stack)
        return
    if args.pats_json:
        for name, spec in json.loads(args.pats_json.read_text(encoding="utf-8")).items():
            expires = spec.get("expires_at")
            stack.tokens[name] = stack.add_pat(
                spec["token"],
                spec["user"],
                tuple(spec.get("scopes", ("read:packages",))),
                dt.datetime.fromisoformat(expires) if expires else None,
                bool(spec.get("revoked", False)),
            )
    for text in args.grant:
        user, _sep, rest = text.partition(":")
        repo, _sep, actions = rest.rpartition(":")
        stack.grant(user, repo, tuple(actions.split(",")))
    for repo in args.public:
        stack.make_public(repo)
    for ref in args.seed:
        repo, _sep, tag = ref.rpartition(":")
        stack.seed_image(repo, tag)
    stack.reset()


def _serve(args: argparse.Namespace) -> int:
    stack = GhcrStack(args.state_dir)
    return serve_until_signalled(
        stack,
        lambda started: _apply_args(started, args),
        args.state_dir / "ghcr.json",
        lambda: f"Distribution died:\n{stack.registry_log_tail()}",
    )


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
