"""`tutor serve`: tokens only from the environment, a missing one named, and the Slack bot as a
real process behind its HTTP port, with its tokens nowhere in its logs or in a snippet's reach."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.bot.adapters.slack_api import SlackAPI
from tests.bot.conftest import PYTHON

BOT_TOKEN = "xoxb-0000-never-print-this-token"
SIGNING = "signing-secret-never-print-this"


def tutor(home: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from bot.app.cli import main; main()",
            "--data-dir",
            str(home),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    return {**env, "TUTOR_LLM_MODEL": "none", "TUTOR_RUNNER_PYTHON": PYTHON, **extra}


@pytest.mark.parametrize(
    ("args", "env", "variable"),
    [
        (["serve", "slack"], {}, "SLACK_BOT_TOKEN"),
        (["serve", "slack"], {"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_APP_TOKEN"),
        (["serve", "slack", "--http"], {"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_SIGNING_SECRET"),
        (["serve", "discord"], {}, "DISCORD_TOKEN"),
    ],
)
def test_a_missing_token_names_its_variable(tmp_path, args, env, variable):
    result = tutor(tmp_path, *args, env=clean_env(**env))
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {variable} is not set")
    assert BOT_TOKEN not in result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signed_post(url: str, body: str, content_type: str) -> int:
    stamp = str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": SignatureVerifier(SIGNING).generate_signature(
                timestamp=stamp, body=body
            ),
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def mention(url: str, event_id: str = "Ev1") -> int:
    """Slack's signed events request for "@tutor what is the KV cache?" in channel C1."""
    event = {
        "team_id": "T1",
        "type": "event_callback",
        "event_id": event_id,
        "event": {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "ts": "1.1",
            "text": "<@UBOT> what is the KV cache?",
        },
    }
    return signed_post(url, json.dumps(event), "application/json")


def slack_process(home: Path, api: SlackAPI, port: int, **env: str) -> subprocess.Popen:
    """`tutor serve slack --http` on loopback `port`, its Web API at `api`."""
    settings = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING,
        TUTOR_SLACK_API_URL=api.url,
        **env,
    )
    command = ["serve", "slack", "--http", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bot.app.cli import main; main()",
            "--data-dir",
            str(home),
            *command,
        ],
        env=settings,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_slack_bot_process_serves_http_and_never_shows_its_tokens(home):
    api = SlackAPI()
    port = free_port()
    process = slack_process(home, api, port, TUTOR_LOG_LEVEL="debug")
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read()
                time.sleep(0.1)
        assert mention(url) == 200
        snippet = (
            "import os\nprint(sorted(os.environ.items()))\nprint(open('/proc/1/environ').read())"
        )
        form = {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/run",
            "text": f"```python\n{snippet}\n```",
            "response_url": api.url.replace("/api/", "/respond/1"),
        }
        body = urllib.parse.urlencode(form)
        assert signed_post(url, body, "application/x-www-form-urlencoded") == 200

        def said(calls, words):
            return any(
                c.method in ("chat.postMessage", "chat.update") and words in str(c.body.get("text"))
                for c in calls
            )

        api.wait_for(lambda calls: said(calls, "exit") and said(calls, "KV cache"))
        run_reply = next(
            c for c in api.named("chat.postMessage") if "exit" in str(c.body.get("text"))
        )
        assert BOT_TOKEN not in run_reply.raw.decode() and SIGNING not in run_reply.raw.decode()
        # The token went where it belongs: the Authorization header of Web API calls.
        assert api.named("auth.test")[0].headers.get("Authorization") == f"Bearer {BOT_TOKEN}"
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        api.close()
    logs = "".join(p.read_text() for p in (home / "logs").glob("*.log"))
    for secret in (BOT_TOKEN, SIGNING):
        assert secret not in out + err + logs


def health(port: int) -> tuple[int, dict] | None:
    """/healthz's status and body, or None while nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return None


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def first_health(process: subprocess.Popen, port: int) -> tuple[int, dict]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = health(port)
        if found is not None:
            return found
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.05)
    raise AssertionError("/healthz never answered")


def until_health(
    process: subprocess.Popen, port: int, wanted: Callable[[int], bool]
) -> tuple[int, dict]:
    """/healthz's answer once its status is `wanted` (a minute at most, the process alive)."""
    deadline = time.monotonic() + 60
    while (found := health(port)) is None or not wanted(found[0]):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    return found


def test_healthz_says_ok_only_once_slacks_listener_accepts_connections(home):
    api = SlackAPI()
    port, metrics = free_port(), free_port()
    held = api.hold("auth.test")  # the bot is still starting: it has not reached Slack yet
    process = slack_process(home, api, port, TUTOR_METRICS_PORT=str(metrics))
    try:
        status, body = first_health(process, metrics)
        assert status == 503 and body["checks"]["front end"].startswith("starting")
        held.wait()
        assert health(metrics)[0] == 503 and not accepts(port)
        held.release()
        found = until_health(process, metrics, lambda status: status == 200)
        # The first 200 comes when Slack's requests can already be taken.
        assert found is not None and found[1]["checks"]["front end"] == "ok"
        assert accepts(port)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
        api.close()


def test_healthz_is_503_while_the_bot_drains_its_replies_in_flight(home):
    api = SlackAPI()
    port, metrics = free_port(), free_port()
    process = slack_process(home, api, port, TUTOR_METRICS_PORT=str(metrics))
    try:
        until_health(process, metrics, lambda status: status == 200)
        # A reply in flight: its first post is held at Slack's side while the bot is told to stop.
        held = api.hold("chat.startStream")
        assert mention(f"http://127.0.0.1:{port}/slack/events", "EvDrain") == 200
        held.wait()
        process.send_signal(signal.SIGTERM)
        # Draining: not ready for new work, though the reply in flight is still finishing.
        found = until_health(process, metrics, lambda status: status != 200)
        assert found is not None and found[0] == 503, found
        assert found[1]["checks"]["front end"].startswith("stopping")
        held.release()
        assert process.wait(timeout=60) == 0
        # The reply in flight was delivered before the bot went down.
        assert any("KV cache" in str(c.body) for c in api.calls if c.method == "chat.update")
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=60)
        api.close()


def test_healthz_never_says_ok_when_slack_refuses_the_token(home):
    api = SlackAPI()
    api.fail["auth.test"] = [{"ok": False, "error": "invalid_auth"}]
    port, metrics = free_port(), free_port()
    held = api.hold("auth.test")
    process = slack_process(home, api, port, TUTOR_METRICS_PORT=str(metrics))
    try:
        assert first_health(process, metrics)[0] == 503
        held.wait()  # the token is being checked: not ready, whatever else is
        seen = [health(metrics)[0]]
        held.release()
        while process.poll() is None:
            found = health(metrics)
            if found is not None:
                seen.append(found[0])
            time.sleep(0.01)
        assert set(seen) == {503}
        assert process.returncode == 1
    finally:
        if process.poll() is None:
            process.kill()
        out, err = process.communicate(timeout=60)
        api.close()
    assert "error: Slack refused SLACK_BOT_TOKEN (invalid_auth)" in err
    assert "unexpected failure" not in err and BOT_TOKEN not in out + err


def test_discord_is_ready_only_once_its_gateway_is_and_never_while_stopping():
    """The Discord front end is up (and the study loop starts) only when the client says it is
    ready; a bot already stopping stays down."""
    import asyncio

    from bot.app.metrics import FrontEnd
    from bot.app.serve import _study_when_ready

    class Client:
        def __init__(self) -> None:
            self.ready = asyncio.Event()

        async def wait_until_ready(self) -> None:
            await self.ready.wait()

    class Study:
        started = 0

        def start(self) -> None:
            self.started += 1

    async def scenario(stopping: bool) -> tuple[str, str, int]:
        client, study, front = Client(), Study(), FrontEnd("Discord")
        waiting = asyncio.ensure_future(_study_when_ready(client, study, front))
        await asyncio.sleep(0)
        before = front.state
        if stopping:
            front.down("stopping")
        client.ready.set()
        await waiting
        return before, front.state, study.started

    before, after, started = asyncio.run(scenario(stopping=False))
    assert before.startswith("starting") and after == "ok" and started == 1
    _, after, _ = asyncio.run(scenario(stopping=True))
    assert after == "stopping"
