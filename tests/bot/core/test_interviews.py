"""Mock interviews through the tutor core: questions one after another, at most one follow-up
per question, the scorecard, the review schedule, stopping early, resuming after a restart, and
the follow-up phrased by a model (or from the key point when the model fails)."""

from __future__ import annotations

import random
import re

import pytest

from bot.llm.base import GenerationError
from bot.tutoring import interview as rules
from bot.tutoring.grading import key_points
from knowledge.entry import Entry
from tests.bot.conftest import Chat, Scripted, build

USER = "test:ada"
NONSENSE = "I would rather talk about the weather and my favourite sandwich."
WRONG_CODE = "```python\ndef nothing():\n    return None\n```"
SCORE = re.compile(r"`(\d{2,3})/100`")


def items(chat: Chat):
    interview = chat.tutor.progress.open_interview(USER, "team")
    assert interview is not None
    return interview, chat.tutor.progress.interview_items(interview.id)


def current(chat: Chat) -> Entry:
    interview, rows = items(chat)
    entry = chat.tutor.store.entry(rows[interview.position].entry_id)
    assert entry is not None
    return entry


def good_answer(entry: Entry) -> str:
    if entry.kind == "coding":
        return f"```python\n{entry.solution}\n```"
    return " ".join([*key_points(entry), entry.answer])


def poor_answer(entry: Entry) -> str:
    return WRONG_CODE if entry.kind == "coding" else NONSENSE


def test_a_whole_interview_asks_in_turn_follows_up_once_and_ends_with_a_scorecard(chat):
    opening = chat.say("/interview attention 3").text
    assert "Mock interview" in opening and "**Question 1/3**" in opening
    seen_follow_ups = 0
    for number in range(1, 4):
        entry = current(chat)
        assert entry.title in chat.say("/interview").text  # still open: asked again
        first = chat.say(poor_answer(entry)).text
        # A poor answer misses a key point: one follow-up on it.
        assert "**Follow-up**" in first and f"Question {number + 1}/3" not in first
        seen_follow_ups += 1
        second = chat.say(poor_answer(entry)).text
        # Never a second follow-up: the next question (or the scorecard) comes.
        assert "**Follow-up**" not in second
        if number < 3:
            assert f"**Question {number + 1}/3**" in second
    assert seen_follow_ups == 3
    assert "Interview scorecard" in second
    scores = SCORE.findall(second.split("Overall")[0])
    assert len(scores) == 3 and all(len(s) >= 2 for s in scores)
    assert "Strongest topic:" in second and "Weakest topic:" in second
    assert "now on your review list" in second
    assert chat.tutor.progress.open_interview(USER, "team") is None
    # Every scored question is a review: the missed ones are on the schedule, /stats counts them.
    reviews = chat.tutor.progress.reviews(USER)
    assert len(reviews) == 3 and all(r.score < rules.MISSED_BELOW for r in reviews)
    assert len(chat.tutor.progress.seen(USER)) == 3
    assert "3 answered" in chat.say("/stats").text


def test_a_complete_answer_gets_no_follow_up(chat):
    chat.say("/interview attention 2")
    entry = current(chat)
    reply = chat.say(good_answer(entry)).text
    assert "**Follow-up**" not in reply
    assert "**Question 2/2**" in reply
    assert re.search(r"Noted: \d{2,3}/100", reply)


def test_the_follow_up_answer_earns_back_part_of_what_was_missed(chat):
    chat.say("/interview post-norm 1")
    entry = current(chat)
    assert entry.kind == "concept"
    asked = chat.say(NONSENSE).text
    interview, rows = items(chat)
    point = rows[0].follow_up_point
    assert point == key_points(entry)[0]
    card = chat.say(point).text
    (row,) = chat.tutor.progress.interview_items(interview.id)
    assert "**Follow-up**" in asked
    assert row.follow_up_score is not None and row.follow_up_score > 0
    assert row.score == rules.combine(row.first_score or 0, row.follow_up_score)
    assert row.score > (row.first_score or 0)
    assert f"`{rules.score_text(row.score)}`" in card and "(with follow-up)" in card


def test_stop_ends_early_with_a_scorecard_of_what_was_answered(chat):
    chat.say("/interview attention 4")
    chat.say(good_answer(current(chat)))
    card = chat.say("/interview stop").text
    assert "Interview scorecard" in card
    assert "Ended early: 1 of 4 questions answered" in card
    assert len(SCORE.findall(card.split("Overall")[0])) == 1
    assert chat.tutor.progress.open_interview(USER, "team") is None
    assert "no interview open" in chat.say("/interview stop").text


def test_stop_before_any_answer_says_there_is_nothing_to_score(chat):
    chat.say("/interview attention 2")
    assert "No question was answered" in chat.say("/interview stop").text


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("/interview attention 0", "from 1 to 10"),
        ("/interview 11", "from 1 to 10"),
        ("/interview zzqqxx-no-such-topic 2", "no questions on"),
        ("/interview stop", "no interview open"),
    ],
)
def test_bad_input_gets_a_one_line_reply(chat, command, said):
    reply = chat.say(command).replies[0]
    assert said in reply.text and reply.kind == "error"
    assert chat.tutor.progress.open_interview(USER, "team") is None


def test_one_interview_at_a_time_and_no_quiz_during_it(chat):
    chat.say("/interview attention 2")
    again = chat.say("/interview rag 3").text
    assert "already have an interview open (question 1 of 2)" in again
    assert "mock interview" in chat.say("/quiz").text
    assert chat.tutor.progress.open_quiz(USER, "team") is None
    # /answer answers the interview's question.
    assert "**Follow-up**" in chat.say(f"/answer {poor_answer(current(chat))}").text


def test_a_restart_resumes_the_interview_where_it_was(home, embedder, sandbox):
    # Closing a tutor ends its sandbox: the first one runs none (concepts come first).
    chat = Chat(build(home, embedder))
    chat.say("/interview attention 2")
    entry = current(chat)
    assert entry.kind == "concept"
    chat.say(poor_answer(entry))  # the follow-up is now awaited
    chat.close()
    chat = Chat(build(home, embedder, sandbox=sandbox))
    try:
        assert "**Follow-up**" in chat.say("/interview").text
        reply = chat.say(poor_answer(entry)).text
        assert "**Question 2/2**" in reply and "**Follow-up**" not in reply
        card = chat.say(good_answer(current(chat))).text
        assert "Interview scorecard" in card
    finally:
        chat.close()


def test_a_chinese_learner_gets_the_chinese_scorecard(chat):
    chat.say("/lang zh")
    opening = chat.say("/interview attention 1").text
    assert "模拟面试" in opening
    card = chat.say(good_answer(current(chat))).text
    assert "面试成绩单" in card and re.search(r"`\d{2,3}/100`", card)


def test_a_loaded_model_phrases_the_follow_up(home, embedder):
    def reply(messages):
        if "mock interview" in messages[0]["content"]:
            return "And what does the residual path do for gradients?"
        return '{"score": 10, "covered": [], "feedback": "Off topic."}'

    model = Scripted(reply)
    chat = Chat(build(home, embedder, backend=model))
    try:
        chat.say("/interview post-norm 1")
        text = chat.say(NONSENSE).text
        assert "**Follow-up** · And what does the residual path do for gradients?" in text
        asked = [m for m in model.seen if "mock interview" in m[0]["content"]]
        assert len(asked) == 1 and "<missed_point>" in asked[0][1]["content"]
    finally:
        chat.close()


def test_a_failing_model_falls_back_on_the_key_point(home, embedder):
    class Broken(Scripted):
        async def stream(self, messages, *, max_new_tokens=512, cancel=None):
            raise GenerationError("the model is down")
            yield ""

    chat = Chat(build(home, embedder, backend=Broken()))
    try:
        chat.say("/interview post-norm 1")
        text = chat.say(NONSENSE).text
        assert "**Follow-up** · You didn't mention" in text
    finally:
        chat.close()


def test_the_plan_mixes_concepts_and_code_and_asks_concepts_first(chat):
    pool = chat.tutor.quizmaster.entries()
    chosen = rules.plan(pool, 6, random.Random(1), {}, "en", weakest_only=False)
    kinds = [e.kind for e in chosen]
    assert len(chosen) == 6 and "coding" in kinds and "concept" in kinds
    assert kinds == sorted(kinds, key=lambda k: k == "coding")
    # A new learner gets a spread: no topic twice before every topic was used once.
    assert len({rules.topic_of(e) for e in chosen}) >= 4


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", rules.InterviewRequest("", 5)),
        ("rag 3", rules.InterviewRequest("rag", 3)),
        ("kv cache", rules.InterviewRequest("kv cache", 5)),
        ("stop", rules.InterviewRequest(stop=True)),
        ("rag 0", rules.InterviewRequest(bad_count=True)),
        ("rag -2", rules.InterviewRequest(bad_count=True)),
    ],
)
def test_interview_arguments_are_read_as_topic_then_count(args, expected):
    assert rules.parse_request(args) == expected


def test_a_score_is_shown_with_two_digits_out_of_100():
    assert [rules.score_text(s) for s in (0, 7, 60, 100)] == [
        "00/100",
        "07/100",
        "60/100",
        "100/100",
    ]


def test_the_terminal_chat_runs_an_interview_to_its_scorecard(home):
    from tests.bot.app.test_chat import tutor

    # Two questions, each answered and then followed up: four messages, each one code block
    # (a concept question grades it as text, a programming problem runs it).
    script = "/interview attention 2\n" + "\n".join([WRONG_CODE] * 4) + "\n"
    result = tutor(home, "chat", stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "**Question 1/2**" in out and "**Question 2/2**" in out
    assert out.count("**Follow-up**") == 2
    card = out[out.index("Interview scorecard") :]
    assert len(re.findall(r"`\d{2,3}/100`", card.split("Overall")[0])) == 2
    assert "Weakest topic:" in card
