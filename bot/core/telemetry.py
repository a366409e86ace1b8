"""What an operator watches: the tutor's counters, gauges and histograms.

Each `Telemetry` (and each `RunMetrics`) records into a Prometheus registry of its own, never the
global default, so one process holds one and tests build several side by side; `bot.app.metrics`
serves it. The model and the rules layers may not import the core: they keep plain counts
(`AnswerEngine.rejected`, `BatchScheduler.tokens_generated`, …) that are read here when scraped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.core.conversation import OnPosted, Outbox, Reply, ReplyStream, Sent

if TYPE_CHECKING:
    from bot.tutoring.answering import AnswerEngine
    from runner.dispatch import RunQueue

# The commands counted under their own kind; every other one (help, stats, hint, …) is "command".
REQUEST_KINDS = {"ask": "question", "quiz": "quiz", "answer": "answer", "run": "run"}
ERROR_KINDS = ("incident", "people")
RUN_OUTCOMES = ("ok", "error", "timeout", "memory", "busy", "failed")
# A reply can take a while: retrieval, then a model writing up to its token budget.
REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
RUN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)


def request_kind(command: str) -> str:
    """The kind a request is counted under, from its command's name."""
    return REQUEST_KINDS.get(command, "command")


class RunMetrics:
    """Sandbox runs by outcome and how long they took; a `RunQueue`'s observer."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.runs = Counter(
            "tutor_runs",
            "Sandbox runs by outcome: ok, error (non-zero exit or signal), timeout, memory, "
            "busy (refused, queue full or one already running) or failed (the runner failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "tutor_run_seconds",
            "Seconds from a run's admission to its result, waiting for a slot included.",
            ["outcome"],
            buckets=RUN_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "tutor_runs_in_flight",
            "Runs running or waiting for a sandbox slot now.",
            registry=self.registry,
        )
        for outcome in RUN_OUTCOMES:
            self.runs.labels(outcome)  # present at 0, so rates and alerts see them

    def observe(self, outcome: str, seconds: float) -> None:
        """Count one run (the `RunQueue` observer); refused runs have no duration."""
        self.runs.labels(outcome).inc()
        if outcome != "busy":
            self.seconds.labels(outcome).observe(seconds)

    def watch(self, queue: RunQueue[Any]) -> None:
        """Observe a run queue: its runs, and how many it holds when scraped."""
        if queue.observer is None:
            queue.observer = self.observe
        self.in_flight.set_function(lambda: queue.admitted)


class Telemetry:
    """The tutor core's metrics: requests, replies, their latency, errors, rate limiting, the
    language model's queue and tokens, and the sandbox runs."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "tutor_requests",
            "Messages handled, by platform and kind (question, quiz, answer, run, command).",
            ["platform", "kind"],
            registry=self.registry,
        )
        self.replies = Counter(
            "tutor_replies",
            "Replies posted, by kind (answer, quiz, grade, run, error, help, info).",
            ["kind"],
            registry=self.registry,
        )
        self.reply_seconds = Histogram(
            "tutor_reply_seconds",
            "Seconds from a message's arrival to each reply to it being posted, by reply kind.",
            ["kind"],
            buckets=REPLY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "tutor_errors",
            "Failed messages: people (a one-line reason was shown) or incident (logged with an "
            "id, the user was shown the id).",
            ["kind"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "tutor_rate_limited",
            "Messages dropped by the per-user rate limit, by platform.",
            ["platform"],
            registry=self.registry,
        )
        for kind in ERROR_KINDS:
            self.errors.labels(kind)
        self.runs = RunMetrics(self.registry)

    def requested(self, platform: str, command: str) -> None:
        """Count a message that reached its handler (`command`: its command's name)."""
        self.requests.labels(platform, request_kind(command)).inc()

    def limited(self, platform: str) -> None:
        """Count a message the rate limit dropped."""
        self.rate_limited.labels(platform).inc()

    def failed(self, kind: str) -> None:
        """Count a failed message: "people" or "incident"."""
        self.errors.labels(kind).inc()

    def watch_engine(self, engine: AnswerEngine) -> None:
        """Read the answer engine's queue and its model's tokens whenever scraped."""
        self.registry.register(_Generation(engine))

    def outbox(self, out: Outbox) -> MeteredOutbox:
        """`out`, counting and timing the replies of a message that arrives now."""
        return MeteredOutbox(out, self, time.monotonic())


class MeteredOutbox:
    """An outbox that counts each reply and how long after the message it was posted."""

    def __init__(self, out: Outbox, telemetry: Telemetry, started: float) -> None:
        self.out = out
        self.telemetry = telemetry
        self.started = started

    async def send(self, reply: Reply) -> Sent:
        """Post a reply, then count it."""
        sent = await self.out.send(reply)
        self.posted(reply)
        return sent

    def stream(self, on_posted: OnPosted | None = None) -> MeteredStream:
        """A streamed reply, counted when it is closed."""
        return MeteredStream(self, self.out.stream(on_posted=on_posted))

    def posted(self, reply: Reply) -> None:
        """Count one posted reply."""
        self.telemetry.replies.labels(reply.kind).inc()
        elapsed = time.monotonic() - self.started
        self.telemetry.reply_seconds.labels(reply.kind).observe(elapsed)


class MeteredStream:
    """A streamed reply over the adapter's, counted once it is complete."""

    def __init__(self, box: MeteredOutbox, inner: ReplyStream) -> None:
        self.box = box
        self.inner = inner

    def write(self, text: str) -> None:
        """Append text."""
        self.inner.write(text)

    async def close(self, reply: Reply) -> Sent:
        """Finish the reply, then count it."""
        sent = await self.inner.close(reply)
        self.box.posted(reply)
        return sent


class _Generation(Collector):
    """The language model's side, read from the engine and its backend's scheduler."""

    def __init__(self, engine: AnswerEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        engine = self.engine
        scheduler = getattr(engine.backend, "scheduler", None)
        waiting = max(0, engine.admitted - engine.max_generating)
        rejected = engine.rejected
        tokens, speed = 0, 0.0
        if scheduler is not None:
            waiting += len(scheduler.waiting)
            rejected += scheduler.rejected
            tokens, speed = scheduler.tokens_generated, scheduler.tokens_per_s
        yield GaugeMetricFamily(
            "tutor_generation_queue_depth",
            "Answers waiting for the language model (for a slot, or in the batch's queue).",
            value=waiting,
        )
        yield GaugeMetricFamily(
            "tutor_generation_active",
            "Answers the language model is writing now.",
            value=min(engine.admitted, engine.max_generating),
        )
        yield CounterMetricFamily(
            "tutor_generation_rejected",
            "Generations refused because the model's queue was full (answered from the bank).",
            value=rejected,
        )
        yield CounterMetricFamily(
            "tutor_generation_tokens",
            "Tokens the in-process model generated (batched serving; 0 for a model server).",
            value=tokens,
        )
        yield GaugeMetricFamily(
            "tutor_generation_tokens_per_second",
            "Tokens per second of the latest batched decoding step; 0 while idle.",
            value=speed,
        )
