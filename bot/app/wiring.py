"""Building the parts from the settings: the one place that knows which class serves what."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.app.hardware import AUTO, NONE, SERVER_MODEL, resolve_model
from bot.app.settings import Settings
from bot.llm.base import Sampling

if TYPE_CHECKING:
    from bot.core.tutor import Tutor
    from bot.llm.base import Backend
    from bot.tutoring.answer_check import AnswerCheck
    from knowledge.store import Store
    from retriever.search import Retriever
    from runner.protocol import Runner
    from runner.sandbox import Sandbox


def open_store(settings: Settings) -> Store:
    """The bank's database in the data dir."""
    from knowledge.store import Store

    return Store(settings.home)


def build_retriever(settings: Settings, store: Store) -> Retriever:
    """A retriever over the store, with the configured embedding model (loaded on first use)."""
    from retriever.embed import open_embedder
    from retriever.search import Retriever

    return Retriever(
        store,
        settings.index_dir,
        open_embedder(settings.embed_model),
        ann_threshold=settings.ann_threshold,
    )


def build_sandbox(settings: Settings, *, warm: bool = True) -> Sandbox:
    """The sandbox that runs snippets, with the configured interpreter and limits; `warm`
    keeps started jails ready (for long-lived processes, not a one-shot command)."""
    from runner.sandbox import Limits, Sandbox

    limits = Limits.load(settings.runner_limits) if settings.runner_limits else Limits.load()
    return Sandbox(limits, python=settings.runner_python, pool_size=2 if warm else 0)


def build_runner(settings: Settings, *, warm: bool = True) -> Runner:
    """What runs snippets: the runner services when some are set (a comma-separated list),
    else the local sandbox."""
    urls = [url.strip() for url in settings.runner_url.split(",") if url.strip()]
    if urls:
        from runner.balance import RemoteRunners

        return RemoteRunners(urls, settings.runner_secret.get_secret_value())
    return build_sandbox(settings, warm=warm)


def build_backend(settings: Settings) -> Backend | None:
    """The language model: a server when TUTOR_LLM_URL is set, the in-process model otherwise,
    or None for extractive answers."""
    if settings.llm_url:
        from bot.llm.openai import OpenAIBackend

        key = settings.llm_api_key.get_secret_value()
        # The server's model is not this machine's to choose: auto keeps the small default name.
        name = SERVER_MODEL if settings.llm_model.strip().lower() == AUTO else settings.llm_model
        return OpenAIBackend(settings.llm_url, name, api_key=key)
    model = resolve_model(settings.llm_model)
    if model.strip().lower() in ("", NONE):
        return None
    from bot.llm.hf import TransformersBackend

    return TransformersBackend(model, batch=settings.llm_batch)


def answer_check(settings: Settings, retriever: Retriever) -> AnswerCheck | None:
    """The check every model answer passes before it is kept (None when switched off)."""
    from bot.tutoring.answer_check import AnswerCheck
    from bot.tutoring.grading import OfflineGrader

    return AnswerCheck(OfflineGrader(retriever)) if settings.answer_check else None


def answer_sampling(settings: Settings) -> Sampling:
    """How answers choose their tokens (the grading judge is always greedy)."""
    return Sampling(
        temperature=settings.llm_temperature,
        top_p=settings.llm_top_p,
        repetition_penalty=settings.llm_repetition_penalty,
        stop=tuple(settings.llm_stop),
    )


def load_backend(settings: Settings, warn: Any = None) -> Backend | None:
    """The language model, loaded now; None (extractive answers, offline grading) when there
    is none configured or it cannot be loaded, with the reason given to `warn`."""
    from bot.llm.base import GenerationError

    backend = build_backend(settings)
    if backend is not None:
        try:
            backend.load()
        except GenerationError as exc:
            if warn is not None:
                warn(f"{exc}; answering from the bank's key points and grading offline")
            return None
    return backend


def warm_up(retriever: Retriever) -> None:
    """One search in each language, so the one-time set-up (loading the embedding model,
    jieba's dictionary) happens before a front end takes requests: done on the first learner's
    request, it holds the GIL for about a second and stalls every acknowledgement."""
    from retriever.errors import RetrieverError

    for query in ("what is attention in a transformer", "什么是注意力机制"):
        try:
            retriever.search(query, 1)
        except RetrieverError:
            return  # an empty bank or no index yet: nothing to warm


def build_tutor(settings: Settings, *, warn: Any = None, rate_limited: bool = True) -> Tutor:
    """The tutor core with every part it needs, built from the settings (`rate_limited`: the
    per-user limit of the bots; the local chat has one user and none)."""
    from bot.core.ratelimit import RateLimiter
    from bot.core.tutor import ReplyLimits, Tutor
    from bot.tutoring.answering import AnswerEngine
    from bot.tutoring.grading import Grader, OfflineGrader
    from knowledge.progress import Progress
    from runner.dispatch import RunQueue

    store = open_store(settings)
    retriever = build_retriever(settings, store)
    retriever.open()
    warm_up(retriever)
    backend = load_backend(settings, warn)
    runs = RunQueue(
        build_runner(settings),
        max_running=settings.runner_workers,
        max_waiting=settings.runner_queue,
    )
    return Tutor(
        store=store,
        retriever=retriever,
        progress=Progress(settings.home),
        engine=AnswerEngine(
            retriever,
            backend,
            max_generating=max(4, settings.llm_batch),
            sampling=answer_sampling(settings),
            check=answer_check(settings, retriever),
        ),
        grader=Grader(OfflineGrader(retriever), backend, route=settings.judge_route),
        runs=runs,
        limits=ReplyLimits(
            max_new_tokens=settings.llm_max_new_tokens, max_bank_bytes=settings.max_file_bytes
        ),
        rate=RateLimiter(limit=settings.rate_per_minute if rate_limited else 10**9),
        gaps_days=settings.gaps_days,
    )
