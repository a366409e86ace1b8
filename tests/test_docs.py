"""The README and `--help` cannot drift from the commands that exist."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from bot.app.cli import cli
from bot.app.settings import Settings
from bot.core.commands import COMMANDS as CHAT_COMMANDS

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "tutor") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
        else:
            found.append((path, command))
    return found


COMMANDS = _commands(cli)


def test_there_are_commands_to_check():
    assert {path for path, _ in COMMANDS} >= {"tutor ingest", "tutor bank list", "tutor config"}


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_has_help(path, command):
    assert command.help and command.help.strip(), f"{path} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{path} {param.opts[0]} has no help text"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_is_in_the_readme(path, command):
    assert f"`{path}" in README, f"{path} is not documented in README.md"


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_in_the_readme(name):
    assert f"`TUTOR_{name.upper()}`" in README, f"TUTOR_{name.upper()} is not in README.md"


@pytest.mark.parametrize("command", [c.name for c in CHAT_COMMANDS])
def test_every_chat_command_is_in_the_readme(command):
    usage = next(c.usage for c in CHAT_COMMANDS if c.name == command)
    assert f"`{usage.replace('|', chr(92) + '|')}`" in README, f"{usage} is not in README.md"


def test_the_slack_manifest_declares_what_the_bot_handles():
    import json

    from bot.adapters.slack import SLASH_COMMANDS

    manifest = json.loads(
        (Path(__file__).parent.parent / "deploy" / "slack-manifest.json").read_text()
    )
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert declared == set(SLASH_COMMANDS)
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.im", "message.channels"} <= events
    assert manifest["settings"]["interactivity"]["is_enabled"]
