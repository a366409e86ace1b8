"""The default language model by this machine's free GPU memory, and `tutor config` showing it."""

from __future__ import annotations

import pytest

from bot.app import hardware, settings
from bot.app.hardware import CPU_MODEL, choose_model, resolve_model
from bot.app.settings import Settings, describe


@pytest.mark.parametrize(
    ("free_gb", "model"),
    [
        (None, CPU_MODEL),
        (2.0, "Qwen/Qwen2.5-1.5B-Instruct"),
        (9.9, "Qwen/Qwen2.5-1.5B-Instruct"),
        (10.0, "Qwen/Qwen2.5-3B-Instruct"),
        (23.9, "Qwen/Qwen2.5-3B-Instruct"),
        (24.0, "Qwen/Qwen2.5-7B-Instruct"),
        (139.0, "Qwen/Qwen2.5-7B-Instruct"),
    ],
)
def test_the_default_model_grows_with_free_gpu_memory(free_gb, model):
    assert choose_model(free_gb) == model


def test_a_named_model_overrides_the_choice(monkeypatch):
    monkeypatch.setattr(hardware, "free_gpu_gb", lambda: 80.0)
    assert resolve_model("auto") == "Qwen/Qwen2.5-7B-Instruct"
    assert resolve_model("/models/mine.gguf") == "/models/mine.gguf"


def test_hidden_gpus_mean_the_cpu_default(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert hardware.free_gpu_gb() is None
    assert resolve_model("auto") == CPU_MODEL


def test_config_shows_what_auto_chose_on_this_machine(monkeypatch, tmp_path):
    monkeypatch.setattr(hardware, "free_gpu_gb", lambda: 12.0)
    assert settings.resolve_model is hardware.resolve_model
    rows = {r["name"]: r for r in describe(Settings(home=tmp_path, llm_model="auto"))}
    assert rows["llm_model"]["value"] == "auto (Qwen/Qwen2.5-3B-Instruct on this machine)"
    assert rows["llm_model"]["default"] == "auto"


def test_without_a_gpu_auto_loads_no_model_and_says_why(monkeypatch, tmp_path):
    from bot.app.wiring import build_backend

    monkeypatch.setattr(hardware, "free_gpu_gb", lambda: None)
    chosen = Settings(home=tmp_path, llm_model="auto")
    assert build_backend(chosen) is None  # answers quote the bank's key points at once
    rows = {r["name"]: r for r in describe(chosen)}
    assert rows["llm_model"]["value"].startswith("auto (none on this machine: no GPU: ")
    # A named model is still loaded on a CPU, and a server still gets a model's name.
    named = build_backend(Settings(home=tmp_path, llm_model="/models/mine.gguf"))
    assert named is not None and named.name == "/models/mine.gguf"
    server = build_backend(Settings(home=tmp_path, llm_model="auto", llm_url="http://h:8000/v1"))
    assert server is not None and server.name == hardware.SERVER_MODEL
