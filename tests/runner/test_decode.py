"""Which limit stopped a run, read from what the jail wrote (no jail is started here)."""

from __future__ import annotations

import json

import pytest

from runner.decode import JailOutput, decode
from runner.limits import Limits

LIMITS = Limits.load().with_(memory_mb=256, cpu_seconds=2, wall_seconds=4, output_bytes=100)
MEMORY_ERROR = b"Traceback (most recent call last):\n  ...\nMemoryError\n"


def output(
    stderr: bytes = b"",
    *,
    exit_code: int | None = None,
    signal: int | None = None,
    timed_out: bool = False,
    cut: bool = False,
) -> JailOutput:
    report = {"files": []}
    if exit_code is not None:
        report["exit_code"] = exit_code
    if signal is not None:
        report["signal"] = signal
    return JailOutput(b"", stderr, json.dumps(report).encode(), timed_out, cut, 0)


@pytest.mark.parametrize(
    ("jail", "duration_ms", "memory_hit", "limit"),
    [
        (output(signal=9), 300.0, True, ("memory", 256)),
        (output(MEMORY_ERROR, exit_code=1), 300.0, None, ("memory", 256)),
        (output(MEMORY_ERROR, exit_code=1), 300.0, False, (None, None)),
        (output(b"MemoryError\n", exit_code=0), 300.0, None, (None, None)),
        (output(signal=24), 2100.0, False, ("cpu", 2)),
        (output(timed_out=True), 4000.0, False, ("time", 4)),
        (output(cut=True), 50.0, True, ("output", 100)),
        (output(exit_code=3), 50.0, False, (None, None)),
        (output(signal=11), 50.0, False, (None, None)),
    ],
    ids=[
        "cgroup-oom-kill",
        "rlimit-memory-error",
        "cgroup-says-no-despite-the-text",
        "printed-memory-error-and-exit-0",
        "cpu-limit",
        "wall-clock",
        "output-cut-first",
        "plain-exit",
        "segfault",
    ],
)
def test_the_limit_that_stopped_the_run_is_named(jail, duration_ms, memory_hit, limit):
    result = decode(jail, duration_ms, LIMITS, memory_hit)
    assert (result.limit, result.limit_value) == limit
    assert result.as_json()["limit"] == limit[0]
