"""Language-model backends behind one small interface: async, streaming, cancellable.

    Backend.stream(messages, max_new_tokens=…, cancel=…) → async iterator of text chunks

- `TransformersBackend` (hf.py): any Hugging Face causal LM in-process, bf16 on CUDA, CPU otherwise.
- `OpenAIBackend` (openai.py): any OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama).
"""

from bot.llm.base import Backend, GenerationError, Message

__all__ = ["Backend", "GenerationError", "Message"]
