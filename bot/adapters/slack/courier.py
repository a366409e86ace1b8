"""How the tutor speaks first on Slack (reminders by direct message, daily questions in a
channel), and the Bolt app with its listeners."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.core.conversation import (
    Place,
    Reply,
    Sent,
)

if TYPE_CHECKING:
    from bot.core.tutor import Tutor

from bot.adapters.slack.listeners import SlackBot
from bot.adapters.slack.outbox import SlackOutbox, error_code

log = logging.getLogger("tutor.slack")


class SlackCourier:
    """Reminders by direct message (conversations.open, chat.postMessage) and daily questions
    in channels, through the Web API."""

    platform = "slack"

    def __init__(self, client: Any) -> None:
        self.client = client

    async def direct(self, user_key: str, reply: Reply) -> Sent:
        user = user_key.split(":", 1)[-1]
        opened = await self.client.conversations_open(users=user)
        channel = opened["channel"]["id"]
        return await SlackOutbox(self.client, channel=channel, user=user, team="").send(reply)

    async def post(self, place: Place, reply: Reply) -> Sent:
        box = SlackOutbox(self.client, channel=place.channel, user="", team=place.workspace)
        return await box.send(reply)

    async def reachable(self, place: Place) -> bool:
        """Whether the bot is a member of the channel (it cannot post elsewhere)."""
        from slack_sdk.errors import SlackApiError

        try:
            info = await self.client.conversations_info(channel=place.channel)
        except SlackApiError as exc:
            log.info("conversations.info on %s failed (%s)", place.channel, error_code(exc))
            return False
        channel = info.get("channel") or {}
        return bool(channel.get("is_member") or channel.get("is_im"))


def build_app(
    tutor: Tutor, *, token: str, signing_secret: str, api_url: str
) -> tuple[Any, SlackBot]:
    """The Bolt app and its router; the Web API at `api_url` (Slack's, a proxy, or a test's)."""
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.adapters.slack.limits import RateLimits

    client = AsyncWebClient(token=token, base_url=api_url)
    client.retry_handlers.append(RateLimits(max_retry_count=3))  # the one retry layer
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        # Socket Mode has no signatures to check; HTTP mode always checks them.
        request_verification_enabled=bool(signing_secret),
        logger=logging.getLogger("tutor.slack.bolt"),
    )
    return app, SlackBot(tutor, app)


def authorized(app: Any, auth: Any) -> bool:
    """Hand Bolt's single-workspace authorization the `auth.test` answer the bot got at start.
    Bolt's async app otherwise asks Slack on the first request it authorizes, and every request
    that arrives before that answer asks too, each before its acknowledgement: after a restart,
    a burst of Slack's retries made one `auth.test` each, and acknowledgements waited on them.
    False when this Bolt has no such step to hand it to (then it asks on the first request, as
    before); bolt-python's sync `SingleTeamAuthorization` takes the same answer as an argument."""
    from slack_bolt.middleware.authorization.async_single_team_authorization import (
        AsyncSingleTeamAuthorization,
    )

    steps = [
        step
        for step in getattr(app, "_async_middleware_list", [])
        if isinstance(step, AsyncSingleTeamAuthorization)
    ]
    for step in steps:
        if step.auth_test_result is None:
            step.auth_test_result = auth
    return bool(steps)
