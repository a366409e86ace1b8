"""The `tutor` command: the contract's JSON, settings, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app.cli import cli


@pytest.fixture
def run(data_dir: Path, monkeypatch):
    monkeypatch.delenv("TUTOR_HOME", raising=False)
    monkeypatch.delenv("TUTOR_CONFIG", raising=False)
    monkeypatch.delenv("TUTOR_MAX_FILE_MB", raising=False)

    def invoke(*args: str, data: Path | None = data_dir, input: str | None = None):
        prefix = ["--data-dir", str(data)] if data is not None else []
        return CliRunner().invoke(cli, [*prefix, *args], input=input, catch_exceptions=False)

    return invoke


def one_line_error(result) -> str:
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output + result.stderr
    return lines[0]


def test_ingest_json_follows_the_contract(run, bank_dir):
    result = run("ingest", "--json", str(bank_dir))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "files": 7,
        "entries": 15,
        "added": 15,
        "updated": 0,
        "removed": 0,
    }
    assert "no_questions.md: no recognisable questions" in result.stderr
    again = json.loads(run("ingest", "--json", str(bank_dir)).stdout)
    assert (again["added"], again["updated"], again["removed"]) == (0, 0, 0)


def test_ingest_without_paths_is_a_usage_error(run):
    result = run("ingest")
    assert result.exit_code == 2
    assert "--starter" in result.stderr


def test_bank_list_show_and_stats(run, bank_dir):
    run("ingest", str(bank_dir))
    listed = [json.loads(line) for line in run("bank", "list", "--json").stdout.splitlines()]
    assert len(listed) == 15
    coding = run("bank", "list", "--kind", "coding", "--lang", "en", "--json").stdout.splitlines()
    assert [json.loads(line)["title"] for line in coding] == ["Top-k filter"]
    entry_id = json.loads(coding[0])["id"]
    shown = json.loads(run("bank", "show", "--json", entry_id).stdout)
    assert shown["question"].startswith("Write `top_k_filter(logits, k)`")
    assert "def test_keeps_largest" in shown["tests"]
    text = run("bank", "show", entry_id[:6]).stdout
    assert "Top-k filter" in text and "def top_k_filter" in text
    stats = json.loads(run("bank", "stats", "--json").stdout)
    assert stats["entries"] == 15
    assert stats["by_language"] == {"en": 4, "zh": 11}
    assert stats["by_kind"] == {"coding": 4, "concept": 11}


def test_bank_show_unknown_id(run, bank_dir):
    run("ingest", str(bank_dir))
    assert "no entry 'nope'" in one_line_error(run("bank", "show", "nope"))


def test_file_with_no_questions_warns_and_fails(run, bank_dir):
    result = run("ingest", str(bank_dir / "no_questions.md"))
    assert result.exit_code == 1
    assert "warning: " in result.stderr and "no_questions.md" in result.stderr
    assert "error: no entries found" in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.md", b"", "empty.md: is empty"),
        ("image.md", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "image.md: is a binary file"),
    ],
)
def test_bad_files_get_one_line_errors_and_write_nothing(
    run, tmp_path, data_dir, name, content, message
):
    path = tmp_path / name
    path.write_bytes(content)
    error = one_line_error(run("ingest", str(path)))
    assert message in error
    stats = json.loads(run("bank", "stats", "--json").stdout)
    assert stats["entries"] == 0


@pytest.mark.parametrize("encoding", ["gbk", "utf-16"])
def test_chinese_files_in_legacy_encodings_are_ingested(run, tmp_path, encoding):
    path = tmp_path / f"bank_{encoding}.md"
    text = (
        "### 1. 梯度裁剪\n\n**面试题：** 为什么要做梯度裁剪？\n\n"
        "**答案：** 防止梯度爆炸：\n\n- **按范数裁剪：** 总范数超过阈值时整体缩放。\n"
    )
    path.write_bytes(text.encode(encoding))
    result = run("ingest", "--json", str(path))
    assert json.loads(result.stdout)["added"] == 1
    entry = json.loads(run("bank", "list", "--json").stdout.splitlines()[0])
    assert entry["question"] == "为什么要做梯度裁剪？"


def test_fifty_megabyte_file_is_refused(run, tmp_path):
    path = tmp_path / "huge.md"
    with path.open("wb") as f:
        f.write(b"**Question:** x?\n\n**Answer:** y.\n")
        f.truncate(50_000_000)
    error = one_line_error(run("ingest", str(path)))
    assert "huge.md: is 50.0 MB, over the 20 MB limit" in error
    assert "TUTOR_MAX_FILE_MB" in error


def test_missing_path(run, tmp_path):
    assert "nope.md: no such file or folder" in one_line_error(
        run("ingest", str(tmp_path / "nope.md"))
    )


def test_data_dir_that_cannot_be_written(run, tmp_path, bank_dir):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    error = one_line_error(run("ingest", str(bank_dir), data=blocker / "data"))
    assert "cannot open the data dir" in error


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_read_only_data_dir(run, tmp_path, bank_dir):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert "cannot open the data dir" in one_line_error(
            run("ingest", str(bank_dir), data=locked)
        )
    finally:
        locked.chmod(0o700)


def test_config_lists_every_setting_with_env_and_default(run, data_dir, monkeypatch):
    monkeypatch.setenv("TUTOR_MAX_FILE_MB", "5")
    rows = json.loads(run("config", "--json").stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["home"]["value"] == str(data_dir)
    assert by_name["max_file_mb"] == {
        "name": "max_file_mb",
        "env": "TUTOR_MAX_FILE_MB",
        "value": 5.0,
        "default": 20.0,
        "description": by_name["max_file_mb"]["description"],
    }
    assert all(r["description"] for r in rows)


def test_toml_file_is_read_and_the_environment_wins(run, data_dir, monkeypatch):
    data_dir.mkdir(parents=True)
    (data_dir / "tutor.toml").write_text('max_file_mb = 3\nlog_level = "info"\n')
    rows = {r["name"]: r["value"] for r in json.loads(run("config", "--json").stdout)}
    assert (rows["max_file_mb"], rows["log_level"]) == (3.0, "info")
    monkeypatch.setenv("TUTOR_MAX_FILE_MB", "7")
    rows = {r["name"]: r["value"] for r in json.loads(run("config", "--json").stdout)}
    assert rows["max_file_mb"] == 7.0


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("max_file_mb = [", "is not valid TOML"),
        ("max_file_mb = -1", "setting max_file_mb"),
        ("no_such_setting = 1", "setting no_such_setting"),
    ],
)
def test_bad_config_file_gets_one_line_error(run, data_dir, toml, message):
    data_dir.mkdir(parents=True)
    (data_dir / "tutor.toml").write_text(toml)
    assert message in one_line_error(run("config"))


def test_bad_environment_setting_gets_one_line_error(run, monkeypatch):
    monkeypatch.setenv("TUTOR_MAX_FILE_MB", "lots")
    assert "TUTOR_MAX_FILE_MB" in one_line_error(run("config"))


def test_data_dir_comes_from_tutor_home(run, tmp_path, monkeypatch, bank_dir):
    home = tmp_path / "from-env"
    monkeypatch.setenv("TUTOR_HOME", str(home))
    run("ingest", str(bank_dir / "own_format_en.md"), data=None)
    assert (home / "tutor.db").is_file()


def test_console_script_runs_without_a_traceback(tmp_path, bank_dir):
    env = {**os.environ, "TUTOR_HOME": str(tmp_path / "home")}
    tutor = Path(sys.executable).with_name("tutor")
    help_text = subprocess.run(
        [tutor, "--help"], capture_output=True, text=True, env=env, check=True
    )
    for command in ("ingest", "bank", "config"):
        assert command in help_text.stdout
    done = subprocess.run(
        [tutor, "ingest", "--json", str(bank_dir / "question_en.md")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(done.stdout)["entries"] == 2


def test_config_never_prints_the_runner_secret(run, monkeypatch):
    monkeypatch.setenv("TUTOR_RUNNER_SECRET", "very-secret-shared-value")
    result = run("config")
    assert "very-secret-shared-value" not in result.stdout
    rows = {r["name"]: r["value"] for r in json.loads(run("config", "--json").stdout)}
    assert rows["runner_secret"] == "(set)"
