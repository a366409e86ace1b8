"""`tutor serve slack` stopped by SIGTERM while an answer is on its way: the answer is finished,
the sandbox's folders are removed, and the process exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path
from typing import IO

from runner.cgroup import CGROUP_ROOT
from tests.bot.adapters.slack_api import SlackAPI
from tests.bot.app.test_serve import (
    BOT_TOKEN,
    SIGNING,
    clean_env,
    free_port,
    mention,
    signed_post,
)


class Lines:
    """What a process writes to a pipe, read by a thread; waited for, never polled."""

    def __init__(self, pipe: IO[str]) -> None:
        self.lines: list[str] = []
        self.ended = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[str]) -> None:
        for line in pipe:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    def wait_for(self, words: str, timeout: float = 120.0) -> str:
        """The first line holding `words`, once the process has written it."""

        def found() -> str | None:
            return next((line for line in self.lines if words in line), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None or self.ended, timeout)
            line = found()
        assert line is not None, f"never said {words!r}:\n{self.text}"
        return line

    @property
    def text(self) -> str:
        with self._changed:
            return "".join(self.lines)


def leftovers(pid: int) -> list[Path]:
    """The snippet folders and cgroups of the sandbox of process `pid` still on the host."""
    folders = list(Path(tempfile.gettempdir()).glob(f"tutor-snippet-{pid}-*"))
    groups = [p for c in ("memory", "pids") for p in (CGROUP_ROOT / c).glob(f"tutor-run-{pid}-*")]
    return folders + groups


def test_sigterm_lets_the_answer_in_flight_finish_then_cleans_up_and_exits_0(home):
    api = SlackAPI()
    # The answer's stream is being closed when the signal comes: Slack holds chat.stopStream.
    held = api.hold("chat.stopStream")
    port = free_port()
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING, TUTOR_SLACK_API_URL=api.url
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bot.app.cli import main; main()",
            "--data-dir",
            str(home),
            *("serve", "slack", "--http", "--host", "127.0.0.1", "--port", str(port)),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr = Lines(process.stderr)
    try:
        stderr.wait_for("Slack bot on http://")
        url = f"http://127.0.0.1:{port}/slack/events"
        # A run first: the sandbox then keeps warm jails (folders and cgroups) to clean up.
        form = {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/run",
            "text": "```python\nprint(6 * 7)\n```",
            "response_url": api.url.replace("/api/", "/respond/1"),
        }
        body = urllib.parse.urlencode(form)
        assert signed_post(url, body, "application/x-www-form-urlencoded") == 200
        api.wait_for(lambda calls: any("42" in str(c.body.get("text")) for c in calls))
        assert mention(url) == 200
        held.wait()
        process.send_signal(signal.SIGTERM)
        # Said as the drain begins: from here the bot waits for the answer held above.
        stderr.wait_for("stopping: waiting up to 10 s for 1 reply in flight")
        held.release()
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        api.close()
    assert code == 0, stderr.text
    assert "closed as they were" not in stderr.text  # the answer finished before the deadline
    methods = [c.method for c in api.calls]
    final = api.named("chat.update")[-1]
    assert methods.index("chat.stopStream") < methods.index("chat.update")
    assert "KV cache" in final.body["text"] and "▌" not in final.body["text"]
    assert leftovers(process.pid) == []
