"""Slack's rate limits, answered in one place: the Web API client's own retry layer. Slack says
"slow down" with HTTP 429 or with `"ok": false, "error": "ratelimited"`; either way the call is
made again after Retry-After (or half a second, doubling), at most `max_retry_count` times, and
then fails as any other refused call (a streamed answer then skips that edit and keeps its text:
bot/adapters/slack/outbox.py)."""

from __future__ import annotations

import asyncio

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

LONGEST_WAIT = 30.0  # seconds: a longer Retry-After is cut to this


def limited(response: HttpResponse | None) -> bool:
    """Whether Slack answered "rate limited"."""
    if response is None:
        return False
    body = response.body
    return response.status_code == 429 or (
        isinstance(body, dict) and body.get("error") == "ratelimited"
    )


def wait_of(response: HttpResponse, attempt: int) -> float:
    """Seconds to wait before the next try: Retry-After when Slack gave it."""
    for name, value in response.headers.items():
        if name.lower() == "retry-after":
            first = value[0] if isinstance(value, list) else value
            try:
                return min(float(first), LONGEST_WAIT)
            except (TypeError, ValueError):
                break
    return min(0.5 * 2**attempt, LONGEST_WAIT)


class RateLimits(AsyncRetryHandler):
    """Retries a call Slack rate-limited."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return limited(response)

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None  # only a rate-limited response is retried
        state.next_attempt_requested = True
        await asyncio.sleep(wait_of(response, state.current_attempt))
        state.increment_current_attempt()
