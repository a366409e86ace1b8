"""One run at a time per user, a global limit, and a clear "busy" instead of a pile-up."""

from __future__ import annotations

import threading

import pytest

from runner.dispatch import RunQueue
from runner.errors import RunnerBusy, SnippetError
from runner.result import RunResult


class GatedSandbox:
    """A stand-in sandbox whose runs wait until the test opens the gate (no code is run)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Semaphore(0)
        self.running = 0
        self.peak = 0
        self.users: list[str] = []
        self.lock = threading.Lock()

    def validate(self, code: str, lang: str) -> None:
        if not code.strip():
            raise SnippetError("the snippet is empty: paste some code to run")

    def run(self, code: str, lang: str = "python", *, user: str = "anonymous") -> RunResult:
        with self.lock:
            self.users.append(user)
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.started.release()
        self.gate.wait(5)
        with self.lock:
            self.running -= 1
        return RunResult(code, "", 0, None, False, False, 1.0)

    def close(self) -> None:
        self.gate.set()


def start(queue: RunQueue, user: str, results: list) -> threading.Thread:
    thread = threading.Thread(target=lambda: results.append(queue.run(user, f"print('{user}')")))
    thread.start()
    return thread


def test_one_run_at_a_time_per_user():
    box = GatedSandbox()
    queue = RunQueue(box, max_running=2, max_waiting=2)
    results: list = []
    first = start(queue, "ann", results)
    assert box.started.acquire(timeout=5)
    with pytest.raises(RunnerBusy, match="already have a run going"):
        queue.run("ann", "print(2)")
    box.gate.set()
    first.join()
    assert queue.run("ann", "print(3)").stdout == "print(3)"


def test_global_limit_and_busy_when_the_queue_is_full():
    box = GatedSandbox()
    queue = RunQueue(box, max_running=2, max_waiting=1)
    results: list = []
    threads = [start(queue, f"user{n}", results) for n in range(3)]
    assert box.started.acquire(timeout=5) and box.started.acquire(timeout=5)
    with pytest.raises(RunnerBusy, match="busy"):
        queue.run("late", "print(1)")
    box.gate.set()
    for t in threads:
        t.join()
    assert box.peak == 2
    assert sorted(r.stdout for r in results) == [f"print('user{n}')" for n in range(3)]


def test_bad_snippet_is_refused_before_taking_a_slot():
    queue = RunQueue(GatedSandbox(), max_running=1, max_waiting=0)
    with pytest.raises(SnippetError):
        queue.run("ann", "   ")
    assert queue._admitted == 0


def test_each_run_reaches_the_runner_as_its_own_user():
    box = GatedSandbox()
    box.gate.set()
    queue = RunQueue(box)
    queue.run("ann", "print(1)")
    queue.run("bob", "print(2)")
    assert box.users == ["ann", "bob"]
