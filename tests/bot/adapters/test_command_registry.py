"""One command registry (bot/core/commands.py), both bots rendered from it: Discord's slash tree
as discord.py syncs it, Slack's listeners and its app manifest, compared command by
command so that the bots cannot disagree on a name, an option or who sees the reply."""

from __future__ import annotations

import json
from pathlib import Path

from bot.adapters.slack import PRIVATE_COMMANDS, SLASH_COMMANDS
from bot.core.commands import BY_NAME, SLASH, Command, command_of
from bot.texts import layouts
from tests.bot.adapters.test_discord import Discord
from tests.bot.conftest import build

ROOT = Path(__file__).resolve().parents[3]
# Discord's option types: string, integer, boolean, attachment.
DISCORD_TYPES = {"text": 3, "int": 4, "bool": 5, "file": 11}


def discord_commands(home, embedder) -> dict[str, dict]:
    """What discord.py sends Discord when it syncs the tree (logging in runs the hook)."""
    d = Discord(build(home, embedder))
    try:
        d.run(d.client.setup_hook())
        (sync,) = d.session.named("PUT", r"^/applications/\d+/commands$")
        private = {c.name: c.extras["private"] for c in d.client.tree.get_commands()}
        return {c["name"]: {**c, "private": private[c["name"]]} for c in sync.payload}
    finally:
        d.close()


def slack_commands() -> dict[str, dict]:
    """Slack's slash commands by the core's name: what the bot listens to, what its reply's
    privacy is, and what the manifest declares."""
    manifest = json.loads((ROOT / "deploy" / "slack-manifest.json").read_text(encoding="utf-8"))
    declared = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    out = {}
    for slack_name, text in SLASH_COMMANDS.items():
        command = command_of(text)
        assert command is not None, f"{slack_name} sends {text!r}, which is no command"
        out[command.name] = {
            "slack": slack_name,
            "private": slack_name in PRIVATE_COMMANDS,
            "declared": declared.get(slack_name),
        }
    assert set(declared) == set(SLASH_COMMANDS), "the manifest and the listeners disagree"
    return out


def test_both_bots_offer_the_same_commands_with_the_same_privacy_and_options(home, embedder):
    on_discord = discord_commands(home, embedder)
    on_slack = slack_commands()
    assert set(on_discord) == set(on_slack) == {c.name for c in SLASH}
    for command in SLASH:
        discord, slack = on_discord[command.name], on_slack[command.name]
        assert discord["private"] == slack["private"] == command.private, command.name
        options = [(o["name"], o["type"], o.get("required", False)) for o in discord["options"]]
        expected = [(o.name, DISCORD_TYPES[o.kind], o.required) for o in command.options]
        # Discord lists required options first; the registry's order otherwise.
        assert sorted(options) == sorted(expected), command.name
        # Slack types options as one line: the manifest hints at them only where there are any.
        has_text = any(o.kind != "file" for o in command.options)
        assert bool(slack["declared"].get("usage_hint")) == has_text, command.name
        assert slack["slack"] == command.slack_name


def test_ask_is_private_on_both_bots():
    # The disagreement the registry ended: /ask was private on Slack and public on Discord.
    assert BY_NAME["ask"].private
    assert "/ask" in PRIVATE_COMMANDS


def test_every_slash_command_and_option_is_described_in_both_languages():
    for command in SLASH:
        for key in (command.name, *(f"{command.name}.{o.name}" for o in command.options)):
            en, zh = layouts.slash_description("en", key), layouts.slash_description("zh", key)
            assert en and zh and en != zh and len(en) <= 100 and len(zh) <= 100, key


def test_option_values_become_the_text_the_command_stands_for():
    quiz, settings, interview = BY_NAME["quiz"], BY_NAME["settings"], BY_NAME["interview"]
    assert (
        quiz.text({"topic": "attention", "lang": "zh", "code": True}) == "/quiz attention zh code"
    )
    assert quiz.text({"code": False}) == "/quiz"
    assert settings.text({}) == "/settings show"  # its default
    assert interview.text({"topic": "", "n": 3}) == "/interview 3"
    assert BY_NAME["bank"].text({"action": "add", "file": object()}) == "/bank add"


def test_the_core_knows_which_texts_need_an_admin_or_a_timezone():
    def needs(text: str) -> tuple[bool, bool]:
        command: Command | None = command_of(text)
        return (command.admin, command.timezone) if command else (False, False)

    assert needs("/settings watch #general") == (True, False)
    assert needs("/tutor-settings show") == (True, False)  # Slack's name, typed
    assert needs("/daily #general 09:00") == (True, True)
    assert needs("/remind on 08:00") == (False, True)
    assert needs("/gaps") == (True, False)
    assert needs("/ask what is a KV cache?") == (False, False)
    assert needs("what is a KV cache?") == (False, False)
