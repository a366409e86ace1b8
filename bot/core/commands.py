"""The tutor's commands, the same in Slack, Discord and the terminal: one registry of what each
command is (its name, options and their types, help in both languages, whether its reply is
private, whether it asks who is an admin), and how a message is read as one. Both bots build
their slash commands from it: Slack's names and privacy (`bot/adapters/slack/listeners.py`),
Discord's slash tree with its zh-CN descriptions (`bot/adapters/discord/tree.py`), and /help."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

OptionKind = Literal["text", "int", "bool", "file"]


@dataclass(frozen=True)
class Option:
    """One option of a slash command. Its value joins the command's text in order: a text or
    a number as written, a bool as its name when set; a file travels as an attachment.
    Discord describes it by the catalogue's `slash.<command>.<name>`."""

    name: str
    kind: OptionKind = "text"
    required: bool = False
    default: str = ""  # the text when left empty (settings' "show")
    low: int = 0  # the range of an int, or a text's exact length (2 for a language)
    high: int = 0


@dataclass(frozen=True)
class Command:
    """A command: its help in English and Chinese, and what every bot needs to know of it."""

    name: str
    usage: str
    en: str
    zh: str
    options: tuple[Option, ...] = ()
    # The reply goes to the asker alone (Slack's ephemeral, Discord's ephemeral follow-ups).
    private: bool = False
    # The core needs to know whether the user is an admin (some or all of what it does is
    # for admins): Slack asks users.info only for these.
    admin: bool = False
    # The core reads the user's timezone (Slack asks users.info for it).
    timezone: bool = False
    # Its slash command's name on Slack, where Slack keeps ours for itself.
    slack: str = ""
    # A slash command on Slack and Discord (the rest are typed, or sent by buttons).
    slash: bool = True

    @property
    def slack_name(self) -> str:
        """Its slash command on Slack."""
        return f"/{self.slack or self.name}"

    def text(self, values: Mapping[str, object]) -> str:
        """The chat text a slash command's option values stand for (a file is not text)."""
        words = []
        for option in self.options:
            value = values.get(option.name)
            if option.kind == "bool":
                words.append(option.name if value else "")
            elif option.kind != "file":
                words.append(str(value) if value not in (None, "") else option.default)
        return " ".join([f"/{self.name}", *(w for w in words if w)])


TEXT = Option("text")
COMMANDS: tuple[Command, ...] = (
    Command(
        "ask",
        "/ask QUESTION",
        "Answer a question from the bank (a plain message does the same).",
        "根据题库回答问题（直接发消息也可以）。",
        options=(Option("question", required=True),),
        private=True,
    ),
    Command(
        "quiz",
        "/quiz [topic] [zh|en] [code]",
        "A question from the bank: due reviews first, then new ones.",
        "从题库出一道题：先复习到期的题，再出新题。",
        options=(Option("topic"), Option("lang", low=2, high=2), Option("code", "bool")),
    ),
    Command(
        "answer",
        "/answer TEXT",
        "Answer your open quiz question (or just reply in its thread).",
        "回答当前的测验题（也可以直接在题目的线程里回复）。",
        options=(Option("text", required=True),),
    ),
    Command(
        "hint",
        "/hint",
        "A hint for your open question (each hint costs 10 points).",
        "当前题目的提示（每次提示扣 10 分）。",
        slash=False,
    ),
    Command(
        "skip",
        "/skip",
        "Drop the open question without a grade.",
        "跳过当前题目，不计分。",
        slash=False,
    ),
    Command(
        "reveal",
        "/reveal",
        "Show the reference answer (counts as not remembered).",
        "显示参考答案（记为没有答出）。",
        slash=False,
    ),
    Command(
        "rate",
        "/rate again|hard|good|easy",
        "After a grade: how well you knew it; replaces the suggested rating for scheduling.",
        "评分之后：你掌握得怎么样；替换建议的评级来安排复习。",
        slash=False,
    ),
    Command(
        "stats",
        "/stats",
        "Your progress: answered, accuracy, streak, due reviews, mastery.",
        "你的进度：答题数、正确率、连续天数、待复习、各主题掌握度。",
        private=True,
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
        options=(Option("code"),),
    ),
    Command(
        "lang",
        "/lang zh|en|auto",
        "Reply language (auto follows each message).",
        "回复语言（auto 表示跟随每条消息）。",
        slash=False,
    ),
    Command(
        "settings",
        "/settings [watch|unwatch #channel | lang zh|en|auto | topics A; B | show]",
        "Admins: channels answered without a mention, default language, quiz topics.",
        "管理员：无需 @ 即回答的频道、默认语言、测验主题。",
        options=(Option("text", default="show"),),
        private=True,
        admin=True,
        slack="tutor-settings",
    ),
    # -- the study loop: reminders and the daily question --
    Command(
        "remind",
        "/remind [on [HH:MM] | off | tz Area/City]",
        "A direct message at your time of day when reviews are due (UTC unless your timezone "
        "is known).",
        "有到期复习时，在你设定的时间私信提醒（未知时区时按 UTC）。",
        options=(TEXT,),
        private=True,
        timezone=True,
        slack="tutor-remind",
    ),
    Command(
        "daily",
        "/daily [#channel HH:MM [Area/City] | off]",
        "Admins: a question of the day in a channel, answered privately, revealed the next day.",
        "管理员：每天在频道发一道题，私下作答，第二天公布答案。",
        options=(TEXT,),
        private=True,
        admin=True,
        timezone=True,
        slack="tutor-daily",
    ),
    # -- end of the study loop --
    # -- mock interviews --
    Command(
        "interview",
        "/interview [topic] [n]",
        "A mock interview: n questions (1-10, default 5) with follow-ups, then a scorecard; "
        "/interview stop ends it.",
        "模拟面试：n 道题（1-10，默认 5），有追问，最后给出成绩单；/interview stop 提前结束。",
        options=(Option("topic"), Option("n", "int", low=1, high=10)),
    ),
    # -- end of mock interviews --
    # -- progress to see and the bank from the chat --
    Command(
        "class",
        "/class",
        "Admins: this server's or workspace's mastery by topic, most missed questions, a chart.",
        "管理员：本服务器/工作区各主题的掌握度、最常答错的题和图表。",
        private=True,
        admin=True,
    ),
    Command(
        "bank",
        "/bank [add]",
        "The bank's documents; admins attach Markdown files to /bank add to ingest them.",
        "题库的文档；管理员在 /bank add 消息里附上 Markdown 文件即可导入。",
        options=(Option("action"), Option("file", "file")),
        private=True,
        admin=True,
    ),
    Command(
        "gaps",
        "/gaps [draft N | weekly #channel [day] [HH:MM] | weekly off]",
        "Admins: what the bank could not answer, grouped by meaning; draft an entry for one; "
        "a weekly digest to a channel.",
        "管理员：题库答不上的问题（按含义归组）；为某个缺口起草条目；每周把缺口周报发到频道。",
        options=(TEXT,),
        private=True,
        admin=True,
    ),
    # -- end of progress and the bank --
    Command("help", "/help", "This list.", "显示本帮助。", private=True, slack="tutor-help"),
)
NAMES = tuple(c.name for c in COMMANDS)
BY_NAME = {c.name: c for c in COMMANDS}
SLASH = tuple(c for c in COMMANDS if c.slash)  # what both bots register
# Commands a button sends; not listed in /help.
HIDDEN = ("feedback",)
ALIASES = {"h": "help", "q": "quiz", "a": "answer"}
ALIASES.update({c.slack: c.name for c in COMMANDS if c.slack})  # /tutor-help typed in a message

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


def command_of(text: str) -> Command | None:
    """The registry's command a message is, if it is one."""
    return BY_NAME.get(parse(clean(text)).name)
