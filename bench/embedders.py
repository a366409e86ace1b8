"""The old default embedder beside the new, in one run: what a user waits for and what a bot holds.

    python bench/embedders.py [--models all-MiniLM-L6-v2 multilingual-e5-small] [--runs 3]

For each model: `tutor ingest --starter` (the starter bank embedded and indexed), `tutor search
--json QUERY` from process start to answer (a fresh process each time; the median of --runs),
the index build and search p50 at 1,000 entries
(bench/search_latency.py), and the resident memory of `tutor serve slack --http` once it
listens (against a local recording Web API; no language model). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.slack_load import Bot, Recorder  # noqa: E402

QUERY = "KV cache 的显存怎么估算"


def tutor(home: Path, env: dict[str, str], *args: str) -> tuple[float, str]:
    """Run the command in a fresh process: seconds from start to exit, and its stdout."""
    began = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from bot.app.cli import main; main()",
            "--data-dir",
            str(home),
            *args,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - began, done.stdout


def serve_rss_kib(home: Path, env: dict[str, str]) -> tuple[float, int]:
    """Seconds until `tutor serve slack --http` listens, and its resident memory then."""
    api = Recorder()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            saved = dict(os.environ)
            os.environ.update(env)
            try:
                bot = Bot(home, 18931, api.url, Path(tmp) / "bot.log")
            finally:
                os.environ.clear()
                os.environ.update(saved)
            started = bot.start()
            time.sleep(2)
            assert bot.process is not None
            status = Path(f"/proc/{bot.process.pid}/status").read_text()
            rss = next(int(line.split()[1]) for line in status.splitlines() if "VmRSS" in line)
            bot.stop()
            return started, rss
    finally:
        api.close()


def measure(model: str, runs: int) -> dict:
    env = {**os.environ, "TUTOR_EMBED_MODEL": model, "TUTOR_LLM_MODEL": "none"}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "data"
        ingest_s, _ = tutor(home, env, "ingest", "--starter")
        searches = [tutor(home, env, "search", "--json", QUERY) for _ in range(runs)]
        top = json.loads(searches[-1][1])["results"][0]["title"]
        listen_s, serve_kib = serve_rss_kib(home, env)
    script = str(ROOT / "bench" / "search_latency.py")
    latency = subprocess.run(
        [sys.executable, script, "--sizes", "1000", "--queries", "100", "--model", model],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    at_1000 = json.loads(latency.stdout)["results"][0]
    return {
        "model": model,
        "ingest_starter_s": round(ingest_s, 2),
        "search_cli_start_to_answer_s": round(statistics.median(s for s, _ in searches), 2),
        "search_cli_top_result": top,
        "index_build_1000_s": at_1000["index_build_s"],
        "search_p50_ms_1000": at_1000["search_p50_ms"],
        "search_p95_ms_1000": at_1000["search_p95_ms"],
        "serve_slack_listening_s": round(listen_s, 1),
        "serve_slack_rss_mib": round(serve_kib / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=["all-MiniLM-L6-v2", "multilingual-e5-small"]
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [measure(model, args.runs) for model in args.models]
    print(json.dumps({"query": QUERY, "cpu_count": os.cpu_count(), "results": results}))


if __name__ == "__main__":
    main()
