"""What each `tutor serve …` process shows an operator on 127.0.0.1:TUTOR_METRICS_PORT:
`/metrics` (Prometheus text, from the process's own registry) and `/healthz` (200 and a small
JSON when it can answer, 503 and the reason when it cannot)."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from bot.core.errors import TutorError

if TYPE_CHECKING:
    from bot.app.settings import Settings
    from bot.core.tutor import Tutor
    from runner.sandbox import Sandbox

log = logging.getLogger("tutor.metrics")
HOST = "127.0.0.1"  # loopback only: a scraper on the host, or a tunnel, reaches it


@dataclass(frozen=True)
class Health:
    """Whether the process can answer, and what each of its checks found."""

    ok: bool
    checks: dict[str, str]

    def as_json(self) -> dict[str, object]:
        """The body of /healthz."""
        body: dict[str, object] = {"status": "ok" if self.ok else "unavailable"}
        body["checks"] = self.checks
        if not self.ok:
            body["reason"] = "; ".join(
                f"{name}: {said}" for name, said in self.checks.items() if not said.startswith("ok")
            )
        return body


Check = Callable[[], Health]


class FrontEnd:
    """Whether a bot's front end takes requests: not until Slack's listener accepts connections
    (or Socket Mode, or Discord's gateway, is connected), and no longer once it is stopping or
    failed to start (a refused token): a load balancer must not send it traffic then."""

    def __init__(self, platform: str) -> None:
        self.state = f"starting: not connected to {platform} yet"

    def up(self) -> None:
        """The front end takes requests now."""
        self.state = "ok"

    def down(self, why: str) -> None:
        """The front end takes no more requests, and why."""
        self.state = why


def tutor_health(tutor: Tutor, settings: Settings, front: FrontEnd | None = None) -> Check:
    """A bot's health: its front end takes requests, its database opens, its search index is
    loaded, and its language model is loaded or deliberately none."""

    wanted = _model_wanted(settings)  # decided once: `auto` asks nvidia-smi

    def check() -> Health:
        checks = {} if front is None else {"front end": front.state}
        checks |= {
            "database": _database(getattr(tutor.store, "path", None)),
            "index": _index(tutor.retriever),
            "model": _model(tutor, wanted),
        }
        return Health(all(v.startswith("ok") for v in checks.values()), checks)

    return check


def runner_health(sandbox: Sandbox) -> Check:
    """The runner service's health: a jail can be started here."""

    def check() -> Health:
        try:
            sandbox.check()
        except Exception as exc:
            return Health(False, {"sandbox": str(exc)})
        return Health(True, {"sandbox": "ok"})

    return check


def _database(path: Path | None) -> str:
    if path is None:
        return "ok (not a file)"
    try:
        # A read-only connection of its own: this runs on the server's thread.
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)) as db:
            db.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.Error as exc:
        return f"the database {path} cannot be opened ({exc})"
    return "ok"


def _index(retriever: Any) -> str:
    dense = getattr(retriever, "dense", None)
    if dense is None or getattr(retriever, "lexical", None) is None:
        return "the search index is not loaded (run `tutor index rebuild`)"
    if not dense.exists():
        return f"the search index is missing from {dense.folder} (run `tutor index rebuild`)"
    return "ok"


def _model_wanted(settings: Settings) -> bool:
    """Whether the settings ask for a language model on this machine."""
    from bot.app.hardware import NONE, resolve_model

    if settings.llm_url:
        return True
    return resolve_model(settings.llm_model).strip().lower() not in ("", NONE)


def _model(tutor: Tutor, wanted: bool) -> str:
    backend = tutor.engine.backend
    if backend is not None:
        return f"ok ({backend.name})"
    if wanted:
        return "the language model did not load: answers quote the bank's key points"
    return "ok (none: extractive answers)"


class MetricsServer:
    """/metrics and /healthz over HTTP on a thread of their own."""

    def __init__(self, registry: CollectorRegistry, health: Check, port: int) -> None:
        self.registry = registry
        self.health = health
        self.server = ThreadingHTTPServer((HOST, port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="tutor-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen when asked for 0)."""
        return self.server.server_address[1]

    def start(self) -> MetricsServer:
        """Start serving in the background."""
        self.thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(owner.registry))
                elif path == "/healthz":
                    try:
                        health = owner.health()
                    except Exception as exc:  # a check that fails is an unhealthy process
                        log.exception("the health check failed")
                        health = Health(False, {"check": f"failed ({type(exc).__name__})"})
                    body = json.dumps(health.as_json()).encode()
                    self._send(200 if health.ok else 503, "application/json", body)
                else:
                    self._send(404, "text/plain; charset=utf-8", b"/metrics or /healthz\n")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("metrics: " + format, *args)

        return Handler


def serve_metrics(
    port: int | None, registry: CollectorRegistry, health: Check
) -> Callable[[], None]:
    """Serve /metrics and /healthz on 127.0.0.1:`port` (none when `port` is None); the function
    that stops them."""
    if port is None:
        return lambda: None
    try:
        server = MetricsServer(registry, health, port).start()
    except OSError as exc:
        raise TutorError(
            f"cannot serve metrics on {HOST}:{port} ({exc.strerror or exc}): "
            "set TUTOR_METRICS_PORT to a free port, one per process"
        ) from None
    click.echo(f"metrics on http://{HOST}:{server.port}/metrics and /healthz", err=True)
    return server.close
