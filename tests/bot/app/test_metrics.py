"""What an operator watches: /metrics counts what the tutor was sent, over real HTTP, and
/healthz says 200 when a process can answer and 503 (with the reason) when it cannot."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app.metrics import Health, MetricsServer, runner_health, serve_metrics, tutor_health
from bot.app.settings import Settings
from bot.core.errors import TutorError
from bot.core.ratelimit import RateLimiter
from bot.core.telemetry import RunMetrics, Telemetry
from bot.core.tutor import Tutor
from bot.tutoring.answering import AnswerEngine
from bot.tutoring.grading import Grader, OfflineGrader
from knowledge.progress import Progress
from knowledge.store import Store
from retriever.search import Retriever
from runner.dispatch import RunQueue, outcome
from runner.errors import RunnerBusy, SandboxUnavailable
from runner.result import RunResult
from runner.sandbox import Limits, Sandbox
from tests.bot.conftest import PYTHON, Chat, Scripted, build
from tests.bot.llm.test_backends import tiny_model  # noqa: F401  (fixture)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SECRET = "a-shared-secret-for-tests"


def fetch(url: str) -> tuple[int, str]:
    """Status and body of a GET (an error status is an answer too)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape(port: int) -> Samples:
    """Every sample of /metrics, parsed as Prometheus parses it."""
    status, body = fetch(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def serving(tutor, settings: Settings) -> MetricsServer:
    return MetricsServer(tutor.telemetry.registry, tutor_health(tutor, settings), 0).start()


@pytest.fixture
def offline(home, embedder) -> Iterator[Chat]:
    """A chat with a tutor without a model or a sandbox."""
    chat = Chat(build(home, embedder))
    yield chat
    chat.close()


@pytest.fixture
def settings(home) -> Settings:
    return Settings(home=home, llm_model="none", llm_url="")


def test_metrics_count_requests_replies_and_errors_by_kind(offline, settings):
    chat = offline
    chat.say("what is the KV cache?")
    chat.say("How does gradient clipping by global norm work?")
    chat.say("/quiz post-norm", reply_thread="t-q")
    chat.say("Post-norm puts the layer norm after the residual addition.", thread="t-q")
    chat.say("/help")
    chat.say("/run print(1)")  # no sandbox here: a one-line reason, a people error

    class Broken:
        def search(self, query: str, k: int = 5):
            raise RuntimeError("the index fell over")

    chat.tutor.engine.retriever = Broken()
    chat.say("what is attention?")  # an incident

    server = serving(chat.tutor, settings)
    try:
        samples = scrape(server.port)
    finally:
        server.close()
    requests = {
        kind: value(samples, "tutor_requests_total", platform="test", kind=kind)
        for kind in ("question", "quiz", "answer", "run", "command")
    }
    assert requests == {"question": 3, "quiz": 1, "answer": 1, "run": 1, "command": 1}
    assert value(samples, "tutor_replies_total", kind="answer") == 2
    assert value(samples, "tutor_replies_total", kind="quiz") == 1
    assert value(samples, "tutor_replies_total", kind="grade") == 1
    assert value(samples, "tutor_replies_total", kind="help") == 1
    assert value(samples, "tutor_replies_total", kind="error") == 2
    assert value(samples, "tutor_reply_seconds_count", kind="answer") == 2
    assert value(samples, "tutor_reply_seconds_sum", kind="answer") > 0
    assert value(samples, "tutor_errors_total", kind="people") == 1
    assert value(samples, "tutor_errors_total", kind="incident") == 1
    assert value(samples, "tutor_rate_limited_total", platform="test") == 0


def test_rate_limited_messages_are_counted_and_not_handled(offline, settings):
    chat = offline
    chat.tutor.rate = RateLimiter(limit=2, clock=lambda: 0.0)
    for n in range(5):
        chat.say(f"/stats {n}")
    server = serving(chat.tutor, settings)
    try:
        samples = scrape(server.port)
    finally:
        server.close()
    assert value(samples, "tutor_requests_total", platform="test", kind="command") == 2
    assert value(samples, "tutor_rate_limited_total", platform="test") == 3


def test_a_full_generation_queue_is_counted_as_rejections(home, embedder, settings):
    store = Store(home)
    retriever = Retriever(store, home / "index", embedder)
    retriever.open()
    backend = Scripted("The KV cache keeps keys and values [1].")
    tutor = Tutor(
        store=store,
        retriever=retriever,
        progress=Progress(home),
        # No room at all: every question is answered from the bank at once, and counted.
        engine=AnswerEngine(retriever, backend, max_generating=0, max_waiting=0),
        grader=Grader(OfflineGrader(retriever), backend),
        runs=None,
        telemetry=Telemetry(),
    )
    chat = Chat(tutor)
    try:
        chat.say("what is the KV cache?")
        chat.say("what is the KV cache?", user="bob")
        server = serving(tutor, settings)
        try:
            samples = scrape(server.port)
        finally:
            server.close()
    finally:
        chat.close()
    assert value(samples, "tutor_generation_rejected_total") == 2
    assert value(samples, "tutor_generation_queue_depth") == 0
    assert value(samples, "tutor_generation_tokens_total") == 0


def test_the_batch_schedulers_tokens_and_queue_are_read_when_scraped(home, embedder, settings):
    class Scheduler:
        tokens_generated = 1234
        tokens_per_s = 56.5
        rejected = 3
        waiting = (object(), object())

    backend = Scripted("")
    backend.scheduler = Scheduler()
    tutor = build(home, embedder, backend=backend)
    try:
        server = serving(tutor, settings)
        try:
            samples = scrape(server.port)
            Scheduler.tokens_generated = 1300  # read again at the next scrape, not cached
            again = scrape(server.port)
        finally:
            server.close()
    finally:
        tutor.close()
    assert value(samples, "tutor_generation_tokens_total") == 1234
    assert value(again, "tutor_generation_tokens_total") == 1300
    assert value(samples, "tutor_generation_tokens_per_second") == 56.5
    assert value(samples, "tutor_generation_rejected_total") == 3
    assert value(samples, "tutor_generation_queue_depth") == 2


def test_sandbox_runs_are_counted_by_outcome_with_their_duration(home, embedder, settings):
    box = Sandbox(Limits.load().with_(wall_seconds=10), python=PYTHON, pool_size=0)
    box.check()
    chat = Chat(build(home, embedder, sandbox=box))
    try:
        assert "42" in chat.say("/run print(6 * 7)").text
        chat.say("/run import sys; sys.exit(3)")
        server = serving(chat.tutor, settings)
        try:
            samples = scrape(server.port)
        finally:
            server.close()
    finally:
        chat.close()
    assert value(samples, "tutor_requests_total", platform="test", kind="run") == 2
    assert value(samples, "tutor_runs_total", outcome="ok") == 1
    assert value(samples, "tutor_runs_total", outcome="error") == 1
    assert value(samples, "tutor_runs_total", outcome="timeout") == 0
    assert value(samples, "tutor_run_seconds_count", outcome="ok") == 1
    assert value(samples, "tutor_runs_in_flight") == 0
    assert value(samples, "tutor_replies_total", kind="run") == 2


def _result(**changes) -> RunResult:
    fields = dict(
        stdout="",
        stderr="",
        exit_code=0,
        signal=None,
        timed_out=False,
        truncated=False,
        duration_ms=5.0,
    )
    return RunResult(**{**fields, **changes})


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (_result(), "ok"),
        (_result(truncated=True, limit="output"), "ok"),
        (_result(exit_code=1), "error"),
        (_result(exit_code=None, signal="SIGSEGV"), "error"),
        (_result(exit_code=None, timed_out=True, limit="time"), "timeout"),
        (_result(exit_code=None, signal="SIGXCPU", limit="cpu"), "timeout"),
        (_result(exit_code=None, signal="SIGKILL", limit="memory"), "memory"),
    ],
)
def test_a_runs_outcome_is_one_word(result, expected):
    assert outcome(result) == expected


class GatedRunner:
    """A runner whose run waits for the test's gate; `fail` makes runs raise instead."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.fail = fail

    def validate(self, code: str, lang: str) -> None:
        pass

    def run(self, code: str, lang: str = "python", *, user: str = "anonymous") -> RunResult:
        self.started.set()
        self.gate.wait(30)
        if self.fail is not None:
            raise self.fail
        return _result()

    def close(self) -> None:
        self.gate.set()


def test_refused_and_failed_runs_are_counted():
    metrics = RunMetrics()
    runner = GatedRunner()
    queue = RunQueue(runner, max_running=1, max_waiting=0)
    metrics.watch(queue)
    first = threading.Thread(target=queue.run, args=("ada", "print(1)"))
    first.start()
    assert runner.started.wait(30)
    assert metrics.registry.get_sample_value("tutor_runs_in_flight") == 1
    with pytest.raises(RunnerBusy):
        queue.run("ada", "print(2)")  # one at a time per user
    with pytest.raises(RunnerBusy):
        queue.run("bob", "print(3)")  # the queue is full
    runner.gate.set()
    first.join(30)
    broken = RunQueue(GatedRunner(fail=SandboxUnavailable("gone")), observer=metrics.observe)
    broken.sandbox.gate.set()
    with pytest.raises(SandboxUnavailable):
        broken.run("ada", "print(4)")
    counts = {
        o: metrics.registry.get_sample_value("tutor_runs_total", {"outcome": o})
        for o in ("ok", "busy", "failed")
    }
    assert counts == {"ok": 1, "busy": 2, "failed": 1}
    assert metrics.registry.get_sample_value("tutor_run_seconds_count", {"outcome": "busy"}) is None
    assert metrics.registry.get_sample_value("tutor_runs_in_flight") == 0


def test_two_tutors_keep_their_own_counts(home, embedder, offline, settings):
    other = Chat(build(home, embedder))
    try:
        offline.say("/help")
        offline.say("/help")
        other.say("/help")
        mine = offline.tutor.telemetry.registry
        theirs = other.tutor.telemetry.registry
        labels = {"platform": "test", "kind": "command"}
        assert mine.get_sample_value("tutor_requests_total", labels) == 2
        assert theirs.get_sample_value("tutor_requests_total", labels) == 1
    finally:
        other.close()


# -- /healthz ----------------------------------------------------------------------------------


def health_of(tutor, settings: Settings) -> tuple[int, dict]:
    server = serving(tutor, settings)
    try:
        status, body = fetch(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        server.close()
    return status, json.loads(body)


def test_healthz_is_200_when_the_tutor_can_answer(offline, settings):
    status, body = health_of(offline.tutor, settings)
    assert status == 200
    assert body["status"] == "ok"
    assert body["checks"] == {
        "database": "ok",
        "index": "ok",
        "model": "ok (none: extractive answers)",
    }


def test_healthz_is_503_when_the_index_is_missing(offline, settings, home):
    (home / "index" / "meta.json").unlink()
    status, body = health_of(offline.tutor, settings)
    assert status == 503
    assert body["status"] == "unavailable"
    assert "search index is missing" in body["reason"]
    assert body["checks"]["database"] == "ok"


def test_healthz_is_503_when_a_wanted_model_did_not_load(offline, home):
    wanted = Settings(home=home, llm_model="Qwen/Qwen2.5-0.5B-Instruct", llm_url="")
    status, body = health_of(offline.tutor, wanted)
    assert status == 503
    assert "language model did not load" in body["checks"]["model"]


def test_healthz_names_a_loaded_model(home, embedder, settings):
    tutor = build(home, embedder, backend=Scripted("hi"))
    try:
        status, body = health_of(tutor, settings)
    finally:
        tutor.close()
    assert (status, body["checks"]["model"]) == (200, "ok (scripted)")


def test_healthz_is_503_when_the_database_cannot_be_opened(offline, settings, tmp_path):
    offline.tutor.store.path = tmp_path / "nowhere" / "tutor.db"
    status, body = health_of(offline.tutor, settings)
    assert status == 503
    assert "cannot be opened" in body["checks"]["database"]


def test_runner_health_is_503_without_the_sandboxs_python(tmp_path):
    box = Sandbox(python=str(tmp_path / "no-python"), pool_size=0)
    try:
        server = MetricsServer(RunMetrics().registry, runner_health(box), 0).start()
        try:
            status, body = fetch(f"http://127.0.0.1:{server.port}/healthz")
        finally:
            server.close()
    finally:
        box.close()
    assert status == 503
    assert "Python" in json.loads(body)["reason"]


# -- the setting and the server ------------------------------------------------------------------


def test_an_empty_metrics_port_serves_nothing(monkeypatch):
    monkeypatch.setenv("TUTOR_METRICS_PORT", "")
    assert Settings().metrics_port is None
    monkeypatch.setenv("TUTOR_METRICS_PORT", "9464")
    assert Settings().metrics_port == 9464
    stop = serve_metrics(None, RunMetrics().registry, lambda: Health(True, {}))
    stop()


def test_a_metrics_port_in_use_is_a_one_line_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(TutorError, match="TUTOR_METRICS_PORT"):
            serve_metrics(port, RunMetrics().registry, lambda: Health(True, {}))


def test_other_paths_are_not_found(offline, settings):
    server = serving(offline.tutor, settings)
    try:
        status, _ = fetch(f"http://127.0.0.1:{server.port}/")
    finally:
        server.close()
    assert status == 404


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runner_serves_metrics_and_healthz(tmp_path):
    from runner.service import RemoteRunner

    port = free_port()
    env = {
        **os.environ,
        "TUTOR_RUNNER_PYTHON": PYTHON,
        "TUTOR_RUNNER_SECRET": SECRET,
        "TUTOR_RUNNER_URL": "",
        "TUTOR_METRICS_PORT": str(port),
    }
    tutor = str(Path(sys.executable).with_name("tutor"))
    proc = subprocess.Popen(
        [tutor, "--data-dir", str(tmp_path), "serve", "runner", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        said = [proc.stderr.readline(), proc.stderr.readline()]
        assert said[0] == f"metrics on http://127.0.0.1:{port}/metrics and /healthz\n", said
        assert said[1].startswith("runner service on http://127.0.0.1:"), said
        url = said[1].split()[-1].removesuffix("/run")

        status, body = fetch(f"http://127.0.0.1:{port}/healthz")
        assert (status, json.loads(body)) == (
            200,
            {"status": "ok", "checks": {"sandbox": "ok"}},
        )
        assert RemoteRunner(url, SECRET).run("print(6 * 7)").stdout == "42\n"
        samples = scrape(port)
        assert value(samples, "tutor_runs_total", outcome="ok") == 1
        assert value(samples, "tutor_run_seconds_count", outcome="ok") == 1
        assert value(samples, "tutor_runs_in_flight") == 0
        assert not any(name.startswith("tutor_requests") for name, _ in samples)

        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err


def test_the_batch_scheduler_counts_its_tokens_and_refusals(tiny_model):  # noqa: F811
    import torch
    from transformers import AutoModelForCausalLM

    from bot.llm.base import GenerationError
    from bot.llm.model_step import ModelStep
    from bot.llm.scheduler import BatchScheduler

    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    scheduler = BatchScheduler(ModelStep(model, slots=2, max_len=64), eos=set())
    try:
        first = scheduler.submit([5, 17, 42], 6, lambda token: None)
        second = scheduler.submit([7, 7], 4, lambda token: None)
        assert first.done.wait(60) and second.done.wait(60)
        assert scheduler.tokens_generated == 10
        scheduler.max_waiting = 0  # the queue is full from now on
        with pytest.raises(GenerationError, match="busy"):
            scheduler.submit([1, 2], 4, lambda token: None)
        assert scheduler.rejected == 1
    finally:
        scheduler.close()


def test_serve_slack_counts_a_mention_by_platform_and_is_healthy(home):
    from tests.bot.adapters.slack_api import SlackAPI
    from tests.bot.app.test_serve import BOT_TOKEN, SIGNING, clean_env, mention

    api = SlackAPI()
    port, metrics_port = free_port(), free_port()
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING,
        TUTOR_SLACK_API_URL=api.url,
        TUTOR_METRICS_PORT=str(metrics_port),
    )
    command = ["serve", "slack", "--http", "--host", "127.0.0.1", "--port", str(port)]
    tutor = str(Path(sys.executable).with_name("tutor"))
    proc = subprocess.Popen(
        [tutor, "--data-dir", str(home), *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        said = [proc.stderr.readline()]  # metrics first, then (after any warning) the bot
        while not said[-1].startswith("Slack bot on") and len(said) < 20 and said[-1]:
            said.append(proc.stderr.readline())
        assert said[0] == f"metrics on http://127.0.0.1:{metrics_port}/metrics and /healthz\n"
        assert said[-1].startswith("Slack bot on"), said

        status, body = fetch(f"http://127.0.0.1:{metrics_port}/healthz")
        assert status == 200, body
        assert json.loads(body)["checks"]["model"] == "ok (none: extractive answers)"
        assert mention(f"http://127.0.0.1:{port}/slack/events") == 200
        api.wait_for(lambda calls: any("KV cache" in str(c.body.get("text")) for c in calls))
        # The reply is posted, then counted: wait for the count (each scrape is a round trip).
        deadline = time.monotonic() + 30
        samples = scrape(metrics_port)
        while value(samples, "tutor_replies_total", kind="answer") < 1:
            assert time.monotonic() < deadline, samples
            samples = scrape(metrics_port)
        assert value(samples, "tutor_requests_total", platform="slack", kind="question") == 1
        assert value(samples, "tutor_replies_total", kind="answer") == 1
        assert value(samples, "tutor_errors_total", kind="incident") == 0
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        api.close()
    assert "Traceback" not in err
