"""Progress charts: PNG out, the figures they show, and Chinese topic names drawn with a CJK
font (the fallback without one draws anyway and says so once)."""

from __future__ import annotations

import logging
import warnings
from datetime import date
from pathlib import Path

from bot.tutoring import charts
from bot.tutoring.charts import PNG_SIGNATURE, ChartData, DayCount, chart_data, draw

TODAY = date(2026, 3, 31)


def sample() -> ChartData:
    counts = [
        DayCount(date(2026, 3, 30), 4, 3),
        DayCount(date(2026, 3, 20), 2, 0),
        DayCount(date(2026, 1, 1), 9, 9),  # before the window: left out
    ]
    topics = [("Transformer 与注意力机制基础", 72), ("RAG", 30)]
    return chart_data(counts, topics, TODAY, "你的进度")


def test_the_last_30_days_are_counted_with_empty_days_as_zero():
    data = sample()
    assert len(data.days) == charts.DAYS
    assert data.days[0][0] == date(2026, 3, 2) and data.days[-1] == (TODAY, 0)
    assert dict(data.days)[date(2026, 3, 30)] == 4
    assert sum(n for _, n in data.days) == 6


def test_the_share_correct_is_per_week_and_a_week_without_reviews_has_none():
    weeks = dict(sample().weeks)
    assert len(weeks) == charts.WEEKS
    assert weeks[date(2026, 3, 25)] == 75  # 3 of 4
    assert weeks[date(2026, 3, 18)] == 0  # 0 of 2
    assert weeks[date(2026, 3, 11)] is None


def test_a_chart_is_a_png():
    png = draw(sample(), "en")
    assert png.startswith(PNG_SIGNATURE) and len(png) > 5000


def test_chinese_topic_names_are_drawn_with_the_cjk_font_not_as_missing_glyphs(caplog):
    from matplotlib import font_manager

    font = charts.cjk_font()
    assert font is not None, "no CJK font: run `make sysdeps` (installs fonts-wqy-microhei)"
    family = charts._family(font)
    picked = font_manager.findfont(font_manager.FontProperties(family=family[0]))
    assert Path(picked) == font
    with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        png = draw(sample(), "zh")
    assert png.startswith(PNG_SIGNATURE)
    said = [str(w.message) for w in seen] + [r.getMessage() for r in caplog.records]
    assert not [s for s in said if "missing" in s.lower()], said


def test_without_a_cjk_font_the_chart_is_drawn_and_a_warning_logged_once(caplog):
    nowhere = ("/nonexistent/fonts/cjk-a.ttc", "/nonexistent/fonts/cjk-b.ttc")
    with caplog.at_level(logging.WARNING, logger="tutor.charts"):
        first = draw(sample(), "zh", fonts=nowhere)
        second = draw(sample(), "zh", fonts=nowhere)
    assert first.startswith(PNG_SIGNATURE) and second.startswith(PNG_SIGNATURE)
    warned = [r for r in caplog.records if "no CJK font" in r.getMessage()]
    assert len(warned) == 1


def test_matplotlib_is_not_imported_until_a_chart_is_drawn():
    import subprocess
    import sys

    code = "import sys, bot.tutoring.charts, bot.core.tutor; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
