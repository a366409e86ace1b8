"""Several runner hosts as one `Runner`: each run goes to the least busy host that is up (in
turn among equally busy ones); a host that takes no connection is skipped for a short back-off
that doubles while it stays down, and tried again once it is over."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from runner.errors import RunnerBusy, SandboxUnavailable, ServiceUnreachable
from runner.limits import check_snippet
from runner.protocol import ANONYMOUS
from runner.result import RunResult
from runner.service import RemoteRunner


@dataclass
class _Host:
    """One runner service and what the balancer knows of it."""

    runner: RemoteRunner
    busy: int = 0  # runs sent and not yet answered
    down_until: float = 0.0  # skipped before this time (the clock's)
    failures: int = 0  # connection failures in a row


class RemoteRunners:
    """Runs snippets on several runner services (`urls`), spreading the runs and skipping
    hosts that are down; raises `ServiceUnreachable` when none can be reached."""

    def __init__(
        self,
        urls: Sequence[str],
        secret: str,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 3.0,
        backoff: float = 2.0,
        max_backoff: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise SandboxUnavailable("running code is off: no runner service address is set")
        self.hosts = [_Host(RemoteRunner(url, secret, timeout, connect_timeout)) for url in urls]
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._clock = clock
        self._lock = threading.Lock()
        self._turn = 0

    def validate(self, code: str, lang: str) -> None:
        """Raise SnippetError for a snippet no service would run, before it takes a slot."""
        check_snippet(code, lang)

    def run(self, code: str, lang: str = "python", *, user: str = ANONYMOUS) -> RunResult:
        """Run a snippet on the least busy host that is up, trying the next when one cannot
        be reached or is busy."""
        unreachable: list[ServiceUnreachable] = []
        busy: RunnerBusy | None = None
        for host in self._order():
            with self._lock:
                host.busy += 1
            try:
                result = host.runner.run(code, lang, user=user)
            except ServiceUnreachable as exc:
                self._mark_down(host)
                unreachable.append(exc)
                continue
            except RunnerBusy as exc:
                busy = exc
                continue
            except SandboxUnavailable:
                self._mark_down(host)  # its sandbox is off or it broke off: rest it a while
                raise
            finally:
                with self._lock:
                    host.busy -= 1
            self._mark_up(host)
            return result
        if busy is not None:
            raise busy
        if len(unreachable) == 1:
            raise unreachable[0]
        raise ServiceUnreachable(
            f"running code is off: none of the {len(self.hosts)} runner services can be reached; "
            "try again in a moment"
        )

    def _order(self) -> list[_Host]:
        """The hosts to try, in order: those up, least busy first and in turn among equals,
        then those resting, soonest back first (tried rather than refusing the run)."""
        with self._lock:
            now = self._clock()
            n = len(self.hosts)
            start, self._turn = self._turn, (self._turn + 1) % n
            turn = [self.hosts[(start + i) % n] for i in range(n)]
            up = sorted((h for h in turn if h.down_until <= now), key=lambda h: h.busy)
            resting = sorted((h for h in turn if h.down_until > now), key=lambda h: h.down_until)
            return up + resting

    def _mark_down(self, host: _Host) -> None:
        with self._lock:
            host.down_until = self._clock() + min(
                self.max_backoff, self.backoff * 2 ** min(host.failures, 16)
            )
            host.failures += 1

    def _mark_up(self, host: _Host) -> None:
        with self._lock:
            host.down_until = 0.0
            host.failures = 0

    def close(self) -> None:
        """Nothing to release: each run is one request on a connection of its own."""
