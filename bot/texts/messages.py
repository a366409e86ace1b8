"""Every sentence the tutor says to people, in Chinese and English side by side.

The texts are data: `TEXTS` maps a name to a `T` holding both forms with their `{fields}`, and
`say` picks the language and fills them. The functions below are the public face callers use;
the ones that compose a reply (`grade_reply`, `stats_text`, …) keep the layout and take every word
from `TEXTS`. The language model's prompts live in `bot.texts.prompts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Lang = Literal["zh", "en"]


@dataclass(frozen=True)
class T:
    """One text in English and Chinese; `en_only` names fields the Chinese form leaves out."""

    en: str
    zh: str
    en_only: tuple[str, ...] = ()

    def pick(self, lang: Lang) -> str:
        """The form for `lang`; anything but Chinese reads English."""
        return self.zh if lang == "zh" else self.en


TEXTS = MappingProxyType(
    {
        # -- answering -----------------------------------------------------------------------
        "not_in_bank": T(
            en="The question bank has nothing that answers this, and I won't make an answer up.",
            zh="题库里没有能回答这个问题的内容，我不想凭空编造答案。",
        ),
        "not_in_bank.close": T(
            en=" Close topics in the bank: {topics}.",
            zh="相近的主题有：{topics}。",
        ),
        "not_in_bank.close_sep": T(en="; ", zh="；"),
        "not_in_bank.tail": T(
            en=" You can also practise with /quiz.",
            zh="也可以用 /quiz 练习题库里的题目。",
        ),
        "extractive_intro": T(
            en="(No language model is loaded; here are the key points from the bank.)",
            zh="（当前没有加载语言模型，以下是题库中的要点。）",
        ),
        "model_busy": T(
            en="the language model is busy; answering from the bank's key points",
            zh="语言模型正忙，先给出题库中的要点",
        ),
        "model_slow": T(
            en="the language model took too long; answering from the bank's key points",
            zh="语言模型响应超时，先给出题库中的要点",
        ),
        "sources": T(en="Sources: {ids}", zh="来源: {ids}"),
        # -- help and plain replies ----------------------------------------------------------
        "help.head": T(
            en="**Interview tutor**: ask a question and I answer from the bank, citing it. "
            "Commands:",
            zh="**面试辅导**：直接提问，我会根据题库回答并注明出处。命令：",
        ),
        "help.topics": T(en="Topics: {topics}", zh="主题: {topics}"),
        "empty_message": T(
            en="That message is empty: ask a question, or send /help to see what I can do.",
            zh="消息是空的：直接提个问题，或者发 /help 看看能做什么。",
        ),
        "unknown_command": T(
            en="There is no /{name} command.{hint} Send /help for the list.",
            zh="没有 /{name} 这个命令。{hint}发 /help 查看全部命令。",
        ),
        "unknown_command.hint": T(
            en=" Did you mean /{suggestion}?",
            zh="你是想用 /{suggestion} 吗？",
        ),
        "cut_notice": T(
            en="(Your message has {length} characters; only the first {limit} were read.)",
            zh="（你的消息有 {length} 个字符，只读取了前 {limit} 个。）",
        ),
        "failure": T(
            en="Something went wrong; it has been logged (id {incident}).",
            zh="出了点问题，已经记录下来（编号 {incident}）。",
        ),
        "slow_down": T(
            en="That's a lot of messages (at most {limit} a minute): try again in {wait} s.",
            zh="消息太频繁了（每分钟最多 {limit} 条），请 {wait} 秒后再试。",
        ),
        "restarting": T(
            en="I'm restarting: try again in a moment.",
            zh="我正在重启，请稍后再试。",
        ),
        "cut_short": T(
            en="_(Cut short: I'm restarting. Ask again in a moment for the whole answer.)_",
            zh="_（回答被打断：我正在重启，请稍后再问一次以获得完整回答。）_",
        ),
        # -- quiz ----------------------------------------------------------------------------
        "bank_empty": T(
            en="The question bank is empty: an admin can run `tutor ingest --starter` for the "
            "bundled bank, or `tutor ingest PATH` for their own documents.",
            zh="题库是空的：管理员可以运行 `tutor ingest --starter` 载入自带题库，"
            "或 `tutor ingest 路径` 载入自己的文档。",
        ),
        "topic_unknown": T(
            en="The bank has no questions on “{topic}”. Topics (use /quiz NAME or NUMBER):\n"
            "{listing}",
            zh="题库里没有关于“{topic}”的题目。可选的主题（/quiz 主题名或编号）：\n{listing}",
        ),
        "topic_list.head": T(
            en="Topics (use /quiz NAME or NUMBER):",
            zh="题库的主题（/quiz 主题名或编号）：",
        ),
        "topic_list.row": T(
            en="{n}. {topic} ({count} questions)",
            zh="{n}. {topic} ({count} 题)",
        ),
        "nothing_matches": T(
            en="No question matches those filters: try another topic, or drop zh/en/code.",
            zh="没有符合这些条件的题目：换个主题，或者去掉 zh/en/code 限定试试。",
        ),
        "quiz_question": T(
            en="**Quiz · {title}** ({why})\n\n{question}\n\n"
            "_{how} /hint for a hint, /skip to drop it, /reveal for the answer._",
            zh="**测验 · {title}**（{why}）\n\n{question}\n\n"
            "_{how} /hint 提示，/skip 跳过，/reveal 看答案。_",
        ),
        "quiz_question.how_code": T(
            en="Reply in this thread with your code (a ```python block) and I'll run the tests.",
            zh="在本线程回复你的代码（```python 代码块），我会运行测试。",
        ),
        "quiz_question.how_text": T(
            en="Reply in this thread with your answer, or use /answer.",
            zh="在本线程直接回复你的答案，或用 /answer。",
        ),
        "why.due": T(en="due for review", zh="到期复习"),
        "why.new": T(en="new", zh="新题"),
        "why.ahead": T(en="review ahead of schedule", zh="提前复习"),
        "no_quiz": T(
            en="You have no quiz running: send /quiz to get a question.",
            zh="你现在没有进行中的测验：发 /quiz 开始一道题。",
        ),
        "already_answered": T(
            en="That quiz was already answered; it counts once. Send /quiz for the next one.",
            zh="这道题已经作答过了，只记一次。发 /quiz 来下一题。",
        ),
        "entry_gone": T(
            en="That question has been removed from the bank, so the quiz is closed. "
            "Send /quiz for another.",
            zh="这道题已经从题库中删除了，测验已关闭。发 /quiz 来下一题。",
        ),
        "need_answer": T(
            en="Write your answer after /answer.", zh="请在 /answer 后面写上你的答案。"
        ),
        "need_code": T(
            en="This is a coding question: reply with your code (in a ```python block).",
            zh="这是编程题：请回复代码（放在 ```python 代码块里）。",
        ),
        "hint": T(
            en="💡 Hint {number}: {text} ({left} left)",
            zh="💡 提示 {number}：{text}（还剩 {left} 个提示）",
        ),
        "no_more_hints": T(
            en="No hints left: /reveal shows the reference answer.",
            zh="没有更多提示了：/reveal 可以看参考答案。",
        ),
        "skipped": T(
            en="Skipped, no grade. Send /quiz for another.",
            zh="已跳过，不计分。发 /quiz 来下一题。",
        ),
        "revealed": T(
            en="**Reference answer**\n{reference}\n\n"
            "_Counted as not remembered; it comes back {due}. Send /quiz for another._",
            zh="**参考答案**\n{reference}\n\n_记为没有答出，{due}再复习。发 /quiz 继续。_",
        ),
        "not_your_quiz": T(
            en="That is someone else's quiz; send /quiz for your own.",
            zh="这是别人的测验；发 /quiz 开始你自己的。",
        ),
        "quiz_over": T(
            en="That quiz is over. Send /quiz for another.",
            zh="这道题已经结束了。发 /quiz 来下一题。",
        ),
        "button.hint": T(en="Hint", zh="提示"),
        "button.skip": T(en="Skip", zh="跳过"),
        "button.reveal": T(en="Reveal", zh="看答案"),
        # -- grades --------------------------------------------------------------------------
        "grade.score": T(en="**Score: {score}/100**", zh="**得分: {score}/100**"),
        "grade.penalty": T(en=" (hints: −{penalty})", zh="（提示扣 {penalty} 分）"),
        "grade.covered": T(en="✅ Covered: {points}", zh="✅ 答到的要点：{points}"),
        "grade.missed": T(en="❌ Missed: {points}", zh="❌ 漏掉的要点：{points}"),
        "grade.reference": T(en="**Reference answer**", zh="**参考答案**"),
        "grade.next": T(
            en="_Next review {due}. Send /quiz for another._",
            zh="_下次复习：{due}。发 /quiz 继续。_",
        ),
        "code.no_run": T(en="**No test could run**: {error}", zh="**没有测试能运行**：{error}"),
        "code.passed": T(
            en="**{passed}/{total} tests passed**",
            zh="**通过 {passed}/{total} 个测试**",
        ),
        "code.first_failure": T(en="First failure:", zh="第一个失败："),
        "code.solution": T(en="**Reference solution**", zh="**参考解法**"),
        "due.minutes": T(en="in {n} min", zh="{n} 分钟后"),
        "due.hours": T(en="in {n} h", zh="{n} 小时后"),
        "due.days": T(en="in {n} days", zh="{n} 天后"),
        # -- progress ------------------------------------------------------------------------
        "stats.none": T(
            en="You haven't answered anything yet: send /quiz to start.",
            zh="你还没有答过题：发 /quiz 开始。",
        ),
        "stats.head": T(
            en="**Your progress**: {answered} answered, {accuracy}% correct, "
            "{streak}-day streak, {due} due for review now.",
            zh="**你的进度**：答题 {answered} 次，正确率 {accuracy}%，"
            "连续 {streak} 天，现在到期复习 {due} 题。",
        ),
        "stats.mastery": T(en="Mastery by topic:", zh="各主题掌握度："),
        "leaderboard.none": T(
            en="Nobody here has answered yet: send /quiz to lead.",
            zh="这里还没有人答过题：发 /quiz 拔得头筹。",
        ),
        "leaderboard.head": T(
            en="**Leaderboard** (points = sum of scores / 10)",
            zh="**排行榜**（积分 = 得分之和 / 10）",
        ),
        "leaderboard.row": T(
            en="{place} {name} — {points} pts · {answered} answered",
            zh="{place} {name} — {points} 分 · {answered} 题",
        ),
        # -- running code --------------------------------------------------------------------
        "run.no_output": T(en="(no output)", zh="（没有输出）"),
        "run.files": T(en=" · files: {files}", zh=" · 文件：{files}"),
        "run.timed_out": T(en="timed out", zh="超时"),
        "run.killed": T(en="killed by {signal}", zh="被 {signal} 终止"),
        "run.exit": T(en="exit {code}", zh="exit {code}"),
        "run.cut": T(en=" · output cut", zh=" · 输出已截断"),
        "run.memory": T(
            en="killed: over the memory limit ({value:.0f} MiB)",
            zh="被终止：超出内存上限（{value:.0f} MiB）",
        ),
        "run.cpu": T(
            en="killed: over the CPU time limit ({value:g} s)",
            zh="被终止：超出 CPU 时间上限（{value:g} 秒）",
        ),
        "need_code_to_run": T(
            en="Put code after /run, e.g. /run print(1 + 1), or a ```python block.",
            zh="请在 /run 后面附上代码，例如 /run print(1 + 1)，或者一个 ```python 代码块。",
        ),
        # The runner explains in English why it is busy; Chinese readers get a fixed sentence.
        "run_busy": T(
            en="{reason}.",
            zh="沙箱正忙（你已有一个运行中的代码，或排队已满），请稍后再试。",
            en_only=("reason",),
        ),
        # -- language, feedback, settings ----------------------------------------------------
        "lang.auto": T(
            en="OK: I'll reply in the language of each message.",
            zh="好的，我会用你每条消息的语言回复。",
        ),
        "lang.fixed": T(en="OK: I'll reply in English from now on.", zh="好的，之后用中文回复。"),
        "lang.usage": T(
            en="Usage: /lang zh, /lang en or /lang auto",
            zh="用法：/lang zh、/lang en 或 /lang auto",
        ),
        "feedback.helpful": T(en="Thanks for the feedback!", zh="谢谢反馈！"),
        "feedback.unhelpful": T(en="Thanks: noted, we'll improve it.", zh="谢谢反馈，我们会改进。"),
        "button.helpful": T(en="👍 Helpful", zh="👍 有帮助"),
        "button.unhelpful": T(en="👎 Not helpful", zh="👎 没帮助"),
        "settings.show": T(
            en="**Settings here**\nWatched channels: {watch}\nDefault language: {default}\n"
            "Quiz topics: {topics}",
            zh="**本工作区设置**\n监听频道：{watch}\n默认语言：{default}\n测验主题：{topics}",
        ),
        "settings.usage": T(
            en="Usage: /settings watch|unwatch [#channel] · /settings lang zh|en|auto · "
            "/settings topics A; B · /settings show",
            zh="用法：/settings watch|unwatch [#channel] · /settings lang zh|en|auto · "
            "/settings topics A; B · /settings show",
        ),
        "settings.admins_only": T(
            en="Only admins can change the settings; /settings show displays them.",
            zh="只有管理员可以修改设置；/settings show 可以查看。",
        ),
        "settings.saved": T(en="Saved.", zh="已保存。"),
        # -- sharing an answer (Slack) -------------------------------------------------------
        "share.button": T(en="Share with the channel", zh="分享到频道"),
        "share.gone": T(en="That answer can no longer be shared.", zh="这个回答已经无法分享了。"),
        "share.done": T(en="Shared with the channel.", zh="已分享到频道。"),
        "share.post": T(
            en="{asker} asked: {question}\n\n{answer}",
            zh="{asker} 问：{question}\n\n{answer}",
        ),
        # -- the adapters' own words: the terminal's banner, Discord's menus and boxes --------
        "console.banner": T(
            en="ask a question, /quiz for a question, /help for the commands, /quit to leave",
            zh="直接提问，/quiz 出一道题，/help 查看命令，/quit 退出",
        ),
        "run_box.title": T(en="Run Python", zh="运行 Python"),
        "run_box.code": T(en="Code", zh="代码"),
        # Discord lists these under each slash command (at most 100 characters each).
        "slash.ask": T(
            en="Answer a question from the bank, with citations",
            zh="根据题库回答问题，并注明出处",
        ),
        "slash.ask.question": T(en="Your question", zh="你的问题"),
        "slash.quiz": T(
            en="A question from the bank: due reviews first",
            zh="从题库出一道题：先复习到期的题",
        ),
        "slash.quiz.topic": T(en="A topic, or its number", zh="主题名或编号"),
        "slash.quiz.lang": T(en="zh or en", zh="zh 或 en"),
        "slash.quiz.code": T(en="Coding only", zh="只出编程题"),
        "slash.answer": T(en="Answer your open quiz question", zh="回答当前的测验题"),
        "slash.run": T(
            en="Run Python in the sandbox (a box opens without code)",
            zh="在沙箱里运行 Python 代码（不带代码时弹出输入框）",
        ),
        "slash.stats": T(en="Your progress", zh="你的进度"),
        "slash.leaderboard": T(en="Points in this server", zh="本服务器的积分排行"),
        "slash.help": T(en="What the tutor can do", zh="辅导机器人能做什么"),
        "slash.settings": T(
            en="Admins: watched channels, language, quiz topics",
            zh="管理员：无需 @ 即回答的频道、语言、测验主题",
        ),
    }
)


def say(lang: Lang, key: str, **fields: object) -> str:
    """The catalogue's text `key` in `lang`, its fields filled."""
    return TEXTS[key].pick(lang).format(**fields)


# -- answering ------------------------------------------------------------------------------------


def not_in_bank(lang: Lang, topics: list[str]) -> str:
    """The reply when the bank does not cover a question."""
    text = say(lang, "not_in_bank")
    if topics:
        text += say(
            lang, "not_in_bank.close", topics=say(lang, "not_in_bank.close_sep").join(topics)
        )
    return text + say(lang, "not_in_bank.tail")


def extractive_intro(lang: Lang) -> str:
    """The first line of an answer made of the bank's key points, without a language model."""
    return say(lang, "extractive_intro")


def model_busy(lang: Lang) -> str:
    """Why an answer came from the bank's key points: the model's queue was full."""
    return say(lang, "model_busy")


def model_slow(lang: Lang) -> str:
    """Why an answer came from the bank's key points: the model took too long."""
    return say(lang, "model_slow")


def sources_line(lang: Lang, ids: list[str]) -> str:
    """The line naming the entries an answer rests on."""
    return say(lang, "sources", ids=", ".join(f"[{i}]" for i in ids))


# -- the tutor core -------------------------------------------------------------------------------


def fence(code: str, lang: str = "") -> str:
    """A fenced code block that the code inside cannot close early."""
    safe = code.replace("```", "`\u200b``")
    return f"```{lang}\n{safe.rstrip()}\n```"


def help_text(lang: Lang, commands: list[tuple[str, str]], topics: list[str]) -> str:
    """/help: every command with what it does, and the bank's topics."""
    lines = [say(lang, "help.head")]
    lines += [f"`{usage}` {text}" for usage, text in commands]
    if topics:
        lines.append(say(lang, "help.topics", topics="; ".join(topics)))
    return "\n".join(lines)


def empty_message(lang: Lang) -> str:
    """The reply to a message with nothing in it."""
    return say(lang, "empty_message")


def unknown_command(lang: Lang, name: str, suggestion: str | None) -> str:
    """The reply to a command that does not exist."""
    hint = say(lang, "unknown_command.hint", suggestion=suggestion) if suggestion else ""
    return say(lang, "unknown_command", name=name, hint=hint)


def cut_notice(lang: Lang, length: int, limit: int) -> str:
    """Said when a message was longer than the tutor reads."""
    return say(lang, "cut_notice", length=length, limit=limit)


def bank_empty(lang: Lang) -> str:
    """The reply to /quiz when the bank has no entries."""
    return say(lang, "bank_empty")


def topic_unknown(lang: Lang, topic: str, topics: list[str]) -> str:
    """The reply to /quiz on a topic the bank lacks."""
    listing = "\n".join(f"{n}. {t}" for n, t in enumerate(topics, start=1))
    return say(lang, "topic_unknown", topic=topic, listing=listing)


def topic_list(lang: Lang, topics: list[tuple[str, int]]) -> str:
    """/quiz topics."""
    rows = (
        say(lang, "topic_list.row", n=n, topic=t, count=c) for n, (t, c) in enumerate(topics, 1)
    )
    return say(lang, "topic_list.head") + "\n" + "\n".join(rows)


def nothing_matches(lang: Lang) -> str:
    """The reply to /quiz when its filters leave no question."""
    return say(lang, "nothing_matches")


def quiz_question(lang: Lang, entry_title: str, question: str, coding: bool, why: str) -> str:
    """A quiz question and how to answer it."""
    how = say(lang, "quiz_question.how_code" if coding else "quiz_question.how_text")
    return say(lang, "quiz_question", title=entry_title, why=why, question=question, how=how)


def why_asked(lang: Lang, reason: str) -> str:
    """Why this question now: a due review, a new one, or a review ahead of schedule."""
    return say(lang, f"why.{reason}")


def no_quiz(lang: Lang) -> str:
    """The reply to /answer, /hint, /skip or /reveal with no quiz running."""
    return say(lang, "no_quiz")


def already_answered(lang: Lang) -> str:
    """The reply to a second answer of the same quiz."""
    return say(lang, "already_answered")


def entry_gone(lang: Lang) -> str:
    """The quiz's entry was removed from the bank since it was asked."""
    return say(lang, "entry_gone")


def need_answer(lang: Lang) -> str:
    """/answer with no text."""
    return say(lang, "need_answer")


def need_code(lang: Lang) -> str:
    """A coding quiz answered without code."""
    return say(lang, "need_code")


def grade_reply(
    lang: Lang,
    score: int,
    covered: list[str],
    missed: list[str],
    feedback: str,
    penalty: int,
    reference: str,
    due_in: str,
) -> str:
    """The grade of a free-text answer, then the reference answer."""
    lines = [say(lang, "grade.score", score=score)]
    if penalty:
        lines[0] += say(lang, "grade.penalty", penalty=penalty)
    if covered:
        lines.append(say(lang, "grade.covered", points="; ".join(covered)))
    if missed:
        lines.append(say(lang, "grade.missed", points="; ".join(missed)))
    if feedback:
        lines.append(feedback)
    lines += ["", say(lang, "grade.reference"), reference]
    lines.append("")
    lines.append(say(lang, "grade.next", due=due_in))
    return "\n".join(lines)


def code_reply(
    lang: Lang,
    passed: int,
    total: int,
    rows: list[tuple[str, bool]],
    first_failure: str,
    error: str,
    penalty: int,
    solution: str,
    due_in: str,
) -> str:
    """The verdict on a coding answer: each test, the first failure's message."""
    if error:
        lines = [say(lang, "code.no_run", error=fence(error))]
    else:
        head = say(lang, "code.passed", passed=passed, total=total)
        if penalty:
            head += say(lang, "grade.penalty", penalty=penalty)
        lines = [head]
        lines += [f"{'✅' if ok else '❌'} `{name}`" for name, ok in rows]
        if first_failure:
            lines += [say(lang, "code.first_failure"), fence(first_failure)]
    if solution and (error or passed < total):
        lines += [say(lang, "code.solution"), fence(solution, "python")]
    lines.append(say(lang, "grade.next", due=due_in))
    return "\n".join(lines)


def due_in(lang: Lang, seconds: float) -> str:
    """A friendly 'in 10 minutes' / '3 天后'."""
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return say(lang, "due.minutes", n=minutes)
    hours = round(minutes / 60)
    if hours < 48:
        return say(lang, "due.hours", n=hours)
    return say(lang, "due.days", n=round(hours / 24))


def hint(lang: Lang, text: str, number: int, left: int) -> str:
    """A hint and how many are left."""
    return say(lang, "hint", text=text, number=number, left=left)


def no_more_hints(lang: Lang) -> str:
    """/hint after the last one."""
    return say(lang, "no_more_hints")


def skipped(lang: Lang) -> str:
    """/skip."""
    return say(lang, "skipped")


def revealed(lang: Lang, reference: str, due: str) -> str:
    """/reveal: the reference answer, counted as not remembered."""
    return say(lang, "revealed", reference=reference, due=due)


def stats_text(lang: Lang, data: dict) -> str:
    """/stats."""
    if not data["answered"]:
        return say(lang, "stats.none")
    lines = [
        say(
            lang,
            "stats.head",
            answered=data["answered"],
            accuracy=data["accuracy"],
            streak=data["streak"],
            due=data["due"],
        ),
        say(lang, "stats.mastery"),
    ]
    for topic, mastery, seen, total in data["topics"]:
        bar = "█" * round(mastery / 10) + "░" * (10 - round(mastery / 10))
        lines.append(f"`{bar}` {mastery}% · {topic} ({seen}/{total})")
    return "\n".join(lines)


def leaderboard_text(lang: Lang, rows: list[tuple[str, int, int]]) -> str:
    """/leaderboard: name, points, answered."""
    if not rows:
        return say(lang, "leaderboard.none")
    medals = ["🥇", "🥈", "🥉"]
    lines = [say(lang, "leaderboard.head")]
    for n, (name, points, answered) in enumerate(rows):
        place = medals[n] if n < 3 else f"{n + 1}."
        lines.append(
            say(lang, "leaderboard.row", place=place, name=name, points=points, answered=answered)
        )
    return "\n".join(lines)


def run_reply(
    lang: Lang, stdout: str, stderr: str, ending: str, duration_ms: float, files: list[str]
) -> str:
    """The result of /run."""
    lines = []
    if stdout:
        lines.append(fence(stdout))
    if stderr:
        lines += ["stderr:", fence(stderr)]
    if not stdout and not stderr:
        lines.append(say(lang, "run.no_output"))
    tail = f"{ending} · {duration_ms:.0f} ms"
    if files:
        tail += say(lang, "run.files", files=", ".join(files))
    lines.append(f"_{tail}_")
    return "\n".join(lines)


def run_ending(
    lang: Lang,
    *,
    timed_out: bool,
    signal: str | None,
    exit_code: int | None,
    truncated: bool,
    limit: str | None = None,
    limit_value: float | None = None,
) -> str:
    """How a run ended ('exit 0', 'killed by SIGKILL', '超时', or the limit that stopped it), and
    whether its output was cut."""
    if limit in ("memory", "cpu") and limit_value is not None:
        ending = say(lang, f"run.{limit}", value=limit_value)
    elif timed_out:
        ending = say(lang, "run.timed_out")
    elif signal:
        ending = say(lang, "run.killed", signal=signal)
    else:
        ending = say(lang, "run.exit", code=exit_code)
    if truncated:
        ending += say(lang, "run.cut")
    return ending


def need_code_to_run(lang: Lang) -> str:
    """/run with nothing to run."""
    return say(lang, "need_code_to_run")


def lang_set(lang: Lang, choice: str) -> str:
    """/lang."""
    if choice == "auto":
        return say(lang, "lang.auto")
    # The confirmation is already in the chosen language.
    return say("zh" if choice == "zh" else "en", "lang.fixed")


def lang_usage(lang: Lang) -> str:
    """/lang with a bad argument."""
    return say(lang, "lang.usage")


def feedback_thanks(lang: Lang, helpful: bool) -> str:
    """After a feedback button."""
    return say(lang, "feedback.helpful" if helpful else "feedback.unhelpful")


def feedback_buttons(lang: Lang) -> tuple[str, str]:
    """Labels of the feedback buttons."""
    return say(lang, "button.helpful"), say(lang, "button.unhelpful")


def quiz_buttons(lang: Lang) -> tuple[str, str, str]:
    """Labels of the quiz buttons."""
    return say(lang, "button.hint"), say(lang, "button.skip"), say(lang, "button.reveal")


def failure(lang: Lang, incident: str) -> str:
    """Something unexpected broke while handling a message."""
    return say(lang, "failure", incident=incident)


def run_busy(lang: Lang, reason: str) -> str:
    """The sandbox would not take a run now."""
    return say(lang, "run_busy", reason=reason[:1].upper() + reason[1:])


def slow_down(lang: Lang, seconds: float, limit: int) -> str:
    """A user sent more messages than the rate limit allows."""
    return say(lang, "slow_down", limit=limit, wait=max(1, round(seconds)))


def restarting(lang: Lang) -> str:
    """A message came while the bot is stopping: nothing is started for it."""
    return say(lang, "restarting")


def cut_short(lang: Lang) -> str:
    """The note under an answer the bot had to close before it was complete (it is stopping)."""
    return say(lang, "cut_short")


def settings_text(lang: Lang, settings: dict) -> str:
    """/settings show."""
    watch = ", ".join(f"<#{c}>" for c in settings.get("watch", [])) or "—"
    topics = "; ".join(settings.get("topics", [])) or "—"
    default = settings.get("lang") or "auto"
    return say(lang, "settings.show", watch=watch, default=default, topics=topics)


def settings_usage(lang: Lang) -> str:
    """/settings with something it does not understand."""
    return say(lang, "settings.usage")


def admins_only(lang: Lang) -> str:
    """/settings from someone who is not an admin."""
    return say(lang, "settings.admins_only")


def settings_saved(lang: Lang) -> str:
    """After /settings changed something."""
    return say(lang, "settings.saved")


def not_your_quiz(lang: Lang) -> str:
    """A quiz button pressed by someone other than the quiz's user."""
    return say(lang, "not_your_quiz")


def quiz_over(lang: Lang) -> str:
    """A button of a quiz that is already over."""
    return say(lang, "quiz_over")


def share_button(lang: Lang) -> str:
    """Label of the button that posts a private answer to the channel."""
    return say(lang, "share.button")


def share_gone(lang: Lang) -> str:
    """The answer to share is gone, or belongs to someone else."""
    return say(lang, "share.gone")


def shared(lang: Lang) -> str:
    """After an answer was posted to the channel."""
    return say(lang, "share.done")


def shared_answer(lang: Lang, asker: str, question: str, answer: str) -> str:
    """A private answer as posted to the channel: who asked what, then the answer."""
    return say(lang, "share.post", asker=asker, question=question, answer=answer)


def console_banner(lang: Lang) -> str:
    """The terminal chat's first line, after the tutor's name."""
    return say(lang, "console.banner")


def run_box(lang: Lang) -> tuple[str, str]:
    """The title and the code field's label of the box /run opens without code (Discord)."""
    return say(lang, "run_box.title"), say(lang, "run_box.code")


def slash_description(lang: Lang, name: str) -> str:
    """Discord's description of a slash command ("quiz") or of one of its options ("quiz.topic")."""
    return say(lang, f"slash.{name}")
