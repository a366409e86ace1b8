"""Discord without Discord: gateway events fed to discord.py's own state as raw payloads, and
discord.py's HTTP layer replaced at its lowest level (the aiohttp session both its REST client
and its interaction webhooks use) by a recorder that answers as Discord does, and that can hold
one response back until a test releases it (to stage a slow or rate-limited request)."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from multidict import CIMultiDict

APP_ID = "900000000000000001"
BOT_ID = "900000000000000002"
GUILD_ID = "800000000000000001"
CHANNEL_ID = "800000000000000002"
_ids = itertools.count(700000000000000001)


def snowflake() -> str:
    return str(next(_ids))


@dataclass
class Request:
    """One HTTP request discord.py made."""

    method: str
    path: str
    payload: dict[str, Any]
    files: list[tuple[str, bytes]] = field(default_factory=list)
    response: Any = None


@dataclass
class Hold:
    """The response to the next request matching `method` and `pattern`, held back: `arrived` is
    set when the request is made, and the answer goes out once `release` is set."""

    method: str
    pattern: str
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    taken: bool = False

    def takes(self, method: str, path: str) -> bool:
        """Whether this hold is for a request just made (each hold takes one request)."""
        if self.taken or method != self.method or not re.search(self.pattern, path):
            return False
        self.taken = True
        return True


class _Response:
    def __init__(self, status: int, data: Any, hold: Hold | None = None) -> None:
        self.status = status
        self.reason = "OK"
        self._data = data
        self._hold = hold
        self.headers = CIMultiDict({"content-type": "application/json"})

    async def text(self, encoding: str | None = None) -> str:
        return json.dumps(self._data)

    async def json(self, **kwargs: Any) -> Any:
        return self._data

    async def __aenter__(self) -> _Response:
        if self._hold is not None:
            self._hold.arrived.set()
            await self._hold.release.wait()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None


class RecordingSession:
    """Stands in for aiohttp.ClientSession: records each request, answers like Discord."""

    closed = False

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.holds: list[Hold] = []
        self._made = asyncio.Event()  # set at each request: `until` waits on it

    async def close(self) -> None:
        self.closed = True

    def hold(self, method: str, pattern: str) -> Hold:
        """Hold back the response to the next request of `method` whose path matches `pattern`."""
        held = Hold(method, pattern)
        self.holds.append(held)
        return held

    def request(self, method: str, url: str, **kwargs: Any) -> _Response:
        path = url.split("/api/v10", 1)[-1]
        payload, files = _body(kwargs.get("data"))
        answer = self.answer(method, path, payload)
        # Recorded when made: Discord has the request even if the bot stops waiting for its answer.
        self.requests.append(Request(method, path, payload, files, answer))
        self._made.set()
        held = next((h for h in self.holds if h.takes(method, path)), None)
        return _Response(200, answer, held)

    def answer(self, method: str, path: str, payload: dict[str, Any]) -> Any:
        if path.endswith("/callback"):
            interaction_id = path.split("/")[2]
            return {"interaction": {"id": interaction_id, "type": 2}}
        match = re.fullmatch(r"/channels/(\d+)/messages/(\d+)/threads", path)
        if match:
            return thread_payload(snowflake(), match.group(1), payload.get("name", "t"))
        match = re.fullmatch(r"/channels/(\d+)/messages(?:/(\d+))?", path)
        if match:
            return message_payload(match.group(2) or snowflake(), match.group(1), payload)
        match = re.fullmatch(r"/webhooks/\d+/[^/]+(?:/messages/(\w+|@original))?", path)
        if match:
            mid = match.group(1) if match.group(1) not in (None, "@original") else snowflake()
            return message_payload(mid, CHANNEL_ID, payload, webhook=True)
        return {}

    def named(self, method: str, pattern: str) -> list[Request]:
        """Requests of one method whose path matches a regular expression."""
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    async def until(self, method: str, pattern: str, count: int) -> list[Request]:
        """Wait until `count` such requests were made (a minute at most); them."""
        async with asyncio.timeout(60):
            while len(found := self.named(method, pattern)) < count:
                self._made.clear()
                await self._made.wait()
        return found


def _body(data: Any) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    if data is None:
        return {}, []
    if isinstance(data, str | bytes):
        return json.loads(data), []
    payload: dict[str, Any] = {}
    files = []
    for options, _headers, value in data._fields:  # aiohttp.FormData
        name = options.get("name")
        if name == "payload_json":
            payload = json.loads(value)
        elif options.get("filename"):
            content = value.read() if hasattr(value, "read") else value
            files.append((options["filename"], content))
    return payload, files


def user_payload(user_id: str, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "discriminator": "0",
        "global_name": name.title(),
        "avatar": None,
        "bot": bot,
    }


def message_payload(
    message_id: str, channel_id: str, sent: dict[str, Any], *, webhook: bool = False
) -> dict[str, Any]:
    data = {
        "id": message_id,
        "channel_id": channel_id,
        "author": user_payload(BOT_ID, "tutor", bot=True),
        "content": sent.get("content", ""),
        "timestamp": "2026-11-23T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "components": sent.get("components", []),
        "flags": sent.get("flags", 0),
    }
    if webhook:
        data["webhook_id"] = APP_ID
        data["application_id"] = APP_ID
    return data


def thread_payload(thread_id: str, parent_id: str, name: str) -> dict[str, Any]:
    return {
        "id": thread_id,
        "type": 11,
        "guild_id": GUILD_ID,
        "parent_id": parent_id,
        "name": name,
        "owner_id": BOT_ID,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2026-11-23T00:00:00+00:00",
            "locked": False,
        },
    }


def guild_payload() -> dict[str, Any]:
    return {
        "id": GUILD_ID,
        "name": "Study group",
        "owner_id": "1",
        "unavailable": False,
        "member_count": 3,
        "roles": [
            {
                "id": GUILD_ID,
                "name": "@everyone",
                "permissions": "0",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            }
        ],
        "channels": [
            {
                "id": CHANNEL_ID,
                "type": 0,
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "guild_id": GUILD_ID,
            }
        ],
        "members": [],
        "threads": [],
        "emojis": [],
        "stickers": [],
        "features": [],
        "premium_tier": 0,
    }


def member_payload(user_id: str, name: str, permissions: str = "0") -> dict[str, Any]:
    return {
        "user": user_payload(user_id, name),
        "roles": [],
        "joined_at": "2026-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "permissions": permissions,
        "flags": 0,
    }


def interaction_payload(
    kind: int,
    data: dict[str, Any],
    *,
    user_id: str = "600000000000000001",
    channel_id: str = CHANNEL_ID,
    channel_type: int = 0,
    permissions: str = "0",
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    payload = {
        "id": snowflake(),
        "application_id": APP_ID,
        "type": kind,
        "token": f"token-{snowflake()}",
        "version": 1,
        "guild_id": GUILD_ID,
        "channel_id": channel_id,
        "channel": {
            "id": channel_id,
            "type": channel_type,
            "guild_id": GUILD_ID,
            "name": "general",
        },
        "member": member_payload(user_id, "ada", permissions),
        "data": data,
        "app_permissions": "0",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {},
        "context": 0,
        "attachment_size_limit": 10 * 2**20,
    }
    if message is not None:
        payload["message"] = message
    return payload


def slash(name: str, options: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    types = {str: 3, bool: 5, int: 4}
    data = {
        "id": snowflake(),
        "name": name,
        "type": 1,
        "options": [
            {"name": k, "type": types[type(v)], "value": v} for k, v in (options or {}).items()
        ],
    }
    return interaction_payload(2, data, **kw)


def click(custom_id: str, message_id: str, **kw: Any) -> dict[str, Any]:
    button = {"type": 2, "style": 2, "label": "button", "custom_id": custom_id}
    sent = {"components": [{"type": 1, "components": [button]}]}
    message = message_payload(message_id, kw.get("channel_id", CHANNEL_ID), sent)
    return interaction_payload(
        3, {"custom_id": custom_id, "component_type": 2}, message=message, **kw
    )


def channel_message(
    text: str,
    *,
    channel_id: str = CHANNEL_ID,
    author: str = "600000000000000001",
    mentions: list[str] = (),
) -> dict[str, Any]:
    return {
        "id": snowflake(),
        "channel_id": channel_id,
        "guild_id": GUILD_ID,
        "author": user_payload(author, "ada"),
        "member": {k: v for k, v in member_payload(author, "ada").items() if k != "user"},
        "content": text,
        "timestamp": "2026-11-23T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [user_payload(m, "tutor", bot=True) for m in mentions],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
    }
