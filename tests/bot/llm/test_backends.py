"""The real transformers path on a tiny random model built here (no download), and the
OpenAI-compatible backend against a small streaming server of our own on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from bot.llm.base import GenerationError, Sampling
from bot.llm.hf import TransformersBackend
from bot.llm.openai import OpenAIBackend

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CORPUS = [
    "the kv cache stores keys and values of past tokens",
    "quantization stores weights in fewer bits",
    "知识蒸馏 让 小模型 学习 大模型",
    "attention heads look at different positions",
] * 20


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A two-layer Qwen2 with random weights and a tokenizer trained on the fly."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    folder = tmp_path_factory.mktemp("tiny-qwen2")
    special = ["<pad>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(
        [*CORPUS, "system user assistant"],
        trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=special,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    from tokenizers import decoders

    tok.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<pad>", chat_template=CHATML
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = None  # random weights: never stop early by chance
    model.save_pretrained(folder)
    return folder


CHAT = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "what is the kv cache"},
]


async def collect(backend, **kw) -> list[str]:
    return [chunk async for chunk in backend.stream(CHAT, **kw)]


def test_streaming_equals_plain_greedy_generate(tiny_model):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    backend = TransformersBackend(str(tiny_model), device="cpu")
    chunks = asyncio.run(collect(backend, max_new_tokens=24))
    assert len(chunks) > 1
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    inputs = tokenizer.apply_chat_template(
        CHAT, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=24, do_sample=False, pad_token_id=0)
    expected = tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "".join(chunks) == expected


@pytest.mark.parametrize("batch", [0, 2])
def test_a_reply_ends_before_its_stop_string_and_a_seeded_one_repeats(tiny_model, batch):
    backend = TransformersBackend(str(tiny_model), device="cpu", batch=batch)
    try:
        greedy = "".join(asyncio.run(collect(backend, max_new_tokens=40)))
        words = greedy.split()
        assert len(words) > 4
        stop = " " + words[3]  # a word inside the greedy reply ends it there
        cut = "".join(
            asyncio.run(collect(backend, max_new_tokens=40, sampling=Sampling(stop=(stop,))))
        )
        assert cut == greedy[: greedy.index(stop)]
        drawn = Sampling(temperature=1.0, seed=11)
        first, again = (
            "".join(asyncio.run(collect(backend, max_new_tokens=40, sampling=drawn)))
            for _ in range(2)
        )
        assert first == again and first != greedy
    finally:
        backend.close()


def test_cancel_stops_generation_early(tiny_model):
    backend = TransformersBackend(str(tiny_model), device="cpu")

    async def run() -> list[str]:
        cancel = asyncio.Event()
        got = []
        async for chunk in backend.stream(CHAT, max_new_tokens=600, cancel=cancel):
            got.append(chunk)
            cancel.set()
        return got

    chunks = asyncio.run(run())
    from transformers import AutoTokenizer

    tokens = len(AutoTokenizer.from_pretrained(tiny_model)("".join(chunks))["input_ids"])
    assert 0 < tokens < 300


@pytest.fixture(scope="module")
def tiny_gguf(tiny_model, tmp_path_factory) -> Path:
    """The tiny model written as one .gguf file, as a user names a downloaded model, declaring
    a context long enough for the tutor's prompts."""
    from tests.bot.llm.tiny_gguf import write_gguf

    target = tmp_path_factory.mktemp("gguf") / "tiny-qwen2.gguf"
    return write_gguf(tiny_model, target, context=8192)


@pytest.mark.parametrize("batch", [0, 2])
def test_a_gguf_file_loads_and_answers_as_its_folder_does(tiny_model, tiny_gguf, batch):
    from_file = TransformersBackend(str(tiny_gguf), device="cpu", batch=batch)
    from_folder = TransformersBackend(str(tiny_model), device="cpu", batch=batch)
    chunks = asyncio.run(collect(from_file, max_new_tokens=16))
    assert chunks and "".join(chunks) == "".join(
        asyncio.run(collect(from_folder, max_new_tokens=16))
    )
    assert (from_file.scheduler is not None) is (batch > 0)


def test_missing_model_path_is_a_clear_error(tmp_path):
    backend = TransformersBackend(str(tmp_path / "no-such-model"))
    with pytest.raises(GenerationError, match="does not exist"):
        asyncio.run(collect(backend))


class _SSE(BaseHTTPRequestHandler):
    bodies: ClassVar[list] = []
    keys: ClassVar[list] = []
    sent: ClassVar[list] = []
    # When set, the stream sends its first piece and then waits here before the rest.
    hold: ClassVar[threading.Event | None] = None

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        type(self).keys.append(self.headers.get("Authorization"))
        if self.path != "/v1/chat/completions":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for n, piece in enumerate(["The ", "cache ", "keeps ", "keys [1]."]):
                if n == 1 and type(self).hold is not None:
                    type(self).hold.wait(timeout=10)
                type(self).sent.append(piece)
                event = {"choices": [{"delta": {"content": piece}}]}
                # An event's closing blank line goes out with the next one, so a held stream
                # has nothing buffered after its last data line.
                start = "\n" if n else ""
                self.wfile.write(f"{start}: keep-alive\n\ndata: {json.dumps(event)}\n".encode())
                self.wfile.flush()
            self.wfile.write(b"\ndata: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up: what a cancelled stream does


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _SSE)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        if _SSE.hold is not None:
            _SSE.hold.set()
            _SSE.hold = None
        httpd.shutdown()
    httpd.server_close()


def test_openai_backend_streams_from_a_local_server(server):
    backend = OpenAIBackend(server + "/v1", "tiny", api_key="k")
    chunks = asyncio.run(collect(backend, max_new_tokens=50))
    assert "".join(chunks) == "The cache keeps keys [1]."
    sent = _SSE.bodies[-1]
    assert sent["stream"] is True and sent["temperature"] == 0 and sent["max_tokens"] == 50
    assert sent["messages"] == CHAT


def test_openai_backend_asks_the_server_for_the_sampling_options(server):
    backend = OpenAIBackend(server + "/v1", "tiny")
    sampling = Sampling(temperature=0.7, top_p=0.9, repetition_penalty=1.1, stop=("\nQ:",), seed=3)
    asyncio.run(collect(backend, sampling=sampling))
    sent = _SSE.bodies[-1]
    assert (sent["temperature"], sent["top_p"], sent["repetition_penalty"]) == (0.7, 0.9, 1.1)
    assert sent["stop"] == ["\nQ:"] and sent["seed"] == 3


def test_openai_backend_errors_are_one_line(server):
    with pytest.raises(GenerationError, match="HTTP 404"):
        asyncio.run(collect(OpenAIBackend(server + "/wrong", "tiny")))
    with pytest.raises(GenerationError, match="failed"):
        asyncio.run(collect(OpenAIBackend("http://127.0.0.1:9/v1", "tiny", timeout=2)))


def test_openai_backend_sends_the_key_only_in_its_header(server):
    asyncio.run(collect(OpenAIBackend(server + "/v1", "tiny", api_key="sk-secret")))
    assert _SSE.keys[-1] == "Bearer sk-secret"
    with pytest.raises(GenerationError) as caught:
        asyncio.run(collect(OpenAIBackend(server + "/wrong", "tiny", api_key="sk-secret")))
    assert "sk-secret" not in str(caught.value)


def test_openai_backend_errors_hide_credentials_in_the_url(server):
    host = server.removeprefix("http://")
    with pytest.raises(GenerationError, match="HTTP 404") as caught:
        asyncio.run(collect(OpenAIBackend(f"http://me:pw@{host}/wrong", "tiny")))
    assert "me:pw" not in str(caught.value)
    assert f"{host}/wrong/chat/completions" in str(caught.value)


def test_openai_cancel_closes_a_stream_the_server_holds_open(server):
    _SSE.hold = threading.Event()  # no more pieces until the test ends
    _SSE.sent.clear()

    async def run() -> list[str]:
        cancel = asyncio.Event()
        backend = OpenAIBackend(server + "/v1", "tiny", timeout=30)
        got = []
        async for chunk in backend.stream(CHAT, cancel=cancel):
            got.append(chunk)
            # Set once the backend is waiting on the server for the next piece.
            asyncio.get_running_loop().call_soon(cancel.set)
        return got

    assert asyncio.run(run()) == ["The "]
    assert _SSE.sent == ["The "]  # the stream ended while the server still held it


# -- labels read off the logits (the rubric judge's label route) --------------------------------

LABELS = ("keys", "weights", "heads")
QUESTIONS = ["the cache stores what", "quantization stores what", "attention looks at what"]


def test_classify_asks_each_question_on_its_own_after_the_chat(tiny_model):
    """The chat read once and its cache reused gives, for every question, what one plain
    forward pass over the chat plus that question alone gives."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    backend = TransformersBackend(str(tiny_model), device="cpu")
    found = asyncio.run(backend.classify(CHAT, QUESTIONS, LABELS))
    assert [sorted(f) for f in found] == [sorted(LABELS)] * len(QUESTIONS)
    assert all(sum(f.values()) == pytest.approx(1.0) for f in found)

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    firsts = [tokenizer.encode(label, add_special_tokens=False)[0] for label in LABELS]
    assert len(set(firsts)) == len(LABELS)
    for question, got in zip(QUESTIONS, found, strict=True):
        asked = [*CHAT, {"role": "user", "content": question}]
        ids = tokenizer.apply_chat_template(asked, add_generation_prompt=True, return_dict=True)
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([list(ids["input_ids"])])).logits[0, -1]
        probs = torch.softmax(logits[firsts], dim=-1).tolist()
        assert [got[label] for label in LABELS] == pytest.approx(probs, abs=1e-4)
    # the questions do not see each other: asked alone, the last one reads the same
    alone = asyncio.run(backend.classify(CHAT, QUESTIONS[-1:], LABELS))
    assert alone[0] == pytest.approx(found[-1], abs=1e-5)


def test_classify_refuses_labels_it_cannot_tell_apart_by_their_first_token(tiny_model):
    backend = TransformersBackend(str(tiny_model), device="cpu")
    with pytest.raises(GenerationError, match="distinct"):
        asyncio.run(backend.classify(CHAT, QUESTIONS[:1], ("keys", "keys")))
