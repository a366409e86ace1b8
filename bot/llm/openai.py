"""Any OpenAI-compatible chat server (vLLM, SGLang, llama.cpp server, Ollama), streamed over
server-sent events: the way to serve more chats than one machine's model can."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

from bot.llm.base import Emit, GenerationError, Message, stream_from_thread


class OpenAIBackend:
    """`POST {url}/chat/completions` with `stream: true`, greedy (temperature 0)."""

    def __init__(self, url: str, model: str, *, api_key: str = "", timeout: float = 120) -> None:
        self.url = url.rstrip("/") + "/chat/completions"
        self.name = model
        self.api_key = api_key
        self.timeout = timeout

    async def stream(
        self,
        messages: list[Message],
        *,
        max_new_tokens: int = 512,
        cancel: asyncio.Event | None = None,
    ) -> AsyncIterator[str]:
        """Chunks of the server's streamed reply; setting `cancel` closes the connection."""
        body = json.dumps(
            {
                "model": self.name,
                "messages": messages,
                "max_tokens": max_new_tokens,
                "temperature": 0,
                "stream": True,
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")

        def work(emit: Emit, stop: threading.Event) -> None:
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    for raw in response:
                        if stop.is_set():
                            return
                        line = raw.decode("utf-8", "replace").strip()
                        if not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            return
                        for choice in json.loads(data).get("choices", []):
                            text = (choice.get("delta") or {}).get("content")
                            if text:
                                emit(text)
            except urllib.error.HTTPError as exc:
                raise GenerationError(
                    f"the model server answered HTTP {exc.code} at {self.url}"
                ) from None
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                raise GenerationError(f"the model server at {self.url} failed ({reason})") from None

        async for chunk in stream_from_thread(work, cancel, _passthrough):
            yield chunk


def _passthrough(exc: BaseException) -> BaseException:
    return exc
