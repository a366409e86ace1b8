"""The Slack adapter (slack-bolt, async): Slack's events, slash commands and button clicks in,
the tutor core's replies out as threaded messages with Block Kit buttons, streamed answers and
uploaded files. It holds no tutoring logic.

Answers stream with Bolt's `say_stream` (Slack's `chat.startStream` / `appendStream` /
`stopStream`) and fall back to `chat.postMessage` plus `chat.update` where streaming is refused;
either way at most about once a second, never per token. Slack answers rate limits with
`"ok": false, "error": "ratelimited"` (and sometimes HTTP 429): the stream backs off and keeps
the text it has not delivered.

By job: `render` (mrkdwn, Block Kit), `outbox` (calls, the outbox, the stream), `listeners`
(requests to the core), `courier` (speaking first; the Bolt app), `front` (HTTP mode).
"""

from bot.adapters.slack.courier import SlackCourier, authorized, build_app
from bot.adapters.slack.front import MAX_BODY, signed, slack_body, start_http
from bot.adapters.slack.listeners import PRIVATE_COMMANDS, SLASH_COMMANDS, SlackBot
from bot.adapters.slack.outbox import SlackOutbox, SlackStream
from bot.adapters.slack.render import blocks, mrkdwn, plain

__all__ = [
    "MAX_BODY",
    "PRIVATE_COMMANDS",
    "SLASH_COMMANDS",
    "SlackBot",
    "SlackCourier",
    "SlackOutbox",
    "SlackStream",
    "authorized",
    "blocks",
    "build_app",
    "mrkdwn",
    "plain",
    "signed",
    "slack_body",
    "start_http",
]
