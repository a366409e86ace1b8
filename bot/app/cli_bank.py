"""The `tutor` commands that look into the bank and the learners' progress: `index`, `bank`,
`gaps` and `stats` (the `tutor` group adds them; `bot/app/cli.py`)."""

from __future__ import annotations

from typing import Any

import click

from bot.app.context import Context, friendly, print_json
from bot.core.errors import TutorError


@click.group()
def index() -> None:
    """Look after the search index (FAISS vectors and the lexical table)."""


@index.command("rebuild")
@click.pass_obj
@friendly
def index_rebuild(obj: Context) -> None:
    """Build the search index again from the bank, with the configured embedding model."""
    import shutil

    folder = obj.settings.index_dir
    if folder.exists():
        shutil.rmtree(folder)
    with obj.bank(open_index=False) as (_, retriever):
        report = retriever.sync(load_existing=False)
    click.echo(
        f"index rebuilt: {report.entries} entries embedded with {obj.settings.embed_model} "
        f"in {folder}"
    )


@index.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@click.pass_obj
@friendly
def index_status(obj: Context, as_json: bool) -> None:
    """Say which model built the index, its kind and size, and whether it matches the bank."""
    from retriever.dense import read_meta
    from retriever.errors import IndexCorrupt, IndexMissing

    with obj.store() as store:
        entries = store.count()
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
        print_json(status)
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


@click.group()
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
    obj: Context, kind: str | None, lang: str | None, source: str | None, as_json: bool
) -> None:
    """List the entries: id, kind, language, source and title."""
    with obj.store() as store:
        entries = store.entries(kind=kind, language=lang, source=source)
    for e in entries:
        if as_json:
            print_json(
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
def bank_show(obj: Context, entry_id: str, as_json: bool) -> None:
    """Show one entry: question, answer, key points, code, explanation and tests."""
    from dataclasses import asdict

    with obj.store() as store:
        entry = store.entry(entry_id)
    if entry is None:
        raise TutorError(f"no entry {entry_id!r}; `tutor bank list` shows the ids")
    if as_json:
        print_json(asdict(entry))
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
def bank_stats(obj: Context, as_json: bool) -> None:
    """Count the bank's entries by language, kind and source file."""
    with obj.store() as store:
        summary = store.summary()
    if as_json:
        print_json(summary)
        return
    click.echo(f"{summary['entries']} entries from {summary['documents']} document(s)")
    click.echo("  by language: " + ", ".join(f"{k} {v}" for k, v in summary["by_language"].items()))
    click.echo("  by kind: " + ", ".join(f"{k} {v}" for k, v in summary["by_kind"].items()))
    for source, n in summary["by_source"].items():
        click.echo(f"  {n:>4}  {source}")


@click.command("gaps")
@click.option(
    "--days", type=click.IntRange(1, 3650), default=30, show_default=True, help="Look back N days."
)
@click.option("--workspace", help="Only this workspace's (Slack team or Discord server id).")
@click.option("--json", "as_json", is_flag=True, help="Print the gaps as one JSON object.")
@click.pass_obj
@friendly
def gaps_cmd(obj: Context, days: int, workspace: str | None, as_json: bool) -> None:
    """What the bank could not answer: the questions it did not cover (or answered and saw
    marked unhelpful), grouped by meaning, the most askers first (as /gaps shows admins)."""
    from bot.core.gaps import Gaps
    from knowledge.gaps import GapBook

    with obj.bank() as (store, retriever):
        book = GapBook(obj.settings.home)
        try:
            found = Gaps(book, retriever, store, keep_days=obj.settings.gaps_days).gaps(
                workspace, days
            )
        finally:
            book.close()
    if as_json:
        print_json({"gaps": [g.as_json() for g in found]})
        return
    if not found:
        click.echo(f"no gaps in the last {days} days")
    for n, gap in enumerate(found, 1):
        near = "; ".join(f"{c.title} [{c.id}]" for c in gap.closest(2)) or "-"
        click.echo(f"{n}. {gap.label}: {gap.askers} asker(s), {len(gap.asked)} question(s)")
        for question in gap.examples():
            click.echo(f"   - {question}")
        click.echo(f"   closest: {near}")


@click.command("stats")
@click.option(
    "--grading",
    is_flag=True,
    help="How often learners disagree with the grader's suggested rating, per grading mode.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.pass_obj
@friendly
def stats_cmd(obj: Context, grading: bool, as_json: bool) -> None:
    """Figures from the progress database; --grading: learners' ratings against the grader's."""
    from knowledge.progress import Progress

    progress = Progress(obj.settings.home)
    try:
        modes = progress.standings.grading_agreement()
    finally:
        progress.close()
    rows = {
        mode: counts | {"disagreement": _share(counts["higher"] + counts["lower"], counts["rated"])}
        for mode, counts in modes.items()
    }
    if as_json:
        print_json({"grading": rows})
        return
    click.echo("grading: learners' ratings against the grader's suggestion, per mode")
    if not rows:
        click.echo("  no reviews yet")
    for mode, row in rows.items():
        share = "-" if row["disagreement"] is None else f"{row['disagreement']:.0%}"
        click.echo(
            f"  {mode:<9} {row['reviews']:>5} reviews, {row['rated']:>5} rated by the learner, "
            f"disagreed {share} (higher {row['higher']}, lower {row['lower']})"
        )


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
