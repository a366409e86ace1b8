"""Hostile traffic at the Slack HTTP endpoint: real requests to the app served by `start_http` on
loopback. Each abuse gets its 4xx before Bolt parses anything, one log line at most, no
traceback, and nothing of the body or the secrets in the log."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.parse

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.adapters.slack import MAX_BODY, signed
from tests.bot.adapters.slack_api import SlackAPI
from tests.bot.adapters.test_slack import SECRET, Slack
from tests.bot.conftest import build

PATH = "/slack/events"
MARK = "EvHostileMark"  # in every body: it must never reach the log
EVENT = json.dumps(
    {"type": "event_callback", "team_id": "T1", "event_id": MARK, "event": {"type": "app_mention"}}
).encode()
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def sign(raw: bytes, stamp: str) -> str:
    """Slack's signature over the bytes as sent (the SDK only signs text)."""
    base = b"v0:" + stamp.encode() + b":" + raw
    return "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


def form(**fields: str) -> bytes:
    return urllib.parse.urlencode({"token": MARK, **fields}).encode()


@pytest.fixture
def api():
    server = SlackAPI()
    yield server
    server.close()


@pytest.fixture
def slack(home, embedder, api):
    s = Slack(build(home, embedder), api)
    yield s
    s.close()
    s.tutor.close()


def send(
    slack: Slack,
    raw: bytes,
    *,
    content_type: str = JSON,
    method: str = "POST",
    path: str = PATH,
    signing: str = "good",
    chunked: bool = False,
) -> int:
    """Send raw bytes as Slack would (or would not); the HTTP status."""
    stamp = str(int(time.time()) - (600 if signing == "stale" else 0))
    sent = {"Content-Type": content_type}
    if signing in ("good", "stale"):
        sent |= {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(raw, stamp)}
    elif signing == "garbage":
        sent |= {"X-Slack-Request-Timestamp": "1e3", "X-Slack-Signature": "v0=\u00e9"}
    port = slack.runner.addresses[0][1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = (iter([raw]) if chunked else raw) if method == "POST" else None
        connection.request(method, path, body=body, headers=sent, encode_chunked=chunked)
        return connection.getresponse().status
    finally:
        connection.close()


ABUSE = [
    # (id, body, request options, status)
    ("unsigned-truncated-json", EVENT[:30], {"signing": "none"}, 401),
    ("garbage-signature-headers", EVENT, {"signing": "garbage"}, 401),
    ("stale-timestamp", EVENT, {"signing": "stale"}, 401),
    ("signed-truncated-json", EVENT[:30], {}, 400),
    ("signed-json-array", b'["' + MARK.encode() + b'"]', {}, 400),
    ("signed-invalid-utf8", b'{"event_id": "' + MARK.encode() + b'\xff\xfe"}', {}, 400),
    ("signed-form-bad-payload", form(payload="{" + MARK), {"content_type": FORM}, 400),
    ("signed-form-array-payload", form(payload=f'["{MARK}"]'), {"content_type": FORM}, 400),
    ("signed-form-neither-payload-nor-command", form(text=MARK), {"content_type": FORM}, 400),
    ("signed-json-sent-as-a-form", EVENT, {"content_type": FORM}, 400),
    ("signed-wrong-content-type", EVENT, {"content_type": "text/plain"}, 400),
    ("oversized-body", b" " * (MAX_BODY + 1), {}, 413),
    ("oversized-chunked-body", b" " * (MAX_BODY + 1), {"chunked": True}, 413),
    ("get", b"", {"method": "GET"}, 405),
    ("wrong-path", EVENT, {"path": "/slack/other"}, 404),
]


@pytest.mark.parametrize(
    ("body", "options", "status"), [a[1:] for a in ABUSE], ids=[a[0] for a in ABUSE]
)
def test_hostile_requests_get_a_4xx_and_one_quiet_log_line(
    slack, api, caplog, body, options, status
):
    caplog.set_level(logging.DEBUG)
    assert send(slack, body, **options) == status
    assert not api.calls  # nothing reached the tutor or Bolt's listeners
    ours = [r for r in caplog.records if r.name.startswith("tutor")]
    assert len(ours) <= 1
    for record in caplog.records:
        text = record.getMessage()
        assert record.exc_info is None and "Traceback" not in text
        assert MARK not in text and SECRET not in text and "xoxb-test-token" not in text


def test_a_body_declared_too_large_is_refused_before_it_is_sent(slack, caplog):
    caplog.set_level(logging.DEBUG)
    port = slack.runner.addresses[0][1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("POST", PATH)
        connection.putheader("Content-Type", JSON)
        connection.putheader("Content-Length", str(10**9))
        connection.endheaders()  # not one byte of the body follows
        assert connection.getresponse().status == 413
    finally:
        connection.close()
    assert all(r.exc_info is None for r in caplog.records)


def test_a_well_formed_signed_request_still_reaches_bolt(slack):
    challenge = json.dumps({"type": "url_verification", "challenge": "c-42", "token": "t"})
    port = slack.runner.addresses[0][1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    stamp = str(int(time.time()))
    try:
        connection.request(
            "POST",
            PATH,
            body=challenge.encode(),
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": sign(challenge.encode(), stamp),
            },
        )
        response = connection.getresponse()
        assert response.status == 200
        assert json.loads(response.read()) == {"challenge": "c-42"}
    finally:
        connection.close()


def test_the_signature_check_agrees_with_slack_sdk():
    body = "command=%2Fask&text=caf%C3%A9 ünïcode"
    stamp = str(int(time.time()))
    good = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": good}
    assert signed(SECRET, body.encode(), headers)
    assert not signed(SECRET, body.encode() + b" ", headers)
    assert not signed("another-secret", body.encode(), headers)
    assert not signed(SECRET, body.encode(), headers, now=int(stamp) + 301)


@pytest.mark.parametrize(
    "text",
    [
        "what is the payload of a KV cache entry?",
        "what type of memory does a KV cache token=1 take?",
        '{"payload": "why does a KV cache grow", "type": "block_actions"}',
        "KV cache: ssl_check=1&payload=x&token=y",
    ],
)
def test_a_slash_command_is_answered_whatever_words_it_holds(slack, api, text):
    # Bolt alone reads any form holding the word "payload" as an interaction: no listener.
    status, _ = slack.command("/ask", text)
    assert status == 200
    api.wait_for(lambda calls: any(c.method.startswith("respond/") for c in calls))
    (reply,) = [c for c in api.calls if c.method.startswith("respond/")]
    assert "KV cache" in json.dumps(reply.body, ensure_ascii=False)
