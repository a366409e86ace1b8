"""Round trip of `print(1)` through the sandbox, beside bare Python in the same run.

    python bench/run_latency.py [--runs 100]

Measures: bare `python -c 'print(1)'` (the sandbox's interpreter, no sandbox), the in-process
API (`Sandbox.run`), and the CLI (`tutor run -`), p50/p95 over --runs each; then runs per second
through the API at concurrency 1, 2 and 8. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.sandbox import DEFAULT_PYTHON, Sandbox


def stats(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(samples, 50)), 2),
        "p95_ms": round(float(np.percentile(samples, 95)), 2),
    }


def timed(fn, runs: int, gap: float = 0.0) -> list[float]:
    out = []
    for _ in range(runs):
        time.sleep(gap)  # not timed: lets the warm pool refill, as between chat messages
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--python", default=os.environ.get("TUTOR_RUNNER_PYTHON", DEFAULT_PYTHON))
    args = parser.parse_args()
    box = Sandbox(python=args.python)
    tutor = str(Path(sys.executable).with_name("tutor"))
    env = {**os.environ, "TUTOR_RUNNER_PYTHON": args.python}

    def bare() -> None:
        subprocess.run([args.python, "-c", "print(1)"], check=True, capture_output=True)

    def api() -> None:
        result = box.run("print(1)")
        assert result.stdout == "1\n", result

    def cli() -> None:
        done = subprocess.run(
            [tutor, "run", "-"], input=b"print(1)\n", capture_output=True, env=env, check=True
        )
        assert done.stdout == b"1\n"

    cold_box = Sandbox(python=args.python, pool_size=0)

    def cold() -> None:
        assert cold_box.run("print(1)").stdout == "1\n"

    for fn in (bare, api, cli):  # warm the page cache
        timed(fn, 3)
    report: dict[str, object] = {
        "cpu_count": os.cpu_count(),
        "as_root": os.geteuid() == 0,
        "runs": args.runs,
        "bare_python": stats(timed(bare, args.runs)),
        "api": stats(timed(api, args.runs)),
        "cli": stats(timed(cli, args.runs)),
        "api_runs_50ms_apart": stats(timed(api, args.runs, gap=0.05)),
        "api_no_pool": stats(timed(cold, args.runs)),
    }
    throughput = {}
    for workers in (1, 2, 8):
        n = max(workers * 10, 40)
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda _: api(), range(n)))
        throughput[str(workers)] = round(n / (time.perf_counter() - start), 1)
    report["runs_per_second_by_concurrency"] = throughput
    imports = {}
    probe = (
        "import resource, time\nstart = time.perf_counter()\nimport {module}\n"
        "print(round((time.perf_counter() - start) * 1000), "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"
    )
    big = box.limits.with_(wall_seconds=60, cpu_seconds=60)
    for module in ("numpy", "pandas", "sklearn", "matplotlib.pyplot", "torch"):
        samples = [
            box.run(probe.format(module=module), limits=big).stdout.split() for _ in range(3)
        ]
        imports[module] = {
            "import_ms_p50": float(np.median([float(s[0]) for s in samples])),
            "peak_rss_mb": int(max(int(s[1]) for s in samples)),
        }
    report["imports_inside_the_sandbox"] = imports
    print(json.dumps(report))


if __name__ == "__main__":
    main()
