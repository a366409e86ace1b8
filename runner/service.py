"""The runner as a service, so runner hosts can be separate from the bot: a small HTTP server
(`tutor serve runner`) and its client. Same limits and the same JSON as the in-process runner.

    POST /run   {"code": str, "lang": "python"|"sh", "user": str}
                header X-Tutor-Runner-Secret: the shared secret
    200 → the RunResult object; 400 bad snippet; 401 wrong secret; 413 too large;
    429 busy (RunQueue); 503 sandbox unavailable. Errors are {"error": one line}.
"""

from __future__ import annotations

import base64
import hmac
import json
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from runner.dispatch import RunQueue
from runner.errors import RunnerBusy, RunnerError, SandboxUnavailable, SnippetError
from runner.limits import check_snippet
from runner.protocol import ANONYMOUS
from runner.result import RunFile, RunResult

if TYPE_CHECKING:
    from runner.sandbox import Sandbox

SECRET_HEADER = "X-Tutor-Runner-Secret"
_STATUS = {SnippetError: 400, RunnerBusy: 429, SandboxUnavailable: 503}


def make_server(queue: RunQueue[Sandbox], secret: str, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server that runs snippets through `queue` for callers that know `secret`."""
    if len(secret) < 16:
        raise SandboxUnavailable(
            "the runner service needs a shared secret of at least 16 characters "
            "in TUTOR_RUNNER_SECRET; it never serves without one"
        )
    max_body = queue.sandbox.limits.snippet_bytes * 2 + 4096

    class Handler(BaseHTTPRequestHandler):
        server_version = "tutor-runner"

        def log_message(self, format: str, *args: Any) -> None:
            """Requests are not logged: they carry strangers' code."""

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            if self.path != "/run":
                self._reply(404, {"error": "not found: POST /run"})
                return
            given = self.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                self._reply(401, {"error": "wrong or missing runner secret"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > max_body:
                self._reply(413, {"error": "the request is too large"})
                return
            try:
                request = json.loads(self.rfile.read(length))
                code, lang = request["code"], request.get("lang", "python")
                user = str(request.get("user", ANONYMOUS))
                if not isinstance(code, str) or not isinstance(lang, str):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                self._reply(400, {"error": 'send {"code": str, "lang": str, "user": str}'})
                return
            try:
                result = queue.run(user, code, lang)
            except RunnerError as exc:
                self._reply(_STATUS.get(type(exc), 500), {"error": str(exc)})
                return
            self._reply(200, result.as_json())

    return ThreadingHTTPServer((host, port), Handler)


class RemoteRunner:
    """Client of a runner service; `run` answers like `Sandbox.run` and raises the same errors."""

    def __init__(self, url: str, secret: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/") + "/run"
        self.secret = secret
        self.timeout = timeout

    def validate(self, code: str, lang: str) -> None:
        """Raise SnippetError for a snippet no service would run (empty, binary, unknown
        language), before it takes a slot here."""
        # The size is left to the service: its limits file, not this host's, says how large.
        check_snippet(code, lang)

    def run(self, code: str, lang: str = "python", *, user: str = ANONYMOUS) -> RunResult:
        """Run a snippet on the service for `user` (the service allows one run per user)."""
        body = json.dumps({"code": code, "lang": lang, "user": user}).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            headers={"Content-Type": "application/json", SECRET_HEADER: self.secret},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read())["error"]
            except (ValueError, KeyError, TypeError):
                message = f"HTTP {exc.code}"
            error = {400: SnippetError, 413: SnippetError, 429: RunnerBusy}.get(
                exc.code, SandboxUnavailable
            )
            raise error(f"runner service: {message}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SandboxUnavailable(
                f"running code is off: the runner service at {self.url} cannot be reached "
                f"({reason})"
            ) from None
        return RunResult(
            stdout=data["stdout"],
            stderr=data["stderr"],
            exit_code=data["exit_code"],
            signal=data["signal"],
            timed_out=data["timed_out"],
            truncated=data["truncated"],
            duration_ms=data["duration_ms"],
            files=tuple(
                RunFile(f["path"], base64.b64decode(f["content_b64"])) for f in data["files"]
            ),
        )

    def close(self) -> None:
        """Nothing to release: each run is one request on a connection of its own."""
