"""`tutor ask`: the contract's JSON, honest abstention, and the extractive fallback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app.cli import cli
from tests.bot.llm.test_backends import tiny_gguf, tiny_model  # noqa: F401  (fixtures)
from tests.conftest import BANK

UNSET = ("TUTOR_HOME", "TUTOR_CONFIG", "TUTOR_EMBED_MODEL", "TUTOR_LLM_URL")


def invoker(data_dir: Path):
    def invoke(*args: str):
        return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)

    return invoke


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    """A data dir with the fixture bank ingested through the command, built once per module."""
    data = tmp_path_factory.mktemp("ingested") / "data"
    bank = shutil.copytree(BANK, data.parent / "bank")
    with pytest.MonkeyPatch.context() as env:
        for name in UNSET:
            env.delenv(name, raising=False)
        assert invoker(data)("ingest", str(bank)).exit_code == 0
    return data


@pytest.fixture
def tutor(data_dir: Path, monkeypatch, ingested):
    """The command, with no language model, over a fresh copy of the ingested data dir."""
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUTOR_LLM_MODEL", "none")
    shutil.copytree(ingested, data_dir)
    return invoker(data_dir)


def test_ask_json_follows_the_contract(tutor):
    body = json.loads(
        tutor("ask", "--json", "how does a top-k filter cut the logits before sampling").stdout
    )
    assert set(body) == {"answer", "citations", "grounded", "mode", "coverage"}
    assert body["grounded"] is True and body["mode"] == "extractive"
    assert body["coverage"] == "covered"
    assert body["citations"] and all(len(c) == 12 for c in body["citations"])
    assert "No language model is loaded" in body["answer"]


def test_ask_off_topic_says_the_bank_has_nothing(tutor):
    body = json.loads(tutor("ask", "--json", "how do I bake sourdough bread").stdout)
    assert body == {**body, "grounded": False, "citations": [], "coverage": "off-topic"}
    assert "nothing that answers this" in body["answer"]


def test_unloadable_model_warns_and_answers_from_the_bank(tutor, monkeypatch, tmp_path):
    monkeypatch.setenv("TUTOR_LLM_MODEL", str(tmp_path / "missing-model"))
    result = tutor("ask", "--json", "top-k filter for logits")
    assert "warning: the language model folder" in result.stderr
    assert json.loads(result.stdout)["mode"] == "extractive"


def test_ask_without_a_question_is_a_usage_error(tutor):
    assert tutor("ask").exit_code == 2


def test_a_gguf_model_loads_and_its_answer_is_checked_against_the_bank(
    tutor,
    monkeypatch,
    tiny_gguf,  # noqa: F811
):
    # A random tiny model writes noise: the check replaces it with the bank's key points.
    monkeypatch.setenv("TUTOR_LLM_MODEL", str(tiny_gguf))
    monkeypatch.setenv("TUTOR_LLM_MAX_NEW_TOKENS", "16")
    checked = tutor("ask", "--json", "how does a top-k filter cut the logits before sampling")
    assert "cannot load" not in checked.stderr and "Converting" not in checked.stderr
    assert "here are the bank's own key points instead" in checked.stderr
    body = json.loads(checked.stdout)
    assert body["mode"] == "extractive" and body["grounded"] and body["citations"]
    assert "Here are the key points from the bank" in body["answer"]
    # Switched off, the model's own words go out as they are.
    monkeypatch.setenv("TUTOR_ANSWER_CHECK", "false")
    unchecked = json.loads(tutor("ask", "--json", "how does a top-k filter cut the logits").stdout)
    assert unchecked["mode"] == "llm" and unchecked["citations"]
