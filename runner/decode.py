"""Turning what a jail wrote into a RunResult: how it ended, its output cut to the budget with
notes for people, and the files it returned, each checked, since the jail's report is untrusted
(the snippet runs as the same user as the supervisor that writes it)."""

from __future__ import annotations

import contextlib
import json
import signal
from dataclasses import dataclass
from typing import Any

from runner.limits import Limits
from runner.result import RunFile, RunResult


@dataclass(frozen=True)
class JailOutput:
    """What the host read from one jail: its streams, the supervisor's report, how it ended."""

    stdout: bytes
    stderr: bytes
    report: bytes
    timed_out: bool
    cut: bool
    returncode: int | None


def decode(
    output: JailOutput, duration_ms: float, limits: Limits, memory_hit: bool | None = None
) -> RunResult:
    """The RunResult of a jail's output; `memory_hit` is the cgroup's word on whether the
    memory limit killed something, None where no cgroup could tell."""
    report = _report(output.report)
    exit_code, sig = _ending(output, report)
    budget = limits.output_bytes
    stdout = _text(output.stdout[:budget])
    stderr = _text(output.stderr[: max(0, budget - len(output.stdout))])
    limit, value = _limit(output, exit_code, sig, stderr, duration_ms, limits, memory_hit)
    notes = {
        "output": f"[output cut at {budget:,} bytes; the run was stopped]",
        "time": f"[stopped after the {limits.wall_seconds:g}-second time limit]",
        "cpu": f"[stopped at the {limits.cpu_seconds}-second CPU limit]",
        "memory": f"[stopped at the {limits.memory_mb} MiB memory limit]",
    }
    if limit is not None:
        stderr = (stderr + ("\n" if stderr and not stderr.endswith("\n") else "")) + notes[limit]
    return RunResult(
        stdout=stdout,
        stderr=stderr,
        exit_code=exit_code,
        signal=sig,
        timed_out=output.timed_out,
        truncated=output.cut,
        duration_ms=duration_ms,
        files=tuple(_files(report.get("files"), limits)),
        limit=limit,
        limit_value=value,
    )


def _limit(
    output: JailOutput,
    exit_code: int | None,
    sig: str | None,
    stderr: str,
    duration_ms: float,
    limits: Limits,
    memory_hit: bool | None,
) -> tuple[str | None, float | None]:
    """Which limit stopped the run, and its size; the host's own verdicts come first."""
    if output.cut:
        return "output", limits.output_bytes
    if output.timed_out:
        return "time", limits.wall_seconds
    if exit_code == 0:
        return None, None
    if memory_hit is None:
        # No cgroup to ask: under the address-space rlimit, Python's last word is MemoryError.
        lines = stderr.rstrip().splitlines()
        memory_hit = bool(lines) and lines[-1].startswith("MemoryError")
    if memory_hit:
        return "memory", limits.memory_mb
    if sig == "SIGXCPU" or (sig == "SIGKILL" and duration_ms / 1000 > limits.cpu_seconds):
        return "cpu", limits.cpu_seconds
    return None, None


def _report(raw: bytes) -> dict[str, Any]:
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        parsed = json.loads(raw.decode("utf-8"))
        if isinstance(parsed, dict):
            return parsed
    return {}


def _ending(output: JailOutput, report: dict[str, Any]) -> tuple[int | None, str | None]:
    """The exit code or the signal's name: the host's own verdict first, then the report,
    then bubblewrap's status when the supervisor could not report."""
    if output.timed_out or output.cut:
        return None, "SIGKILL"
    if isinstance(report.get("exit_code"), int):
        return report["exit_code"], None
    if isinstance(report.get("signal"), int):
        return None, _signal_name(report["signal"])
    code = output.returncode
    if code is None:
        return None, None
    if code < 0:
        return None, _signal_name(-code)
    if code > 128:
        return None, _signal_name(code - 128)
    return code, None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"


def _text(data: bytes) -> str:
    """Output as text a chat can show: invalid UTF-8 replaced, null bytes made visible."""
    return data.decode("utf-8", errors="replace").replace("\x00", "\\0")


def _safe_name(path: str) -> str | None:
    parts = [p for p in path.split("/") if p not in ("", ".", "..")]
    clean = "/".join(
        "".join(ch if ch.isprintable() and ch not in '\\:*?"<>|' else "_" for ch in part)[:100]
        for part in parts
    )
    return clean or None


def _files(raw: Any, limits: Limits) -> list[RunFile]:
    files: list[RunFile] = []
    if not isinstance(raw, list):
        return files
    for item in raw[: limits.max_files]:
        if not (isinstance(item, list) and len(item) == 2):
            continue
        name, hexdata = item
        if not isinstance(name, str) or not isinstance(hexdata, str):
            continue
        safe = _safe_name(name)
        if safe is None:
            continue
        try:
            content = bytes.fromhex(hexdata)
        except ValueError:
            continue
        if len(content) <= limits.max_file_bytes:
            files.append(RunFile(path=safe, content=content))
    return files
