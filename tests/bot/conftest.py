"""A tutor core over the real store, retriever (offline model), sandbox and a scripted model,
and a chat helper that talks to it the way an adapter does."""

from __future__ import annotations

import asyncio
import fcntl
import os
import random
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.conversation import Incoming, Place, RecordingOutbox
from bot.core.tutor import Tutor
from bot.tutoring.answering import AnswerEngine
from bot.tutoring.grading import Grader, OfflineGrader
from bot.tutoring.quiz import QuizMaster
from bot.tutoring.spacing import Spacing
from knowledge.ingest import STARTER_DIR, ingest
from knowledge.progress import Progress
from knowledge.store import Store
from retriever.search import Retriever
from runner.dispatch import RunQueue
from runner.sandbox import DEFAULT_PYTHON, Limits, Sandbox

PYTHON = os.environ.get("TUTOR_RUNNER_PYTHON", DEFAULT_PYTHON)


class Scripted:
    """A language model that replies with fixed text and records what it was given."""

    name = "scripted"

    def __init__(self, reply: str = "") -> None:
        self.reply = reply
        self.seen: list = []
        self.closed = False

    def load(self) -> None:
        """Nothing to load."""

    def close(self) -> None:
        self.closed = True

    async def stream(self, messages, *, max_new_tokens=512, cancel=None) -> AsyncIterator[str]:
        self.seen.append(messages)
        reply = self.reply(messages) if callable(self.reply) else self.reply
        for word in reply.split(" "):
            yield word + " "


@pytest.fixture(scope="session")
def built_home(tmp_path_factory, embedder, request) -> Path:
    """A data dir with the starter bank ingested and indexed, built once per run (the first
    xdist worker to get here builds it, the others copy it): tests read it or copy it (`home`),
    never write to it."""
    home = tmp_path_factory.mktemp("home")
    run = getattr(request.config, "workerinput", {}).get("testrunuid")
    if run is None:  # one process: build it here
        _build_home(home, embedder)
        return home
    shared = tmp_path_factory.getbasetemp().parent / f"starter-home-{run}"
    with (shared.parent / f"{shared.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the builder holds it until the bank is complete
        if not (shared / "complete").exists():
            _build_home(shared, embedder)
            (shared / "complete").touch()
    shutil.copytree(shared, home, dirs_exist_ok=True, ignore=shutil.ignore_patterns("complete"))
    return home


def _build_home(home: Path, embedder) -> None:
    home.mkdir(parents=True, exist_ok=True)
    store = Store(home)
    ingest(store, [STARTER_DIR], max_bytes=10**7)
    retriever = Retriever(store, home / "index", embedder)
    retriever.sync()
    retriever.close()
    store.close()


@pytest.fixture
def home(built_home, tmp_path) -> Path:
    """A fresh copy of the built data dir for one test."""
    target = tmp_path / "home"
    shutil.copytree(built_home, target)
    return target


@pytest.fixture
def sandbox():
    # One per test: the tutor owns its runner and closing the tutor ends it, as in production.
    box = Sandbox(Limits.load().with_(wall_seconds=10), python=PYTHON, pool_size=0)
    box.check()  # CI installs the sandbox (make sandbox): a missing one fails, never skips
    yield box
    box.close()


class Chat:
    """Talks to a tutor core as an adapter would, on one event loop."""

    def __init__(self, tutor: Tutor) -> None:
        self.tutor = tutor
        self.loop = asyncio.new_event_loop()

    def say(
        self,
        text: str,
        *,
        user: str = "ada",
        channel: str = "general",
        thread: str = "",
        workspace: str = "team",
        reply_thread: str = "",
    ) -> RecordingOutbox:
        """Send one message; the outbox holds the replies."""
        out = RecordingOutbox(thread=reply_thread)
        message = Incoming(user, Place("test", workspace, channel, thread), text, name=user)
        self.loop.run_until_complete(self.tutor.handle(message, out))
        return out

    def close(self) -> None:
        self.tutor.close()
        self.loop.close()


def build(home: Path, embedder, *, backend=None, sandbox=None) -> Tutor:
    """A tutor core over a data dir."""
    store = Store(home)
    retriever = Retriever(store, home / "index", embedder)
    retriever.open()
    progress = Progress(home)
    return Tutor(
        store=store,
        retriever=retriever,
        progress=progress,
        engine=AnswerEngine(retriever, backend),
        grader=Grader(OfflineGrader(retriever), backend),
        runs=RunQueue(sandbox) if sandbox is not None else None,
        spacing=Spacing(fuzz=False),
        quizmaster=QuizMaster(store, retriever, progress, random.Random(7)),
    )


@pytest.fixture
def chat(home, embedder, sandbox):
    """A chat with an offline tutor (no language model) and the real sandbox."""
    c = Chat(build(home, embedder, sandbox=sandbox))
    yield c
    c.loop.close()
    c.tutor.retriever.close()
    c.tutor.progress.close()
    c.tutor.store.close()
