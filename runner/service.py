"""The runner as a service, so runner hosts can be separate from the bot: a small HTTP server
(`tutor serve runner`) and its client. Same limits and the same JSON as the in-process runner.

    POST /run   {"code": str, "lang": "python"|"sh", "user": str}
                Content-Type: application/json, with a Content-Length
                header X-Tutor-Runner-Secret: the shared secret
    200 → the RunResult object; 400 bad snippet or malformed request; 401 wrong secret;
    404 another path; 405 another method; 408 the body came too slowly; 411 no Content-Length;
    413 too large (refused before the body is read); 415 not JSON; 429 busy (RunQueue);
    503 sandbox unavailable. Errors are {"error": one line}, and each refusal is one log line.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import http.client
import json
import logging
import re
import socket
import sys
import time
import urllib.parse
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from runner.dispatch import RunQueue
from runner.errors import (
    RunnerBusy,
    RunnerError,
    SandboxUnavailable,
    ServiceUnreachable,
    SnippetError,
)
from runner.limits import check_snippet
from runner.protocol import ANONYMOUS
from runner.result import RunFile, RunResult

if TYPE_CHECKING:
    from runner.sandbox import Sandbox

SECRET_HEADER = "X-Tutor-Runner-Secret"
log = logging.getLogger("runner.service")

_STATUS: tuple[tuple[type[RunnerError], int], ...] = (
    (SnippetError, 400),
    (RunnerBusy, 429),
    (SandboxUnavailable, 503),
)
_SHAPE = 'send a JSON object {"code": str, "lang": str, "user": str}'
_LENGTH = re.compile(r"[0-9]{1,15}")
_LINGER_SECONDS = 0.5  # how long a refused caller's unread body is drained, so it sees the reply
_LINGER_BYTES = 1 << 20


class _Server(ThreadingHTTPServer):
    """The HTTP server, its per-connection failures logged as one line, not a traceback."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # the caller went away or stalled: nothing of ours broke
            log.warning("connection from %s dropped: %s", client_address[0], error or "timeout")
        else:
            log.error("unexpected error serving %s", client_address[0], exc_info=True)


def make_server(
    queue: RunQueue[Sandbox], secret: str, host: str, port: int, *, timeout: float = 10.0
) -> ThreadingHTTPServer:
    """An HTTP server that runs snippets through `queue` for callers that know `secret`;
    a caller silent for `timeout` seconds, or slower than that with its body, is cut off."""
    if len(secret) < 16:
        raise SandboxUnavailable(
            "the runner service needs a shared secret of at least 16 characters "
            "in TUTOR_RUNNER_SECRET; it never serves without one"
        )
    expected = secret.encode("utf-8")
    max_body = queue.sandbox.limits.snippet_bytes * 2 + 4096
    cut_off = timeout

    class Handler(BaseHTTPRequestHandler):
        server_version = "tutor-runner"
        sys_version = ""
        timeout = cut_off  # StreamRequestHandler applies it to the connection

        def setup(self) -> None:
            self.body_unread = False
            super().setup()

        def log_message(self, format: str, *args: Any) -> None:
            """Access lines are not logged; each refusal is, once, by `_refuse`."""

        def log_error(self, format: str, *args: Any) -> None:
            # The stdlib's own word, e.g. on a caller that never sent its request line.
            log.warning("%s: %s", self.client_address[0], (format % args)[:200])

        def send_error(self, code: int, message: str | None = None, explain: str | None = None):
            """The stdlib's refusals (malformed request line, long headers, unknown method),
            as the service's JSON."""
            if self.request_version == "HTTP/0.9":  # a broken request line: answer as 1.0
                self.request_version = "HTTP/1.0"
            if code == HTTPStatus.NOT_IMPLEMENTED:
                self._wrong_method()
                return
            self._refuse(code, message or HTTPStatus(code).phrase)

        def _refuse(self, status: int, message: str, level: int = logging.WARNING) -> None:
            path = (self.path or "")[:100] if hasattr(self, "path") else ""
            log.log(
                level,
                "refused %d %s %r from %s: %s",
                status,
                (self.command or "-")[:16],
                path,
                self.client_address[0],
                message,
            )
            self.close_connection = True
            self._reply(status, {"error": message})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                if status == HTTPStatus.METHOD_NOT_ALLOWED:
                    self.send_header("Allow", "POST")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                self.wfile.flush()
            except OSError as exc:  # the caller is gone; its reply has nowhere to go
                log.debug("reply %d to %s not delivered: %s", status, self.client_address[0], exc)
                self.close_connection = True

        def finish(self) -> None:
            super().finish()
            if self.body_unread:
                self._linger()

        def _linger(self) -> None:
            """Drain (and drop) a little of a refused body, so that closing with it unread
            does not reset the connection before the caller reads its reply."""
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_WR)
                deadline = time.monotonic() + _LINGER_SECONDS
                drained = 0
                while drained < _LINGER_BYTES:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    self.connection.settimeout(left)
                    chunk = self.connection.recv(65536)
                    if not chunk:
                        return
                    drained += len(chunk)

        def _wrong_method(self) -> None:
            if self.path != "/run":
                self._refuse(404, "not found: POST /run")
            else:
                self._refuse(405, f"method {(self.command or '')[:16]} not allowed: POST /run")

        do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _wrong_method

        def do_POST(self) -> None:
            self.body_unread = True
            if self.path != "/run":
                self._refuse(404, "not found: POST /run")
                return
            given = self.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, expected):
                self._refuse(401, "wrong or missing runner secret")
                return
            if self.headers.get_content_type() != "application/json":
                self._refuse(415, "send the request as Content-Type: application/json")
                return
            if self.headers.get("Transfer-Encoding"):
                self._refuse(411, "send the body with a Content-Length, not in chunks")
                return
            raw_length = self.headers.get("Content-Length")
            if raw_length is None:
                self._refuse(411, "send a Content-Length with the body")
                return
            if not _LENGTH.fullmatch(raw_length.strip()):
                self._refuse(400, "the Content-Length is not a number")
                return
            length = int(raw_length)
            if length > max_body:
                self._refuse(413, f"the request is too large: at most {max_body:,} bytes")
                return
            body = self._read_body(length)
            if body is None:
                return
            request = self._parse(body)
            if request is None:
                return
            code, lang, user = request
            try:
                result = queue.run(user, code, lang)
            except RunnerError as exc:
                status = next((s for kind, s in _STATUS if isinstance(exc, kind)), 503)
                self._refuse(status, str(exc), logging.INFO)
                return
            except Exception:
                error_id = uuid.uuid4().hex[:8]
                log.exception("run failed (error id %s)", error_id)
                self.close_connection = True
                self._reply(500, {"error": f"the runner failed (error id {error_id})"})
                return
            self._reply(200, result.as_json())

        def _read_body(self, length: int) -> bytes | None:
            """The body, or None once refused: it ended early, or took over `timeout`."""
            body = bytearray()
            deadline = time.monotonic() + timeout
            try:
                while len(body) < length:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError
                    self.connection.settimeout(left)
                    chunk = self.rfile.read1(length - len(body))
                    if not chunk:
                        break
                    body += chunk
            except TimeoutError:
                self._refuse(408, f"the request body did not arrive within {timeout:g} seconds")
                return None
            except OSError as exc:
                self._refuse(400, f"the request body could not be read ({exc.strerror or exc})")
                return None
            self.body_unread = False
            if len(body) < length:
                self._refuse(400, f"the request body ended early ({len(body)} of {length} bytes)")
                return None
            return bytes(body)

        def _parse(self, body: bytes) -> tuple[str, str, str] | None:
            """The request's code, language and user, or None once refused."""
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                self._refuse(400, "the request body is not UTF-8")
                return None
            try:
                request = json.loads(text)
            except (ValueError, RecursionError):  # RecursionError: nesting thousands deep
                self._refuse(400, f"the request body is not JSON: {_SHAPE}")
                return None
            if not isinstance(request, dict):
                self._refuse(400, f"the request is not a JSON object: {_SHAPE}")
                return None
            code = request.get("code")
            lang = request.get("lang", "python")
            user = request.get("user", ANONYMOUS)
            if not (isinstance(code, str) and isinstance(lang, str) and isinstance(user, str)):
                self._refuse(400, f"a field is missing or not a string: {_SHAPE}")
                return None
            return code, lang, user

    return _Server((host, port), Handler)


class RemoteRunner:
    """Client of one runner service; `run` answers like `Sandbox.run` and raises the same
    errors, `ServiceUnreachable` when no connection could be made (the snippet never left)."""

    def __init__(
        self, url: str, secret: str, timeout: float = 60.0, connect_timeout: float = 3.0
    ) -> None:
        parts = urllib.parse.urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SandboxUnavailable(
                f"running code is off: the runner service address {url!r} is not http(s)://host"
            )
        self.url = url.strip().rstrip("/") + "/run"
        self.secret = secret
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + "/run"

    def validate(self, code: str, lang: str) -> None:
        """Raise SnippetError for a snippet no service would run (empty, binary, unknown
        language), before it takes a slot here."""
        # The size is left to the service: its limits file, not this host's, says how large.
        check_snippet(code, lang)

    def run(self, code: str, lang: str = "python", *, user: str = ANONYMOUS) -> RunResult:
        """Run a snippet on the service for `user` (the service allows one run per user)."""
        body = json.dumps({"code": code, "lang": lang, "user": user}).encode()
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self.connect_timeout)
        try:
            try:
                connection.connect()
            except OSError as exc:
                raise ServiceUnreachable(
                    f"running code is off: the runner service at {self.url} cannot be reached "
                    f"({exc.strerror or exc or 'timed out'})"
                ) from None
            assert connection.sock is not None
            connection.sock.settimeout(self.timeout)  # a run takes longer than a connection
            try:
                connection.request(
                    "POST",
                    self._path,
                    body=body,
                    headers={"Content-Type": "application/json", SECRET_HEADER: self.secret},
                )
                response = connection.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise SandboxUnavailable(
                    f"running code is off: the runner service at {self.url} stopped answering "
                    f"({exc or type(exc).__name__})"
                ) from None
        finally:
            connection.close()
        if response.status != 200:
            try:
                message = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                message = f"HTTP {response.status}"
            error = {400: SnippetError, 413: SnippetError, 429: RunnerBusy}.get(
                response.status, SandboxUnavailable
            )
            raise error(f"runner service: {message}")
        try:
            return _result(json.loads(raw))
        except (ValueError, KeyError, TypeError):
            raise SandboxUnavailable(
                f"running code is off: the runner service at {self.url} answered something "
                "that is not a run's result"
            ) from None

    def close(self) -> None:
        """Nothing to release: each run is one request on a connection of its own."""


def _result(data: dict[str, Any]) -> RunResult:
    """The RunResult of the contract's JSON (fields added later are optional)."""
    return RunResult(
        stdout=data["stdout"],
        stderr=data["stderr"],
        exit_code=data["exit_code"],
        signal=data["signal"],
        timed_out=data["timed_out"],
        truncated=data["truncated"],
        duration_ms=data["duration_ms"],
        files=tuple(RunFile(f["path"], base64.b64decode(f["content_b64"])) for f in data["files"]),
        limit=data.get("limit"),
        limit_value=data.get("limit_value"),
    )
