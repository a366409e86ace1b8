"""In-process generation with transformers: any causal LM by hub name or local folder (or a
.gguf file), bf16 on CUDA when present, float32 on CPU; the tokenizer's chat template."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.llm.base import (
    GREEDY,
    Emit,
    GenerationError,
    Message,
    Sampling,
    cut_at_stops,
    stream_from_thread,
)
from bot.llm.tokens import Detokenizer, GuardedTokenizer

if TYPE_CHECKING:
    from bot.llm.scheduler import BatchScheduler

log = logging.getLogger("tutor.llm")


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    """No progress bar on the terminal while a .gguf file is converted at load: transformers
    draws it with tqdm directly, outside its own progress-bar switch."""
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_loading
    except ImportError:  # another transformers layout: a bar is noise, not an error
        yield
        return
    drawn = getattr(gguf_loading, "tqdm", None)
    if drawn is None:
        yield
        return
    gguf_loading.tqdm = functools.partial(drawn, disable=True)
    try:
        yield
    finally:
        gguf_loading.tqdm = drawn


class TransformersBackend:
    """A Hugging Face causal LM, loaded on first use, greedy unless asked to sample: many
    chats at once through the batch scheduler (`batch` > 0, Qwen2/Llama-family models), else
    one at a time with transformers' generate in a worker thread."""

    def __init__(
        self, model: str, *, device: str | None = None, batch: int = 0, max_len: int = 4096
    ) -> None:
        self.name = model
        self.device = device
        self.batch = batch
        self.max_len = max_len
        self.scheduler: BatchScheduler | None = None
        self._model: Any = None
        self._tokenizer: GuardedTokenizer | None = None
        self._lock = threading.Lock()
        self._generate = threading.Lock()  # one generate at a time on one model

    def load(self) -> None:
        """Load the model and tokenizer (idempotent); GenerationError with the reason."""
        with self._lock:
            if self._model is not None:
                return
            try:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer
                from transformers.utils import logging as hf_logging

                hf_logging.set_verbosity_error()
                hf_logging.disable_progress_bar()
                device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
                dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
                kwargs: dict[str, Any] = {}
                source = self.name
                if source.endswith(".gguf") and Path(source).is_file():
                    kwargs["gguf_file"] = Path(source).name
                    source = str(Path(source).parent)
                if source.startswith(("/", ".", "~")) and not Path(source).expanduser().exists():
                    raise GenerationError(
                        f"the language model folder {source} does not exist; check TUTOR_LLM_MODEL"
                    )
                if not Path(source).exists() and not _cached(source):
                    _reach_hub(self.name)
                with _quiet_progress():  # a .gguf's conversion draws its own progress bar
                    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
                    model: Any = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **kwargs)
                model.to(device).eval()
            except GenerationError:
                raise
            except Exception as exc:  # the library raises many kinds; all mean "cannot load"
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise GenerationError(
                    f"cannot load the language model {self.name!r} ({first[:200]})"
                ) from None
            self._tokenizer = GuardedTokenizer(tokenizer)
            self._model, self.device = model, device
            self.scheduler = self._scheduler(model, tokenizer)

    def _scheduler(self, model: Any, tokenizer: Any) -> BatchScheduler | None:
        """The batch scheduler for the model, or None (not asked for, or not supported)."""
        if self.batch <= 0:
            return None
        from bot.llm.model_step import SUPPORTED, ModelStep
        from bot.llm.scheduler import BatchScheduler

        if getattr(model.config, "model_type", "") not in SUPPORTED:
            return None
        eos = model.generation_config.eos_token_id
        if eos is None:
            eos = tokenizer.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        limit = getattr(model.config, "max_position_embeddings", self.max_len) or self.max_len
        slots, max_len = _fitting_cache(model, self.batch, min(limit, self.max_len))
        step = ModelStep(model, slots=slots, max_len=max_len)
        log.info(
            "KV cache: %d chats of %d tokens, %.2f GiB",
            slots,
            max_len,
            step.cache.bytes / 2**30,
        )
        return BatchScheduler(step, eos=eos_ids)

    def prompt_ids(self, messages: list[Message]) -> Any:
        """Token ids of the chat, through the tokenizer's chat template."""
        assert self._tokenizer is not None
        return self._tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )

    async def stream(
        self,
        messages: list[Message],
        *,
        max_new_tokens: int = 512,
        cancel: asyncio.Event | None = None,
        sampling: Sampling | None = None,
    ) -> AsyncIterator[str]:
        """Generation streamed chunk by chunk, greedy unless `sampling` says otherwise, cut
        before its first stop string; setting `cancel` stops it."""
        sampling = sampling or GREEDY
        chunks = self._chunks(messages, max_new_tokens, cancel, sampling)
        async for chunk in cut_at_stops(chunks, sampling.stop) if sampling.stop else chunks:
            yield chunk

    async def _chunks(
        self,
        messages: list[Message],
        max_new_tokens: int,
        cancel: asyncio.Event | None,
        sampling: Sampling,
    ) -> AsyncGenerator[str, None]:
        await asyncio.to_thread(self.load)
        if self.scheduler is not None:
            async for chunk in stream_from_thread(
                lambda emit, stop: self._batched(messages, max_new_tokens, emit, stop, sampling),
                cancel,
                _as_generation_error,
            ):
                yield chunk
            return
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        # Its decode calls run on the generate thread while other chats tokenize theirs.
        # The guard stands in for the tokenizer: the streamer only calls its decode.
        guarded: Any = self._tokenizer
        streamer = TextIteratorStreamer(guarded, skip_prompt=True, skip_special_tokens=True)

        def work(emit: Emit, stop: threading.Event) -> None:
            class Cancelled(StoppingCriteria):
                def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                    return stop.is_set()

            inputs = self.prompt_ids(messages).to(self.device)
            worker = _Worker(
                target=self._run,
                args=(
                    inputs,
                    streamer,
                    max_new_tokens,
                    StoppingCriteriaList([Cancelled()]),
                    sampling,
                ),
                daemon=True,
            )
            worker.start()
            for text in streamer:
                if text:
                    emit(text)
            worker.join()
            if worker.error is not None:
                raise worker.error

        async for chunk in stream_from_thread(work, cancel, _as_generation_error):
            yield chunk

    async def classify(
        self, messages: list[Message], questions: list[str], labels: tuple[str, ...]
    ) -> list[dict[str, float]]:
        """Labels read off the logits instead of generated: each question is asked on its own
        as the next user message of the chat, and for each, the probability of every label as
        the first token of the reply (a softmax over the labels' first tokens). The chat is
        read once and its cache reused for every question: a classification costs a few short
        forward passes and no decoding, and its answer is always one of the labels."""
        await asyncio.to_thread(self.load)
        try:
            return await asyncio.to_thread(self._classify, messages, questions, labels)
        except Exception as exc:
            raise _as_generation_error(exc) from None

    def _classify(
        self, messages: list[Message], questions: list[str], labels: tuple[str, ...]
    ) -> list[dict[str, float]]:
        import torch
        from transformers import DynamicCache

        assert self._tokenizer is not None
        tokenizer = self._tokenizer
        firsts = [tokenizer.encode(label, add_special_tokens=False)[:1] for label in labels]
        if any(not f for f in firsts) or len({f[0] for f in firsts}) != len(labels):
            raise GenerationError(f"labels {labels!r} do not start with distinct tokens")
        first_ids = [f[0] for f in firsts]
        chat = tokenizer.apply_chat_template(messages, tokenize=False)
        # transformers 5 renamed the argument; older releases (>= 4.56 is allowed) know only
        # the first name.
        forward = inspect.signature(self._model.forward).parameters
        cache_arg = "cache" if "cache" in forward else "past_key_values"
        cache = DynamicCache()
        read: int | None = None  # tokens of the chat in the cache, once read
        found: list[dict[str, float]] = []
        with torch.inference_mode():
            for question in questions:
                asked = [*messages, {"role": "user", "content": question}]
                text = tokenizer.apply_chat_template(
                    asked, tokenize=False, add_generation_prompt=True
                )
                if not text.startswith(chat):  # a template that rewrites earlier turns
                    ids = tokenizer.encode(text, add_special_tokens=False)
                    logits = self._forward(ids, DynamicCache(), cache_arg)
                else:
                    if read is None:
                        ids = tokenizer.encode(chat, add_special_tokens=False)
                        if ids:
                            self._forward(ids, cache, cache_arg)
                        read = len(ids)
                    elif cache.get_seq_length() > read:  # drop the last question
                        cache.crop(read - cache.get_seq_length())
                    ids = tokenizer.encode(text[len(chat) :], add_special_tokens=False)
                    logits = self._forward(ids, cache, cache_arg)
                probs = torch.softmax(logits[first_ids].float(), dim=-1).tolist()
                found.append(dict(zip(labels, probs, strict=True)))
        return found

    def _forward(self, ids: list[int], cache: Any, cache_arg: str) -> Any:
        """The next-token logits after `ids`, read on from what `cache` holds."""
        import torch

        tensor = torch.tensor([ids], device=self.device)
        out = self._model(input_ids=tensor, use_cache=True, **{cache_arg: cache})
        return out.logits[0, -1]

    def _batched(
        self,
        messages: list[Message],
        max_new_tokens: int,
        emit: Emit,
        stop: threading.Event,
        sampling: Sampling = GREEDY,
    ) -> None:
        """One chat through the scheduler: its tokens come back on a queue and are turned
        into text here, off the scheduler's thread."""
        import queue

        ids = self.prompt_ids(messages)["input_ids"][0].tolist()
        tokens: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        assert self.scheduler is not None
        request = self.scheduler.submit(ids, max_new_tokens, tokens.put, stop, sampling)

        def end_when_done() -> None:
            request.done.wait()
            tokens.put(None)

        threading.Thread(target=end_when_done, daemon=True).start()
        assert self._tokenizer is not None
        text = Detokenizer(self._tokenizer)
        while (token := tokens.get()) is not None:
            piece = text.push(token)
            if piece and not emit(piece):
                stop.set()
        tail = text.flush()
        if tail:
            emit(tail)
        if request.error is not None:
            raise request.error

    def close(self) -> None:
        """Stop the batch scheduler, if one runs."""
        if self.scheduler is not None:
            self.scheduler.close()

    def _run(
        self,
        inputs: Any,
        streamer: Any,
        max_new_tokens: int,
        stopping: Any,
        sampling: Sampling = GREEDY,
    ) -> None:
        import torch

        options: dict[str, Any] = {"do_sample": sampling.temperature > 0}
        if sampling.temperature > 0:
            options.update(temperature=sampling.temperature, top_p=sampling.top_p)
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)
        if sampling.repetition_penalty != 1.0:
            options["repetition_penalty"] = sampling.repetition_penalty

        thread = threading.current_thread()
        assert self._tokenizer is not None
        try:
            with self._generate, torch.inference_mode():
                self._model.generate(
                    **inputs,
                    max_new_tokens=max_new_tokens,
                    streamer=streamer,
                    stopping_criteria=stopping,
                    pad_token_id=self._tokenizer.pad_token_id or self._tokenizer.eos_token_id,
                    **options,
                )
        except BaseException as exc:
            if isinstance(thread, _Worker):
                thread.error = exc
            streamer.end()


class _Worker(threading.Thread):
    """The thread `generate` runs on, keeping what it raised for the caller."""

    error: BaseException | None = None


def _fitting_cache(model: Any, most: int, max_len: int) -> tuple[int, int]:
    """Slots and length of the KV cache that fit, now that the weights are loaded (at most
    `most` slots of `max_len`): on a GPU in its free memory; on a CPU in a share of the memory
    available, with no more chats than its cores can serve."""
    import torch

    from bot.llm.kv_cache import available_memory, cache_plan, cores, cpu_cache_plan

    config = model.config
    heads = config.num_attention_heads
    device = next(model.parameters()).device
    shape = {
        "layers": config.num_hidden_layers,
        "kv_heads": getattr(config, "num_key_value_heads", None) or heads,
        "head_dim": getattr(config, "head_dim", None) or config.hidden_size // heads,
        "dtype_bytes": next(model.parameters()).element_size(),
    }
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        slots, length = cache_plan(free, most=most, max_len=max_len, **shape)
        where = "GPU"
    else:
        slots, length = cpu_cache_plan(
            available_memory(), cores(), most=most, max_len=max_len, **shape
        )
        where = "available"
    if slots < 1:
        raise GenerationError(
            f"not enough free {where} memory for the language model's KV cache; "
            "free some or choose a smaller TUTOR_LLM_MODEL"
        )
    return slots, length


def _cached(name: str) -> bool:
    """Whether a hub model's config is already in the local cache."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:
        return False


def _reach_hub(name: str) -> None:
    """Fail in seconds, not after the hub client's minute of retries, when there is no network."""
    import os
    import socket
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or ""
    try:
        socket.create_connection((host, 443), timeout=3).close()
    except OSError:
        raise GenerationError(
            f"the language model {name!r} is not downloaded and {host} cannot be reached; "
            "set TUTOR_LLM_MODEL to a local folder, or to none"
        ) from None


def _as_generation_error(exc: BaseException) -> BaseException:
    if isinstance(exc, GenerationError):
        return exc
    if "out of memory" in str(exc).lower():
        return GenerationError(
            "the model ran out of GPU memory on this question; try a shorter one"
        )
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return GenerationError(f"the language model failed ({first[:200]})")
