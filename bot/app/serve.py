"""`tutor serve …`: the long-lived processes — the runner service, the Slack bot and the Discord
bot — with their secrets from the environment and their lifecycle (start, run, close)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import click

from bot.app.context import Context, friendly, warn
from bot.core.errors import TutorError

if TYPE_CHECKING:
    from bot.app.metrics import FrontEnd
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
    from bot.app.metrics import runner_health, serve_metrics
    from bot.app.wiring import build_sandbox
    from bot.core.telemetry import RunMetrics
    from runner.dispatch import RunQueue
    from runner.service import make_server

    settings = obj.settings
    sandbox = build_sandbox(settings)
    sandbox.check()
    queue = RunQueue(
        sandbox, max_running=settings.runner_workers, max_waiting=settings.runner_queue
    )
    metrics = RunMetrics()
    metrics.watch(queue)
    server = make_server(queue, settings.runner_secret.get_secret_value(), host, port)
    stop_metrics = serve_metrics(settings.metrics_port, metrics.registry, runner_health(sandbox))

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
        stop_metrics()
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


# How long a stopping bot lets the replies in flight finish before it closes them as they are.
DRAIN_SECONDS = 10.0

BotMain = Callable[["Tutor", asyncio.Event, "FrontEnd"], Awaitable[None]]


def _run_bot(obj: Context, name: str, main: BotMain) -> None:
    """A bot's lifecycle: log to stderr and `<data dir>/logs/<name>.log`, build the tutor, run
    `main(tutor, stopping)` until it ends (SIGTERM or SIGINT sets `stopping`: the bot stops
    taking work and drains the tutor), and close the tutor whatever happens; closing it ends
    the sandbox's runs and removes their folders and cgroups."""
    from bot.app.metrics import FrontEnd, serve_metrics, tutor_health
    from bot.app.wiring import build_tutor

    obj.log_to_file(name, console=True)
    tutor = build_tutor(obj.settings, warn=warn)
    stop_metrics: Callable[[], None] | None = None
    front = FrontEnd(name.capitalize())
    try:
        health = tutor_health(tutor, obj.settings, front)
        stop_metrics = serve_metrics(obj.settings.metrics_port, tutor.telemetry.registry, health)
        asyncio.run(_until_stopped(tutor, main, front))
    except KeyboardInterrupt:
        pass
    except BaseException:
        front.down("failed: the bot is exiting")
        raise
    finally:
        if front.state == "ok":
            front.down("stopping")
        if stop_metrics is not None:
            stop_metrics()
        tutor.close()


async def _who_am_i(client: Any) -> Any:
    """Slack's `auth.test` answer (the bot's own user id, its workspace); a refused token ends
    the bot with one line saying so."""
    from slack_sdk.errors import SlackApiError

    try:
        return await client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "refused") if exc.response is not None else "refused"
        raise TutorError(
            f"Slack refused SLACK_BOT_TOKEN ({error}): check the token and the app's install"
        ) from None


async def _until_stopped(tutor: Tutor, main: BotMain, front: FrontEnd) -> None:
    """`main(tutor, stopping, front)`, with SIGTERM and SIGINT setting `stopping` inside the
    loop (and the front end reported down at once: the drain takes no new work)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)

    def stop() -> None:
        front.down("stopping")
        stopping.set()

    for signum in signals:
        loop.add_signal_handler(signum, stop)
    try:
        await main(tutor, stopping, front)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


async def _drain(tutor: Tutor) -> None:
    """Let the replies in flight finish (bounded); new messages meanwhile start nothing."""
    n = tutor.draining.in_flight
    replies = "reply" if n == 1 else "replies"
    click.echo(f"stopping: waiting up to {DRAIN_SECONDS:g} s for {n} {replies} in flight", err=True)
    if not await tutor.drain(DRAIN_SECONDS):
        click.echo("stopping: replies still in flight were closed as they were", err=True)


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

    async def main(tutor: Tutor, stopping: asyncio.Event, front: FrontEnd) -> None:
        from bot.adapters.slack import SlackCourier, authorized

        app, bot = build_app(tutor, token=token, signing_secret=signing, api_url=api_url)
        auth = await _who_am_i(app.client)
        bot.bot_user = auth["user_id"]
        authorized(app, auth)  # one auth.test for the process, not one per early request
        # The study loop: reminders and daily questions, sent through the Web API.
        study = tutor.study_scheduler(SlackCourier(app.client))
        study.start()
        if http_mode:
            runner = await start_http(app, host, port)
            front.up()  # the listener accepts connections from here
            click.echo(f"Slack bot on http://{host}:{port}/slack/events", err=True)
            try:
                await stopping.wait()
                await study.stop()
                # Still listening while draining: Slack retries a request nobody acknowledges,
                # and the tutor starts nothing for one that comes now.
                await _drain(tutor)
            finally:
                await study.stop()
                await runner.cleanup()
        else:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            click.echo("Slack bot connecting in Socket Mode", err=True)
            handler = AsyncSocketModeHandler(app, app_token)
            await handler.connect_async()
            front.up()
            try:
                await stopping.wait()
            finally:
                await study.stop()
                await handler.close_async()  # no new events; replies go out by the Web API
            await _drain(tutor)

    _run_bot(obj, "slack", main)


@serve.command("discord")
@click.pass_obj
@friendly
def serve_discord(obj: Context) -> None:
    """The Discord bot (DISCORD_TOKEN); TUTOR_DISCORD_SHARDS shards it for large installs."""
    from bot.adapters.discord import DiscordCourier, make_client

    token = _secret("DISCORD_TOKEN", "the bot token from the Discord developer portal")
    shards = obj.settings.discord_shards

    async def main(tutor: Tutor, stopping: asyncio.Event, front: FrontEnd) -> None:
        async with make_client(tutor, shards=shards) as client:
            running = asyncio.ensure_future(client.start(token))
            stopped = asyncio.ensure_future(stopping.wait())
            study = tutor.study_scheduler(DiscordCourier(client))
            studying = asyncio.ensure_future(_study_when_ready(client, study, front))
            await asyncio.wait({running, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            studying.cancel()
            await study.stop()
            if not running.done():
                # The replies in flight go out through the client's HTTP session, which closing
                # the gateway closes too: the drain comes first (new messages meanwhile are
                # told to come back), then the gateway.
                await _drain(tutor)
                await client.close()
            await running

    _run_bot(obj, "discord", main)


async def _study_when_ready(client: Any, study: Any, front: FrontEnd) -> None:
    """Once the Discord client is connected and can fetch users and channels: the front end is
    up and the study loop starts."""
    await client.wait_until_ready()
    if not front.state.startswith("stopping"):
        front.up()
    study.start()
