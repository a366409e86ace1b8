"""Slack's HTTP mode: every request's size and signature checked before Bolt parses it, and
the aiohttp server it listens on."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
import urllib.parse
from typing import Any

log = logging.getLogger("tutor.slack")
MAX_BODY = 2**20  # Slack's requests take a few KiB
SIGNATURE_AGE = 300  # seconds, as Slack asks


def signed(secret: str, raw: bytes, headers: Any, now: float | None = None) -> bool:
    """Whether a request bears Slack's signature over its body's bytes as received, made within
    SIGNATURE_AGE seconds (an older one is a replay)."""
    stamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not re.fullmatch(r"[0-9]{1,12}", stamp) or not signature.isascii():
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > SIGNATURE_AGE:
        return False
    # slack_sdk's SignatureVerifier computes this HMAC over the body decoded as UTF-8 and
    # raises on bytes that are not: the same HMAC over the bytes refuses them quietly.
    base = b"v0:" + stamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def slack_body(raw: bytes, content_type: str) -> str | None:
    """The body as text when it has a shape Slack sends (a JSON object for events; a form with a
    `payload` JSON object for interactions or a `command` for slash commands), else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if content_type == "application/json":
        return text if _json_object(text) else None
    # Bolt reads any body that starts with "{" as JSON.
    if content_type != "application/x-www-form-urlencoded" or text.startswith("{"):
        return None
    form = urllib.parse.parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        return text if len(form["payload"]) == 1 and _json_object(form["payload"][0]) else None
    return text if form.get("command") or form.get("ssl_check") == ["1"] else None


def _read_as_a_form(bolt_request: Any, text: str) -> None:
    """Bolt reads any form body holding the word "payload" as an interaction's payload, so a
    slash command asking about one ("/ask what is the payload of …") would reach no listener:
    a form with no `payload` field is given to Bolt as the fields it holds. Bolt's signature
    check still reads the raw body, which is left as received."""
    if "payload" not in text:
        return
    fields = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    if "payload" in fields:
        return
    from slack_bolt.context.async_context import AsyncBoltContext
    from slack_bolt.request.async_internals import build_async_context

    bolt_request.body = fields
    bolt_request.context = build_async_context(AsyncBoltContext({}), fields)


def _json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:  # JSONDecodeError, and numbers too long to convert
        return False


async def start_http(app: Any, host: str, port: int, path: str = "/slack/events") -> Any:
    """Serve Slack's requests at `path` (aiohttp); the runner, whose `cleanup()` stops it.

    Whatever comes in is checked before Bolt parses it: a body over MAX_BODY gets 413, a
    missing, bad or stale signature 401, a body Slack would not send 400, each with one log
    line and nothing of the body; another method gets 405, another path 404."""
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response
    from slack_bolt.request.async_request import AsyncBoltRequest

    secret = app._signing_secret  # Bolt keeps it for its own check, which stays on
    if not secret:
        raise ValueError("serving Slack over HTTP needs the app's signing secret")

    async def handle(request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_BODY:
            return refuse(413, "a body over %d bytes", MAX_BODY)
        try:
            raw = await request.read()  # stops past client_max_size
        except web.HTTPRequestEntityTooLarge:
            return refuse(413, "a body over %d bytes", MAX_BODY)
        if not signed(secret, raw, request.headers):
            return refuse(401, "no valid signature (missing, wrong or stale)")
        text = slack_body(raw, request.content_type)
        if text is None:
            return refuse(400, "a signed body Slack does not send (%.60r)", request.content_type)
        bolt_request = AsyncBoltRequest(
            body=text, query=request.query_string, headers=dict(request.headers)
        )
        if request.content_type == "application/x-www-form-urlencoded":
            _read_as_a_form(bolt_request, text)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    def refuse(status: int, why: str, *args: Any) -> web.Response:
        log.info("refused a request to %s with %d: " + why, path, status, *args)
        return web.Response(status=status)

    web_app = web.Application(client_max_size=MAX_BODY)
    web_app.add_routes([web.post(path, handle)])
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
