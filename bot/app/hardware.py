"""Which language model this machine can afford when the setting is left at `auto`: the free
memory of the first GPU decides, read from nvidia-smi so that `tutor config` imports no torch;
without a GPU, none (measured: docs/answers.md)."""

from __future__ import annotations

import os
import shutil
import subprocess

AUTO = "auto"
NONE = "none"
# Without a GPU, `auto` loads no model: on the frozen test part of eval/answers.py the model that
# fits a CPU (Qwen2.5-Coder-0.5B-Instruct) scored 32.6 in substance against 59.3 for the bank's
# own key points, and 58.0 after the answer check, at 13-25 s an answer on 2 cores
# (docs/answers.md).
CPU_MODEL = NONE
CPU_WHY = "no GPU: a model that fits a CPU answers no better than the bank's key points"
# The name `auto` sends to an OpenAI-compatible server, whose model is not this machine's to pick.
SERVER_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
# Free GPU memory (GB) each model needs in bf16 with room for the KV cache, largest first.
GPU_MODELS = (
    (24.0, "Qwen/Qwen2.5-7B-Instruct"),
    (10.0, "Qwen/Qwen2.5-3B-Instruct"),
    (0.0, "Qwen/Qwen2.5-1.5B-Instruct"),
)


def choose_model(free_gpu_gb: float | None) -> str:
    """The default model for a GPU with this much free memory (GB); None means no GPU."""
    if free_gpu_gb is None:
        return CPU_MODEL
    return next(name for floor, name in GPU_MODELS if free_gpu_gb >= floor)


def free_gpu_gb() -> float | None:
    """Free memory of the GPU the model would load on, in GB; None without a usable GPU."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return None
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    first = (visible or "0").split(",")[0].strip()
    command = [smi, "--query-gpu=memory.free", "--format=csv,noheader,nounits"]
    if first.isdigit():
        command.append(f"--id={first}")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=True)
        return float(done.stdout.split()[0]) / 1024
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def resolve_model(name: str) -> str:
    """The configured model name, with `auto` replaced by this machine's choice."""
    return choose_model(free_gpu_gb()) if name.strip().lower() == AUTO else name
