"""The tutor's commands, the same in Slack, Discord and the terminal: their names, what each
does (in both languages, for /help), and how a message is read as one."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """A command and its help, in English and Chinese."""

    name: str
    usage: str
    en: str
    zh: str


COMMANDS: tuple[Command, ...] = (
    Command(
        "ask",
        "/ask QUESTION",
        "Answer a question from the bank (a plain message does the same).",
        "根据题库回答问题（直接发消息也可以）。",
    ),
    Command(
        "quiz",
        "/quiz [topic] [zh|en] [code]",
        "A question from the bank: due reviews first, then new ones.",
        "从题库出一道题：先复习到期的题，再出新题。",
    ),
    Command(
        "answer",
        "/answer TEXT",
        "Answer your open quiz question (or just reply in its thread).",
        "回答当前的测验题（也可以直接在题目的线程里回复）。",
    ),
    Command(
        "hint",
        "/hint",
        "A hint for your open question (each hint costs 10 points).",
        "当前题目的提示（每次提示扣 10 分）。",
    ),
    Command("skip", "/skip", "Drop the open question without a grade.", "跳过当前题目，不计分。"),
    Command(
        "reveal",
        "/reveal",
        "Show the reference answer (counts as not remembered).",
        "显示参考答案（记为没有答出）。",
    ),
    Command(
        "rate",
        "/rate again|hard|good|easy",
        "After a grade: how well you knew it; replaces the suggested rating for scheduling.",
        "评分之后：你掌握得怎么样；替换建议的评级来安排复习。",
    ),
    Command(
        "stats",
        "/stats",
        "Your progress: answered, accuracy, streak, due reviews, mastery.",
        "你的进度：答题数、正确率、连续天数、待复习、各主题掌握度。",
    ),
    Command(
        "leaderboard",
        "/leaderboard",
        "The most points in this server or workspace.",
        "本服务器/工作区的积分排行。",
    ),
    Command(
        "run",
        "/run CODE",
        "Run a Python snippet in the sandbox (a ```python block works).",
        "在沙箱里运行一段 Python 代码（可以用 ```python 代码块）。",
    ),
    Command(
        "lang",
        "/lang zh|en|auto",
        "Reply language (auto follows each message).",
        "回复语言（auto 表示跟随每条消息）。",
    ),
    Command(
        "settings",
        "/settings [watch|unwatch #channel | lang zh|en|auto | topics A; B | show]",
        "Admins: channels answered without a mention, default language, quiz topics.",
        "管理员：无需 @ 即回答的频道、默认语言、测验主题。",
    ),
    # -- the study loop: reminders and the daily question --
    Command(
        "remind",
        "/remind [on [HH:MM] | off | tz Area/City]",
        "A direct message at your time of day when reviews are due (UTC unless your timezone "
        "is known).",
        "有到期复习时，在你设定的时间私信提醒（未知时区时按 UTC）。",
    ),
    Command(
        "daily",
        "/daily [#channel HH:MM [Area/City] | off]",
        "Admins: a question of the day in a channel, answered privately, revealed the next day.",
        "管理员：每天在频道发一道题，私下作答，第二天公布答案。",
    ),
    # -- end of the study loop --
    # -- mock interviews --
    Command(
        "interview",
        "/interview [topic] [n]",
        "A mock interview: n questions (1-10, default 5) with follow-ups, then a scorecard; "
        "/interview stop ends it.",
        "模拟面试：n 道题（1-10，默认 5），有追问，最后给出成绩单；/interview stop 提前结束。",
    ),
    # -- end of mock interviews --
    # -- progress to see and the bank from the chat --
    Command(
        "class",
        "/class",
        "Admins: this server's or workspace's mastery by topic, most missed questions, a chart.",
        "管理员：本服务器/工作区各主题的掌握度、最常答错的题和图表。",
    ),
    Command(
        "bank",
        "/bank [add]",
        "The bank's documents; admins attach Markdown files to /bank add to ingest them.",
        "题库的文档；管理员在 /bank add 消息里附上 Markdown 文件即可导入。",
    ),
    Command(
        "gaps",
        "/gaps [draft N | weekly #channel [day] [HH:MM] | weekly off]",
        "Admins: what the bank could not answer, grouped by meaning; draft an entry for one; "
        "a weekly digest to a channel.",
        "管理员：题库答不上的问题（按含义归组）；为某个缺口起草条目；每周把缺口周报发到频道。",
    ),
    # -- end of progress and the bank --
    Command("help", "/help", "This list.", "显示本帮助。"),
)
NAMES = tuple(c.name for c in COMMANDS)
# Commands a button sends; not listed in /help.
HIDDEN = ("feedback",)
ALIASES = {
    "tutor-help": "help",
    "tutor-settings": "settings",
    "h": "help",
    "q": "quiz",
    "a": "answer",
}

_INVISIBLE = re.compile("[\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff\u00ad]")
_COMMAND = re.compile(r"^[/!](?P<name>[A-Za-z][\w-]{0,30})(?:\s+|$)(?P<args>.*)$", re.DOTALL)


@dataclass(frozen=True)
class Parsed:
    """A message read as a command (`name` is "" for a plain message)."""

    name: str
    args: str
    raw_name: str = ""


def clean(text: str) -> str:
    """Text as the tutor reads it: NFC, no invisible or control characters, trimmed."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return text.strip()


def parse(text: str) -> Parsed:
    """Split a message into a command and its arguments; unknown commands keep their name in
    raw_name with name "?"."""
    match = _COMMAND.match(text)
    if not match:
        return Parsed("", text)
    raw = match.group("name").lower()
    name = ALIASES.get(raw, raw)
    if name not in NAMES and name not in HIDDEN:
        return Parsed("?", match.group("args").strip(), raw)
    return Parsed(name, match.group("args").strip(), raw)


def closest(name: str) -> str | None:
    """The command a mistyped name most likely meant."""
    found = difflib.get_close_matches(name.lower(), list(NAMES) + list(ALIASES), n=1, cutoff=0.5)
    return ALIASES.get(found[0], found[0]) if found else None
