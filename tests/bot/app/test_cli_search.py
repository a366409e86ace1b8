"""`tutor search` and `tutor index`: the contract, batches, and a broken index repaired."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app.cli import cli
from retriever.embed import BundledE5
from tests.conftest import BANK

UNSET = ("TUTOR_HOME", "TUTOR_CONFIG", "TUTOR_EMBED_MODEL")


def invoker(data_dir: Path):
    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(
            cli, ["--data-dir", str(data_dir), *args], input=input, catch_exceptions=False
        )

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
    """The command over a fresh copy of the ingested data dir."""
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    shutil.copytree(ingested, data_dir)
    return invoker(data_dir)


@pytest.fixture
def fresh_tutor(data_dir: Path, monkeypatch, bank_dir):
    """The command over a data dir that has ingested this test's own copy of the bank."""
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    invoke = invoker(data_dir)
    assert invoke("ingest", str(bank_dir)).exit_code == 0
    return invoke


def bank_rows(data_dir: Path) -> list[tuple]:
    with sqlite3.connect(data_dir / "tutor.db") as db:
        return db.execute("SELECT * FROM entries ORDER BY id").fetchall()


def error_line(result) -> str:
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_search_json_follows_the_contract(tutor):
    result = tutor("search", "--json", "--k", "3", "keep", "the", "k", "largest", "logits")
    body = json.loads(result.stdout)
    assert set(body) == {"query", "grounded", "results"}
    assert body["query"] == "keep the k largest logits"
    assert body["grounded"] is True
    assert len(body["results"]) == 3
    top = body["results"][0]
    assert set(top) == {"id", "source", "title", "question", "kind", "score"}
    assert (top["title"], top["source"], top["kind"]) == (
        "Top-k filter",
        "own_format_en.md",
        "coding",
    )
    assert isinstance(top["score"], float)


def test_search_batch_reads_stdin_and_loads_the_model_once(tutor, monkeypatch):
    loads = []
    real = BundledE5._load

    def counting(self):
        loads.append(self.name)
        return real(self)

    monkeypatch.setattr(BundledE5, "_load", counting)
    result = tutor("search", "--json", "-", input="向量为什么要归一化\n\nhow to boil an egg\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["向量为什么要归一化", "", "how to boil an egg"]
    assert lines[0]["grounded"] and lines[0]["results"][0]["source"] == "titled_zh.txt"
    assert lines[1]["results"] == [] and "empty" in lines[1]["error"]
    assert lines[2]["grounded"] is False
    assert len(loads) == 1


def test_an_overlong_query_is_cut_with_a_warning(tutor):
    result = tutor("search", "--json", "softmax top-k " * 2000)
    assert "cut to 2000" in result.stderr
    assert len(json.loads(result.stdout)["query"]) <= 2000


def test_damaged_index_gives_one_line_and_rebuild_repairs_it(tutor, data_dir):
    before = bank_rows(data_dir)
    (data_dir / "index" / "faiss.index").write_bytes(b"not an index")
    assert "tutor index rebuild" in error_line(tutor("search", "top-k"))
    rebuilt = tutor("index", "rebuild")
    assert rebuilt.exit_code == 0 and "15 entries" in rebuilt.stdout
    assert json.loads(tutor("search", "--json", "top-k filter").stdout)["results"]
    assert bank_rows(data_dir) == before


def test_damaged_lexical_table_is_repaired_by_rebuild(tutor, data_dir):
    (data_dir / "index" / "lexical.db").write_bytes(b"garbage" * 1000)
    assert "tutor index rebuild" in error_line(tutor("search", "top-k"))
    assert tutor("index", "rebuild").exit_code == 0
    assert json.loads(tutor("search", "--json", "top-k filter").stdout)["grounded"]


def test_missing_index_says_how_to_rebuild(tutor, data_dir):
    (data_dir / "index" / "meta.json").unlink()
    assert "missing" in error_line(tutor("search", "top-k"))


def test_an_index_built_with_another_model_is_rebuilt_on_first_use_and_says_so(
    tutor, data_dir, caplog
):
    meta = data_dir / "index" / "meta.json"
    raw = json.loads(meta.read_text())
    raw["model"] = "some/other-model"
    meta.write_text(json.dumps(raw))
    status = json.loads(tutor("index", "status", "--json").stdout)
    assert status["model_matches"] is False
    with caplog.at_level(logging.WARNING, logger="tutor.retriever"):
        result = tutor("search", "--json", "top-k filter for logits")
    assert result.exit_code == 0
    said = [r.getMessage() for r in caplog.records if "some/other-model" in r.getMessage()]
    assert len(said) == 1 and "rebuilding" in said[0]
    caplog.clear()
    assert json.loads(result.stdout)["results"][0]["title"] == "Top-k filter"
    status = json.loads(tutor("index", "status", "--json").stdout)
    assert status == {**status, "model": "multilingual-e5-small", "model_matches": True, "rows": 15}
    with caplog.at_level(logging.WARNING, logger="tutor.retriever"):
        tutor("search", "--json", "top-k filter for logits")
    assert not [r for r in caplog.records if "rebuilding" in r.getMessage()]


def test_search_never_imports_torch_with_the_bundled_embedder(tutor, data_dir):
    program = (
        "import sys\n"
        "from bot.app.cli import main\n"
        f"sys.argv = ['tutor', '--data-dir', {str(data_dir)!r}, 'search', '--json', 'kv cache']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert json.loads(done.stdout)["results"], done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False"


def test_unloadable_embedding_model_is_one_line(tutor, monkeypatch, tmp_path):
    monkeypatch.setenv("TUTOR_EMBED_MODEL", str(tmp_path / "no-such-model"))
    line = error_line(tutor("search", "top-k"))
    assert "cannot load the embedding model" in line and "TUTOR_EMBED_MODEL" in line


def test_ingest_keeps_the_index_in_step(fresh_tutor, bank_dir):
    tutor = fresh_tutor
    path = bank_dir / "own_format_en.md"
    path.write_text(path.read_text().replace("Top-k filter", "Keep the best logits"))
    assert tutor("ingest", str(path)).exit_code == 0
    body = json.loads(tutor("search", "--json", "keep the best logits").stdout)
    assert body["results"][0]["title"] == "Keep the best logits"
    status = json.loads(tutor("index", "status", "--json").stdout)
    assert status == {**status, "built": True, "rows": 15, "kind": "flat", "model_matches": True}
