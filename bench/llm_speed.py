"""Generation speed of the answer engine's model path, on a GPU when there is one.

    python bench/llm_speed.py            # Qwen2.5-1.5B-Instruct's exact configuration, random
                                         # weights (no download), bf16 on CUDA
    python bench/llm_speed.py --tiny     # a two-layer model on CPU: the smoke run CI can afford
    python bench/llm_speed.py --profile profile.txt   # and torch.profiler tables of decode steps

Prompts of --prompt tokens, --new tokens each with EOS ignored. Reports time to first token,
single-stream decode tokens/s, aggregate tokens/s at several numbers of concurrent chats, and
how a new chat joins chats already answering (its time to first token, and the longest wait
between two tokens of the others while its prompt is written in chunks), and peak GPU memory,
for the ways measured: the tutor's batch scheduler (reported as `engine`:
`bot/llm/scheduler.py`, continuous batching over the slot KV cache of `bot/llm/model_step.py`),
plain `model.generate` one chat at a time, `generate` on a padded batch, and transformers'
continuous batching (`generate_batch`) where available. Prints one JSON object. Speed does not
depend on the weights, so random ones measure the real thing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
from pathlib import Path

import torch

QWEN25_15B = {
    "hidden_size": 1536,
    "intermediate_size": 8960,
    "num_hidden_layers": 28,
    "num_attention_heads": 12,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "rope_theta": 1_000_000.0,
    "tie_word_embeddings": True,
    "max_position_embeddings": 32768,
}
TINY = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 1000,
    "max_position_embeddings": 4096,
}


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def build(tiny: bool, device: str):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(**(TINY if tiny else QWEN25_15B))
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(config).to(dtype).eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    return model


def prompts(n: int, length: int, vocab: int, device: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randint(10, vocab, (n, length), generator=generator).to(device)


def timed_generate(model, ids: torch.Tensor, new: int, device: str) -> float:
    sync(device)
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=new,
            min_new_tokens=new,
            do_sample=False,
        )
    sync(device)
    assert out.shape[1] == ids.shape[1] + new
    return time.perf_counter() - start


def continuous_batching(model, ids: torch.Tensor, new: int, device: str) -> float | str:
    """transformers' own continuous batching, when this version has it."""
    if not hasattr(model, "generate_batch"):
        return "generate_batch not available"
    from transformers import GenerationConfig

    config = GenerationConfig(max_new_tokens=new, do_sample=False, eos_token_id=-1)
    inputs = [row.tolist() for row in ids]
    try:
        sync(device)
        start = time.perf_counter()
        results = model.generate_batch(inputs=inputs, generation_config=config, progress_bar=False)
        sync(device)
        elapsed = time.perf_counter() - start
        produced = [len(getattr(r, "generated_tokens", []) or []) for r in results.values()]
        if len(produced) != len(inputs) or min(produced) < new:
            return f"incomplete: {len(produced)} results, fewest tokens {min(produced or [0])}"
        return elapsed
    except Exception as exc:  # report, do not crash the benchmark
        return f"failed: {type(exc).__name__}: {str(exc)[:160]}"


def scheduler_run(model, ids: torch.Tensor, new: int, device: str) -> tuple[float, float]:
    """All rows through the tutor's batch scheduler at once: (seconds for all, seconds to first
    token of the first row)."""
    import sys
    import threading

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bot.llm.model_step import ModelStep
    from bot.llm.scheduler import BatchScheduler

    rows = ids.shape[0]
    step = ModelStep(model, slots=rows, max_len=ids.shape[1] + new + 8)
    scheduler = BatchScheduler(step, eos=set())
    try:
        first = threading.Event()
        sync(device)
        start = time.perf_counter()
        first_at = [0.0]

        def on_token(_: int) -> None:
            if not first.is_set():
                first_at[0] = time.perf_counter()
                first.set()

        requests = [scheduler.submit(row.tolist(), new, on_token) for row in ids]
        for request in requests:
            request.done.wait()
            assert request.error is None and len(request.generated) == new, request.error
        sync(device)
        return time.perf_counter() - start, first_at[0] - start
    finally:
        scheduler.close()


def join_run(model, decoding: int, prompt: int, device: str, budget: int) -> dict[str, float]:
    """`decoding` chats answering when a new chat with a `prompt`-token question joins: the new
    chat's time to first token, and the longest any answering chat waited between two tokens
    while the prompt was written (chunks of `budget` tokens between decode steps)."""
    import sys
    import threading

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bot.llm.model_step import ModelStep
    from bot.llm.scheduler import BatchScheduler

    vocab = model.config.vocab_size
    step = ModelStep(model, slots=decoding + 1, max_len=prompt + 1024)
    scheduler = BatchScheduler(step, eos=set(), prefill_budget=budget)
    stamps: list[list[float]] = [[] for _ in range(decoding)]
    going = threading.Semaphore(0)  # released once per chat past its prompt and decoding
    try:

        def noted(n: int):
            def on_token(_: int) -> None:  # on the scheduler's thread: never blocks
                stamps[n].append(time.perf_counter())
                if len(stamps[n]) == 3:
                    going.release()

            return on_token

        short = prompts(decoding, 64, vocab, device)
        stops = [threading.Event() for _ in range(decoding)]
        answering = [
            scheduler.submit(row.tolist(), 1000, noted(n), stops[n]) for n, row in enumerate(short)
        ]
        for _ in range(decoding):
            going.acquire()
        first = threading.Event()
        joined_at = time.perf_counter()
        joiner = scheduler.submit(
            prompts(1, prompt, vocab, device)[0].tolist(), 1, lambda _: first.set()
        )
        joiner.done.wait()
        ttft = time.perf_counter() - joined_at
        ended = time.perf_counter()
        for stop in stops:
            stop.set()
        for request in answering:
            request.done.wait()
        gaps = [
            b - a
            for times in stamps
            for a, b in itertools.pairwise(times)
            if b >= joined_at and a <= ended
        ]
        return {
            "chats_decoding": decoding,
            "prefill_budget_tokens": budget,
            "new_chat_ttft_ms": round(ttft * 1000, 2),
            "longest_decode_gap_ms": round(max(gaps, default=0.0) * 1000, 2),
        }
    finally:
        scheduler.close()


def profile_steps(model, chats: int, prompt: int, device: str, steps: int = 20) -> str:
    """torch.profiler over `steps` decode steps of `chats` chats through the model step: the
    operators and kernels that take the time, as a table (the first thing to read before
    changing the decode loop)."""
    import sys

    from torch.profiler import ProfilerActivity, profile

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bot.llm.model_step import ModelStep

    step = ModelStep(model, slots=chats, max_len=prompt + steps + 8)
    ids = prompts(chats, prompt, model.config.vocab_size, device)
    with torch.inference_mode():
        last = [step.prefill(row.tolist(), n) for n, row in enumerate(ids)]
        for _ in range(3):  # warm up
            last = step.decode(last, list(range(chats)))
        activities = [ProfilerActivity.CPU]
        if device == "cuda":
            activities.append(ProfilerActivity.CUDA)
        sync(device)
        with profile(activities=activities) as prof:
            for _ in range(steps):
                last = step.decode(last, list(range(chats)))
            sync(device)
    key = "cuda_time_total" if device == "cuda" else "cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--prompt", type=int, default=1500)
    parser.add_argument("--new", type=int, default=256)
    parser.add_argument("--chats", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument(
        "--prefill-budget", type=int, default=512, help="Prompt tokens written per step."
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="Also write torch.profiler tables of decode steps (1 chat, the most chats) here.",
    )
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    if args.tiny:
        args.prompt, args.new, args.chats = min(args.prompt, 64), min(args.new, 16), [1, 4]
    model = build(args.tiny, device)
    vocab = model.config.vocab_size
    report: dict[str, object] = {
        "device": torch.cuda.get_device_name() if device == "cuda" else platform.machine(),
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "config": "tiny" if args.tiny else "Qwen2.5-1.5B-Instruct (random weights)",
        "dtype": str(next(model.parameters()).dtype),
        "prompt_tokens": args.prompt,
        "new_tokens": args.new,
    }
    one = prompts(1, args.prompt, vocab, device)
    timed_generate(model, one, args.new, device)  # warm up kernels and the allocator
    ttft = min(timed_generate(model, one, 1, device) for _ in range(3))
    total = min(timed_generate(model, one, args.new, device) for _ in range(2))
    report["plain_generate"] = {
        "ttft_ms": round(ttft * 1000, 2),
        "single_stream_tok_s": round((args.new - 1) / max(total - ttft, 1e-9), 1),
    }
    scheduler_run(model, one, 8, device)  # warm up
    engine_ttft = min(scheduler_run(model, one, 1, device)[0] for _ in range(3))
    engine_total = min(scheduler_run(model, one, args.new, device)[0] for _ in range(2))
    report["engine"] = {
        "ttft_ms": round(engine_ttft * 1000, 2),
        "single_stream_tok_s": round((args.new - 1) / max(engine_total - engine_ttft, 1e-9), 1),
    }
    rows = []
    peaks: dict[str, float] = {}

    def peak(name: str) -> None:
        if device == "cuda":
            gib = torch.cuda.max_memory_allocated() / 2**30
            peaks[name] = round(max(peaks.get(name, 0.0), gib), 2)
            torch.cuda.reset_peak_memory_stats()

    peak("before")
    for chats in args.chats:
        batch = prompts(chats, args.prompt, vocab, device)
        sequential = chats * total if chats > 1 else total
        padded = timed_generate(model, batch, args.new, device)
        peak("plain_padded_batch")
        cb = continuous_batching(model, batch, args.new, device)
        peak("generate_batch")
        ours, _ = scheduler_run(model, batch, args.new, device)
        peak("engine")
        rows.append(
            {
                "chats": chats,
                "engine_tok_s": round(chats * args.new / ours, 1),
                "plain_sequential_tok_s": round(chats * args.new / sequential, 1),
                "plain_padded_batch_tok_s": round(chats * args.new / padded, 1),
                "generate_batch_tok_s": round(chats * args.new / cb, 1)
                if isinstance(cb, float)
                else cb,
            }
        )
    report["aggregate"] = rows
    decoding = max(args.chats) - 1
    join_run(model, min(decoding, 2), args.prompt, device, args.prefill_budget)  # warm up
    report["join_under_load"] = join_run(model, decoding, args.prompt, device, args.prefill_budget)
    peak("engine")
    single = (
        report["engine"]["single_stream_tok_s"] / report["plain_generate"]["single_stream_tok_s"]
    )
    widest = rows[-1]
    report["ratios"] = {
        "engine_vs_plain_single_stream": round(single, 2),
        f"engine_vs_padded_batch_at_{widest['chats']}": round(
            widest["engine_tok_s"] / widest["plain_padded_batch_tok_s"], 2
        ),
    }
    if device == "cuda":
        peaks.pop("before", None)
        report["peak_gpu_memory_gib"] = peaks
    if args.profile:
        tables = [
            f"## {chats} chat(s), {args.prompt}-token prompts\n\n"
            + profile_steps(model, chats, args.prompt, device)
            for chats in sorted({1, max(args.chats)})
        ]
        args.profile.write_text("\n\n".join(tables), encoding="utf-8")
        report["profile"] = str(args.profile)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
