"""Any OpenAI-compatible chat server (vLLM, SGLang, llama.cpp server, Ollama), streamed over
server-sent events: the way to serve more chats than one machine's model can."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import aiohttp

from bot.llm.base import GREEDY, GenerationError, Message, Sampling


class OpenAIBackend:
    """`POST {url}/chat/completions` with `stream: true`, greedy (temperature 0)."""

    def __init__(self, url: str, model: str, *, api_key: str = "", timeout: float = 120) -> None:
        self.url = url.rstrip("/") + "/chat/completions"
        self.name = model
        self.api_key = api_key
        self.timeout = timeout
        # What messages show: never the credentials a URL might carry.
        parts = urllib.parse.urlsplit(self.url)
        self._shown = urllib.parse.urlunsplit(
            parts._replace(netloc=parts.netloc.rpartition("@")[2])
        )

    async def stream(
        self,
        messages: list[Message],
        *,
        max_new_tokens: int = 512,
        cancel: asyncio.Event | None = None,
        sampling: Sampling | None = None,
    ) -> AsyncIterator[str]:
        """Chunks of the server's streamed reply (the server applies the sampling options and
        stop strings); setting `cancel` closes the connection."""
        if cancel is not None and cancel.is_set():
            return
        sampling = sampling or GREEDY
        body: dict[str, Any] = {
            "model": self.name,
            "messages": messages,
            "max_tokens": max_new_tokens,
            "temperature": sampling.temperature,
            "stream": True,
        }
        if sampling.top_p < 1:
            body["top_p"] = sampling.top_p
        if sampling.repetition_penalty != 1.0:
            body["repetition_penalty"] = sampling.repetition_penalty  # vLLM's and SGLang's name
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        # A limit per connect and per read, not on the whole reply: a long answer may stream for
        # minutes, a silent server should not hold a chat that long.
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.timeout, sock_read=self.timeout
        )
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout, trust_env=True) as session,
                session.post(self.url, json=body, headers=headers) as response,
            ):
                if response.status >= 400:
                    raise GenerationError(
                        f"the model server answered HTTP {response.status} at {self._shown}"
                    )
                async with aclosing(_deltas(response, cancel)) as deltas:
                    async for text in deltas:
                        yield text
                        if cancel is not None and cancel.is_set():
                            return
        except GenerationError:
            raise
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise GenerationError(
                f"the model server at {self._shown} failed ({_reason(exc)})"
            ) from None

    def load(self) -> None:
        """Nothing to load: the server holds the model, and each reply opens its own session."""

    def close(self) -> None:
        """Nothing to release: no session outlives its reply."""


async def _deltas(
    response: aiohttp.ClientResponse, cancel: asyncio.Event | None
) -> AsyncGenerator[str, None]:
    """The content pieces of a chat completion's event stream, until `[DONE]`, the end of the
    stream, or `cancel` (which closes the response, so a read waiting on the server ends)."""
    watcher = asyncio.create_task(_close_when_set(cancel, response)) if cancel else None
    try:
        async for raw in response.content:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            for choice in json.loads(data).get("choices", []):
                text = (choice.get("delta") or {}).get("content")
                if text:
                    yield text
    except (aiohttp.ClientError, OSError):
        if cancel is not None and cancel.is_set():
            return  # the read ended because we closed the response
        raise
    finally:
        if watcher is not None:
            watcher.cancel()


async def _close_when_set(cancel: asyncio.Event, response: aiohttp.ClientResponse) -> None:
    await cancel.wait()
    response.close()


def _reason(exc: BaseException) -> str:
    """One line saying why a request failed."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return "no answer within the timeout"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
