"""The text catalogue: every text in both languages with the same fields, every text the code
says present with exactly the fields it is given, every layout (a reply assembled from several
texts) answering in both languages, and the wording rules callers rely on."""

from __future__ import annotations

import ast
import inspect
import re
import string
from pathlib import Path
from typing import Any

import pytest

from bot.texts import layouts, messages
from bot.texts.layouts import chat, study

ROOT = Path(__file__).resolve().parents[3]
CJK = re.compile(r"[\u4e00-\u9fff]")
LANGS = ("en", "zh")

STATS = {
    "answered": 12,
    "accuracy": 75,
    "streak": 3,
    "due": 2,
    "topics": [("Attention", 64, 3, 5), ("RAG", 0, 0, 4)],
}

# Representative arguments (after `lang`) for each public function; several where a branch
# picks different texts, so that together they reach every catalogue entry.
CASES: dict[str, list[tuple[Any, ...]]] = {
    "not_in_bank": [([],), (["KV cache", "RAG"],)],
    "sources_line": [(["aaaaaaaaaaaa", "bbbbbbbbbbbb"],)],
    "check_replaced": [
        ("language", "aaaaaaaaaaaa"),
        ("contradicts", "aaaaaaaaaaaa"),
        ("thin", "aaaaaaaaaaaa"),
    ],
    "help_text": [([("/quiz [topic]", "a question")], ["KV cache"])],
    "unknown_command": [("quz", "quiz"), ("zzz", None)],
    "topic_unknown": [("kv", ["KV cache", "RAG"])],
    "topic_list": [([("KV cache", 3), ("RAG", 1)],)],
    "quiz_question": [("KV cache", "What is it?", True, "new"), ("RAG", "Why?", False, "due")],
    "why_asked": [("due",), ("new",), ("ahead",)],
    "grade_reply": [(80, ["reuse"], ["memory"], "Good.", 10, "The reference.", "in 3 days")],
    "code_reply": [
        (1, 2, [("test_a", True), ("test_b", False)], "AssertionError", "", 5, "def f(): ...", "x"),
        (0, 2, [], "", "SyntaxError: invalid syntax", 0, "def f(): ...", "x"),
    ],
    "due_in": [(60,), (3 * 3600,), (5 * 86400,)],
    "stats_text": [(STATS,), ({"answered": 0},)],
    "leaderboard_text": [([("ann", 30, 4), ("bob", 20, 3)],), ([],)],
    "run_reply": [("", "", "exit 0", 12.0, ["plot.png"])],
    "run_ending": [],  # keyword-only: see RUN_ENDINGS
    "lang_set": [("auto",), ("zh",), ("en",)],
    "feedback_thanks": [(True,), (False,)],
    "feedback_buttons": [()],
    "quiz_buttons": [()],
    "run_busy": [("you already have a run going",)],
    "slow_down": [(12.6, 20)],
    "settings_text": [({"watch": ["C1"], "topics": ["RAG"], "lang": "zh"},)],
    "run_box": [()],
    # The learner's rating, untested code, the closest material.
    "rating_names": [()],
    "rating_buttons": [(1,), (3,)],
    "rating_offer": [(2,)],
    "rating_saved": [(4, 3, "in 5 days")],
    "untested_code_note": [(True, ""), (False, "ZeroDivisionError: division by zero"), (None, "")],
    # -- mock interviews --
    "interview_intro": [(3, "RAG", "**Question 1/3** · What?"), (5, "", "Q"), (5, "*", "Q")],
    "interview_question": [(1, 3, "RAG", "Why?", False), (2, 3, "KV cache", "Code it.", True)],
    "interview_follow_up_text": [("Pre-norm", False), ("`test_empty`", True)],
    "interview_scorecard": [
        (
            [(1, "RAG", "07/100", True), (2, "KV cache", "100/100", False)],
            ("KV cache", "100/100"),
            ("RAG", "07/100"),
            ["RAG"],
            "54/100",
            2,
            3,
        ),
        ([(1, "RAG", "80/100", False)], ("RAG", "80/100"), ("RAG", "80/100"), [], "80/100", 1, 1),
    ],
    "interview_topic_unknown": [("kv", ["KV cache", "RAG"])],
    # -- progress charts, the class overview, the bank from the chat --
    "chart_labels": [()],
    "chart_title": [(False,), (True,)],
    "class_text": [
        (
            {
                "reviews": 9,
                "learners": 2,
                "topics": [("RAG", 48, 2)],
                "missed": [("What is a KV cache?", 25, 2)],
            },
        ),
        ({"reviews": 3, "learners": 1, "topics": [], "missed": []},),
        ({"reviews": 0},),
    ],
    "bank_no_files": [(20.0,)],
    "bank_list": [([("a.md", "Attention", 12), ("b.md", "", 3)],), ([],)],
    "bank_too_big": [(20.0,)],
    "bank_report": [(["- a.md: unchanged (12 entries)"],)],
    # -- end of progress charts and the bank --
    # -- the study loop: reminders and the daily question --
    "reminder": [(3, ["KV cache", "RAG"]), (1, [])],
    "gaps_list": [
        ([],),
        ([("LoRA", 3, ["What is LoRA?", "LoRA 的秩怎么选？"], ["Fine-tuning [ab12]"])],),
        ([("BPE", 1, ["How does BPE work?"], [])],),
    ],
    "gaps_draft_usage": [(0,), (3,)],
    "gaps_draft_ready": [("LoRA", True), ("LoRA", False)],
    "gaps_weekly_status": [(None,), (("C9", 0, "09:00", "UTC"),)],
    "gaps_digest": [
        ([], [], []),
        (
            [("LoRA", 2, ["What is LoRA?"], ["Fine-tuning [ab12]"])],
            [("RLHF", 1, 3)],
            [("BPE", "Byte-pair encoding", "cd34", 2)],
        ),
    ],
    "daily_figures": [(3, 72, "memory"), (2, 50, ""), (0, 0, "")],
    # -- end of the study loop --
    # Every command and option Discord describes.
    "slash_description": [
        (key.removeprefix("slash."),) for key in messages.TEXTS if key.startswith("slash.")
    ],
}
RUN_ENDINGS = [
    {"timed_out": True, "signal": None, "exit_code": None, "truncated": False},
    {"timed_out": False, "signal": "SIGKILL", "exit_code": None, "truncated": True},
    {"timed_out": False, "signal": None, "exit_code": 1, "truncated": False},
    {"timed_out": False, "signal": "SIGKILL", "exit_code": None, "truncated": False}
    | {"limit": "memory", "limit_value": 128.0},
    {"timed_out": False, "signal": "SIGKILL", "exit_code": None, "truncated": False}
    | {"limit": "cpu", "limit_value": 5.0},
]
# Not about language: `say` is the lookup, `fence` wraps code.
NOT_TEXTS: set[str] = set()

CALLS = [(name, args) for name, cases in CASES.items() for args in cases] + [
    ("run_ending", kwargs) for kwargs in RUN_ENDINGS
]


def call(lang: str, name: str, args: Any) -> str:
    """The function's text; a tuple of labels is joined."""
    function = getattr(layouts, name)
    out = function(lang, **args) if isinstance(args, dict) else function(lang, *args)
    return " ".join(out) if isinstance(out, tuple) else out


def fields(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def public_functions() -> set[str]:
    """The layouts: every public function of bot/texts/layouts/."""
    return {
        name
        for module in (chat, study)
        for name, value in vars(module).items()
        if inspect.isfunction(value)
        and value.__module__ == module.__name__
        and not name.startswith("_")
    }


@pytest.mark.parametrize("key", sorted(messages.TEXTS))
def test_every_entry_has_both_languages(key):
    text = messages.TEXTS[key]
    assert text.en.strip() and text.zh.strip()


@pytest.mark.parametrize("key", sorted(messages.TEXTS))
def test_every_field_of_the_english_text_is_in_the_chinese_one(key):
    text = messages.TEXTS[key]
    assert fields(text.en) - set(text.en_only) == fields(text.zh)
    # A field declared English-only must really be one, or the exception hides a missing field.
    assert set(text.en_only) <= fields(text.en) - fields(text.zh)


@pytest.mark.parametrize("key", sorted(messages.TEXTS))
def test_chinese_entries_are_written_in_chinese_and_english_ones_are_not(key):
    text = messages.TEXTS[key]
    assert not CJK.search(text.en)
    if text.zh != text.en:  # a few are the same in both, e.g. 'exit {code}'
        assert CJK.search(text.zh) or text.zh.strip() in {"；"}


def test_every_public_function_has_a_case():
    assert public_functions() - NOT_TEXTS == set(CASES)


@pytest.mark.parametrize(("name", "args"), CALLS, ids=[name for name, _ in CALLS])
@pytest.mark.parametrize("lang", LANGS)
def test_every_public_function_answers_in_both_languages(lang, name, args):
    assert call(lang, name, args).strip()


def said_in_code() -> list[tuple[str, str, set[str] | None]]:
    """Every `say(lang, "key", field=...)` with a literal key in the tutor's code, as (where,
    key, fields); fields None when they are passed as **mapping."""
    found = []
    for path in sorted(ROOT.glob("bot/**/*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            key = node.args[1]
            if name != "say" or not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                continue
            names = {k.arg for k in node.keywords}
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            found.append((where, key.value, None if None in names else names))
    return found


SAID = said_in_code()


def test_every_catalogue_entry_is_said_somewhere(monkeypatch):
    # By the layouts that assemble several texts (their keys may be computed), run on their
    # cases, and by the literal keys the code says directly.
    used: set[str] = {key for _, key, _ in SAID}
    say = messages.say

    def recording(lang, key, **fields):
        used.add(key)
        return say(lang, key, **fields)

    for module in (messages, chat, study):  # the layouts hold `say` by name
        monkeypatch.setattr(module, "say", recording)
    for name, args in CALLS:
        for lang in LANGS:
            call(lang, name, args)
    assert set(messages.TEXTS) - used == set()


@pytest.mark.parametrize(("where", "key", "names"), SAID, ids=[w for w, _, _ in SAID])
def test_every_text_the_code_says_exists_with_exactly_the_fields_it_is_given(where, key, names):
    assert key in messages.TEXTS, f"{where}: no text {key!r}"
    if names is not None:
        assert names == fields(messages.TEXTS[key].en), f"{where}: {key!r} gets {names}"


@pytest.mark.parametrize(
    ("key", "fields_"),
    [
        ("empty_message", {}),
        ("no_quiz", {}),
        ("bank_empty", {}),
        ("failure", {"incident": "ab12cd34"}),
        ("slow_down", None),
    ],
)
def test_a_chinese_text_is_in_chinese_and_an_english_one_is_not(key, fields_):
    if fields_ is None:  # a layout
        zh, en = layouts.slow_down("zh", 12.0, 20), layouts.slow_down("en", 12.0, 20)
    else:
        zh, en = messages.say("zh", key, **fields_), messages.say("en", key, **fields_)
    assert CJK.search(zh) and not CJK.search(en)


@pytest.mark.parametrize("name", ["grade_reply", "stats_text"])
def test_a_chinese_reply_is_in_chinese_and_an_english_one_is_not(name):
    args = CASES[name][0]
    assert CJK.search(call("zh", name, args))
    assert not CJK.search(call("en", name, args))


def test_a_value_with_braces_is_shown_as_written_not_formatted():
    assert "{model.__class__}" in messages.say(
        "en", "hint", text="print {model.__class__}", number=1, left=0
    )
    assert "{0}" in messages.say("zh", "failure", incident="{0}")


def test_an_unknown_command_suggests_the_close_one_only_when_there_is_one():
    assert layouts.unknown_command("en", "quz", "quiz") == (
        "There is no /quz command. Did you mean /quiz? Send /help for the list."
    )
    assert layouts.unknown_command("zh", "zzz", None) == (
        "没有 /zzz 这个命令。发 /help 查看全部命令。"
    )


def test_lang_confirms_in_the_language_chosen_not_the_one_asked_in():
    assert layouts.lang_set("en", "zh") == "好的，之后用中文回复。"
    assert layouts.lang_set("zh", "en") == "OK: I'll reply in English from now on."
    assert CJK.search(layouts.lang_set("zh", "auto"))


def test_run_busy_shows_the_runners_reason_in_english_and_a_fixed_sentence_in_chinese():
    assert layouts.run_busy("en", "you already have a run going") == (
        "You already have a run going."
    )
    assert "you already" not in layouts.run_busy("zh", "you already have a run going")


@pytest.mark.parametrize(
    ("lang", "kwargs", "expected"),
    [
        ("en", RUN_ENDINGS[0], "timed out"),
        ("zh", RUN_ENDINGS[0], "超时"),
        ("en", RUN_ENDINGS[1], "killed by SIGKILL · output cut"),
        ("zh", RUN_ENDINGS[1], "被 SIGKILL 终止 · 输出已截断"),
        ("en", RUN_ENDINGS[2], "exit 1"),
        ("zh", RUN_ENDINGS[2], "exit 1"),
        ("en", RUN_ENDINGS[3], "killed: over the memory limit (128 MiB)"),
        ("zh", RUN_ENDINGS[3], "被终止：超出内存上限（128 MiB）"),
        ("en", RUN_ENDINGS[4], "killed: over the CPU time limit (5 s)"),
        ("zh", RUN_ENDINGS[4], "被终止：超出 CPU 时间上限（5 秒）"),
    ],
)
def test_run_ending_says_how_the_run_ended(lang, kwargs, expected):
    assert layouts.run_ending(lang, **kwargs) == expected


@pytest.mark.parametrize(
    ("seconds", "en", "zh"),
    [
        (0, "in 1 min", "1 分钟后"),
        (59 * 60, "in 59 min", "59 分钟后"),
        (3600, "in 1 h", "1 小时后"),
        (47 * 3600, "in 47 h", "47 小时后"),
        (48 * 3600, "in 2 days", "2 天后"),
    ],
)
def test_due_in_picks_minutes_hours_or_days(seconds, en, zh):
    assert (layouts.due_in("en", seconds), layouts.due_in("zh", seconds)) == (en, zh)


def test_a_grade_mentions_the_hint_penalty_only_when_there_is_one():
    args = (["reuse"], [], "", 0, "ref", "in 1 h")
    assert "hints" not in layouts.grade_reply("en", 90, *args)
    assert layouts.grade_reply("en", 90, ["reuse"], [], "", 10, "ref", "in 1 h").startswith(
        "**Score: 90/100** (hints: −10)\n"
    )
    assert layouts.grade_reply("zh", 90, ["reuse"], [], "", 10, "ref", "1 小时后").startswith(
        "**得分: 90/100**（提示扣 10 分）\n"
    )


def test_a_coding_answer_sees_the_reference_solution_only_when_it_failed():
    rows = [("test_a", True)]
    passed = layouts.code_reply("en", 1, 1, rows, "", "", 0, "SOLUTION", "in 1 h")
    failed = layouts.code_reply("en", 0, 1, [("test_a", False)], "boom", "", 0, "SOLUTION", "x")
    assert "SOLUTION" not in passed
    assert "**Reference solution**\n```python\nSOLUTION\n```" in failed


def test_chinese_topics_close_to_a_question_are_joined_with_a_chinese_semicolon():
    assert "相近的主题有：KV cache；RAG。" in layouts.not_in_bank("zh", ["KV cache", "RAG"])
    assert "Close topics in the bank: KV cache; RAG." in layouts.not_in_bank(
        "en", ["KV cache", "RAG"]
    )
