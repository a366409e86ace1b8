"""Language-model backends behind one small interface: async, streaming, cancellable.

    Backend.load()                                        → ready, or GenerationError
    Backend.stream(messages, max_new_tokens=…, cancel=…, sampling=…)
                                                          → async iterator of text chunks
    Backend.close()

- `TransformersBackend` (hf.py): any Hugging Face causal LM in-process, bf16 on CUDA, CPU otherwise;
  many chats at once through `BatchScheduler` (scheduler.py: continuous batching on its own
  thread, prompts written in chunks between decode steps) over `ModelStep` (model_step.py:
  prompt chunks and decode steps over the `SlotKVCache` of kv_cache.py), tokens chosen by
  sampling.py (greedy unless a `Sampling` says otherwise).
- `OpenAIBackend` (openai.py): any OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama).
"""

from bot.llm.base import Backend, GenerationError, Message

__all__ = ["Backend", "GenerationError", "Message"]
