# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""An OCI registry client that proves what a credential can do and explains failures in the registry's words.

The flow is the one in the distribution token spec: ``GET /v2/`` for the challenge, a token from the realm
with Basic auth and real ``repository:<name>:pull[,push]`` scopes (one request for every image), then a
manifest ``HEAD`` per image and, if asked, an upload ``POST`` that is cancelled at once.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import re
import signal
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urljoin

from ansible.module_utils.urls import Request

from ansible_collections.fleet.ghcr.plugins.module_utils._authfile import encode_auth
from ansible_collections.fleet.ghcr.plugins.module_utils._reference import ImageName, Registry

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json,"
    " application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"
)
MAX_WAIT = 30.0  # longest single wait for a 429 or 5xx; a registry asking for more gets a rate_limited error
MAX_BODY = 1024 * 1024  # bytes read from any answer: registry errors and tokens are a few KiB, an endless body is cut
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
_GO_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_RETRY_AFTER_TEXT = re.compile(r"retry-after:\s*((?:[0-9]*\.?[0-9]+(?:ns|us|µs|μs|ms|s|m|h))+)", re.IGNORECASE)
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

HINTS = {
    "unauthorized": "The registry did not accept the username and token: check that the token is complete and not revoked, and that"
    " the username is the GitHub login that owns it.",
    "denied_token": "The registry refused the token itself. On GHCR this means the personal access token has expired (or is not"
    " authorised for the organisation's SSO): create a new classic PAT with read:packages and rotate it.",
    "denied_pull": "The credential is valid but may not pull this image: the token needs the read:packages scope, and the user needs"
    " access to the package (package settings, Manage access).",
    "denied_push": "The credential may not push this image: the token needs write:packages, and the user needs write access to the package.",
    "name_unknown": "No repository of that name: check owner/name (GHCR also answers 'not found' for a private package the user cannot see).",
    "manifest_unknown": "The repository exists but has no such tag or digest: check the tag.",
    "rate_limited": "The registry is rate limiting this principal (GHCR allows about 2,000 requests a minute per token): check fewer"
    " hosts with the same token at once, for example with registry_auth_verify: once.",
    "unreachable": "The registry cannot be reached from this host: check DNS, proxies and firewalls, or raise the timeout.",
    "tls_error": "The registry's TLS certificate is not trusted here: give the CA with ca_path (validate_certs: false only for tests).",
    "server_error": "The registry answered with an error of its own; try again later.",
}


@dataclass
class Problem:
    """A classified failure: ``message`` is the registry's own text, verbatim."""

    code: str
    message: str
    hint: str
    status: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "hint": self.hint, "status": self.status}


class RegistryProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Endpoint:
    """Where and how to reach a registry."""

    host: str
    scheme: str = "https"
    validate_certs: bool = True
    ca_path: str | None = None
    timeout: float = 10.0
    retries: int = 3

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}"

    @classmethod
    def of(cls, registry: Registry, **connection: Any) -> Endpoint:
        """Where ``registry``'s API answers (https unless the user wrote http://), with the connection options."""
        scheme, _sep, host = registry.base_url.partition("://")
        return cls(host=host, scheme=scheme, **connection)


# --------------------------------------------------------------------------- parsing (pure)


def parse_challenge(header: str | None) -> tuple[str, dict[str, str]]:
    """Scheme and parameters of a ``WWW-Authenticate`` header (RFC 6750 style)."""
    if not header:
        return "", {}
    scheme, _sep, rest = header.strip().partition(" ")
    params = {key.lower(): value for key, value in re.findall(r'([A-Za-z_]+)="([^"]*)"', rest)}
    for key, value in re.findall(r'([A-Za-z_]+)=([^",\s]+)', rest):
        params.setdefault(key.lower(), value)
    return scheme.lower(), params


def parse_go_duration(text: str) -> float | None:
    """Seconds in a Go duration such as ``22.625684ms`` or ``1m30s``; None if it is not one."""
    parts = _GO_DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _GO_UNITS[unit] for number, unit in parts)


def retry_after(response: Response, message: str) -> float | None:
    """The wait a 429 asks for: the larger of the ``Retry-After`` header and GHCR's ``retry-after: …`` text."""
    waits = []
    header = response.header("retry-after")
    if header and re.fullmatch(r"[0-9]{1,9}(\.[0-9]{1,9})?", header.strip()):
        waits.append(float(header.strip()))
    found = _RETRY_AFTER_TEXT.search(message or "")
    if found:
        seconds = parse_go_duration(found.group(1))
        if seconds is not None:
            waits.append(seconds)
    return max(waits) if waits else None


def registry_errors(body: bytes) -> list[dict[str, Any]]:
    """The ``errors`` list of a registry error body, or an empty list."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    errors = doc.get("errors") if isinstance(doc, dict) else None
    return [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []


def registry_message(response: Response) -> tuple[str, str]:
    """``(CODE, message)`` as the registry worded them; falls back to the body text or the status."""
    errors = registry_errors(response.body)
    if errors:
        return str(errors[0].get("code", "")).upper(), (str(errors[0].get("message", "")) or str(errors[0].get("code", "")))[:2000]
    text = response.body.decode("utf-8", "replace").strip()
    return "", text[:2000] if text else f"HTTP {response.status}"


def scope_for(repository: str, push: bool) -> str:
    return f"repository:{repository}:{'pull,push' if push else 'pull'}"


def classify(response: Response, stage: str) -> Problem:
    """The error code of the taxonomy for a failed response at ``stage`` (token, login, pull, push)."""
    code, message = registry_message(response)
    status = response.status
    if status == 429 or code == "TOOMANYREQUESTS":
        return Problem("rate_limited", message, HINTS["rate_limited"], status)
    if status >= 500:
        return Problem("server_error", message, HINTS["server_error"], status)
    if stage in ("token", "login"):
        if status == 403 or code == "DENIED":
            return Problem("denied", message, HINTS["denied_token"], status)
        return Problem("unauthorized", message, HINTS["unauthorized"], status)
    if code == "NAME_UNKNOWN":
        return Problem("name_unknown", message, HINTS["name_unknown"], status)
    if code == "MANIFEST_UNKNOWN" or (status == 404 and stage == "pull"):
        return Problem("manifest_unknown", message, HINTS["manifest_unknown"], status)
    _scheme, challenge = parse_challenge(response.header("www-authenticate"))
    if status == 403 or code == "DENIED" or challenge.get("error") == "insufficient_scope":
        return Problem("denied", message, HINTS["denied_push" if stage == "push" else "denied_pull"], status)
    if status == 401:
        return Problem("unauthorized", message, HINTS["unauthorized"], status)
    return Problem("server_error", message, HINTS["server_error"], status)


# --------------------------------------------------------------------------- transport


class _TimedOut(BaseException):  # not an Exception, so that no "except Exception" on the way can swallow it
    """A request's overall deadline passed (raised by the SIGALRM handler of overall_deadline)."""


def _expire(_signum: int, _frame: object) -> None:
    raise _TimedOut()


@contextlib.contextmanager
def overall_deadline(seconds: float) -> Iterator[None]:
    """Interrupt what runs inside after ``seconds``, whatever it waits for: a registry that trickles its headers
    or streams an endless body cannot outlast the deadline. Outside the main thread (no signals), only the
    socket timeout applies."""
    try:
        previous = signal.signal(signal.SIGALRM, _expire)
    except ValueError:
        yield
        return
    outer = signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer[0] > 0:  # give back a timer that was running before, less the time spent here
            signal.setitimer(signal.ITIMER_REAL, max(outer[0] - (time.monotonic() - started), 0.001), outer[1])


class Transport:
    """HTTP through ansible.module_utils.urls, with retries for 429 and 5xx, deadlines, capped bodies and a request counter.

    Each request must finish (headers and body) within the endpoint's ``timeout``; all requests, retries and
    waits of this transport within ``budget`` seconds (default ``timeout * (retries + 1)``). No answer is read
    beyond MAX_BODY bytes.
    """

    def __init__(self, endpoint: Endpoint, sleep: Callable[[float], None] = time.sleep, budget: float | None = None) -> None:
        self.endpoint = endpoint
        self.sleep = sleep
        self.requests = 0
        self.budget = budget if budget is not None else endpoint.timeout * (endpoint.retries + 1)
        self.deadline = time.monotonic() + self.budget
        self._request = Request(validate_certs=endpoint.validate_certs, ca_path=endpoint.ca_path, timeout=endpoint.timeout, follow_redirects="none")

    def send(self, method: str, url: str, headers: dict[str, str] | None = None) -> Response:
        """One request with retries; raises RegistryProblem when the registry cannot be reached in time."""
        attempt = 0
        while True:
            response = self._once(method, url, headers or {})
            if response.status not in _RETRYABLE or attempt >= self.endpoint.retries:
                return response
            wait = self._wait_for(response, attempt)
            if wait is None or time.monotonic() + wait >= self.deadline:
                return response
            attempt += 1
            self.sleep(wait)

    def _wait_for(self, response: Response, attempt: int) -> float | None:
        asked = retry_after(response, registry_message(response)[1])
        if asked is not None:
            return asked + random.uniform(0, 0.1) if asked <= MAX_WAIT else None
        return min(MAX_WAIT, 2.0 ** attempt) * random.uniform(0.5, 1.0)

    def _once(self, method: str, url: str, headers: dict[str, str]) -> Response:
        host = self.endpoint.host
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            message = f"{host} did not finish answering within the time budget of {self.budget:g} s (from timeout and retries)"
            raise RegistryProblem(Problem("unreachable", message, HINTS["unreachable"]))
        self.requests += 1
        allowed = min(self.endpoint.timeout, remaining)
        try:
            with overall_deadline(allowed):
                return self._exchange(method, url, headers)
        except _TimedOut:
            message = f"{host} did not answer within {allowed:g} s (headers and body together)"
            raise RegistryProblem(Problem("unreachable", message, HINTS["unreachable"])) from None
        except (URLError, OSError, ssl.SSLError, socket.timeout) as exc:
            raise RegistryProblem(self._unreachable(exc)) from None
        except (http.client.HTTPException, ValueError) as exc:
            message = f"{host} broke the HTTP protocol ({type(exc).__name__}: {exc})"
            raise RegistryProblem(Problem("server_error", message, HINTS["server_error"])) from None

    def _exchange(self, method: str, url: str, headers: dict[str, str]) -> Response:
        try:
            answer = self._request.open(method, url, headers=headers)
        except HTTPError as exc:
            answer = exc
        with contextlib.closing(answer):
            status = answer.status if not isinstance(answer, HTTPError) else answer.code
            body = answer.read(MAX_BODY + 1) if getattr(answer, "fp", True) else b""
        if len(body) > MAX_BODY:
            message = f"{self.endpoint.host} sent an answer larger than {MAX_BODY} bytes; it was not read further"
            raise RegistryProblem(Problem("server_error", message, HINTS["server_error"], status))
        return Response(status, _lower(answer.headers), body)

    def _unreachable(self, exc: BaseException) -> Problem:
        reason = getattr(exc, "reason", exc)
        text = str(reason)
        if isinstance(reason, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            return Problem("tls_error", f"TLS failure talking to {self.endpoint.host}: {text}", HINTS["tls_error"])
        return Problem("unreachable", f"Cannot reach {self.endpoint.host}: {text}", HINTS["unreachable"])


def mask(text: str, secrets: list[str]) -> str:
    """``text`` with every secret replaced by ``********``: in any letter case, and also when whitespace, quotes or
    backslashes stand between its characters (a registry may echo a token in another case or split form)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            pattern = r"[\s'\"\\]*".join(re.escape(char) for char in secret)
            text = re.sub(pattern, "********", text, flags=re.IGNORECASE)
    return text


def _lower(headers: Any) -> dict[str, str]:
    return {key.lower(): value for key, value in (headers.items() if headers else [])}


def basic_authorization(username: str, secret: str) -> str:
    return "Basic " + encode_auth(username, secret)


# --------------------------------------------------------------------------- the check


@dataclass
class ImageResult:
    ref: str
    pullable: bool = False
    pushable: bool | None = None
    digest: str | None = None
    error: dict | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "pullable": self.pullable, "pushable": self.pushable, "digest": self.digest, "error": self.error}


@dataclass
class CheckResult:
    authenticated: bool = False
    error: dict | None = None
    images: list[ImageResult] = field(default_factory=list)


class RegistryChecker:
    """Proves one credential (or anonymous access) against one registry."""

    def __init__(self, transport: Transport, username: str | None, secret: str | None) -> None:
        self.transport = transport
        self.base = transport.endpoint.base
        self.authorization = basic_authorization(username, secret) if username and secret else None
        self.account = username
        self.basic = False  # the registry takes Basic auth on every request instead of tokens
        self.credential_used = False  # a registry that needs no authentication never sees the credential
        self.secrets = [secret, encode_auth(username, secret)] if username and secret else []

    def _classify(self, response: Response, stage: str) -> Problem:
        """classify(), with any echo of the credential in the registry's message masked."""
        problem = classify(response, stage)
        problem.message = self._masked(problem.message)
        return problem

    def _masked(self, message: str) -> str:
        return mask(message, [*self.secrets, *(value.rstrip("=") for value in self.secrets[1:])])[:500]

    def check(self, images: list[tuple[str, ImageName]], check_push: bool) -> CheckResult:
        """Log in with a token scoped to every image, then check each; ``images`` pairs the text given with its name."""
        result = CheckResult(images=[ImageResult(ref=ref) for ref, _name in images])
        try:
            token = self._login([scope_for(name.repository, check_push) for _ref, name in images])
            result.authenticated = self.authorization is not None and self.credential_used
            for image, (_ref, name) in zip(result.images, images):
                self._check_image(image, name.repository, name.reference, token, check_push)
        except RegistryProblem as problem:
            problem.problem.message = self._masked(problem.problem.message)
            result.error = problem.problem.as_dict()
        return result

    def _login(self, scopes: list[str]) -> str | None:
        """A bearer token for ``scopes`` (None for a registry that needs none or takes Basic auth)."""
        probe = self.transport.send("GET", f"{self.base}/v2/")
        if probe.status == 200:
            return None
        scheme, challenge = parse_challenge(probe.header("www-authenticate"))
        if probe.status != 401 or scheme not in ("bearer", "basic"):
            raise RegistryProblem(self._classify(probe, "login"))
        if scheme == "basic":
            self._basic_login()
            return None
        return self._bearer_token(challenge, scopes)

    def _basic_login(self) -> None:
        headers = {"Authorization": self.authorization} if self.authorization else {}
        answer = self.transport.send("GET", f"{self.base}/v2/", headers)
        if answer.status != 200:
            raise RegistryProblem(self._classify(answer, "login"))
        self.basic = True
        self.credential_used = self.authorization is not None

    def _bearer_token(self, challenge: dict[str, str], scopes: list[str]) -> str:
        realm = challenge.get("realm")
        if not realm:
            raise RegistryProblem(Problem("server_error", "The registry's Bearer challenge names no realm.", HINTS["server_error"], 401))
        query = [("service", challenge["service"])] if challenge.get("service") else []
        query += [("scope", scope) for scope in scopes]
        if self.account:
            query.append(("account", self.account))
        headers = {"Authorization": self.authorization} if self.authorization else {}
        url = urljoin(self.base + "/", realm) + ("&" if "?" in realm else "?") + urlencode(query)
        answer = self.transport.send("GET", url, headers)
        if answer.status != 200:
            raise RegistryProblem(self._classify(answer, "token"))
        self.credential_used = self.authorization is not None
        try:
            doc = json.loads(answer.body.decode("utf-8"))
            return str(doc.get("token") or doc["access_token"])
        except (ValueError, KeyError, AttributeError, UnicodeDecodeError, RecursionError):
            raise RegistryProblem(Problem("server_error", "The token endpoint answered without a token.", HINTS["server_error"], 200)) from None

    def _auth_headers(self, token: str | None) -> dict[str, str]:
        if token:
            return {"Authorization": f"Bearer {token}"}
        return {"Authorization": self.authorization} if self.authorization and self.basic else {}

    def _check_image(self, image: ImageResult, repository: str, reference: str, token: str | None, check_push: bool) -> None:
        url = f"{self.base}/v2/{repository}/manifests/{quote(reference, safe=':@')}"
        headers = {**self._auth_headers(token), "Accept": MANIFEST_TYPES}
        head = self.transport.send("HEAD", url, headers)
        if head.status == 200:
            image.pullable = True
            image.digest = head.header("docker-content-digest")
        else:
            # HEAD answers carry no body; GET once to read the registry's own words.
            detail = self.transport.send("GET", url, headers) if head.status not in _RETRYABLE else head
            problem = self._classify(detail if detail.status != 200 else head, "pull")
            if problem.code == "manifest_unknown":
                problem = self._unknown_name(repository, headers) or problem
            image.error = problem.as_dict()
        if check_push:
            image.pushable = self._probe_push(image, repository, token)

    def _unknown_name(self, repository: str, headers: dict[str, str]) -> Problem | None:
        """Tell a missing repository from a missing tag: Distribution answers MANIFEST_UNKNOWN for both."""
        answer = self.transport.send("GET", f"{self.base}/v2/{repository}/tags/list?n=1", headers)
        problem = self._classify(answer, "pull") if answer.status == 404 else None
        return problem if problem and problem.code == "name_unknown" else None

    def _probe_push(self, image: ImageResult, repository: str, token: str | None) -> bool:
        """Start a blob upload (202 means push is allowed) and cancel it at once: nothing is written."""
        answer = self.transport.send("POST", f"{self.base}/v2/{repository}/blobs/uploads/", self._auth_headers(token))
        if answer.status != 202:
            if image.error is None:
                image.error = self._classify(answer, "push").as_dict()
            return False
        location = answer.header("location")
        if location:
            self.transport.send("DELETE", urljoin(self.base + "/", location), self._auth_headers(token))
        return True


__all__ = (
    "HINTS",
    "MAX_BODY",
    "CheckResult",
    "Endpoint",
    "ImageResult",
    "Problem",
    "RegistryChecker",
    "RegistryProblem",
    "Response",
    "Transport",
    "classify",
    "mask",
    "overall_deadline",
    "parse_challenge",
    "parse_go_duration",
    "registry_message",
    "retry_after",
    "scope_for",
)
