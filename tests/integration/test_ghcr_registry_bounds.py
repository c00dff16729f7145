# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile registries on loopback: one trickles its headers, one streams an endless body, one echoes the token.

ghcr_registry and ghcr_login's verify must end within the documented deadline (every request within
``timeout``, headers and body together), read no more than the documented body cap, and say which registry
misbehaved, never showing the token in any spelling.
"""

from __future__ import annotations

import json
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.ansible import assert_no_secret, login_task, run_tasks

TOKEN = "ghp_Bounds0000000000000000000000000000000"
TIMEOUT = 3


class HostileServer:
    """A plain-HTTP server on 127.0.0.1 that answers every connection with ``behave(connection)``; bounded and self-stopping."""

    def __init__(self, behave: Callable[[socket.socket, threading.Event], None]) -> None:
        self.behave = behave
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.5)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        deadline = time.monotonic() + 300
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                connection, _address = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.recv(65536)
                self.behave(connection, self.stop)
            except OSError:
                pass


def trickle_headers(connection: socket.socket, stop: threading.Event) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\n")
    for index in range(600):  # one header byte every 0.2 s: each read is well inside the socket timeout
        if stop.is_set():
            return
        connection.sendall(b"X"[:1] if index % 40 else b"\r\nX-Slow: ")
        time.sleep(0.2)


def endless_body(connection: socket.socket, stop: threading.Event) -> None:
    connection.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 100000000000\r\n\r\n")
    chunk = b"x" * 65536
    sent = 0
    while not stop.is_set() and sent < 8 * 1024**3:
        connection.sendall(chunk)
        sent += len(chunk)


def echo_token(connection: socket.socket, _stop: threading.Event) -> None:
    spelled = " ".join(TOKEN.upper())  # the token in another case, split by spaces
    body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": f"bad credential {spelled} / {TOKEN.lower()}"}]}).encode()
    connection.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nWWW-Authenticate: Basic realm=\"x\"\r\n")
    connection.sendall(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


@pytest.fixture
def hostile() -> Iterator[Callable[[Callable], HostileServer]]:
    servers: list[HostileServer] = []

    def start(behave: Callable) -> HostileServer:
        server = HostileServer(behave)
        server.thread.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop.set()
        server.listener.close()


def check(server: HostileServer, **extra: object) -> dict:
    args = {"registry": f"http://127.0.0.1:{server.port}", "username": "octocat", "password": "{{ pat }}", "timeout": TIMEOUT, "retries": 1,
            "fail_on_error": False, "inspect_token": "never", **extra}
    return {"name": "ghcr_registry under test", "fleet.ghcr.ghcr_registry": args}


@pytest.mark.parametrize("images", [[], ["fleet/hello:1.0"]])
def test_a_registry_that_trickles_headers_cannot_outlast_the_timeout(tmp_path: Path, hostile, images: list[str]) -> None:
    server = hostile(trickle_headers)
    started = time.monotonic()
    run = run_tasks(tmp_path / "run", [check(server, images=images)], secrets={"pat": TOKEN})
    elapsed = time.monotonic() - started
    error = run.result["error"]
    assert error["code"] == "unreachable" and f"did not answer within {TIMEOUT} s" in error["message"], run.result
    assert f"127.0.0.1:{server.port}" in error["message"]
    assert elapsed < 2 * TIMEOUT + 20, f"took {elapsed:.1f} s"


def test_verify_against_a_trickling_registry_fails_in_time_and_writes_nothing(tmp_path: Path, hostile) -> None:
    server = hostile(trickle_headers)
    home = tmp_path / "home"
    task = login_task(registry=f"http://127.0.0.1:{server.port}", username="octocat", password="{{ pat }}", verify=True, timeout=TIMEOUT, retries=0,
                      docker_config_path=str(home / "config.json"), podman_auth_path=str(home / "auth.json"))
    started = time.monotonic()
    run = run_tasks(tmp_path / "run", [task], secrets={"pat": TOKEN})
    assert run.result.get("failed") and "did not answer within" in run.result["msg"], run.result
    assert time.monotonic() - started < TIMEOUT + 20
    assert not home.exists()


def test_an_endless_body_is_cut_at_the_cap(tmp_path: Path, hostile) -> None:
    server = hostile(endless_body)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    run = run_tasks(tmp_path / "run", [check(server)], secrets={"pat": TOKEN})
    elapsed = time.monotonic() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    error = run.result["error"]
    assert error["code"] == "server_error" and "larger than 1048576 bytes" in error["message"], run.result
    assert elapsed < TIMEOUT + 20, f"took {elapsed:.1f} s"
    assert max(peak_kib, before) < 300 * 1024, f"a process of the run peaked at {peak_kib} KiB"


def test_a_token_echoed_in_another_case_or_split_is_masked(tmp_path: Path, hostile) -> None:
    server = hostile(echo_token)
    run = run_tasks(tmp_path / "run", [check(server)], secrets={"pat": TOKEN}, options=["-vvvv"])
    assert run.result["error"]["code"] == "unauthorized" and "********" in run.result["error"]["message"], run.result
    shown = run.output + run.log + json.dumps(run.results)
    assert_no_secret(shown, "octocat", TOKEN)
    for form in (TOKEN.upper(), TOKEN.lower(), " ".join(TOKEN.upper())):
        assert form not in shown
