"""`tutor serve …`: the long-lived processes — the runner service, the Slack bot and the Discord
bot — with their secrets from the environment and their lifecycle (start, run, close)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import click

from bot.app.context import Context, friendly, warn
from bot.core.errors import TutorError

if TYPE_CHECKING:
    from bot.core.tutor import Tutor


@click.group()
def serve() -> None:
    """Run a long-lived service."""


@serve.command("runner")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port to listen on.")
@click.pass_obj
@friendly
def serve_runner(obj: Context, host: str, port: int) -> None:
    """Serve the sandbox over HTTP (POST /run, shared secret in TUTOR_RUNNER_SECRET)."""
    from bot.app.wiring import build_sandbox
    from runner.dispatch import RunQueue
    from runner.service import make_server

    settings = obj.settings
    sandbox = build_sandbox(settings)
    sandbox.check()
    queue = RunQueue(
        sandbox, max_running=settings.runner_workers, max_waiting=settings.runner_queue
    )
    server = make_server(queue, settings.runner_secret.get_secret_value(), host, port)

    def stop(signum: int, frame: object) -> None:
        # Unwinds serve_forever like Ctrl-C; the cleanup below runs outside the handler, and
        # a second SIGTERM cannot cut it short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise _Stopped

    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, stop)
        click.echo(f"runner service on http://{host}:{server.server_port}/run", err=True)
        server.serve_forever()
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        server.server_close()
        sandbox.close()  # ends runs in flight and removes their folders and cgroups
        signal.signal(signal.SIGTERM, previous)


class _Stopped(Exception):
    """SIGTERM reached `tutor serve runner`: stop serving and clean up."""


def _secret(name: str, why: str) -> str:
    """A token from the environment (never from files or options, never printed)."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise TutorError(f"{name} is not set: export it ({why}) and run again")
    return value


def _run_bot(obj: Context, name: str, main: Callable[[Tutor], Awaitable[None]]) -> None:
    """A bot's lifecycle: log to stderr and `<data dir>/logs/<name>.log`, build the tutor, run
    `main(tutor)` until it ends or is interrupted, and close the tutor whatever happens."""
    from bot.app.wiring import build_tutor

    obj.log_to_file(name, console=True)
    tutor = build_tutor(obj.settings, warn=warn)
    try:
        asyncio.run(main(tutor))
    except KeyboardInterrupt:
        pass
    finally:
        tutor.close()


@serve.command("slack")
@click.option(
    "--http", "http_mode", is_flag=True, help="HTTP mode (Events API) instead of Socket Mode."
)
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on (--http).")
@click.option(
    "--port", default=3000, show_default=True, type=int, help="Port to listen on (--http)."
)
@click.pass_obj
@friendly
def serve_slack(obj: Context, http_mode: bool, host: str, port: int) -> None:
    """The Slack bot: Socket Mode (SLACK_BOT_TOKEN, SLACK_APP_TOKEN) or, with --http, Slack's
    requests at /slack/events (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)."""
    from bot.adapters.slack import build_app, start_http

    token = _secret("SLACK_BOT_TOKEN", "the bot token, xoxb-…, from OAuth & Permissions")
    if http_mode:
        signing = _secret("SLACK_SIGNING_SECRET", "from Basic Information > App Credentials")
        app_token = ""
    else:
        app_token = _secret("SLACK_APP_TOKEN", "an app-level token, xapp-…, for Socket Mode")
        signing = ""
    api_url = obj.settings.slack_api_url

    async def main(tutor: Tutor) -> None:
        app, bot = build_app(tutor, token=token, signing_secret=signing, api_url=api_url)
        bot.bot_user = (await app.client.auth_test())["user_id"]
        if http_mode:
            runner = await start_http(app, host, port)
            click.echo(f"Slack bot on http://{host}:{port}/slack/events", err=True)
            try:
                await asyncio.Event().wait()
            finally:
                await runner.cleanup()
        else:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            click.echo("Slack bot connecting in Socket Mode", err=True)
            await AsyncSocketModeHandler(app, app_token).start_async()

    _run_bot(obj, "slack", main)


@serve.command("discord")
@click.pass_obj
@friendly
def serve_discord(obj: Context) -> None:
    """The Discord bot (DISCORD_TOKEN); TUTOR_DISCORD_SHARDS shards it for large installs."""
    from bot.adapters.discord import make_client

    token = _secret("DISCORD_TOKEN", "the bot token from the Discord developer portal")
    shards = obj.settings.discord_shards

    async def main(tutor: Tutor) -> None:
        async with make_client(tutor, shards=shards) as client:
            await client.start(token)

    _run_bot(obj, "discord", main)
