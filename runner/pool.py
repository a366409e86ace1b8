"""The warm pool: jails started ahead of time, so that a run skips bubblewrap's start-up, and
the teardown of used jails after their answer is out."""

from __future__ import annotations

import threading
from collections.abc import Callable

from runner.bwrap import Jail
from runner.errors import SandboxUnavailable


class WarmPool:
    """Keeps up to `size` started jails ready; one long-lived thread starts them all."""

    def __init__(self, start: Callable[[], Jail], size: int) -> None:
        self.size = size
        self._start = start
        self._warm: list[Jail] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._filler: threading.Thread | None = None
        self._closed = False
        self._retiring: set[threading.Thread] = set()

    def take(self) -> Jail | None:
        """A warm jail still alive, or None when none is ready."""
        dead: list[Jail] = []
        taken: Jail | None = None
        with self._lock:
            while self._warm:
                jail = self._warm.pop()
                if jail.alive():
                    taken = jail
                    break
                dead.append(jail)
        for jail in dead:  # ended outside the lock: teardown waits on processes and cgroups
            jail.end()
        return taken

    def retire(self, jail: Jail) -> None:
        """End a used jail in the background, so the run's answer need not wait for it."""
        thread = threading.Thread(target=self._end, args=(jail,), daemon=True)
        with self._lock:
            self._retiring.add(thread)
        thread.start()

    def _end(self, jail: Jail) -> None:
        try:
            jail.end()
        finally:
            with self._lock:
                self._retiring.discard(threading.current_thread())

    def refill(self) -> None:
        """Start jails until the pool is full again (in the filler thread)."""
        with self._wake:
            if self._closed or self.size <= 0:
                return
            if self._filler is None:
                # One long-lived thread starts every warm jail: bwrap's --die-with-parent follows
                # the thread that started it, so a short-lived thread would take its jails along.
                self._filler = threading.Thread(target=self._fill, daemon=True)
                self._filler.start()
            self._wake.notify_all()

    def _fill(self) -> None:
        while True:
            with self._wake:
                while not self._closed and len(self._warm) >= self.size:
                    self._wake.wait()
                if self._closed:
                    return
            try:
                jail = self._start()
            except SandboxUnavailable:
                with self._wake:
                    self._wake.wait(timeout=5)
                continue
            with self._wake:
                self._warm.append(jail)
                self._wake.notify_all()

    def wait_full(self, timeout: float) -> bool:
        """Wait until the pool is full; False when it is not within `timeout` seconds."""
        self.refill()
        with self._wake:
            return (
                self._wake.wait_for(lambda: self._closed or len(self._warm) >= self.size, timeout)
                and not self._closed
            )

    def close(self) -> None:
        """End the warm jails, the filler thread, and wait for used jails' teardown."""
        with self._wake:
            self._closed = True
            warm, self._warm = self._warm, []
            filler, self._filler = self._filler, None
            self._wake.notify_all()
        if filler is not None:
            filler.join(timeout=10)
        with self._wake:
            warm += self._warm
            self._warm = []
        for jail in warm:
            jail.end()
        self.settle()

    def settle(self) -> None:
        """Wait until every used jail is torn down."""
        with self._lock:
            retiring = list(self._retiring)
        for thread in retiring:
            thread.join(timeout=10)
