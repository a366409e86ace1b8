"""Load and fault test of the real Slack bot process: `tutor serve slack --http` fed signed
requests by simulated users, its Web API calls recorded on loopback, killed with SIGKILL in the
middle of a burst of answers and restarted on the same data dir.

    python bench/slack_load.py [--users 200] [--seconds 60] [--data-dir DIR] [--check]

Each user, at a pace under the per-user rate limit, runs /quiz, answers in the quiz's thread,
/quiz again and /answer, mentions the bot in English or Chinese, follows up in the thread, has
Slack retry the mention (X-Slack-Retry-Num), runs /run and /stats, and sends one malformed
request (truncated JSON, bad signature or wrong content type). Then a burst of users answers
their quizzes at once, the bot is killed (-9) when half the answers are acknowledged, restarted,
and Slack's retries of every answer of the burst are delivered. The extractive mode
(TUTOR_LLM_MODEL=none) unless the environment names a model. Prints one JSON object; with
--check the exit code is 1 when a target is missed (see TARGETS).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.bot.adapters.slack_api import Call, SlackAPI  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
STARTS = ("chat.postMessage", "chat.startStream", "chat.postEphemeral")
TARGETS = {
    "failures": 0,
    "ack_p99_s": 1.0,
    "replies_missing": 0,
    "answers_lost": 0,
    "answers_doubled": 0,
    "duplicates_after_restart": 0,
    "tracebacks": 0,
}
EN = ["what is the KV cache?", "why does attention scale quadratically?", "what is LoRA?"]
ZH = ["什么是注意力机制？", "解释一下 KV 缓存", "什么是知识蒸馏？"]
FOLLOW = ["and why does it matter for serving?", "能举个例子吗？"]
# Prose with a code block: a concept quiz grades the words, a coding quiz runs the code.
BOT_USER = "UBOT"  # who the recording Web API's auth.test says the bot is

ANSWER = (
    "It trades memory for speed: keys and values are cached so each step reads them once.\n"
    "```python\ndef solve(*args):\n    return None\n```"
)


class Recorder(SlackAPI):
    """The recording Web API, with each reply (a message started, or a response_url answer)
    indexed by the user's channel so that a user waits only for its own."""

    def __init__(self) -> None:
        self.starts: dict[str, list[tuple[float, Call]]] = defaultdict(list)
        self.responded: dict[str, str] = {}  # response_url id -> channel
        self.arrived = threading.Condition()
        super().__init__()

    def _record(self, call: Call) -> None:
        super()._record(call)
        channel = ""
        if call.method in STARTS:
            channel = str(call.body.get("channel", ""))
        elif call.method.startswith("respond/"):
            channel = self.responded.get(call.method.split("/", 1)[1], "")
        if channel:
            with self.arrived:
                self.starts[channel].append((time.monotonic(), call))
                self.arrived.notify_all()

    def replies(self, channel: str) -> list[tuple[float, Call]]:
        with self.arrived:
            return list(self.starts[channel])

    def wait_reply(self, channel: str, after: int, timeout: float) -> tuple[float, Call] | None:
        """The first reply in `channel` past the first `after`, or None after `timeout`."""
        with self.arrived:
            if self.arrived.wait_for(lambda: len(self.starts[channel]) > after, timeout):
                return self.starts[channel][after]
        return None


class Bot:
    """One `tutor serve slack --http` process; its stderr goes to a file."""

    def __init__(self, home: Path, port: int, api_url: str, log: Path) -> None:
        self.home, self.port, self.log = home, port, log
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
        env.setdefault("TUTOR_LLM_MODEL", "none")
        env.setdefault("TUTOR_RUNNER_PYTHON", "/opt/tutor-sandbox/bin/python")
        self.env = {
            **env,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "TUTOR_SLACK_API_URL": api_url,
        }
        self.process: subprocess.Popen | None = None
        self.peak_kib = 0

    def start(self, timeout: float = 300.0) -> float:
        """Start and wait until it listens; the seconds that took."""
        began = time.monotonic()
        command = [sys.executable, "-c", "from bot.app.cli import main; main()"]
        command += ["--data-dir", str(self.home), "serve", "slack", "--http"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("a") as err:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err
            )
        threading.Thread(target=self._watch, args=(self.process,), daemon=True).start()
        while time.monotonic() - began < timeout:
            if self.process.poll() is not None:
                raise SystemExit(f"the bot exited with {self.process.returncode}: see {self.log}")
            if "Slack bot on http://" in self.log.read_text(errors="replace").split("\n-- ")[-1]:
                return time.monotonic() - began
            time.sleep(0.2)
        raise SystemExit(f"the bot did not start in {timeout:.0f} s: see {self.log}")

    def _watch(self, process: subprocess.Popen) -> None:
        # VmHWM is the process's peak resident set; read until it ends (a killed one can't be).
        status = Path(f"/proc/{process.pid}/status")
        while process.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.5)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        with self.log.open("a") as err:
            err.write("\n-- killed with SIGKILL\n")

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


class Load:
    """The simulated users' requests, and what came of them."""

    def __init__(self, api: Recorder, port: int, reply_timeout: float) -> None:
        self.api = api
        self.port = port
        self.reply_timeout = reply_timeout
        self.lock = threading.Lock()
        self.sent: dict[str, int] = defaultdict(int)
        self.failures: dict[str, int] = defaultdict(int)
        self.acks: dict[str, list[float]] = defaultdict(list)
        self.reply_s: dict[str, list[float]] = defaultdict(list)
        self.missing: dict[str, int] = defaultdict(int)
        self.malformed_accepted = 0
        self.expected: dict[str, int] = defaultdict(int)  # replies each channel should get
        self.answers: list[dict[str, Any]] = []  # quiz answers: user, thread, acked
        self.ids = itertools.count(1)

    # -- sending ---------------------------------------------------------------------------

    def post(
        self, raw: bytes, content_type: str, *, good: bool = True, extra: dict | None = None
    ) -> tuple[int, float]:
        """POST to the bot; the status (0 when the connection failed) and the seconds taken."""
        stamp = str(int(time.time()))
        base = b"v0:" + stamp.encode() + b":" + raw
        signature = "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
        if not good:
            signature = "v0=" + "0" * 64
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
            **(extra or {}),
        }
        began = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("POST", "/slack/events", body=raw, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status, time.monotonic() - began
        except OSError:
            return 0, time.monotonic() - began
        finally:
            connection.close()

    def event(self, event_id: str, event: dict[str, Any], retry: int = 0) -> tuple[int, float]:
        body = {
            "token": "legacy",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {"event_ts": event.get("ts", ""), **event},
        }
        extra = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(
            json.dumps(body).encode(), "application/json", extra=extra if retry else None
        )

    def command(self, user: str, name: str, text: str = "") -> tuple[int, float]:
        n = next(self.ids)
        self.api.responded[str(n)] = f"C{user}"
        form = {
            "token": "legacy",
            "team_id": "T1",
            "channel_id": f"C{user}",
            "user_id": user,
            "command": name,
            "text": text,
            "response_url": self.api.url.replace("/api/", f"/respond/{n}"),
            "trigger_id": f"trigger-{n}",
        }
        raw = urllib.parse.urlencode(form).encode()
        return self.post(raw, "application/x-www-form-urlencoded")

    # -- one step of a user ----------------------------------------------------------------

    def step(self, kind: str, user: str, send: Any, *, reply: bool = True) -> Call | None:
        """Send one valid request and wait for its reply; the Web API call that answered it."""
        channel = f"C{user}"
        before = len(self.api.replies(channel))
        began = time.monotonic()
        status, took = send()
        with self.lock:
            self.sent[kind] += 1
            self.acks[kind].append(took)
            if not 200 <= status < 300:
                self.failures[kind] += 1
                return None
            if reply:
                self.expected[channel] += 1
        if not reply:
            return None
        got = self.api.wait_reply(channel, before, self.reply_timeout)
        with self.lock:
            if got is None:
                self.missing[kind] += 1
                return None
            self.reply_s[kind].append(got[0] - began)
        return got[1]

    def malformed(self, user: str) -> None:
        kind = random.choice(["truncated_json", "bad_signature", "wrong_content_type"])
        body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "EvBad"})
        raw = body.encode()
        if kind == "truncated_json":
            status, _ = self.post(raw[:25], "application/json")
        elif kind == "bad_signature":
            status, _ = self.post(raw, "application/json", good=False)
        else:
            status, _ = self.post(raw, "text/plain")
        with self.lock:
            self.sent[f"malformed_{kind}"] += 1
            if not 400 <= status < 500:
                self.malformed_accepted += 1

    def quiz(self, user: str) -> str:
        """Ask for a quiz; the ts of its question (its thread), or '' when none came."""
        call = self.step("/quiz", user, lambda: self.command(user, "/quiz"))
        return str((call.response or {}).get("ts", "")) if call is not None else ""

    def answer_in_thread(self, user: str, thread: str, event_id: str) -> tuple[int, float]:
        event = {
            "type": "message",
            "user": user,
            "channel": f"C{user}",
            "channel_type": "channel",
            "text": ANSWER,
            "ts": f"{time.time():.6f}",
            "thread_ts": thread,
            "parent_user_id": BOT_USER,  # the quiz's question is the tutor's post
        }
        return self.event(event_id, event)

    def user(self, user: str, deadline: float, pace: float) -> None:
        """One simulated user, until the deadline; about one request per `pace` seconds."""
        rng = random.Random(user)
        for cycle in itertools.count():
            if time.monotonic() > deadline:
                return
            plan = self._plan(user, cycle, rng)
            # Users start at different steps: a short run still sends every kind.
            shift = int(user[1:] or 0) % len(plan) if cycle == 0 else 0
            for step in plan[shift:]:
                if time.monotonic() > deadline:
                    return
                step()
                time.sleep(rng.uniform(0.5, 1.5) * pace)

    def _plan(self, user: str, cycle: int, rng: random.Random) -> list[Any]:
        state: dict[str, str] = {}

        def quiz_then_answer() -> None:
            thread = self.quiz(user)
            if thread:
                state["quiz"] = thread

        def thread_answer() -> None:
            if "quiz" in state:
                event_id = f"Ev{user}a{cycle}"
                record = {"user": user, "thread": state["quiz"], "acked": False}
                thread = state["quiz"]
                call = self.step(
                    "answer_in_thread",
                    user,
                    lambda: self._acked(record, self.answer_in_thread(user, thread, event_id)),
                )
                record["reply"] = str((call.body if call else {}).get("text", ""))[:80]

        def quiz_then_slash_answer() -> None:
            thread = self.quiz(user)
            if thread:
                record = {"user": user, "thread": thread, "acked": False}
                call = self.step(
                    "/answer",
                    user,
                    lambda: self._acked(record, self.command(user, "/answer", ANSWER)),
                )
                record["reply"] = str((call.body if call else {}).get("text", ""))[:80]

        def mention() -> None:
            zh = (cycle + int(user[1:] or 0)) % 2 == 1
            text = rng.choice(ZH if zh else EN)
            ts = f"{time.time():.6f}"
            event = {
                "type": "app_mention",
                "user": user,
                "channel": f"C{user}",
                "text": f"<@{BOT_USER}> {text}",
                "ts": ts,
            }
            event_id = f"Ev{user}m{cycle}"
            kind = "mention_zh" if zh else "mention_en"
            if self.step(kind, user, lambda: self.event(event_id, event)) is None:
                return
            state["mention"] = ts
            # Slack thought the first delivery missed: the same event again, with its retry
            # number. It must not be answered a second time.
            self.step("retry", user, lambda: self.event(event_id, event, retry=1), reply=False)

        def follow_up() -> None:
            if "mention" in state:
                event = {
                    "type": "message",
                    "user": user,
                    "channel": f"C{user}",
                    "channel_type": "channel",
                    "text": rng.choice(FOLLOW),
                    "ts": f"{time.time():.6f}",
                    "thread_ts": state["mention"],
                    "parent_user_id": user,  # the thread began with the user's mention
                }
                self.step("follow_up", user, lambda: self.event(f"Ev{user}f{cycle}", event))

        def run() -> None:
            code = f"```python\nprint({rng.randint(1, 99)} * 7)\n```"
            self.step("/run", user, lambda: self.command(user, "/run", code))

        def stats() -> None:
            self.step("/stats", user, lambda: self.command(user, "/stats"))

        steps = [quiz_then_answer, thread_answer, quiz_then_slash_answer, mention, follow_up]
        steps += [run, stats, lambda: self.malformed(user)]
        return steps

    def _acked(self, record: dict[str, Any], result: tuple[int, float]) -> tuple[int, float]:
        record["acked"] = 200 <= result[0] < 300
        with self.lock:
            self.answers.append(record)
        return result


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 4)

    return {"n": len(ordered), "p50": at(50), "p90": at(90), "p99": at(99)}


def quiescent(api: SlackAPI, quiet: float = 3.0, limit: float = 120.0) -> None:
    """Wait until the bot has made no Web API call for `quiet` seconds (bounded)."""
    began = time.monotonic()
    seen, since = len(api.calls), time.monotonic()
    while time.monotonic() - began < limit:
        time.sleep(0.25)
        if len(api.calls) != seen:
            seen, since = len(api.calls), time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def burst(load: Load, bot: Bot, api: Recorder, size: int) -> dict[str, Any]:
    """Quizzes for `size` users, their answers all at once, SIGKILL when half are acknowledged,
    a restart on the same data dir, then Slack's retries of every answer of the burst."""
    users = [f"B{n}" for n in range(size)]
    threads: dict[str, str] = {}

    def ask(user: str) -> None:
        thread = load.quiz(user)
        if thread:
            threads[user] = thread

    _all(ask, users)
    records = {u: {"user": u, "thread": t, "acked": False} for u, t in threads.items()}
    acked = threading.Semaphore(0)
    replied_before: dict[str, bool] = {}

    def answer(user: str) -> None:
        status, took = load.answer_in_thread(user, threads[user], f"EvBurst{user}")
        with load.lock:
            load.sent["burst_answer"] += 1
        if 200 <= status < 300:
            records[user]["acked"] = True
            with load.lock:
                load.acks["burst_answer"].append(took)
            acked.release()

    workers = [threading.Thread(target=answer, args=(u,)) for u in threads]
    for worker in workers:
        worker.start()
    for _ in range(max(1, len(workers) // 2)):
        acked.acquire(timeout=60)
    bot.kill()
    killed_at = time.monotonic()
    for worker in workers:
        worker.join()
    for user, thread in threads.items():
        replied_before[user] = any(
            c.body.get("thread_ts") == thread and at <= killed_at
            for at, c in api.replies(f"C{user}")
        )
    unrecorded = unrecorded_quiz_threads(bot.home, list(threads))
    restart_s = bot.start()
    counts_before = {u: len(api.replies(f"C{u}")) for u in threads}

    def redeliver(user: str) -> None:
        event_id = f"EvBurst{user}"
        # A new ts is harmless: Slack's retry carries the same event_id, which is what counts.
        status, took = load.event(
            event_id,
            {
                "type": "message",
                "user": user,
                "channel": f"C{user}",
                "channel_type": "channel",
                "text": ANSWER,
                "ts": f"{time.time():.6f}",
                "thread_ts": threads[user],
                "parent_user_id": BOT_USER,
            },
            retry=1,
        )
        with load.lock:
            load.sent["burst_retry"] += 1
            load.acks["burst_retry"].append(took)
            if not 200 <= status < 300:
                load.failures["burst_retry"] += 1
        if not replied_before[user]:
            got = api.wait_reply(f"C{user}", counts_before[user], load.reply_timeout)
            if got is None:
                with load.lock:
                    load.missing["burst_answer"] += 1

    _all(redeliver, list(threads))
    quiescent(api)
    duplicates = sum(
        1 for u in threads if replied_before[u] and len(api.replies(f"C{u}")) > counts_before[u]
    )
    for user, record in records.items():
        # What the bot said in the user's channel after the question (read if the answer is lost).
        said = [str(c.body.get("text", ""))[:60] for _, c in api.replies(f"C{user}")[1:]]
        record["reply"] = " | ".join(said)
    load.answers.extend(records.values())
    return {
        "users": len(threads),
        "answers_acknowledged_before_kill": sum(r["acked"] for r in records.values()),
        "answered_before_kill": sum(replied_before.values()),
        # Quizzes whose question Slack had taken but whose thread the store did not know yet
        # when the process died: their answers are matched through `parent_user_id`.
        "quiz_threads_unrecorded_at_kill": unrecorded,
        "restart_s": round(restart_s, 2),
        "duplicates_after_restart": duplicates,
    }


def _all(work: Any, items: list[str]) -> None:
    workers = [threading.Thread(target=work, args=(item,)) for item in items]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def unrecorded_quiz_threads(home: Path, users: list[str]) -> int:
    """How many of these users' open quizzes have no thread in the database."""
    db = sqlite3.connect(home / "tutor.db")
    try:
        rows = db.execute(
            "SELECT user FROM quizzes WHERE state = 'open' AND thread = ''"
        ).fetchall()
    finally:
        db.close()
    return sum(1 for (user,) in rows if user.split(":", 1)[-1] in users)


def stored(home: Path, answers: list[dict[str, Any]]) -> dict[str, int]:
    """Acknowledged quiz answers against the reviews in the database after the restart."""
    db = sqlite3.connect(home / "tutor.db")
    try:
        rows = db.execute(
            "SELECT q.user, q.thread, COUNT(r.id), q.state FROM quizzes q "
            "LEFT JOIN reviews r ON r.quiz_id = q.id GROUP BY q.id"
        ).fetchall()
    finally:
        db.close()
    reviews = {(user.split(":", 1)[-1], thread): n for user, thread, n, _ in rows}
    quizzes = defaultdict(list)  # what the database holds of a lost answer's user
    for user, thread, n, state in rows:
        quizzes[user.split(":", 1)[-1]].append(f"{thread or '-'}:{state}:{n}")
    acked = [a for a in answers if a["acked"]]
    found = [a for a in acked if reviews.get((a["user"], a["thread"]), 0) >= 1]
    lost = [a for a in acked if a not in found]
    return {
        "lost_samples": [
            f"{a['user']} thread {a['thread']} reply {a.get('reply', '')!r} "
            f"quizzes (thread:state:reviews) {quizzes[a['user']]}"
            for a in lost[:5]
        ],
        "acknowledged": len(acked),
        "found_in_db": len(found),
        "lost": len(acked) - len(found),
        "doubled": sum(1 for n in reviews.values() if n > 1),
    }


def tracebacks(log: Path) -> tuple[int, list[str]]:
    """How many tracebacks the bot wrote, and the last line of a few of them."""
    lines = log.read_text(errors="replace").splitlines()
    found, samples = 0, []
    for n, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            found += 1
            tail = next(
                (x for x in lines[n + 1 :] if x and not x.startswith((" ", "Traceback"))), ""
            )
            if len(samples) < 5:
                samples.append(tail[:200])
    return found, samples


def prepare(home: Path) -> None:
    """Ingest the starter bank into a data dir that has none."""
    if (home / "tutor.db").exists():
        return
    command = [sys.executable, "-c", "from bot.app.cli import main; main()"]
    command += ["--data-dir", str(home), "ingest", "--starter", "--json"]
    env = {**os.environ, "TUTOR_LLM_MODEL": os.environ.get("TUTOR_LLM_MODEL", "none")}
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="Simulated users (200).")
    parser.add_argument("--seconds", type=float, default=60.0, help="Length of the load (60).")
    parser.add_argument("--burst", type=int, default=0, help="Users in the kill burst.")
    parser.add_argument("--data-dir", type=Path, help="Data dir (a fresh one by default).")
    parser.add_argument("--pace", type=float, default=5.0, help="Seconds between a user's steps.")
    parser.add_argument("--reply-timeout", type=float, default=60.0)
    parser.add_argument("--check", action="store_true", help="Exit 1 when a target is missed.")
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory(prefix="tutor-load-")
    home = args.data_dir or Path(scratch.name) / "home"
    home.mkdir(parents=True, exist_ok=True)
    prepare(home)
    api = Recorder()
    port = free_port()
    log = Path(scratch.name) / "bot.stderr"
    bot = Bot(home, port, api.url, log)
    load = Load(api, port, args.reply_timeout)
    try:
        start_s = bot.start()
        began = time.monotonic()
        deadline = began + args.seconds
        users = [
            threading.Thread(
                target=load.user,
                args=(f"U{n}", deadline, args.pace),
                daemon=True,
            )
            for n in range(args.users)
        ]
        for worker in users:
            worker.start()
            time.sleep(min(5.0, args.seconds / 4) / max(1, args.users))  # a ramp, not a wall
        for worker in users:
            worker.join()
        load_s = time.monotonic() - began
        quiescent(api)
        extra = sum(
            max(0, len(api.replies(channel)) - want) for channel, want in load.expected.items()
        )
        crash = burst(load, bot, api, args.burst or min(args.users, 50))
        code = bot.stop()
    finally:
        if bot.process is not None and bot.process.poll() is None:
            bot.process.kill()
        api.close()
    answers = stored(home, load.answers)
    found, samples = tracebacks(log)
    valid = [t for kind, ts in load.acks.items() for t in ts]
    result = {
        "users": args.users,
        "seconds": args.seconds,
        "load_s": round(load_s, 1),
        "start_s": round(start_s, 1),
        "llm_model": bot.env["TUTOR_LLM_MODEL"],
        "requests": dict(sorted(load.sent.items())),
        "failures": sum(load.failures.values()),
        "failures_by_kind": dict(load.failures),
        "malformed_accepted": load.malformed_accepted,
        "ack_s": {"all": percentiles(valid)}
        | {k: percentiles(v) for k, v in sorted(load.acks.items())},
        "ack_p99_s": percentiles(valid).get("p99", 0.0),
        "reply_s": {k: percentiles(v) for k, v in sorted(load.reply_s.items())},
        "replies_missing": sum(load.missing.values()),
        "missing_by_kind": dict(load.missing),
        "replies_duplicated_during_load": extra,
        "answers": answers,
        "answers_lost": answers["lost"],
        "answers_doubled": answers["doubled"],
        "crash": crash,
        "duplicates_after_restart": crash["duplicates_after_restart"],
        "tracebacks": found,
        "traceback_samples": samples,
        "exit_code_after_sigint": code,
        "peak_rss_mib": round(bot.peak_kib / 1024, 1),
    }
    missed = [
        name
        for name, target in TARGETS.items()
        if (result[name] >= target if name == "ack_p99_s" else result[name] > target)
    ]
    if extra or load.malformed_accepted:
        missed.append("replies_duplicated_during_load" if extra else "malformed_accepted")
    result["targets_missed"] = missed
    print(json.dumps(result, indent=2, ensure_ascii=False))
    scratch.cleanup()
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
