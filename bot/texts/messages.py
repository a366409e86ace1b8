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


def as_lang(value: object, default: Lang = "en") -> Lang:
    """`value` as a reply language when it names one ("zh" or "en"), else `default`."""
    return "zh" if value == "zh" else "en" if value == "en" else default


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
        "bank_points_intro": T(
            en="Here are the key points from the bank:", zh="以下是题库中的要点："
        ),
        "checking_answer": T(
            en="_Checking this answer against the bank…_", zh="_正在对照题库核对这个回答…_"
        ),
        "check.language": T(
            en="the model answered in the wrong language", zh="模型没有用提问的语言回答"
        ),
        "check.contradicts": T(
            en="the model's answer contradicts the bank's entry [{id}]",
            zh="模型的回答与题库条目 [{id}] 相矛盾",
        ),
        "check.thin": T(
            en="the model's answer left out most of what the bank's entry [{id}] says",
            zh="模型的回答漏掉了题库条目 [{id}] 的大部分要点",
        ),
        "check.replaced": T(
            en="{why}, so here are the bank's own key points instead",
            zh="{why}，以下改为题库自己的要点",
        ),
        "check.added": T(
            en="**Also in the bank** [{id}] (the answer above leaves these out):",
            zh="**题库中还有这些要点** [{id}]（上面的回答没有提到）：",
        ),
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
        # -- the learner's rating, untested code, the closest material ----------------------
        "rating.again": T(en="Again", zh="重来"),
        "rating.hard": T(en="Hard", zh="困难"),
        "rating.good": T(en="Good", zh="良好"),
        "rating.easy": T(en="Easy", zh="简单"),
        "rating.suggested": T(en="✓ {name}", zh="✓ {name}"),
        "rating.offer": T(
            en="How well did you know it? Suggested: {name} (keep it, or choose with /rate).",
            zh="你掌握得怎么样？建议：{name}（保持不变，或用 /rate 选择）。",
        ),
        "rating.saved": T(
            en="Rated {name} (the grader suggested {suggested}). Next review {due}.",
            zh="已记为{name}（评分建议为{suggested}）。下次复习：{due}。",
        ),
        "rating.usage": T(
            en="Usage: /rate again|hard|good|easy, right after a grade.",
            zh="用法：/rate again|hard|good|easy，在评分之后使用。",
        ),
        "rating.none": T(
            en="There is no graded answer to rate yet: answer a /quiz question first.",
            zh="还没有可以评价的答题：先用 /quiz 答一道题。",
        ),
        "rating.closed": T(
            en="That grade can no longer be rated: a newer question came since.",
            zh="这次评分已经不能再修改了：之后已经出了新题。",
        ),
        "rating.not_yours": T(
            en="Only the one who answered can rate this grade.",
            zh="只有答题的人才能评价这次评分。",
        ),
        "code.untested": T(
            en="The bank has no tests for this problem: graded against the reference "
            "solution and explanation, plus a run in the sandbox.",
            zh="题库没有这道题的测试：按参考解法和讲解评分，并在沙箱里运行了一次。",
        ),
        "code.ran": T(en="✅ It runs cleanly.", zh="✅ 代码可以正常运行。"),
        "code.ran_badly": T(
            en="❌ It does not run cleanly: {why}", zh="❌ 代码没有正常运行：{why}"
        ),
        "code.not_run": T(
            en="(The sandbox is off here, so the code was not run.)",
            zh="（这里没有开启沙箱，代码没有运行。）",
        ),
        "closest_intro": T(
            en="The bank has no entry on exactly this; the closest material it has is below.",
            zh="题库里没有正好回答这个问题的条目，下面是题库中最接近的内容。",
        ),
        # -- mock interviews (/interview) ----------------------------------------------------
        "interview.intro": T(
            en="**Mock interview** · {count} questions on {topic}. Answer each one here (or "
            "with /answer); I may ask one follow-up per question. /interview stop ends it early.",
            zh="**模拟面试** · 共 {count} 道题，主题：{topic}。请在这里逐题作答（也可以用 "
            "/answer），每道题我最多追问一次。发 /interview stop 可以提前结束。",
        ),
        "interview.weakest": T(en="your weakest topics", zh="你最薄弱的主题"),
        "interview.spread": T(en="a spread of topics", zh="多个主题"),
        "interview.question": T(
            en="**Question {number}/{count}** · {topic}\n{question}",
            zh="**第 {number}/{count} 题** · {topic}\n{question}",
        ),
        "interview.coding": T(
            en="_(A programming problem: send your code in a ```python block.)_",
            zh="_（编程题：请把代码放在 ```python 代码块里发送。）_",
        ),
        "interview.noted": T(en="_Noted: {score}._", zh="_已记录：{score}。_"),
        "interview.follow_up": T(en="**Follow-up** · {text}", zh="**追问** · {text}"),
        "interview.follow_up.point": T(
            en="You didn't mention “{point}” — how does it come into your answer?",
            zh="你没有提到“{point}”——它在这个问题里起什么作用？",
        ),
        "interview.follow_up.test": T(
            en="Your code fails {test} — how would you fix it? Send the corrected code.",
            zh="你的代码没有通过 {test}——你会怎么修改？请发送修改后的代码。",
        ),
        "interview.scorecard": T(en="**Interview scorecard**", zh="**面试成绩单**"),
        "interview.scorecard.early": T(
            en="(Ended early: {answered} of {count} questions answered.)",
            zh="（提前结束：{count} 道题中答了 {answered} 道。）",
        ),
        "interview.scorecard.follow_up": T(en=" (with follow-up)", zh="（含追问）"),
        "interview.scorecard.average": T(en="Overall: {score}", zh="总分：{score}"),
        "interview.scorecard.strongest": T(
            en="Strongest topic: {topic} ({score})", zh="最强的主题：{topic}（{score}）"
        ),
        "interview.scorecard.weakest": T(
            en="Weakest topic: {topic} ({score})", zh="最弱的主题：{topic}（{score}）"
        ),
        "interview.scorecard.missed": T(
            en="Missed (below 60), now on your review list: {titles}",
            zh="没答好的题（低于 60 分），已加入你的复习计划：{titles}",
        ),
        "interview.scorecard.none_missed": T(
            en="Nothing missed: every question scored 60 or more.",
            zh="没有答砸的题：每道题都在 60 分以上。",
        ),
        "interview.nothing_answered": T(
            en="Interview stopped. No question was answered, so there is no scorecard.",
            zh="面试已结束。没有回答任何题目，所以没有成绩单。",
        ),
        "interview.none_open": T(
            en="You have no interview open: start one with /interview [topic] [n].",
            zh="你没有进行中的面试：用 /interview [主题] [题数] 开始一场。",
        ),
        "interview.bad_count": T(
            en="n is how many questions to ask, from 1 to 10: /interview [topic] [n].",
            zh="题数必须在 1 到 10 之间：/interview [主题] [题数]。",
        ),
        "interview.topic_unknown": T(
            en="The bank has no questions on “{topic}”. Topics (use /interview NAME or "
            "NUMBER, then n):\n{listing}",
            zh="题库里没有关于“{topic}”的题目。可选的主题（/interview 主题名或编号，再加题数）："
            "\n{listing}",
        ),
        "interview.already_open": T(
            en="You already have an interview open (question {number} of {count}): answer it, "
            "or send /interview stop.",
            zh="你已经有一场进行中的面试（第 {number}/{count} 题）：请继续作答，"
            "或发 /interview stop 结束。",
        ),
        "interview.blocks_quiz": T(
            en="You're in a mock interview: answer its question, or send /interview stop "
            "before starting a quiz.",
            zh="你正在进行模拟面试：请先回答面试题，或发 /interview stop 结束后再做测验。",
        ),
        "interview.thread": T(
            en="Your mock interview is in a private thread: {where}",
            zh="你的模拟面试在一个私密线程里：{where}",
        ),
        "slash.interview": T(
            en="A mock interview: questions, follow-ups, a scorecard",
            zh="模拟面试：逐题提问、追问，最后给出成绩单",
        ),
        "slash.interview.topic": T(
            en="A topic, its number, or stop (default: your weakest topics)",
            zh="主题名、编号或 stop（默认：你最薄弱的主题）",
        ),
        "slash.interview.n": T(
            en="How many questions (1-10, default 5)", zh="题数（1-10，默认 5）"
        ),
        # -- end of mock interviews ----------------------------------------------------------
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
        "slash.answer.text": T(en="Your answer", zh="你的回答"),
        "slash.run.code": T(
            en="Python code (empty: a box opens)", zh="Python 代码（留空则弹出输入框）"
        ),
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
        "slash.settings.text": T(
            en="watch|unwatch #channel, lang zh|en|auto, topics A; B, or show",
            zh="watch|unwatch #频道、lang zh|en|auto、topics A; B，或 show",
        ),
        # -- progress charts, the class overview, the bank from the chat ---------------------
        "chart.per_day": T(en="Reviews per day (last 30 days)", zh="每日复习数（近 30 天）"),
        "chart.per_week": T(
            en="Share correct per week (score ≥ 60)", zh="每周答对比例（得分 ≥ 60）"
        ),
        "chart.mastery": T(en="Mastery per topic", zh="各主题掌握度"),
        "chart.title.you": T(en="Your progress", zh="你的进度"),
        "chart.title.class": T(en="Progress of this group", zh="本群组的学习进度"),
        "class.admins_only": T(
            en="Only admins can see the class overview.",
            zh="只有管理员可以查看班级概况。",
        ),
        "class.none": T(
            en="Nobody here has answered a quiz question in the last 30 days: nothing to show.",
            zh="近 30 天这里没有人答过测验题，暂时没有可显示的内容。",
        ),
        "class.head": T(
            en="**Class overview**\n{learners} learner(s) reviewed in the last 7 days; "
            "{reviews} review(s) in the last 30 days.",
            zh="**班级概况**\n近 7 天有 {learners} 人复习；近 30 天共 {reviews} 次复习。",
        ),
        "class.mastery": T(
            en="Mastery by topic (each learner's latest score on each question):",
            zh="各主题掌握度（每人每题的最近一次得分）：",
        ),
        "class.topic_row": T(
            en="`{bar}` {mastery}% · {topic} ({learners} learner(s))",
            zh="`{bar}` {mastery}% · {topic}（{learners} 人）",
        ),
        "class.missed": T(
            en="Most missed (lowest average score, at least 2 answers):",
            zh="最常答错的题（平均分最低，至少 2 次作答）：",
        ),
        "class.missed_row": T(
            en="{n}. {title}: average {average}/100 over {answers} answers",
            zh="{n}. {title}：平均 {average}/100，共 {answers} 次作答",
        ),
        "class.missed_none": T(
            en="No question has two answers yet.",
            zh="还没有被作答两次以上的题目。",
        ),
        "bank.admins_only": T(
            en="Only admins can add to the bank; /bank lists what it holds.",
            zh="只有管理员可以向题库添加文档；/bank 可以查看题库内容。",
        ),
        "bank.usage": T(
            en="Usage: /bank lists the documents · /bank add with Markdown files attached (admins)",
            zh="用法：/bank 列出文档 · /bank add 并附上 Markdown 文件（管理员）",
        ),
        "bank.no_files": T(
            en="Attach Markdown (.md) or .txt files of at most {mb} MB to the message that "
            "says /bank add (a slash command cannot carry files: send it as a message).",
            zh="请在发送 /bank add 的消息里附上 Markdown（.md）或 .txt 文件，每个不超过 {mb} MB"
            "（斜杠命令无法携带文件，请以普通消息发送）。",
        ),
        "bank.list_head": T(
            en="**The bank**: {documents} document(s), {entries} entries",
            zh="**题库**：{documents} 个文档，{entries} 个条目",
        ),
        "bank.list_row": T(
            en="- {name}: {title} ({entries} entries)",
            zh="- {name}：{title}（{entries} 个条目）",
        ),
        "bank.list_empty": T(
            en="The bank has no documents yet: an admin can attach Markdown files to /bank add.",
            zh="题库里还没有文档：管理员可以用 /bank add 附上 Markdown 文件导入。",
        ),
        "bank.report_head": T(en="**What the bank took**", zh="**题库导入结果**"),
        "bank.changed": T(
            en="- {name}: {added} added, {updated} updated, {removed} removed ({entries} entries)",
            zh="- {name}：新增 {added}，更新 {updated}，删除 {removed}（共 {entries} 个条目）",
        ),
        "bank.unchanged": T(
            en="- {name}: unchanged ({entries} entries)",
            zh="- {name}：没有变化（共 {entries} 个条目）",
        ),
        "bank.no_entries": T(
            en="- {name}: read, but no recognisable questions were found (see docs/bank-format.md)",
            zh="- {name}：已读取，但没有找到可识别的题目（见 docs/bank-format.md）",
        ),
        "bank.refused": T(en="- {name}: refused, {reason}", zh="- {name}：未导入，{reason}"),
        "bank.not_markdown": T(
            en="not a Markdown (.md, .markdown) or .txt file",
            zh="不是 Markdown（.md、.markdown）或 .txt 文件",
        ),
        "bank.too_big": T(en="over the {mb} MB limit", zh="超过 {mb} MB 的上限"),
        "bank.index_failed": T(
            en="The bank was updated, but not its search index ({reason}): "
            "`tutor index rebuild` repairs it.",
            zh="题库已更新，但搜索索引没有更新（{reason}）：运行 `tutor index rebuild` 可以修复。",
        ),
        "slash.class": T(
            en="Admins: the group's mastery, most missed questions, a chart",
            zh="管理员：本群组的掌握度、最常答错的题和图表",
        ),
        "slash.bank": T(
            en="The bank's documents; admins add Markdown files with add",
            zh="题库的文档；管理员可用 add 导入 Markdown 文件",
        ),
        "slash.bank.action": T(en="Empty to list, or add", zh="留空为列出，或 add"),
        "slash.bank.file": T(en="A Markdown file to add", zh="要导入的 Markdown 文件"),
        # -- the study loop: reminders and the daily question --------------------------------
        "remind.status_on": T(
            en="Reminders are on: every day at {at} ({tz}), when reviews are due.",
            zh="复习提醒已开启：每天 {at}（{tz}），有到期复习时提醒你。",
        ),
        "remind.status_off": T(
            en="Reminders are off. Turn them on with /remind on [HH:MM].",
            zh="复习提醒未开启。用 /remind on [HH:MM] 开启。",
        ),
        "remind.on": T(
            en="Done: on days when reviews are due, I'll message you at {at} ({tz}).",
            zh="好的：有到期复习的日子，我会在 {at}（{tz}）私信提醒你。",
        ),
        "remind.utc_note": T(
            en="Your timezone is not known, so that is UTC: set yours with /remind tz Area/City "
            "or /remind tz +08:00.",
            zh="还不知道你的时区，所以按 UTC 计算：用 /remind tz 地区/城市 "
            "或 /remind tz +08:00 设置。",
        ),
        "remind.off": T(en="Reminders are off.", zh="复习提醒已关闭。"),
        "remind.tz": T(en="Your timezone is now {tz}.", zh="你的时区已设为 {tz}。"),
        "remind.usage": T(
            en="Use /remind on [HH:MM], /remind off, /remind tz Area/City|+08:00, or /remind "
            "to see the setting.",
            zh="用法：/remind on [HH:MM]、/remind off、/remind tz 地区/城市|+08:00，"
            "或 /remind 查看设置。",
        ),
        "bad_time": T(
            en='"{text}" is not a time of day: use HH:MM on the 24-hour clock, such as 08:00.',
            zh="“{text}”不是有效的时间：请用 24 小时制的 HH:MM，例如 08:00。",
        ),
        "bad_zone": T(
            en='"{text}" is not a timezone I know: use Area/City (Asia/Shanghai) or an offset '
            "such as +08:00.",
            zh="不认识“{text}”这个时区：请用 地区/城市（如 Asia/Shanghai）或 +08:00 这样的偏移。",
        ),
        "reminder": T(
            en="⏰ Reviews due today: {count} ({topics}). A few minutes now keeps them fresh.",
            zh="⏰ 今天有 {count} 道题到期待复习（{topics}）。现在花几分钟，记得更牢。",
        ),
        "reminder.button": T(en="Start review", zh="开始复习"),
        "daily.status": T(
            en="The daily question goes to <#{channel}> every day at {at} ({tz}).",
            zh="每日一题每天 {at}（{tz}）发到 <#{channel}>。",
        ),
        "daily.none": T(
            en="There is no daily question here. Admins: /daily #channel HH:MM.",
            zh="这里还没有每日一题。管理员可以用 /daily #频道 HH:MM 开启。",
        ),
        "daily.set": T(
            en="Done: a daily question goes to <#{channel}> every day at {at} ({tz}).",
            zh="好的：每天 {at}（{tz}）在 <#{channel}> 发一道每日一题。",
        ),
        "daily.off": T(en="The daily question is off.", zh="每日一题已关闭。"),
        "daily.usage": T(
            en="Use /daily #channel HH:MM [Area/City|+08:00], /daily off, or /daily to see the "
            "setting.",
            zh="用法：/daily #频道 HH:MM [地区/城市|+08:00]、/daily off，或 /daily 查看设置。",
        ),
        "daily.admins_only": T(
            en="Only admins can set the daily question; /daily shows the setting.",
            zh="只有管理员可以设置每日一题；/daily 可以查看当前设置。",
        ),
        "daily.cannot_post": T(
            en="I cannot post in <#{channel}>: add me to it (or let me send messages there) "
            "and try again.",
            zh="我无法在 <#{channel}> 发消息：请把我加入该频道（或授予发言权限）后再试。",
        ),
        "daily.question": T(
            en="**Question of the day**: {title}\n{question}\n\nAnswer privately with the "
            "button: nobody sees your answer, and the reference answer comes with tomorrow's "
            "question.",
            zh="**每日一题**：{title}\n{question}\n\n点按钮私下作答：别人看不到你的答案，"
            "参考答案随明天的题目公布。",
        ),
        "daily.reveal": T(
            en="**Yesterday's question**: {title}\n{reference}\n{figures}",
            zh="**昨天的题目**：{title}\n{reference}\n{figures}",
        ),
        "daily.figures": T(
            en="_Answered by {answered} · average {average}/100_",
            zh="_作答 {answered} 人 · 平均 {average}/100_",
        ),
        "daily.most_missed": T(en=" _· most missed: {point}_", zh=" _· 最常漏掉：{point}_"),
        "daily.nobody": T(en="_Nobody answered it._", zh="_没有人作答。_"),
        "daily.button": T(en="Answer privately", zh="私下作答"),
        "daily.box": T(en="Your answer", zh="你的答案"),
        "box.submit": T(en="Send", zh="提交"),
        "daily.closed": T(
            en="There is no daily question open for answers here.",
            zh="这里没有可以作答的每日一题。",
        ),
        "daily.already": T(
            en="You already answered this daily question; the reference answer comes with "
            "tomorrow's.",
            zh="你已经答过这道每日一题了；参考答案随明天的题目公布。",
        ),
        "daily.reference_later": T(
            en="(shown to everyone with tomorrow's question)",
            zh="（随明天的题目向大家公布）",
        ),
        "slash.remind": T(
            en="Reminders of due reviews: on [HH:MM], off, tz Area/City",
            zh="到期复习提醒：on [HH:MM]、off、tz 地区/城市",
        ),
        "slash.remind.text": T(
            en="on [HH:MM], off, or tz Area/City", zh="on [HH:MM]、off 或 tz 地区/城市"
        ),
        "slash.daily": T(
            en="Admins: a daily question in a channel (#channel HH:MM, off)",
            zh="管理员：在频道里发每日一题（#频道 HH:MM、off）",
        ),
        "slash.daily.text": T(
            en="#channel HH:MM [Area/City], or off", zh="#频道 HH:MM [地区/城市]，或 off"
        ),
        # -- end of the study loop -----------------------------------------------------------
        # -- what the bank is missing (/gaps) ------------------------------------------------
        "gaps.admins_only": T(
            en="Only admins can see what the bank is missing.",
            zh="只有管理员可以查看题库缺少的内容。",
        ),
        "gaps.usage": T(
            en="Use /gaps, /gaps draft N, or /gaps weekly #channel [mon-sun] [HH:MM] | off.",
            zh="用法：/gaps、/gaps draft N，或 /gaps weekly #频道 [周一-周日] [HH:MM] | off。",
        ),
        "gaps.none": T(
            en="No gaps in the last 30 days: every question asked here was in the bank.",
            zh="最近 30 天没有题库缺口：这里问过的问题题库都能回答。",
        ),
        "gaps.head": T(
            en="*What the bank could not answer, last 30 days* (most askers first):",
            zh="*最近 30 天题库答不上的问题*（按提问人数排序）：",
        ),
        "gaps.row": T(
            en="{n}. *{label}*: {askers} asker(s). Asked: {examples}",
            zh="{n}. *{label}*：{askers} 人问过。例如：{examples}",
        ),
        "gaps.near": T(
            en="    Closest in the bank: {entries}",
            zh="    题库里最接近的：{entries}",
        ),
        "gaps.tail": T(
            en="_/gaps draft N drafts an entry for gap N; /bank add adds it once edited._",
            zh="_/gaps draft N 为第 N 个缺口起草条目；修改后用 /bank add 导入。_",
        ),
        "gaps.draft_usage": T(
            en="Name a gap by its number in /gaps (1 to {count}): /gaps draft N.",
            zh="请用 /gaps 列表里的编号（1 到 {count}）：/gaps draft N。",
        ),
        "gaps.draft_model": T(
            en="A draft entry for *{label}*, written by the language model. Check every line, "
            "edit the file, then add it with /bank add.",
            zh="*{label}* 的条目草稿，由语言模型撰写。请逐行核对、修改文件，再用 /bank add 导入。",
        ),
        "gaps.draft_skeleton": T(
            en="A skeleton entry for *{label}* (no language model here): the questions asked "
            "and the closest entries are in it. Write the answer and key points, then add it "
            "with /bank add.",
            zh="*{label}* 的条目骨架（此处没有语言模型）：包含提过的问题和最接近的条目。补上答案"
            "和要点后用 /bank add 导入。",
        ),
        "gaps.weekly_on": T(
            en="The weekly digest of gaps goes to <#{channel}> every {day} at {at} ({tz}).",
            zh="题库缺口周报每{day} {at}（{tz}）发到 <#{channel}>。",
        ),
        "gaps.weekly_off": T(
            en="No weekly digest of gaps. Start one with /gaps weekly #channel [day] [HH:MM].",
            zh="未开启题库缺口周报。用 /gaps weekly #频道 [周几] [HH:MM] 开启。",
        ),
        "gaps.digest_head": T(
            en="*This week in the bank's gaps*",
            zh="*本周题库缺口周报*",
        ),
        "gaps.digest_new": T(en="New gaps:", zh="新缺口："),
        "gaps.digest_grown": T(en="Gaps that grew:", zh="问的人变多的缺口："),
        "gaps.digest_grown_row": T(
            en="- *{label}*: {added} new asker(s), {askers} in all",
            zh="- *{label}*：新增 {added} 人，共 {askers} 人",
        ),
        "gaps.digest_closed": T(en="Closed by new entries:", zh="新条目填补的缺口："),
        "gaps.digest_closed_row": T(
            en="- *{label}* ({askers} asker(s)): now answered by {title} [{id}]",
            zh="- *{label}*（{askers} 人问过）：现在由 {title} [{id}] 回答",
        ),
        "gaps.digest_quiet": T(
            en="No new gaps this week, and none grew. /gaps lists the open ones.",
            zh="本周没有新缺口，也没有缺口变大。/gaps 可查看仍未填补的缺口。",
        ),
        "slash.gaps": T(
            en="Admins: what the bank could not answer; draft N; weekly #channel",
            zh="管理员：题库答不上的问题；draft N 起草条目；weekly #频道 周报",
        ),
        "slash.gaps.text": T(
            en="empty: the list; draft N; weekly #channel [day] [HH:MM]; weekly off",
            zh="留空：列表；draft N；weekly #频道 [周几] [HH:MM]；weekly off",
        ),
        # -- end of what the bank is missing -------------------------------------------------
    }
)


def say(lang: Lang, key: str, **fields: object) -> str:
    """The catalogue's text `key` in `lang`, its fields filled."""
    return TEXTS[key].pick(lang).format(**fields)
