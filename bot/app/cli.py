"""The `tutor` command: a thin layer over the packages; the errors become one line at the
boundary in `bot.app.context`, the long-lived processes live in `bot.app.serve`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.app.cli_bank import bank, gaps_cmd, index, stats_cmd
from bot.app.context import Context, fail, friendly, print_json, warn
from bot.app.serve import serve
from bot.app.settings import describe
from bot.core.errors import TutorError
from retriever.errors import RetrieverError


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
    ctx.obj = Context(data_dir, config_file)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--starter", is_flag=True, help="Also ingest the starter bank shipped with the tutor."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
@friendly
def ingest(obj: Context, paths: tuple[Path, ...], starter: bool, as_json: bool) -> None:
    """Parse Markdown or .txt files (or folders of them) into the bank.

    Idempotent: an unchanged file changes nothing, a changed file replaces only its own entries.
    """
    from knowledge.ingest import STARTER_DIR
    from knowledge.ingest import ingest as run_ingest

    targets = list(paths) + ([STARTER_DIR] if starter else [])
    if not targets:
        raise click.UsageError("give one or more files or folders to ingest, or --starter")
    with obj.store() as store:
        report = run_ingest(store, targets, max_bytes=obj.settings.max_file_bytes)
        for warning in report.warnings:
            warn(warning)
    with obj.bank(open_index=False) as (_, retriever):
        try:
            retriever.sync()
        except RetrieverError as exc:
            raise TutorError(f"the bank was updated, but not its search index: {exc}") from None
    if as_json:
        print_json(report.as_json())
    else:
        s = report.as_json()
        click.echo(
            f"ingested {s['files']} file(s): {s['entries']} entries "
            f"({s['added']} added, {s['updated']} updated, {s['removed']} removed)"
        )
    if report.entries == 0:
        fail("no entries found in what was given; see docs/bank-format.md for the formats read")


@cli.command()
@click.argument("query", nargs=-1)
@click.option("--k", "k", type=click.IntRange(1, 50), help="How many results (default 5).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per query.")
@click.pass_obj
@friendly
def search(obj: Context, query: tuple[str, ...], k: int | None, as_json: bool) -> None:
    """Search the bank; `-` reads one query per line from stdin (one JSON line out each).

    Each result says whether the bank covers the query (grounded) and lists the closest entries.
    """
    from retriever.errors import QueryError

    text = " ".join(query)
    if not text:
        raise click.UsageError("give a query, or - to read one query per line from stdin")
    k = k or obj.settings.search_k
    limit = obj.settings.max_query_chars
    with obj.bank() as (_, retriever):
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
                out: dict[str, Any] = {
                    "query": line,
                    "grounded": False,
                    "results": [],
                    "error": str(exc),
                }
                print_json(out)
                continue
            if as_json or batch:
                print_json(result.as_json())
            else:
                _print_search(result)


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
def run_cmd(obj: Context, source: Path, lang: str, as_json: bool) -> None:
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
        print_json(result.as_json())
        return
    if result.stdout:
        click.echo(result.stdout, nl=not result.stdout.endswith("\n"))
    if result.stderr:
        click.echo(result.stderr, err=True, nl=not result.stderr.endswith("\n"))
    limits = {"memory": ("memory", "MiB"), "time": ("time", "s"), "cpu": ("CPU time", "s")}
    if result.limit is not None:
        name, unit = limits.get(result.limit, (result.limit, "bytes"))
        size = "" if result.limit_value is None else f" ({result.limit_value:g} {unit})"
        ending = f"killed: {name} limit{size}"
    elif result.signal is not None:
        ending = f"killed by {result.signal}"
    else:
        ending = f"exit {result.exit_code}"
    names = ", ".join(f.path for f in result.files)
    files = f"; files: {names}" if names else ""
    click.echo(f"[{ending} in {result.duration_ms:.0f} ms{files}]", err=True)


@cli.command()
@click.argument("question", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.pass_obj
@friendly
def ask(obj: Context, question: tuple[str, ...], as_json: bool) -> None:
    """Answer a question from the bank, with citations, streaming it to the terminal."""
    import asyncio

    from bot.app.wiring import answer_check, load_backend
    from bot.tutoring.answering import AnswerEngine

    text = " ".join(question).strip()
    if not text:
        raise click.UsageError("ask a question, e.g. tutor ask what is knowledge distillation")
    with obj.bank() as (_, retriever):
        backend = load_backend(obj.settings, warn=warn)
        engine = AnswerEngine(retriever, backend, check=answer_check(obj.settings, retriever))
        stream = None if as_json else (lambda chunk: click.echo(chunk, nl=False))
        result = asyncio.run(
            engine.answer(text, on_text=stream, max_new_tokens=obj.settings.llm_max_new_tokens)
        )
    if result.notice:
        click.echo(f"warning: {result.notice}", err=True)
    if as_json:
        print_json(result.as_json())
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
def grade(obj: Context, entry_id: str, answer: tuple[str, ...], as_json: bool) -> None:
    """Grade an answer to one entry as /quiz does (a coding answer's code is run in the sandbox:
    with the problem's tests, or to see that it runs); - reads the answer from stdin."""
    import asyncio

    from bot.app.wiring import build_runner, load_backend
    from bot.tutoring.assessing import NoSandbox, assess
    from bot.tutoring.code_tests import extract_code
    from bot.tutoring.grading import MAX_ANSWER_CHARS, Grader, OfflineGrader
    from runner.result import RunResult

    text = " ".join(answer)
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise click.UsageError("give the answer to grade, or - to read it from stdin")
    with obj.bank(open_index=False) as (store, retriever):
        entry = store.entry(entry_id)
        if entry is None:
            raise TutorError(f"no entry {entry_id!r}; `tutor bank list` shows the ids")
        if entry.kind == "coding":
            text = extract_code(text)
            if not text.strip():
                raise click.UsageError(f"entry {entry_id} is a coding problem: give the code")
        elif len(text) > MAX_ANSWER_CHARS:
            warn(f"answer of {len(text)} characters cut to {MAX_ANSWER_CHARS}")
        retriever.open()
        backend = load_backend(obj.settings, warn=warn)
        grader = Grader(OfflineGrader(retriever), backend, route=obj.settings.judge_route)
        runner = build_runner(obj.settings, warm=False) if entry.kind == "coding" else None

        async def run(code: str) -> RunResult:
            assert runner is not None
            return await asyncio.to_thread(runner.run, code, "python")

        try:
            result = asyncio.run(assess(grader, entry, text, run if runner else None))
        except NoSandbox as exc:
            raise TutorError(str(exc)) from None
    assert result is not None  # this process's own sandbox is never busy
    if as_json:
        print_json(result.as_json())
        return
    click.echo(f"score {result.score}/100 ({result.mode})")
    if result.ran is not None:
        click.echo("  ran cleanly" if result.ran else f"  did not run cleanly: {result.why}")
    for point in result.covered:
        click.echo(f"  covered: {point}")
    for point in result.missed:
        click.echo(f"  missed:  {point}")
    if result.feedback:
        click.echo(result.feedback)


@cli.command()
@click.pass_obj
@friendly
def chat(obj: Context) -> None:
    """The local chat in the terminal, with the same commands as Slack and Discord.

    With stdin not a terminal it reads one message per line and prints the replies.
    """
    import asyncio

    from bot.adapters.console import chat as run_chat
    from bot.app.wiring import build_tutor

    settings = obj.settings
    # Incidents go to a log file, not between the chat's lines.
    obj.log_to_file("chat", console=False)
    if sys.stdin.isatty():
        click.echo("loading the bank and the models…", err=True)
    tutor = build_tutor(settings, warn=warn, rate_limited=False)
    try:
        asyncio.run(run_chat(tutor, folder=settings.home / "files"))
    finally:
        tutor.close()


@cli.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as one JSON array.")
@click.pass_obj
@friendly
def config_cmd(obj: Context, as_json: bool) -> None:
    """List every setting: its environment variable, value, default and meaning."""
    rows = describe(obj.settings)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['env']} = {row['value']}")
        click.echo(f"    {row['description']} (default: {row['default']})")


cli.add_command(serve)
for command in (index, bank, gaps_cmd, stats_cmd):
    cli.add_command(command)


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="tutor")
