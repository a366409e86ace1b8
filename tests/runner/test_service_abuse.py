"""The runner service under hostile traffic, one abuse per case, over raw sockets to a real
server on loopback: each gets a 4xx JSON error of one line and one log line, never a traceback,
a 500 or a thread left hanging."""

from __future__ import annotations

import json
import logging
import socket
import threading

import pytest

from runner.dispatch import RunQueue
from runner.limits import Limits, check_snippet
from runner.result import RunResult
from runner.service import SECRET_HEADER, make_server

SECRET = "a-shared-secret-for-tests"
TIMEOUT = 0.5  # the server's patience with a silent or slow caller, short for the tests
LIMITS = Limits.load()
MAX_BODY = LIMITS.snippet_bytes * 2 + 4096


class EchoSandbox:
    """A stand-in sandbox: checks the snippet like the real one, and answers without running."""

    limits = LIMITS

    def validate(self, code: str, lang: str) -> None:
        check_snippet(code, lang, LIMITS.snippet_bytes)

    def run(self, code: str, lang: str = "python", *, user: str = "anonymous") -> RunResult:
        return RunResult(f"ran for {user}\n", "", 0, None, False, False, 1.0)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def port():
    server = make_server(RunQueue(EchoSandbox()), SECRET, "127.0.0.1", 0, timeout=TIMEOUT)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def service_log(caplog):
    caplog.set_level(logging.INFO, logger="runner.service")
    return caplog


def exchange(port: int, raw: bytes, *, end_input: bool = True) -> bytes:
    """Send `raw`, optionally say no more will come, and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        if end_input:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def request(
    body: bytes = b'{"code": "print(1)", "user": "ann"}',
    *,
    method: str = "POST",
    path: str = "/run",
    headers: dict[str, str] | None = None,
    length: int | None = None,
) -> bytes:
    """A raw HTTP/1.1 request, valid unless told otherwise."""
    fields = {
        "Host": "127.0.0.1",
        "Content-Type": "application/json",
        SECRET_HEADER: SECRET,
        "Content-Length": str(len(body) if length is None else length),
    }
    for name, value in (headers or {}).items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return head.encode("latin-1") + b"\r\n" + body


def parse(reply: bytes) -> tuple[int, bytes]:
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


ABUSES = {
    "get": (request(b"", method="GET"), 405),
    "put": (request(method="PUT"), 405),
    "delete": (request(b"", method="DELETE"), 405),
    "unknown-method": (request(method="BREW"), 405),
    "wrong-path": (request(path="/admin"), 404),
    "get-wrong-path": (request(b"", method="GET", path="/etc/passwd"), 404),
    "no-secret": (request(headers={SECRET_HEADER: None}), 401),
    "wrong-secret": (request(headers={SECRET_HEADER: "x" * len(SECRET)}), 401),
    "secret-prefix": (request(headers={SECRET_HEADER: SECRET[:-1]}), 401),
    "text-plain": (request(headers={"Content-Type": "text/plain"}), 415),
    "no-content-type": (request(headers={"Content-Type": None}), 415),
    "form-encoded": (request(headers={"Content-Type": "application/x-www-form-urlencoded"}), 415),
    "no-content-length": (request(headers={"Content-Length": None}), 411),
    "chunked": (
        request(b"5\r\nhello\r\n0\r\n\r\n", headers={"Transfer-Encoding": "chunked"}),
        411,
    ),
    "length-not-a-number": (request(headers={"Content-Length": "ten"}), 400),
    "negative-length": (request(headers={"Content-Length": "-1"}), 400),
    "oversized-before-the-body": (request(b"", length=MAX_BODY + 1), 413),
    "oversized-with-the-body-coming": (request(b"x" * 200_000, length=10**9), 413),
    "truncated-body": (request(b'{"code": "pri', length=100), 400),
    "empty-body": (request(b""), 400),
    "not-json": (request(b"code=print(1)"), 400),
    "json-array": (request(b'["print(1)"]'), 400),
    "json-string": (request(b'"print(1)"'), 400),
    "json-null": (request(b"null"), 400),
    "nested-ten-thousand-deep": (request(deep(10_000)), 400),
    "missing-code": (request(b'{"lang": "python"}'), 400),
    "code-not-a-string": (request(b'{"code": 42}'), 400),
    "user-not-a-string": (request(b'{"code": "print(1)", "user": ["ann"]}'), 400),
    "invalid-utf8": (request(b'{"code": "print(\xff\xfe)"}'), 400),
    "lone-surrogate": (request(b'{"code": "print(\\"\\ud800\\")"}'), 400),
    "empty-snippet": (request(b'{"code": "   "}'), 400),
    "unknown-language": (request(b'{"code": "puts 1", "lang": "ruby"}'), 400),
    "broken-request-line": (b"HELLO\r\n\r\n", 400),
    "request-line-too-long": (request(path="/" + "a" * 70_000), 414),
}


@pytest.mark.parametrize(("raw", "status"), ABUSES.values(), ids=ABUSES.keys())
def test_each_abuse_gets_a_one_line_json_error_and_one_log_line(port, service_log, raw, status):
    got, body = parse(exchange(port, raw))
    assert got == status
    error = json.loads(body)
    assert set(error) == {"error"} and error["error"] and "\n" not in error["error"]
    records = [r for r in service_log.records if r.name == "runner.service"]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None and "\n" not in records[0].getMessage()
    assert "Traceback" not in service_log.text


def test_wrong_method_says_which_method_is_allowed(port, service_log):
    reply = exchange(port, request(b"", method="GET"))
    assert b"\r\nAllow: POST\r\n" in reply


def test_head_gets_the_status_without_a_body(port, service_log):
    status, body = parse(exchange(port, request(b"", method="HEAD")))
    assert (status, body) == (405, b"")


def test_a_slow_body_is_cut_off_by_the_timeout(port, service_log):
    # Ten of a hundred bytes, and the caller stays connected without sending the rest.
    status, body = parse(exchange(port, request(b'{"code": "', length=100), end_input=False))
    assert status == 408 and "did not arrive" in json.loads(body)["error"]
    assert len([r for r in service_log.records if r.name == "runner.service"]) == 1


def test_a_silent_caller_is_cut_off_by_the_timeout(port, service_log):
    # Connected, and nothing sent at all: the server hangs up after its timeout.
    assert exchange(port, b"", end_input=False) == b""
    records = [r for r in service_log.records if r.name == "runner.service"]
    assert len(records) == 1 and "timed out" in records[0].getMessage()
    assert records[0].exc_info is None


def test_a_valid_request_over_a_raw_socket_still_runs(port, service_log):
    status, body = parse(exchange(port, request()))
    assert status == 200 and json.loads(body)["stdout"] == "ran for ann\n"
    assert not [r for r in service_log.records if r.name == "runner.service"]
