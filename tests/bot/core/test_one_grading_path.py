"""One grading path: the same answer to the same entry gets the same score and the same covered
and missed lists from /quiz, /daily, /interview and `tutor grade`. The answer is code for a
coding problem the bank has no tests for (graded by its rubric plus a run in the sandbox), the
case where the paths used to disagree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app.cli import cli
from knowledge.ingest import ingest
from tests.bot.conftest import PYTHON, Chat, build
from tests.bot.core.test_study import ANSWER, RecordingCourier, at, run_due, say, scheduler
from tests.conftest import FIXTURES

USER = "test:ada"
CODE = """```python
def ema(values, alpha):
    out = []
    for i, v in enumerate(values):
        out.append(v if i == 0 else alpha * v + (1 - alpha) * out[-1])
    return out

print(ema([1.0, 2.0, 3.0], 0.5))
```"""


@pytest.fixture
def smoothing(home, embedder, sandbox):
    """A chat over the starter bank plus a coding problem without tests, and the problem's id."""
    from knowledge.store import Store
    from retriever.search import Retriever

    store = Store(home)
    ingest(store, [FIXTURES / "untested"], max_bytes=10**6)
    (entry,) = [e for e in store.entries() if e.title == "Exponential moving average"]
    assert entry.kind == "coding" and not entry.tests.strip() and entry.solution
    retriever = Retriever(store, home / "index", embedder)
    retriever.sync()
    retriever.close()
    store.close()
    chat = Chat(build(home, embedder, sandbox=sandbox))
    yield chat, entry
    chat.close()


def graded_by_cli(home, entry_id: str, answer: str, monkeypatch, tmp_path) -> dict:
    data = tmp_path / "cli-home"
    if not data.exists():
        shutil.copytree(home, data)
    monkeypatch.setenv("TUTOR_LLM_MODEL", "none")
    monkeypatch.setenv("TUTOR_RUNNER_PYTHON", PYTHON)
    for name in ("TUTOR_HOME", "TUTOR_CONFIG", "TUTOR_LLM_URL", "TUTOR_RUNNER_URL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(data), "grade", "--json", "--entry", entry_id, "-"],
        input=answer,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_an_untested_coding_answer_gets_one_grade_on_every_path(
    smoothing, home, monkeypatch, tmp_path
):
    chat, entry = smoothing
    by_cli = graded_by_cli(home, entry.id, CODE, monkeypatch, tmp_path)
    assert by_cli["by"] == "rubric" and by_cli["ran"] is True
    assert by_cli["score"] >= 60  # a correct solution that runs
    lists = (by_cli["covered"], by_cli["missed"])
    assert by_cli["covered"]

    # /quiz
    assert entry.title in chat.say("/quiz exponential moving average").text
    reply = chat.say(CODE).replies[-1]
    assert "runs cleanly" in reply.text
    quiz = chat.tutor.progress.reviews(USER)[-1]
    assert (quiz.entry_id, quiz.score) == (entry.id, by_cli["score"])
    assert (list(quiz.covered), list(quiz.missed)) == lists

    # /interview (one question: its first answer's score and lists)
    assert entry.title in chat.say("/interview exponential moving average 1", user="bob").text
    chat.say(CODE, user="bob")
    (item,) = chat.tutor.progress.interview_items(1)
    assert (item.entry_id, item.first_score) == (entry.id, by_cli["score"])
    assert (list(item.covered), list(item.missed)) == lists
    # /daily asks concept questions only (an answer box takes prose): the test below.


def test_a_concept_answer_gets_one_grade_on_every_path(smoothing, home, monkeypatch, tmp_path):
    chat, _ = smoothing
    # /daily, answered privately
    chat.tutor.progress.places.set_place_settings("team", {"topics": ["post-norm"]})
    courier = RecordingCourier()
    scheduler(chat, courier, at(9))
    assert "Done" in say(chat, "/daily #C9 09:00", admin=True).replies[0].text
    run_due(chat, courier, at(9))
    entry = chat.tutor.store.entry(chat.tutor.study.book.post(1).entry_id)
    assert entry is not None and entry.kind == "concept"
    daily = say(chat, f"{courier.posts[-1][1].buttons[0].command} {ANSWER}", user="cy")
    assert daily.replies[-1].private
    review = chat.tutor.progress.reviews("test:cy")[-1]
    assert review.entry_id == entry.id and 0 < review.score < 100
    lists = (list(review.covered), list(review.missed))
    assert review.covered and review.missed

    by_cli = graded_by_cli(home, entry.id, ANSWER, monkeypatch, tmp_path)
    assert (by_cli["score"], by_cli["covered"], by_cli["missed"]) == (review.score, *lists)

    assert entry.title in chat.say(f"/quiz {entry.title}").text
    chat.say(ANSWER)
    quiz = chat.tutor.progress.reviews(USER)[-1]
    assert (quiz.entry_id, quiz.score, list(quiz.covered), list(quiz.missed)) == (
        entry.id,
        review.score,
        *lists,
    )

    assert entry.title in chat.say(f"/interview {entry.title} 1", user="bob").text
    chat.say(ANSWER, user="bob")
    (item,) = chat.tutor.progress.interview_items(1)
    assert (item.entry_id, item.first_score, list(item.covered), list(item.missed)) == (
        entry.id,
        review.score,
        *lists,
    )


GRADED_PART = Path(__file__).parents[3] / "eval" / "grading_test.jsonl"


@pytest.mark.slow
def test_tutor_grade_and_quiz_agree_on_every_graded_answer(
    home, embedder, sandbox, monkeypatch, tmp_path
):
    """Every answer of the frozen grading part (good, partial and wrong, concept and coding):
    `tutor grade --json` and an answer to an open /quiz give the same score, covered and missed
    lists. Agreement is what is checked here, not the grades (eval/grading.py measures those)."""
    from knowledge.store import Store

    items = [json.loads(line) for line in GRADED_PART.read_text("utf-8").splitlines() if line]
    store = Store(home)
    by_title = {(e.title, e.language): e for e in store.entries()}
    store.close()
    chat = Chat(build(home, embedder, sandbox=sandbox))
    try:
        compared = 0
        for item in items:
            entry = by_title[(item["title"], item["lang"])]
            for band in ("good", "partial", "wrong"):
                answer = item[band]
                by_cli = graded_by_cli(home, entry.id, answer, monkeypatch, tmp_path)
                learner = f"learner{compared}"  # one each: a learner may send 20 a minute
                quiz = chat.tutor.progress.start_quiz(
                    f"test:{learner}", "team", "general", "", entry.id, entry.kind
                )
                said = chat.say(f"/answer {answer}", user=learner)
                (review,) = chat.tutor.progress.reviews(f"test:{learner}")
                replies = [r.text for r in said.replies]
                assert review.quiz_id == quiz.id, (item["title"], band, replies)
                got = (review.score, list(review.covered), list(review.missed))
                want = (by_cli["score"], by_cli["covered"], by_cli["missed"])
                assert got == want, (item["title"], band)
                compared += 1
        assert compared == 3 * len(items) and {i["kind"] for i in items} == {"concept", "coding"}
    finally:
        chat.close()
