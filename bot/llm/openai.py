"""Any OpenAI-compatible chat server (vLLM, SGLang, llama.cpp server, Ollama), streamed over
server-sent events: the way to serve more chats than one machine's model can."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

from bot.llm.base import GenerationError, Message, drain_thread, put


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
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        done = object()
        stop = threading.Event()
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

        def work() -> None:
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
                        event = json.loads(data)
                        for choice in event.get("choices", []):
                            text = (choice.get("delta") or {}).get("content")
                            if text:
                                put(loop, queue, text)
            except urllib.error.HTTPError as exc:
                error = GenerationError(f"the model server answered HTTP {exc.code} at {self.url}")
                put(loop, queue, error)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                error = GenerationError(f"the model server at {self.url} failed ({reason})")
                put(loop, queue, error)
            finally:
                put(loop, queue, done)

        async def watch() -> None:
            if cancel is not None:
                await cancel.wait()
                stop.set()

        watcher = asyncio.create_task(watch())
        threading.Thread(target=work, daemon=True).start()
        try:
            async for chunk in drain_thread(queue, done):
                if stop.is_set():
                    return
                yield chunk
        finally:
            stop.set()
            watcher.cancel()
