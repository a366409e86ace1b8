"""What every `tutor` command shares: the resolved settings, the bank opened and closed in one
place, logging set up once, and the boundary that turns errors into one line for people."""

from __future__ import annotations

import json
import logging
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import click

from bot.app.settings import Settings, load_settings
from bot.core.errors import PEOPLE_ERRORS

if TYPE_CHECKING:
    from knowledge.store import Store
    from retriever.search import Retriever

P = ParamSpec("P")
R = TypeVar("R")
log = logging.getLogger("tutor")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Context:
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

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The bank's database, closed when the block ends."""
        from bot.app.wiring import open_store

        store = open_store(self.settings)
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def bank(self, *, open_index: bool = True) -> Iterator[tuple[Store, Retriever]]:
        """The bank and its retriever (index opened unless `open_index` is false), both closed
        when the block ends."""
        from bot.app.wiring import build_retriever

        with self.store() as store:
            retriever = build_retriever(self.settings, store)
            try:
                if open_index:
                    retriever.open()
                yield store, retriever
            finally:
                retriever.close()

    def log_to_file(self, name: str, *, console: bool) -> None:
        """Log to `<data dir>/logs/<name>.log`; `console` keeps stderr too (a service manager
        keeps it), otherwise the file is the only place (the chat's lines stay clean)."""
        settings = self.settings
        log_file = settings.home / "logs" / f"{name}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        root = logging.getLogger()
        if not console:
            for handler in list(root.handlers):
                root.removeHandler(handler)
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
        if console:
            logging.getLogger("tutor").setLevel(min(logging.INFO, root.level))


def warn(text: str) -> None:
    """A warning for the person at the terminal."""
    click.echo(f"warning: {text}", err=True)


def fail(message: str) -> NoReturn:
    """End the command with `error: …` and exit status 1."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def print_json(data: Any) -> None:
    """One JSON value on one line, Chinese left readable."""
    click.echo(json.dumps(data, ensure_ascii=False))


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the packages' errors into `error: …` and exit 1; anything else gets an id, no trace."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except PEOPLE_ERRORS as exc:
            fail(str(exc))
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            fail("interrupted")
        except Exception:
            incident = uuid.uuid4().hex[:8]
            log.debug("incident %s\n%s", incident, traceback.format_exc())
            fail(
                f"unexpected failure (incident {incident}); run again with TUTOR_LOG_LEVEL=debug "
                "to see the details, and report them"
            )

    return wrapper
