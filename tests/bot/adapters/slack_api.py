"""A local stand-in for Slack's Web API (after bolt-python's tests/mock_web_api_server): it
records every call and answers as Slack does, including `"ok": false` errors on demand, and can
hold an answer back until the test releases it (the bot then waits, as on a slow network)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    # A backlog like a real server's: socketserver's default of 5 drops connections that come
    # at once, and each dropped client tries again a second later (TCP's first retransmission).
    request_queue_size = 128


@dataclass
class Call:
    """One request the bot made."""

    method: str
    body: dict[str, Any]
    raw: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    response: Any = None


@dataclass
class Hold:
    """The answer to the next call of one method, kept back until `release()`."""

    method: str
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    call: Call | None = None

    def wait(self, timeout: float = 60.0) -> Call:
        """The held call, once the bot has made it (Slack has the message; the bot has no ts)."""
        if not self.arrived.wait(timeout) or self.call is None:
            raise AssertionError(f"the bot never called {self.method}")
        return self.call

    @property
    def ts(self) -> str:
        """The ts the held answer will give the bot."""
        return str((self.wait().response or {}).get("ts", ""))

    def release(self) -> None:
        """Let the held answer go to the bot."""
        self.released.set()


class SlackAPI:
    """Serve on loopback; `calls` lists what arrived, `fail` scripts error answers, `hold`
    keeps an answer back."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.fail: dict[str, list[dict[str, Any]]] = {}
        self.admins: set[str] = set()
        self.files: dict[str, bytes] = {}
        self._ts = 1_700_000_000
        self._holds: list[Hold] = []
        # Re-entrant: a test's check, run under the lock by wait_for, reads calls with `named`.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/files/"):
                    api._record(Call("files/", {}, b"", dict(self.headers)))
                    self._reply(200, api.files.get(self.path, b""))
                    return
                path, _, query = self.path.partition("?")
                headers = {
                    **dict(self.headers),
                    "Content-Type": "application/x-www-form-urlencoded",
                }
                self._reply(*api.answer(path, query.encode(), headers))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                self._reply(*api.answer(self.path, raw, dict(self.headers)))

            def _reply(self, status: int, answer: Any) -> None:
                data = json.dumps(answer).encode() if not isinstance(answer, bytes) else answer
                self.send_response(status)
                kind = "text/plain" if isinstance(answer, bytes) else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        with self._lock:
            for hold in self._holds:
                hold.release()
        self.server.shutdown()
        self.server.server_close()

    def hold(self, method: str) -> Hold:
        """Keep back the answer to the next call of `method` (it is recorded on arrival)."""
        hold = Hold(method)
        with self._lock:
            self._holds.append(hold)
        return hold

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{self._ts}.000100"

    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def answer(self, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        call = Call("", {}, raw, headers)
        status, call.response = self._answer(call, path, raw, headers)
        with self._lock:
            hold = next((h for h in self._holds if h.method == call.method and not h.call), None)
            if hold is not None:
                hold.call = call
        self._record(call)
        if hold is not None:
            hold.arrived.set()
            hold.released.wait()
        return status, call.response

    def _answer(
        self, call: Call, path: str, raw: bytes, headers: dict[str, str]
    ) -> tuple[int, Any]:
        path, _, query = path.partition("?")
        body = {**_decode(query.encode(), "form"), **_decode(raw, headers.get("Content-Type", ""))}
        method = path.split("/api/", 1)[-1] if "/api/" in path else path.strip("/")
        with self._lock:
            call.method, call.body = method, body
            scripted = self.fail.get(method)
            if scripted:
                return 200, scripted.pop(0)
            ts = self._next_ts()
        if method == "auth.test":
            return 200, {"ok": True, "user_id": "UBOT", "team_id": "T1", "bot_id": "B1"}
        if method == "users.info":
            user = body.get("user", "")
            return 200, {"ok": True, "user": {"id": user, "is_admin": user in self.admins}}
        if method in ("chat.postMessage", "chat.startStream"):
            return 200, {"ok": True, "channel": body.get("channel"), "ts": ts}
        if method == "conversations.open":  # a direct message with the user
            return 200, {"ok": True, "channel": {"id": "D" + str(body.get("users", ""))}}
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": ts}
        if method == "files.getUploadURLExternal":
            upload = self.url.replace("/api/", f"/upload/{ts}")
            return 200, {"ok": True, "upload_url": upload, "file_id": f"F{ts}"}
        if method.startswith("upload/"):
            return 200, b"OK"
        if method == "files.completeUploadExternal":
            return 200, {"ok": True, "files": [{"id": f["id"]} for f in body.get("files", [])]}
        if method.startswith("respond/"):
            return 200, b"ok"
        return 200, {"ok": True, "ts": ts}

    def named(self, method: str) -> list[Call]:
        """The calls of one Web API method, in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, check: Any, timeout: float = 60.0) -> None:
        """Wait until the bot has made the calls `check` looks for (woken by each new call)."""
        with self._changed:
            if not self._changed.wait_for(lambda: check(list(self.calls)), timeout):
                got = [c.method for c in self.calls]
                raise AssertionError(f"expected calls never came; got {got}")


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        return json.loads(raw)
    if "multipart" in content_type or "form" not in content_type:
        return {}
    body: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(raw.decode()):
        try:
            body[key] = json.loads(value) if value[:1] in "[{" else value
        except json.JSONDecodeError:
            body[key] = value
    return body
