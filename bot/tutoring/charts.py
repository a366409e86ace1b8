"""Progress charts as PNG: reviews per day, the share correct per week and mastery per topic, for
one learner (/stats) or a group (/class). Pure: data in, PNG bytes out.

matplotlib is imported on first use (`tutor --help` stays fast) and driven through its object
API with the Agg canvas, never pyplot, so a chart can be drawn in a worker thread. Chinese topic
names need a CJK font: the first of `CJK_FONTS` found on disk is used (`make sysdeps` installs
fonts-wqy-microhei); without one the chart is drawn with matplotlib's default font, Chinese shows
as boxes, and a warning is logged once.
"""

from __future__ import annotations

import functools
import io
import logging
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.texts import layouts, messages

log = logging.getLogger("tutor.charts")

CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)
DAYS = 30
WEEKS = 5
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# rcParams are process-wide: two charts drawn at once must not change them under each other.
_DRAWING = threading.Lock()


@dataclass(frozen=True)
class DayCount:
    """Reviews on one day and how many of them were correct."""

    day: date
    reviews: int
    correct: int


@dataclass(frozen=True)
class ChartData:
    """What a progress chart shows; `weeks` holds each week's first day and share correct (0-100,
    None for a week without reviews), `topics` each topic's mastery (0-100)."""

    days: tuple[tuple[date, int], ...]
    weeks: tuple[tuple[date, int | None], ...]
    topics: tuple[tuple[str, int], ...]
    title: str = ""


def chart_data(
    counts: Sequence[DayCount], topics: Sequence[tuple[str, int]], today: date, title: str = ""
) -> ChartData:
    """The last DAYS days (days without reviews as 0) and the last WEEKS weeks ending today."""
    by_day = {c.day: c for c in counts}
    first = today - timedelta(days=DAYS - 1)
    days = tuple(
        (d, by_day[d].reviews if d in by_day else 0)
        for d in (first + timedelta(days=n) for n in range(DAYS))
    )
    weeks = []
    for n in range(WEEKS - 1, -1, -1):
        start = today - timedelta(days=7 * n + 6)
        inside = [c for c in counts if start <= c.day <= start + timedelta(days=6)]
        total = sum(c.reviews for c in inside)
        share = round(100 * sum(c.correct for c in inside) / total) if total else None
        weeks.append((start, share))
    return ChartData(days, tuple(weeks), tuple(topics), title)


@functools.cache
def cjk_font(candidates: tuple[str, ...] = CJK_FONTS) -> Path | None:
    """The first CJK-capable font on disk, or None (logged once: Chinese will not render)."""
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file():
            return path
    log.warning(
        "no CJK font found (looked for %s): charts use the default font and Chinese topic "
        "names show as boxes; install fonts-wqy-microhei (make sysdeps)",
        ", ".join(candidates),
    )
    return None


@functools.cache
def _family(path: Path | None) -> list[str]:
    """The font families to draw with: the CJK font first, matplotlib's default behind it."""
    from matplotlib import font_manager

    if path is None:
        return ["DejaVu Sans"]
    font_manager.fontManager.addfont(str(path))
    return [font_manager.FontProperties(fname=str(path)).get_name(), "DejaVu Sans"]


def draw(data: ChartData, lang: messages.Lang, fonts: tuple[str, ...] = CJK_FONTS) -> bytes:
    """The chart as PNG bytes, with the first CJK font of `fonts` found on disk."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    per_day, per_week, mastery = layouts.chart_labels(lang)
    font = cjk_font(fonts)
    family = _family(font)
    with (
        _DRAWING,
        rc_context({"font.family": family, "axes.unicode_minus": False}),
        warnings.catch_warnings(),
    ):
        if font is None:  # said once by `cjk_font`, not once per character
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        topics = data.topics[:12]
        height = 6.0 + 0.35 * max(len(topics), 1)
        figure = Figure(figsize=(8, height), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(3, 1, height_ratios=[3, 3, max(2, 0.5 * len(topics) + 1)])
        if data.title:
            figure.suptitle(data.title, fontsize=13)
        _per_day(axes[0], data, per_day)
        _per_week(axes[1], data, per_week)
        _mastery(axes[2], topics, mastery)
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()


def _per_day(ax: Any, data: ChartData, title: str) -> None:
    ax.bar([d for d, _ in data.days], [n for _, n in data.days], color="#4c72b0", width=0.8)
    ax.set_title(title, fontsize=11, loc="left")
    ticks = [d for d, _ in data.days[::-7]][::-1]  # a label a week, today's last
    ax.set_xticks(ticks, [d.strftime("%m-%d") for d in ticks])
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)


def _per_week(ax: Any, data: ChartData, title: str) -> None:
    labels = [d.strftime("%m-%d") for d, _ in data.weeks]
    shares = [s if s is not None else 0 for _, s in data.weeks]
    bars = ax.bar(labels, shares, color="#55a868", width=0.6)
    for bar, (_, share) in zip(bars, data.weeks, strict=True):
        text = f"{share}%" if share is not None else "–"
        ax.annotate(
            text,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    ax.set_ylim(0, 110)
    ax.set_title(title, fontsize=11, loc="left")
    ax.spines[["top", "right"]].set_visible(False)


def _mastery(ax: Any, topics: Sequence[tuple[str, int]], title: str) -> None:
    names = [name if len(name) <= 28 else name[:27] + "…" for name, _ in topics]
    values = [value for _, value in topics]
    ax.barh(names[::-1], values[::-1], color="#c44e52", height=0.6)
    for y, value in enumerate(values[::-1]):
        ax.annotate(f"{value}%", (value, y), xytext=(3, 0), textcoords="offset points", va="center")
    ax.set_xlim(0, 110)
    ax.set_title(title, fontsize=11, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
