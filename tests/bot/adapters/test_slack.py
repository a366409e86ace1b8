"""The Slack bot through Bolt's real request path: signed requests to the app served over HTTP on
loopback (as Slack sends them), and Slack's Web API replaced by a local recording server."""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.signature import SignatureVerifier

from bot.adapters.slack import authorized, build_app, limits, mrkdwn, start_http
from bot.adapters.slack.limits import RateLimits, limited, wait_of
from bot.core import pacing
from tests.bot.adapters.slack_api import SlackAPI
from tests.bot.conftest import Scripted, build

SECRET = "test-signing-secret"


class Slow:
    """A model that writes its answer in chunks over time, optionally waiting for a gate
    before the first chunk and for `resume` after it (the answer is then still unfinished
    for as long as a test needs, however slow the machine)."""

    name = "slow"

    def __init__(
        self,
        chunks: list[str],
        delay: float,
        gate: threading.Event | None = None,
        resume: threading.Event | None = None,
    ):
        self.chunks = chunks
        self.delay = delay
        self.gate = gate
        self.resume = resume

    async def stream(self, messages, *, max_new_tokens=512, cancel=None):
        # The test's events are waited on, not polled (a worker thread blocks on each).
        if self.gate is not None:
            await asyncio.to_thread(self.gate.wait, 60)
        for n, chunk in enumerate(self.chunks):
            if n == 1 and self.resume is not None:
                await asyncio.to_thread(self.resume.wait, 60)
            await asyncio.sleep(self.delay)
            yield chunk


class Slack:
    """The Bolt app on its own event loop and port, and helpers that send what Slack sends."""

    def __init__(self, tutor: Any, api: SlackAPI) -> None:
        self.api = api
        self.tutor = tutor
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.app, self.bot = build_app(
            tutor, token="xoxb-test-token", signing_secret=SECRET, api_url=api.url
        )
        self.bot.bot_user = "UBOT"
        self.runner = self.run(start_http(self.app, "127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/slack/events"
        self._n = 0
        self.handling: set[asyncio.Task] = set()

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until the bot has finished handling every request sent so far."""
        pending = self.run(_finish(self.handling, timeout), timeout + 5)
        assert not pending, f"still handling after {timeout}s: {pending}"
        self.handling.clear()

    def close(self) -> None:
        self.run(self.runner.cleanup())
        self.run(_cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        sign = signature or SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
        before = self.run(_tasks())
        try:
            return self._send(body, content_type, stamp, sign, headers)
        finally:
            # Bolt answers Slack first and handles the request in a task: the test goes on once
            # that task has run up to its first pause (the order Slack's requests came in).
            self.handling |= self.run(_begun(before))

    def _send(
        self, body: str, content_type: str, stamp: str, sign: str, headers: dict[str, str] | None
    ) -> tuple[int, str]:
        request = urllib.request.Request(
            self.url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": sign,
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def event(self, event: dict[str, Any], *, event_id: str = "", **kw: Any) -> tuple[int, str]:
        self._n += 1
        body = {
            "token": "legacy",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id or f"Ev{self._n}",
            "event_time": int(time.time()),
            "event": {"event_ts": event.get("ts", ""), **event},
        }
        return self.post(json.dumps(body), "application/json", **kw)

    def command(self, name: str, text: str = "", user: str = "U1", **kw: Any) -> tuple[int, str]:
        self._n += 1
        form = {
            "token": "legacy",
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": user,
            "command": name,
            "text": text,
            "response_url": self.api.url.replace("/api/", f"/respond/{self._n}"),
            "trigger_id": f"trigger-{self._n}",
        }
        return self.post(urllib.parse.urlencode(form), "application/x-www-form-urlencoded", **kw)

    def click(self, value: str, *, message_ts: str, thread_ts: str = "", user: str = "U1"):
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "team": {"id": "T1"},
            "channel": {"id": "C1"},
            "message": {"ts": message_ts, **({"thread_ts": thread_ts} if thread_ts else {})},
            "actions": [{"type": "button", "action_id": "tutor_0", "value": value}],
            "response_url": self.api.url.replace("/api/", "/respond/click"),
            "trigger_id": "trigger-click",
        }
        form = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.post(form, "application/x-www-form-urlencoded")


async def _tasks() -> set[asyncio.Task]:
    return asyncio.all_tasks()


async def _begun(before: set[asyncio.Task]) -> set[asyncio.Task]:
    """The tasks started since `before`, once each has taken its first step."""
    fresh = asyncio.all_tasks() - before - {asyncio.current_task()}
    # A new task's first step is queued when it is created: one turn of the loop runs it.
    for _ in range(100):
        if not any(inspect.getcoroutinestate(t.get_coro()) == inspect.CORO_CREATED for t in fresh):
            return fresh
        await asyncio.sleep(0)
    raise AssertionError("a handler never started")


async def _finish(tasks: set[asyncio.Task], timeout: float) -> set[asyncio.Task]:
    """Wait for the tasks to end; those still running after `timeout`."""
    running = {t for t in tasks if not t.done()}
    if not running:
        return set()
    _, pending = await asyncio.wait(running, timeout=timeout)
    return pending


async def _cancel_the_rest() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def api():
    server = SlackAPI()
    yield server
    server.close()


@pytest.fixture
def slack(home, embedder, sandbox, api):
    tutor = build(home, embedder, sandbox=sandbox)
    s = Slack(tutor, api)
    yield s
    s.close()


def mention(text: str, ts: str = "1700000000.000001", **extra: Any) -> dict[str, Any]:
    return {
        "type": "app_mention",
        "user": "U1",
        "text": f"<@UBOT> {text}",
        "ts": ts,
        "channel": "C1",
        **extra,
    }


def message(text: str, ts: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "user": "U1",
        "text": text,
        "ts": ts,
        "channel": "C1",
        "channel_type": "channel",
        **extra,
    }


def answers(api: SlackAPI) -> list[dict[str, Any]]:
    """The messages the bot started: posted whole, or streamed."""
    return [c.body for c in api.calls if c.method in ("chat.postMessage", "chat.startStream")]


def delivered(api: SlackAPI) -> list[dict[str, Any]]:
    """Each message the bot started, as it finally reads: a post, or a stream and its last
    update (thread, text, blocks)."""
    out = []
    for call in list(api.calls):
        if call.method == "chat.postMessage":
            out.append(call.body)
        elif call.method == "chat.startStream":
            ts = (call.response or {}).get("ts")
            updates = [c.body for c in api.named("chat.update") if c.body.get("ts") == ts]
            final = updates[-1] if updates else {}
            out.append(
                {**final, "thread_ts": call.body.get("thread_ts"), "channel": call.body["channel"]}
            )
    return out


def posted_text(api: SlackAPI) -> str:
    return "\n".join(str(c.body.get("text", "")) for c in api.named("chat.postMessage"))


# -- signatures ----------------------------------------------------------------------------------


def test_a_bad_signature_gets_401_and_does_nothing(slack, api):
    status, _ = slack.event(mention("what is the KV cache?"), signature="v0=" + "0" * 64)
    assert status == 401
    slack.settle()  # whatever the request started has ended
    assert not api.named("chat.postMessage") and not api.named("chat.startStream")


def test_a_replayed_old_request_gets_401(slack, api):
    status, _ = slack.event(mention("what is the KV cache?"), timestamp=int(time.time()) - 600)
    assert status == 401


# -- messages ------------------------------------------------------------------------------------


def test_a_mention_is_answered_in_its_thread_with_feedback_buttons(slack, api):
    assert slack.event(mention("what is the KV cache?", ts="1700000000.000001"))[0] == 200
    api.wait_for(lambda _: any("blocks" in d for d in delivered(api)))
    (post,) = delivered(api)
    assert post["thread_ts"] == "1700000000.000001"
    assert "KV cache" in post["text"] and "No language model is loaded" in post["text"]
    actions = [b for b in post["blocks"] if b["type"] == "actions"]
    assert [e["value"].split()[:2] for e in actions[0]["elements"]] == [
        ["/feedback", "up"],
        ["/feedback", "down"],
    ]


def test_follow_ups_in_the_thread_need_no_mention_other_messages_are_left_alone(slack, api):
    slack.event(mention("How does gradient clipping by global norm work?", ts="1700000000.000001"))
    slack.settle()  # the answer is complete (a follow-up while it streams has its own test)
    # A channel message without a mention: not for the tutor.
    slack.event(message("lunch anyone?", ts="1700000000.000005"))
    # A message in the tutor's thread: a follow-up.
    slack.event(message("give an example", ts="1700000000.000009", thread_ts="1700000000.000001"))
    slack.settle()
    assert [a["thread_ts"] for a in answers(api)] == ["1700000000.000001"] * 2
    assert "lunch" not in posted_text(api)


def test_a_direct_message_is_answered(slack, api):
    slack.event(
        message("what is the KV cache?", ts="1700000000.000002", channel_type="im", channel="D1")
    )
    api.wait_for(lambda _: answers(api))
    assert answers(api)[0]["channel"] == "D1"


def test_a_retried_event_is_answered_once(slack, api):
    event = mention("what is the KV cache?")
    slack.event(event, event_id="EvSame")
    api.wait_for(lambda calls: answers(api))
    status, _ = slack.event(
        event,
        event_id="EvSame",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert status == 200
    slack.event(mention("what is a KV cache, again?", ts="1700000000.000050"))
    slack.settle()
    threads = [a["thread_ts"] for a in answers(api)]
    assert threads == ["1700000000.000001", "1700000000.000050"]


def test_the_auth_test_made_at_start_serves_a_burst_of_requests(slack, api):
    """The bot asks Slack who it is once, at start; Bolt's authorization takes that answer, so
    a burst after a restart makes no `auth.test` per request before its acknowledgement."""
    auth = slack.run(slack.app.client.auth_test())
    assert authorized(slack.app, auth)
    statuses: list[int] = []

    def ask(n: int) -> None:
        event = mention(f"what is the KV cache? ({n})", ts=f"1700000000.0001{n:02d}", user=f"U{n}")
        statuses.append(slack.event(event)[0])

    burst = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in burst:
        thread.start()
    for thread in burst:
        thread.join(60)
    assert statuses == [200] * 8
    slack.settle()
    assert len(answers(api)) == 8
    assert len(api.named("auth.test")) == 1  # the start's own


def test_an_admin_watches_a_channel_and_its_messages_are_answered(slack, api):
    api.admins.add("UADMIN")
    slack.command("/tutor-settings", "watch <#C1|general>", user="U1")
    api.wait_for(lambda calls: any(c.method.startswith("respond/") for c in calls))
    assert not slack.tutor.watched(slack_place("C1"))
    slack.command("/tutor-settings", "watch <#C1|general>", user="UADMIN")
    api.wait_for(lambda calls: len([c for c in calls if c.method.startswith("respond/")]) == 2)
    assert slack.tutor.watched(slack_place("C1"))
    slack.event(message("what is the KV cache?", ts="1700000000.000077"))
    api.wait_for(lambda _: answers(api))


def slack_place(channel: str):
    from bot.core.conversation import Place

    return Place("slack", "T1", channel)


# -- slash commands and buttons ------------------------------------------------------------------


def test_slash_command_is_acknowledged_before_the_work_is_done(home, embedder, api):
    gate = threading.Event()
    tutor = build(
        home, embedder, backend=Slow(["Scaling ", "keeps [1] ", "softmax sane."], 0.01, gate)
    )
    slack = Slack(tutor, api)
    try:
        status, body = slack.command("/ask", "why divide attention scores by sqrt(d_k)?")
        # The answer is still being written (the model waits on the gate): Bolt answered first.
        assert status == 200 and body == ""
        assert not any(c.method.startswith("respond/") for c in api.calls)
        gate.set()
        api.wait_for(lambda calls: any(c.method.startswith("respond/") for c in calls))
    finally:
        slack.close()


def test_ask_replies_privately_with_a_share_button_that_posts_to_the_channel(home, embedder, api):
    tutor = build(home, embedder, backend=Scripted("Scaling keeps the softmax sane [1]."))
    slack = Slack(tutor, api)
    try:
        slack.command("/ask", "why divide attention scores by sqrt(d_k)?")
        api.wait_for(lambda calls: any(c.method.startswith("respond/") for c in calls))
        (reply,) = [c for c in api.calls if c.method.startswith("respond/")]
        assert reply.body["response_type"] == "ephemeral"
        assert not api.named("chat.postMessage")
        values = [
            e["value"]
            for b in reply.body["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        ]
        share = next(v for v in values if v.startswith("/share "))
        slack.click(share, message_ts="1700000000.000003")
        api.wait_for(lambda calls: any(c.method == "chat.postMessage" for c in calls))
        shared = api.named("chat.postMessage")[0].body
        assert shared["channel"] == "C1" and "<@U1> asked" in shared["text"]
        assert "Scaling keeps the softmax sane" in shared["text"]
    finally:
        slack.close()


def test_quiz_by_slash_command_then_hint_button_and_answer_in_the_thread(slack, api):
    slack.command("/quiz", "post-norm")
    slack.settle()
    (question,) = api.named("chat.postMessage")
    assert "Pre-norm" in question.body["text"] or "post-norm" in question.body["text"]
    assert "thread_ts" not in question.body or question.body["thread_ts"] is None
    buttons = [
        e["value"] for b in question.body["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert [b.split()[0] for b in buttons] == ["/hint", "/skip", "/reveal"]
    ts = question.response["ts"]  # the question's message starts the quiz's thread
    assert slack.tutor.progress.open_quiz("slack:U1", "T1").thread == ts
    slack.click(buttons[0], message_ts=ts)
    slack.settle()
    hint = api.named("chat.postMessage")[1].body
    assert hint["thread_ts"] == ts and "Hint 1" in hint["text"]
    slack.event(
        message(
            "Pre-norm normalises the sublayer input and keeps an identity path.",
            ts="1700000002.1",
            thread_ts=ts,
        )
    )
    slack.settle()
    graded = api.named("chat.postMessage")[2].body
    assert graded["thread_ts"] == ts and "Score:" in graded["text"]


def test_an_answer_sent_before_the_quiz_question_post_returns_is_graded(slack, api):
    held = api.hold("chat.postMessage")
    slack.command("/quiz", "post-norm")
    ts = held.ts  # Slack shows the question; its answer, with this ts, is still on the way
    slack.event(
        message(
            "Pre-norm normalises the sublayer input and keeps an identity path.",
            ts="1700000900.000100",
            thread_ts=ts,
        )
    )
    held.release()
    slack.settle()
    replies = [c.body for c in api.named("chat.postMessage")[1:]]
    assert [r.get("thread_ts") for r in replies] == [ts]
    assert "Score:" in replies[0]["text"]
    assert not api.named("chat.startStream")  # not answered as a question
    assert slack.tutor.progress.open_quiz("slack:U1", "T1") is None


def test_feedback_button_is_stored_with_the_answer(slack, api):
    slack.event(mention("what is the KV cache?", ts="1700000000.000001"))
    api.wait_for(lambda _: any("blocks" in d for d in delivered(api)))
    post = delivered(api)[0]
    down = [e["value"] for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]][1]
    slack.click(down, message_ts="1700000009.000100", thread_ts="1700000000.000001")
    api.wait_for(lambda calls: any(c.method == "chat.postEphemeral" for c in calls))
    assert slack.tutor.progress.answers.feedback(int(down.split()[-1])) == -1


def test_run_uploads_plots_and_long_output_as_files(slack, api):
    code = (
        "```python\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "plt.plot([1, 2])\nplt.savefig('plot.png')\nprint('x' * 4000)\n```"
    )
    slack.command("/run", code)
    api.wait_for(lambda calls: any(c.method == "files.completeUploadExternal" for c in calls))
    names = sorted(c.body.get("filename", "") for c in api.named("files.getUploadURLExternal"))
    assert names == ["output.txt", "plot.png"]
    uploads = [c for c in api.calls if c.method.startswith("upload/")]
    assert any(b"\x89PNG" in c.raw for c in uploads)
    complete = api.named("files.completeUploadExternal")[0].body
    assert complete["channel_id"] == "C1" and complete["thread_ts"]


# -- streaming -----------------------------------------------------------------------------------


CHUNKS = [f"word{n} " for n in range(24)] + ["[1]."]


def test_answers_stream_with_chat_streaming_paced_by_the_core(home, embedder, api, monkeypatch):
    # The pacing rule itself is tested on a fake clock (tests/bot/core/test_pacing.py); here an
    # interval longer than the answer shows that the stream edits only as the pacer allows:
    # its first piece at once, then nothing until the whole answer, whatever the machine's speed.
    monkeypatch.setattr(pacing, "STREAM_INTERVAL", 3600.0)
    tutor = build(home, embedder, backend=Slow(CHUNKS, 0.0))
    slack = Slack(tutor, api)
    try:
        slack.event(mention("why divide attention scores by sqrt(d_k)?", ts="1700000000.000001"))
        api.wait_for(lambda calls: any(c.method == "chat.update" for c in calls))
        starts, appends = api.named("chat.startStream"), api.named("chat.appendStream")
        assert len(starts) == 1 and starts[0].body["thread_ts"] == "1700000000.000001"
        assert starts[0].body["recipient_user_id"] == "U1"
        assert len(appends) <= 1  # one piece shown before the end: never one call per chunk
        assert len(api.named("chat.stopStream")) == 1
        final = api.named("chat.update")[-1].body
        assert "word23" in final["text"] and final["ts"] == starts[0].response["ts"]
    finally:
        slack.close()


def test_a_follow_up_while_the_answer_is_still_streaming_is_answered_in_the_thread(
    home, embedder, api
):
    held = api.hold("chat.stopStream")
    tutor = build(home, embedder, backend=Slow(CHUNKS[:3], 0.01))
    slack = Slack(tutor, api)
    try:
        slack.event(mention("why divide attention scores by sqrt(d_k)?", ts="1700000000.000001"))
        held.wait()  # the answer has streamed; its last calls are still on the way
        slack.event(
            message("give an example", ts="1700000000.000009", thread_ts="1700000000.000001")
        )
        # The thread is the tutor's from the answer's first post, not from its last edit.
        api.wait_for(lambda _: len(api.named("chat.startStream")) == 2, timeout=30)
        held.release()
        slack.settle()
        starts = api.named("chat.startStream")
        assert [s.body["thread_ts"] for s in starts] == ["1700000000.000001"] * 2
        assert [len(api.named(m)) for m in ("chat.stopStream", "chat.update")] == [2, 2]
    finally:
        slack.close()


def test_streaming_refused_falls_back_to_updates(home, embedder, api, monkeypatch):
    # An interval longer than the answer: the edits are the pacer's, whatever the machine's speed.
    monkeypatch.setattr(pacing, "STREAM_INTERVAL", 3600.0)
    api.fail["chat.startStream"] = [{"ok": False, "error": "not_allowed_token_type"}]
    resume = threading.Event()
    tutor = build(home, embedder, backend=Slow(CHUNKS, 0.0, resume=resume))
    slack = Slack(tutor, api)
    try:
        slack.event(mention("why divide attention scores by sqrt(d_k)?", ts="1700000000.000001"))
        # The first words go out with chat.postMessage while the answer is still being written.
        api.wait_for(lambda calls: any(c.method == "chat.postMessage" for c in calls))
        resume.set()
        api.wait_for(
            lambda calls: any(
                c.method == "chat.update" and "word23" in str(c.body.get("text")) for c in calls
            )
        )
        posts, updates = api.named("chat.postMessage"), api.named("chat.update")
        assert len(posts) == 1 and posts[0].body["thread_ts"] == "1700000000.000001"
        # The first piece was posted at once; nothing more until the answer ended, then the
        # final reply (the paced stream's last text, then the checked answer at most).
        assert "word0" in posts[0].body["text"] and "word1 " not in posts[0].body["text"]
        assert 1 <= len(updates) <= 2
        assert not api.named("chat.stopStream")
    finally:
        slack.close()


def test_a_rate_limited_update_backs_off_and_keeps_the_answer(home, embedder, api):
    api.fail["chat.startStream"] = [{"ok": False, "error": "not_allowed_token_type"}]
    api.fail["chat.update"] = [{"ok": False, "error": "ratelimited"}]
    resume = threading.Event()
    tutor = build(home, embedder, backend=Slow(CHUNKS, 0.05, resume=resume))
    slack = Slack(tutor, api)
    try:
        slack.event(mention("why divide attention scores by sqrt(d_k)?", ts="1700000000.000001"))
        api.wait_for(lambda calls: any(c.method == "chat.postMessage" for c in calls))
        resume.set()
        api.wait_for(
            lambda calls: any(
                c.method == "chat.update" and "word23" in str(c.body.get("text")) for c in calls
            )
        )
        texts = [str(c.body.get("text")) for c in api.named("chat.update")]
        # The refused update was tried again later, with the whole text so far.
        assert len(texts) >= 2 and texts[-1].count("word0 ") == 1 and "word23" in texts[-1]
    finally:
        slack.close()


# -- text ----------------------------------------------------------------------------------------


def test_mrkdwn_escapes_mentions_and_keeps_code():
    text = mrkdwn("**Score** <!everyone> & <@U1>\n```\nif a < b: pass\n```\n<#C42>")
    assert text.startswith("*Score* &lt;!everyone&gt; &amp; &lt;@U1&gt;")
    assert "if a &lt; b" in text and "<#C42>" in text


def test_a_failure_in_a_handler_is_answered_with_an_id_and_logged(slack, api, caplog):
    async def broken(message, out):
        raise RuntimeError("disk on fire")

    slack.tutor.handle = broken
    slack.event(mention("what is the KV cache?"))
    api.wait_for(lambda calls: any(c.method == "chat.postEphemeral" for c in calls))
    text = api.named("chat.postEphemeral")[0].body["text"]
    incident = text.split("id ")[1].rstrip(").")
    assert "Something went wrong" in text and "disk on fire" not in text
    assert any(incident in r.getMessage() for r in caplog.records)


def test_the_stream_is_started_through_bolts_say_stream(home, embedder, api):
    tutor = build(home, embedder, backend=Slow(CHUNKS[:6], 0.2))
    slack = Slack(tutor, api)
    try:
        slack.event(mention("why divide attention scores by sqrt(d_k)?", ts="1700000000.000007"))
        api.wait_for(lambda calls: any(c.method == "chat.update" for c in calls))
        start = api.named("chat.startStream")[0].body
        # say_stream fills in what Bolt knows of the event: its channel, thread, team and user.
        assert (start["channel"], start["thread_ts"]) == ("C1", "1700000000.000007")
        assert (start["recipient_team_id"], start["recipient_user_id"]) == ("T1", "U1")
    finally:
        slack.close()


def test_slack_escapes_in_what_users_type_are_undone(slack, api):
    # Slack sends "print(1 &lt; 2 ...)" for what the user typed as print(1 < 2 ...).
    slack.command("/run", "print(1 &lt; 2, 'a&amp;b', '&gt;')")
    api.wait_for(lambda calls: any(c.method == "chat.postMessage" for c in calls))
    # The output is escaped again on its way back to Slack.
    assert "True a&amp;b &gt;" in api.named("chat.postMessage")[0].body["text"]


def test_a_channel_the_tutor_cannot_read_is_not_guessed(slack, api):
    api.admins.add("UADMIN")
    slack.command("/tutor-settings", "watch #random", user="UADMIN")
    api.wait_for(lambda calls: any(c.method.startswith("respond/") for c in calls))
    reply = next(c for c in api.calls if c.method.startswith("respond/"))
    assert "Usage" in reply.body["text"]
    assert not slack.tutor.watched(slack_place("C1"))


def test_a_python_file_shared_in_a_dm_is_run(slack, api):
    api.files["/files/snippet.py"] = b"print(6 * 7)"
    base = api.url.replace("/api/", "")
    event = message("/run", ts="1700000000.000300", channel_type="im", channel="D1")
    event["subtype"] = "file_share"
    event["files"] = [
        {"name": "snippet.py", "size": 12, "url_private_download": f"{base}/files/snippet.py"},
        {"name": "x.py", "size": 5, "url_private_download": "https://elsewhere.example/x.py"},
    ]
    slack.event(event)
    api.wait_for(lambda calls: any(c.method == "chat.postMessage" for c in calls))
    assert "42" in api.named("chat.postMessage")[0].body["text"]
    (fetch,) = [c for c in api.calls if c.method == "files/"]
    assert fetch.headers.get("Authorization") == "Bearer xoxb-test-token"


# -- rate limits: one retry layer, the Web API client's (bot/adapters/slack/limits.py) ----------

LIMITED = {"ok": False, "error": "ratelimited"}


@pytest.fixture
def no_wait(monkeypatch):
    monkeypatch.setattr(limits, "LONGEST_WAIT", 0.0)  # the waits are tested on their own below


def test_the_bot_s_client_has_one_retry_layer_for_rate_limits(slack):
    handlers = slack.app.client.retry_handlers
    assert [type(h) for h in handlers if isinstance(h, RateLimits)] == [RateLimits]
    # The SDK's own 429-only handler is not stacked under it.
    assert not [h for h in handlers if type(h).__name__ == "AsyncRateLimitErrorRetryHandler"]


def test_a_rate_limited_call_is_made_again_until_it_goes_through(slack, api, no_wait):
    api.fail["chat.postMessage"] = [LIMITED, LIMITED, LIMITED]
    response = slack.run(slack.app.client.chat_postMessage(channel="C1", text="hi"))
    assert response["ok"]
    assert len(api.named("chat.postMessage")) == 4  # three refused, the fourth went through


def test_past_three_retries_the_call_fails_as_any_refused_call(slack, api, no_wait):
    api.fail["chat.postMessage"] = [LIMITED] * 5
    with pytest.raises(SlackApiError) as failed:
        slack.run(slack.app.client.chat_postMessage(channel="C1", text="hi"))
    assert failed.value.response["error"] == "ratelimited"
    assert len(api.named("chat.postMessage")) == 4  # not 16: no second layer multiplies it


def test_other_refusals_are_not_retried(slack, api, no_wait):
    api.fail["chat.postMessage"] = [{"ok": False, "error": "channel_not_found"}]
    with pytest.raises(SlackApiError):
        slack.run(slack.app.client.chat_postMessage(channel="C1", text="hi"))
    assert len(api.named("chat.postMessage")) == 1


def test_what_counts_as_limited_and_how_long_to_wait():
    assert limited(HttpResponse(status_code=429, headers={}))
    assert limited(HttpResponse(status_code=200, headers={}, body=LIMITED))
    assert not limited(HttpResponse(status_code=200, headers={}, body={"ok": True}))
    assert not limited(None)
    told = HttpResponse(status_code=429, headers={"Retry-After": ["3"]})
    assert wait_of(told, 0) == 3.0
    assert wait_of(HttpResponse(status_code=429, headers={"retry-after": "7"}), 0) == 7.0
    assert wait_of(HttpResponse(status_code=429, headers={"Retry-After": "600"}), 0) == 30.0
    untold = HttpResponse(status_code=200, headers={}, body=LIMITED)
    assert [wait_of(untold, n) for n in range(3)] == [0.5, 1.0, 2.0]
