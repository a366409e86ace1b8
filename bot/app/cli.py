"""The `tutor` command: a thin layer over the packages that turns their errors into one line."""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
import uuid
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.app.settings import Settings, describe, load_settings
from bot.core.errors import TutorError
from knowledge.errors import BankError
from retriever.errors import RetrieverError
from runner.errors import RunnerError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("tutor")


class _Context:
    """What every command receives: the options of the group, resolved lazily."""

    def __init__(self, data_dir: Path | None, config_file: Path | None) -> None:
        self.data_dir = data_dir
        self.config_file = config_file
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.data_dir, self.config_file)
            logging.basicConfig(level=self._settings.log_level.upper(), stream=sys.stderr)
        return self._settings

    def store(self) -> Any:
        from bot.app.wiring import open_store

        return open_store(self.settings)

    def retriever(self, store: Any) -> Any:
        from bot.app.wiring import build_retriever

        return build_retriever(self.settings, store)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def friendly(func: F) -> F:
    """Turn the packages' errors into `error: …` and exit 1; anything else gets an id, no trace."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (TutorError, BankError, RetrieverError, RunnerError) as exc:
            _fail(str(exc))
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            _fail("interrupted")
        except Exception:
            incident = uuid.uuid4().hex[:8]
            log.debug("incident %s\n%s", incident, traceback.format_exc())
            _fail(
                f"unexpected failure (incident {incident}); run again with TUTOR_LOG_LEVEL=debug "
                "to see the details, and report them"
            )

    return wrapper  # type: ignore[return-value]


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="TUTOR_HOME",
    help="Where the SQLite database and the index live (env TUTOR_HOME).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A TOML file of settings (env TUTOR_CONFIG; default: tutor.toml in the data dir).",
)
@click.version_option(package_name="tutor", prog_name="tutor")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, config_file: Path | None) -> None:
    """An interview tutor for AI and large-model engineering, in Chinese and English."""
    ctx.obj = _Context(data_dir, config_file)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--starter", is_flag=True, help="Also ingest the starter bank shipped with the tutor."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
@friendly
def ingest(obj: _Context, paths: tuple[Path, ...], starter: bool, as_json: bool) -> None:
    """Parse Markdown or .txt files (or folders of them) into the bank.

    Idempotent: an unchanged file changes nothing, a changed file replaces only its own entries.
    """
    from knowledge.ingest import STARTER_DIR
    from knowledge.ingest import ingest as run_ingest

    targets = list(paths) + ([STARTER_DIR] if starter else [])
    if not targets:
        raise click.UsageError("give one or more files or folders to ingest, or --starter")
    store = obj.store()
    try:
        report = run_ingest(store, targets, max_bytes=obj.settings.max_file_bytes)
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        retriever = obj.retriever(store)
        try:
            retriever.sync()
        except RetrieverError as exc:
            raise TutorError(f"the bank was updated, but not its search index: {exc}") from None
        finally:
            retriever.close()
    finally:
        store.close()
    if as_json:
        _print_json(report.as_json())
    else:
        s = report.as_json()
        click.echo(
            f"ingested {s['files']} file(s): {s['entries']} entries "
            f"({s['added']} added, {s['updated']} updated, {s['removed']} removed)"
        )
    if report.entries == 0:
        _fail("no entries found in what was given; see docs/bank-format.md for the formats read")


@cli.command()
@click.argument("query", nargs=-1)
@click.option("--k", "k", type=click.IntRange(1, 50), help="How many results (default 5).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per query.")
@click.pass_obj
@friendly
def search(obj: _Context, query: tuple[str, ...], k: int | None, as_json: bool) -> None:
    """Search the bank; `-` reads one query per line from stdin (one JSON line out each).

    Each result says whether the bank covers the query (grounded) and lists the closest entries.
    """
    from retriever.errors import QueryError

    text = " ".join(query)
    if not text:
        raise click.UsageError("give a query, or - to read one query per line from stdin")
    k = k or obj.settings.search_k
    limit = obj.settings.max_query_chars
    store = obj.store()
    retriever = obj.retriever(store)
    try:
        retriever.open()
        batch = text == "-"
        lines = (line.rstrip("\n") for line in sys.stdin) if batch else iter([text])
        for line in lines:
            if len(line) > limit:
                click.echo(
                    f"warning: query of {len(line)} characters cut to {limit} "
                    "(TUTOR_MAX_QUERY_CHARS)",
                    err=True,
                )
                line = line[:limit]
            try:
                result = retriever.search(line, k)
            except QueryError as exc:
                if not batch:
                    raise
                out = {"query": line, "grounded": False, "results": [], "error": str(exc)}
                click.echo(json.dumps(out, ensure_ascii=False))
                continue
            if as_json or batch:
                _print_json(result.as_json())
            else:
                _print_search(result)
    finally:
        retriever.close()
        store.close()


def _print_search(result: Any) -> None:
    verdict = "in the bank" if result.grounded else "not covered by the bank; closest entries"
    click.echo(f"{result.query!r}: {verdict}")
    for hit in result.hits:
        click.echo(f"  {hit.score:.4f}  {hit.id}  [{hit.kind} {hit.language}] {hit.title}")
        click.echo(f"          {hit.question[:100]}  ({hit.source})")


@cli.command("run")
@click.argument("source", type=click.Path(allow_dash=True, dir_okay=False, path_type=Path))
@click.option(
    "--lang", default="python", show_default=True, help="Language of the snippet: python or sh."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_obj
@friendly
def run_cmd(obj: _Context, source: Path, lang: str, as_json: bool) -> None:
    """Run a snippet (a file, or - for stdin) in the sandbox and report what it did."""
    from bot.app.wiring import build_runner
    from runner.errors import SnippetError

    try:
        data = sys.stdin.buffer.read() if str(source) == "-" else source.read_bytes()
    except OSError as exc:
        raise TutorError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    try:
        code = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SnippetError("the snippet is not UTF-8 text: save it as UTF-8") from None
    result = build_runner(obj.settings, warm=False).run(code, lang)
    if as_json:
        _print_json(result.as_json())
        return
    if result.stdout:
        click.echo(result.stdout, nl=not result.stdout.endswith("\n"))
    if result.stderr:
        click.echo(result.stderr, err=True, nl=not result.stderr.endswith("\n"))
    ending = f"exit {result.exit_code}" if result.signal is None else f"killed by {result.signal}"
    names = ", ".join(f.path for f in result.files)
    files = f"; files: {names}" if names else ""
    click.echo(f"[{ending} in {result.duration_ms:.0f} ms{files}]", err=True)


@cli.command()
@click.argument("question", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.pass_obj
@friendly
def ask(obj: _Context, question: tuple[str, ...], as_json: bool) -> None:
    """Answer a question from the bank, with citations, streaming it to the terminal."""
    import asyncio

    from bot.app.wiring import load_backend
    from bot.tutoring.answering import AnswerEngine

    text = " ".join(question).strip()
    if not text:
        raise click.UsageError("ask a question, e.g. tutor ask what is knowledge distillation")
    store = obj.store()
    retriever = obj.retriever(store)
    try:
        retriever.open()
        backend = load_backend(
            obj.settings, warn=lambda text: click.echo(f"warning: {text}", err=True)
        )
        engine = AnswerEngine(retriever, backend)
        stream = None if as_json else (lambda chunk: click.echo(chunk, nl=False))
        result = asyncio.run(
            engine.answer(text, on_text=stream, max_new_tokens=obj.settings.llm_max_new_tokens)
        )
    finally:
        retriever.close()
        store.close()
    if result.notice:
        click.echo(f"warning: {result.notice}", err=True)
    if as_json:
        _print_json(result.as_json())
    else:
        click.echo()
        if result.mode == "llm":
            click.echo(f"[cited: {', '.join(result.citations)}]", err=True)


@cli.command()
@click.option(
    "--entry", "entry_id", required=True, help="The entry answered (see `tutor bank list`)."
)
@click.argument("answer", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the grade as one JSON object.")
@click.pass_obj
@friendly
def grade(obj: _Context, entry_id: str, answer: tuple[str, ...], as_json: bool) -> None:
    """Grade a free-text answer to one entry as /quiz does; - reads the answer from stdin."""
    import asyncio

    from bot.app.wiring import load_backend
    from bot.tutoring.grading import MAX_ANSWER_CHARS, Grader, OfflineGrader

    text = " ".join(answer)
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise click.UsageError("give the answer to grade, or - to read it from stdin")
    if len(text) > MAX_ANSWER_CHARS:
        click.echo(f"warning: answer of {len(text)} characters cut to {MAX_ANSWER_CHARS}", err=True)
    store = obj.store()
    retriever = obj.retriever(store)
    try:
        entry = store.entry(entry_id)
        if entry is None:
            raise TutorError(f"no entry {entry_id!r}; `tutor bank list` shows the ids")
        retriever.open()
        backend = load_backend(obj.settings, warn=lambda t: click.echo(f"warning: {t}", err=True))
        result = asyncio.run(Grader(OfflineGrader(retriever), backend).grade(entry, text))
    finally:
        retriever.close()
        store.close()
    if as_json:
        _print_json(result.as_json())
        return
    click.echo(f"score {result.score}/100 ({result.mode})")
    for point in result.covered:
        click.echo(f"  covered: {point}")
    for point in result.missed:
        click.echo(f"  missed:  {point}")
    if result.feedback:
        click.echo(result.feedback)


@cli.command()
@click.pass_obj
@friendly
def chat(obj: _Context) -> None:
    """The local chat in the terminal, with the same commands as Slack and Discord.

    With stdin not a terminal it reads one message per line and prints the replies.
    """
    import asyncio

    from bot.adapters.console import chat as run_chat
    from bot.app.wiring import build_tutor

    settings = obj.settings
    # Incidents go to a log file, not between the chat's lines.
    log_file = settings.home / "logs" / "chat.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if sys.stdin.isatty():
        click.echo("loading the bank and the models…", err=True)
    tutor = build_tutor(
        settings, warn=lambda t: click.echo(f"warning: {t}", err=True), rate_limited=False
    )
    try:
        asyncio.run(run_chat(tutor, folder=settings.home / "files"))
    finally:
        tutor.close()


@cli.group()
def serve() -> None:
    """Run a long-lived service."""


@serve.command("runner")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port to listen on.")
@click.pass_obj
@friendly
def serve_runner(obj: _Context, host: str, port: int) -> None:
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
    click.echo(f"runner service on http://{host}:{server.server_port}/run", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sandbox.close()


def _secret(name: str, why: str) -> str:
    """A token from the environment (never from files or options, never printed)."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise TutorError(f"{name} is not set: export it ({why}) and run again")
    return value


def _bot_logging(settings: Any, name: str) -> None:
    """Bots log to stderr (a service manager keeps it) and to a file in the data dir."""
    log_file = settings.home / "logs" / f"{name}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger("tutor").setLevel(min(logging.INFO, logging.getLogger().level))


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
def serve_slack(obj: _Context, http_mode: bool, host: str, port: int) -> None:
    """The Slack bot: Socket Mode (SLACK_BOT_TOKEN, SLACK_APP_TOKEN) or, with --http, Slack's
    requests at /slack/events (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)."""
    import asyncio

    from bot.adapters.slack import build_app, start_http
    from bot.app.wiring import build_tutor

    token = _secret("SLACK_BOT_TOKEN", "the bot token, xoxb-…, from OAuth & Permissions")
    if http_mode:
        signing = _secret("SLACK_SIGNING_SECRET", "from Basic Information > App Credentials")
        app_token = ""
    else:
        app_token = _secret("SLACK_APP_TOKEN", "an app-level token, xapp-…, for Socket Mode")
        signing = ""
    settings = obj.settings
    _bot_logging(settings, "slack")
    tutor = build_tutor(settings, warn=lambda t: click.echo(f"warning: {t}", err=True))

    async def main() -> None:
        app, bot = build_app(
            tutor, token=token, signing_secret=signing, api_url=settings.slack_api_url
        )
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

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        tutor.close()


@serve.command("discord")
@click.pass_obj
@friendly
def serve_discord(obj: _Context) -> None:
    """The Discord bot (DISCORD_TOKEN); TUTOR_DISCORD_SHARDS shards it for large installs."""
    import asyncio

    from bot.adapters.discord import make_client
    from bot.app.wiring import build_tutor

    token = _secret("DISCORD_TOKEN", "the bot token from the Discord developer portal")
    settings = obj.settings
    _bot_logging(settings, "discord")
    tutor = build_tutor(settings, warn=lambda t: click.echo(f"warning: {t}", err=True))
    client = make_client(tutor, shards=settings.discord_shards)

    async def main() -> None:
        async with client:
            await client.start(token)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        tutor.close()


@cli.group()
def index() -> None:
    """Look after the search index (FAISS vectors and the lexical table)."""


@index.command("rebuild")
@click.pass_obj
@friendly
def index_rebuild(obj: _Context) -> None:
    """Build the search index again from the bank, with the configured embedding model."""
    import shutil

    folder = obj.settings.index_dir
    store = obj.store()
    try:
        if folder.exists():
            shutil.rmtree(folder)
        retriever = obj.retriever(store)
        try:
            report = retriever.sync(load_existing=False)
        finally:
            retriever.close()
    finally:
        store.close()
    click.echo(
        f"index rebuilt: {report.entries} entries embedded with {obj.settings.embed_model} "
        f"in {folder}"
    )


@index.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@click.pass_obj
@friendly
def index_status(obj: _Context, as_json: bool) -> None:
    """Say which model built the index, its kind and size, and whether it matches the bank."""
    from retriever.dense import read_meta
    from retriever.errors import IndexCorrupt, IndexMissing

    store = obj.store()
    try:
        entries = store.count()
    finally:
        store.close()
    status: dict[str, Any] = {"path": str(obj.settings.index_dir), "bank_entries": entries}
    try:
        meta = read_meta(obj.settings.index_dir)
        status.update(
            built=True,
            model=meta.model,
            dim=meta.dim,
            kind=meta.kind,
            rows=len(meta.ids),
            model_matches=meta.model == obj.settings.embed_model,
        )
    except IndexMissing:
        status.update(built=False)
    except IndexCorrupt:
        status.update(built=False, damaged=True)
    if as_json:
        _print_json(status)
        return
    if not status["built"]:
        state = "damaged" if status.get("damaged") else "not built"
        click.echo(f"index {state} at {status['path']}: run `tutor index rebuild`")
        return
    click.echo(
        f"index at {status['path']}: {status['rows']} rows ({status['kind']}, "
        f"{status['model']}, dim {status['dim']}); bank has {entries} entries"
    )
    if not status["model_matches"]:
        click.echo(f"the configured model is {obj.settings.embed_model}: run `tutor index rebuild`")


@cli.group()
def bank() -> None:
    """Browse the question bank."""


@bank.command("list")
@click.option("--kind", type=click.Choice(["concept", "coding"]), help="Only this kind.")
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Only this language.")
@click.option("--source", help="Only entries from this file name.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
@friendly
def bank_list(
    obj: _Context, kind: str | None, lang: str | None, source: str | None, as_json: bool
) -> None:
    """List the entries: id, kind, language, source and title."""
    store = obj.store()
    try:
        entries = store.entries(kind=kind, language=lang, source=source)
    finally:
        store.close()
    for e in entries:
        if as_json:
            _print_json(
                {
                    "id": e.id,
                    "kind": e.kind,
                    "language": e.language,
                    "source": e.source,
                    "title": e.title,
                    "question": e.question,
                }
            )
        else:
            click.echo(f"{e.id}  {e.kind:<7}  {e.language}  {e.source}  {e.title}")
    if not entries and not as_json:
        click.echo("the bank is empty here: run `tutor ingest --starter` or `tutor ingest PATH`")


@bank.command("show")
@click.argument("entry_id")
@click.option("--json", "as_json", is_flag=True, help="Print the entry as one JSON object.")
@click.pass_obj
@friendly
def bank_show(obj: _Context, entry_id: str, as_json: bool) -> None:
    """Show one entry: question, answer, key points, code, explanation and tests."""
    from dataclasses import asdict

    store = obj.store()
    try:
        entry = store.entry(entry_id)
    finally:
        store.close()
    if entry is None:
        raise TutorError(f"no entry {entry_id!r}; `tutor bank list` shows the ids")
    if as_json:
        _print_json(asdict(entry))
        return
    lines = [
        f"# {entry.title}",
        f"{entry.id} · {entry.kind} · {entry.language} · {entry.source} · {entry.section}",
        "",
        f"Q: {entry.question}",
    ]
    if entry.key_points:
        lines += ["", "Key points:"] + [f"  - {p}" for p in entry.key_points]
    elif entry.answer:
        lines += ["", entry.answer]
    for block in entry.code:
        lines += ["", f"```{block.lang}  ({block.part})", block.code, "```"]
    if entry.explanation:
        lines += ["", f"Explanation: {entry.explanation}"]
    click.echo("\n".join(lines))


@bank.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@click.pass_obj
@friendly
def bank_stats(obj: _Context, as_json: bool) -> None:
    """Count the bank's entries by language, kind and source file."""
    store = obj.store()
    try:
        summary = store.summary()
    finally:
        store.close()
    if as_json:
        _print_json(summary)
        return
    click.echo(f"{summary['entries']} entries from {summary['documents']} document(s)")
    click.echo("  by language: " + ", ".join(f"{k} {v}" for k, v in summary["by_language"].items()))
    click.echo("  by kind: " + ", ".join(f"{k} {v}" for k, v in summary["by_kind"].items()))
    for source, n in summary["by_source"].items():
        click.echo(f"  {n:>4}  {source}")


@cli.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as one JSON array.")
@click.pass_obj
@friendly
def config_cmd(obj: _Context, as_json: bool) -> None:
    """List every setting: its environment variable, value, default and meaning."""
    rows = describe(obj.settings)
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['env']} = {row['value']}")
        click.echo(f"    {row['description']} (default: {row['default']})")


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="tutor")
