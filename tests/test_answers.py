"""Answers a person reads: verdict words at their boundaries, comparisons computed by hand,
confounders named, the report's question and contents first, the answer in --json.
SYNTHETIC series except where a real fixture is named."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import tscorr
from tscorr.analysis.respond import RespondParams, run_respond
from tscorr.results.answers import answers, sentences
from tscorr.results.compare import compare
from tscorr.results.runview import load_run
from tscorr.results.wording import VERDICTS, amount, p_text, verdict, within

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.mark.parametrize(
    "p,q,word",
    [
        (5e-5, 0.01, "far beyond chance"),
        (5e-5, 0.2, "may be chance"),  # a small p among many pairs is not enough
        (2e-4, 0.049, "more than chance"),
        (0.01, 0.05, "more than chance"),
        (0.01, 0.051, "may be chance"),
        (None, None, "too little data to test"),
        (float("nan"), 0.01, "too little data to test"),
    ],
)
def test_verdict_words_follow_p_and_q(p: float | None, q: float | None, word: str) -> None:
    assert verdict(p, q) == word and word in VERDICTS


def test_numbers_in_sentences_are_never_scientific() -> None:
    assert p_text(1e-190) == "p < 0.0001" and p_text(0.00023) == "p = 0.0002"
    assert amount(3e-7) == "almost 0" and amount(6.1e9) == "6.1 billion"
    assert within(0.84, "d") == "within a day" and within(1.58, "h") == "within 2 hours"
    assert within(0.5, "h") == "within an hour" and within(float("nan"), "h") is None


def test_comparison_is_the_ratio_of_multiples_with_both_uncertainties() -> None:
    """18x (95% 6 to 54) against 10x (95% 5 to 20): the ratio 1.8 with a log-scale interval
    whose standard error adds both, computed here by hand: 0.491 to 6.6, so the data cannot
    tell which was larger."""
    a = {"name": "A", "multiple": 18.0, "low": 6.0, "high": 54.0, "verdict": "more than chance",
         "half_life": 0.8, "unit": "d", "at_least": None}
    b = {"name": "B", "multiple": 10.0, "low": 5.0, "high": 20.0, "verdict": "more than chance",
         "half_life": 1.7, "unit": "d", "at_least": None}
    z = 1.959964
    se = math.hypot(math.log(54 / 6) / (2 * z), math.log(20 / 5) / (2 * z))
    low, high = math.exp(math.log(1.8) - z * se), math.exp(math.log(1.8) + z * se)
    text = compare(a, b, "the first night", "the second night")
    assert f"1.8 times (95% interval {low:.3g} to {high:.3g})" in text
    assert "The data cannot tell which was larger" in text
    assert "the excesses halved within a day and within 2 days" in text
    # as its own answer says nothing of it, an excess that may be chance has no decay told
    b_maybe = {**b, "verdict": "may be chance"}
    assert "halved" not in compare(a, b_maybe, "x", "y")
    b.update(multiple=2.0, low=1.5, high=2.7)  # now clearly smaller
    assert "The first was the larger: 9 times" in compare(a, b, "x", "y")
    b.update(multiple=None, low=None, high=None, at_least=80.0)  # a bound above A's top
    assert "The second was the larger: at least 80 times, above the first's 54" in compare(
        a, b, "x", "y"
    )


def _store(folder: Path) -> tscorr.Store:
    """Daily views of one article for 40 days with a 6x day, the event that caused it, and
    two other events: a match inside the window, a holiday inside the baseline."""
    rng = np.random.default_rng(3)
    days = np.arange(np.datetime64("2016-05-20"), np.datetime64("2016-06-29"))
    views = np.round(1000 * rng.lognormal(0, 0.05, len(days)))
    views[35] *= 6  # 24 June
    (folder / "v.csv").write_text(
        "date,Article\n" + "".join(f"{d},{v:.0f}\n" for d, v in zip(days, views, strict=True))
    )
    (folder / "e.csv").write_text(
        "ts,kind,name\n2016-06-24T03:40:00Z,result,Leave wins\n"
        "2016-06-25T16:00:00Z,football,Wales v Northern Ireland\n"
        "2016-06-20T12:00:00Z,holiday,A holiday\n"
        "2016-01-01T12:00:00Z,holiday,Far away\n"
    )
    store = tscorr.open(folder / "a.duckdb")
    tscorr.load_file(store, folder / "v.csv")
    tscorr.load_file(store, folder / "e.csv")
    return store


def test_answers_name_other_events_in_window_and_baseline(tmp_path: Path) -> None:
    store = _store(tmp_path)
    run = run_respond(
        store,
        RespondParams(events="kind = 'result'", bucket="1d", after="1d", baseline="prev-days:7"),  # type: ignore[arg-type]
    )
    row = answers(load_run(store, run.run_id)).row(0, named=True)
    assert row["confounders"] == [
        "in its window: Wales v Northern Ireland, 25 Jun",
        "in its baseline: A holiday, 20 Jun",
    ]
    assert "Other events in its window: Wales v Northern Ireland, 25 Jun; in its baseline: A holiday, 20 Jun." in row["text"]
    assert "Far away" not in row["text"]
    assert row["value"] == pytest.approx(row["multiple"] * row["baseline"], rel=1e-9)
    store.close()


def test_shared_caveats_are_said_once() -> None:
    import polars as pl

    frame = pl.DataFrame(
        {"text": ["A.", "B."], "caveats": [["shared", "only a"], ["shared"]]},
        schema={"text": pl.String, "caveats": pl.List(pl.String)},
    )
    said, shared = sentences(frame)
    assert said == ["A. Caveats: only a.", "B."] and shared == ["shared"]


def test_the_report_opens_with_its_question_and_contents(tmp_path: Path) -> None:
    from tscorr.results.report import build_report

    store = _store(tmp_path)
    run = run_respond(store, RespondParams(events="kind = 'result'", bucket="1d", after="1d"))  # type: ignore[arg-type]
    html = build_report(store, [run.run_id], "t", intro=["Did it move?", "Compared: ..."])
    question, contents, section = (
        html.index("Did it move?"),
        html.index('<nav class="contents">'),
        html.index(f'id="run{run.run_id}"'),
    )
    assert question < contents < section
    links = set(re.findall(r'<nav class="contents">.*?</nav>', html, re.S)[0].split('href="#')[1:])
    assert {link.split('"')[0] for link in links} == {f"run{run.run_id}", f"run{run.run_id}-pair0"}
    assert html.count(answers(load_run(store, run.run_id))["text"][0][:60]) == 1  # said once
    # how to read it speaks of what the report holds: an event study has no p_peak
    reading = re.findall(r'<p class="meta">(.*?)</p>', html)[0]
    assert "usual level" in reading and "p_peak" not in reading
    store.close()


def test_json_output_carries_the_verdict_and_the_answer(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = _store(tmp_path)
    store.close()
    from typer.testing import CliRunner

    from tscorr.cli import app

    result = CliRunner().invoke(
        app,
        ["--db", str(tmp_path / "a.duckdb"), "respond", "--events", "kind = 'result'",
         "--bucket", "1d", "--after", "1d", "--json"],
    )
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["verdict"] in VERDICTS and row["answer"].startswith("Article (")
    table = CliRunner().invoke(
        app,
        ["--db", str(tmp_path / "a.duckdb"), "respond", "--events", "kind = 'result'",
         "--bucket", "1d", "--after", "1d"],
    )
    assert "\n1. Article (" in table.stdout  # the sentence follows the table


def test_a_run_stored_before_the_model_test_still_answers(tmp_path: Path) -> None:
    """A respond run from an older tscorr (an upgraded file: the new columns null) keeps
    the verdict its placebo test gave, never 'too little data to test'."""
    store = _store(tmp_path)
    run = run_respond(store, RespondParams(events="kind = 'result'", bucket="1d", after="1d"))  # type: ignore[arg-type]
    store.con.execute(
        "UPDATE response_summary SET p_verdict = NULL, q_verdict = NULL, p_model = NULL, "
        "q_model = NULL, z = NULL, mean_value = NULL, mean_baseline = NULL, model = NULL, "
        "model_reference = NULL WHERE run_id = ?",
        [run.run_id],
    )
    row = answers(load_run(store, run.run_id)).row(0, named=True)
    p = store.query("SELECT p_placebo FROM response_summary WHERE is_peak")["p_placebo"][0]
    assert row["p"] == p and row["verdict"] != "too little data to test"
    store.close()


def test_the_library_front_door(tmp_path: Path) -> None:
    """tscorr.respond / tscorr.answers: the documented two calls, on a real file."""
    store = _store(tmp_path)
    run = tscorr.respond(store, events="kind = 'result'", bucket="1d", after="1d")
    said = tscorr.answers(store, run.run_id)
    assert said["series"][0].endswith("Article") and said["answer"][0].startswith("Article (")
    assert (Path(tscorr.__file__).parent / "py.typed").exists()
    store.close()


def test_the_report_shows_which_series_moved(tmp_path: Path) -> None:
    """Two articles around one event: the report draws them on one time axis, each as a
    multiple of its own usual level, with the event labelled (and nothing for one series)."""
    from tscorr.results import charts
    from tscorr.results.report import build_report

    rng = np.random.default_rng(8)
    days = np.arange(np.datetime64("2016-05-20"), np.datetime64("2016-06-29"))
    a = np.round(1000 * rng.lognormal(0, 0.05, len(days)))
    b = np.round(500 * rng.lognormal(0, 0.05, len(days)))
    a[35], b[35] = a[35] * 6, b[35] * 2
    (tmp_path / "v.csv").write_text(
        "date,A,B\n" + "".join(f"{d},{x:.0f},{y:.0f}\n" for d, x, y in zip(days, a, b, strict=True))
    )
    (tmp_path / "e.csv").write_text("ts,kind,name\n2016-06-24T03:40:00Z,result,Leave wins\n")
    store = tscorr.open(tmp_path / "m.duckdb")
    tscorr.load_file(store, tmp_path / "v.csv")
    tscorr.load_file(store, tmp_path / "e.csv")
    run = run_respond(store, RespondParams(events="true", bucket="1d", after="1d"))  # type: ignore[arg-type]
    view = load_run(store, run.run_id)
    figure = charts.moved(view, "true")
    assert figure is not None
    lines = [line for ax in figure.axes for line in ax.get_children() if line.get_gid() == "moved"]
    assert len(lines) == 2
    assert "Which series moved around “Leave wins”" in charts.svg(figure)
    assert '<figure class="moved">' in build_report(store, [run.run_id])
    store.close()


def test_machine_output_answers_its_first_rows_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--json carries a verdict and an answer for the rows it prints, up to a bound (a
    sentence costs about a millisecond: 20,000 pairs had taken 20 s); beyond it they are
    null, never made."""
    from typer.testing import CliRunner

    from tscorr.cli import app as tscorr_app

    analysis = sys.modules["tscorr.cli.analysis"]

    store = _store(tmp_path)
    (tmp_path / "w.csv").write_text(
        "date,Other\n" + "".join(f"2016-06-{d:02d},{100 + d}\n" for d in range(1, 29))
    )
    tscorr.load_file(store, tmp_path / "w.csv")
    store.close()
    monkeypatch.setattr(analysis, "ANSWERS_MACHINE", 1)
    result = CliRunner().invoke(
        tscorr_app,
        ["--db", str(tmp_path / "a.duckdb"), "respond", "--events", "kind = 'result'",
         "--bucket", "1d", "--after", "1d", "--json"],
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 2 and rows[0]["answer"] and rows[1]["answer"] is None


def test_windows_are_the_series_own_days(tmp_path: Path) -> None:
    """Daily counts read in New York; the event at 19:30 on 29 Oct 2012 local, another at
    22:00 local (02:00 UTC on the 30th): the same New York day, so inside a window of that
    day alone (a UTC day had put it outside), and named by its New York date."""
    days = np.arange(np.datetime64("2012-10-01"), np.datetime64("2012-11-10"))
    (tmp_path / "c.csv").write_text(
        "date,calls\n" + "".join(f"{d},{100 + i % 7}\n" for i, d in enumerate(days))
    )
    (tmp_path / "e.csv").write_text(
        "ts,kind,name\n2012-10-29T23:30:00Z,storm,Landfall\n2012-10-30T02:00:00Z,power,Blackout\n"
    )
    store = tscorr.open(tmp_path / "ny.duckdb")
    tscorr.load_file(store, tmp_path / "c.csv", options=tscorr.LoadOptions(tz="America/New_York"))
    tscorr.load_file(store, tmp_path / "e.csv")
    run = run_respond(
        store, RespondParams(events="kind = 'storm'", bucket="1d", after="0s", placebos=0)  # type: ignore[arg-type]
    )
    row = answers(load_run(store, run.run_id)).row(0, named=True)
    assert row["confounders"] == ["in its window: Blackout, 29 Oct"]
    store.close()


def test_table_cells_say_counts_as_people_write_them() -> None:
    from tscorr.cli.cells import cell_text

    assert cell_text(86615.0) == "86,615" and cell_text(6137438.0) == "6,137,438"
    assert cell_text(0.01141) == "0.01141" and cell_text(1.235e11) == "1.235e+11"
    assert cell_text(3e-5, "p_model") == "< 0.0001"


def test_a_p_below_005_that_may_be_chance_says_the_q_it_rests_on(tmp_path: Path) -> None:
    """Real data (fixtures/guide: five articles' daily views around the race call): Duckworth's
    p = 0.01 is not a discovery once the run's 5 pairs are counted, and the sentence says so
    rather than leave a reader to print 'p = 0.01'."""
    store = tscorr.open(tmp_path / "g.duckdb")
    tscorr.load(
        store,
        [FIXTURES / "guide" / "views.csv", FIXTURES / "guide" / "events.csv"],
        tz="America/New_York",
    )
    run = tscorr.respond(store, events="name LIKE 'AP calls%'", bucket="1d", after="2d")
    said = answers(load_run(store, run.run_id))
    for text, word, q in zip(said["text"], said["verdict"], said["q"], strict=True):
        p_values = [float(x) for x in re.findall(r"p = ([0-9.]+)", text)]
        if word == "may be chance" and p_values and min(p_values) <= 0.05:
            assert f"once the run's {run.peaks.height} pairs are counted" in text, text
            assert q is not None and q > 0.05
        if word == "may be chance" and p_values and min(p_values) > 0.05:
            assert "q =" not in text, text
    assert any("q = " in t for t in said["text"])  # Duckworth's p = 0.01
    store.close()


def test_a_runs_pairs_are_counted_as_people_write_counts(tmp_path: Path) -> None:
    """The pairs a q pays for, in an xcorr answer: '1,234,567', never '1234567' (a scan of
    10,000 series x 100 event sets has a million pairs)."""
    import dataclasses

    from tscorr.analysis.correlate import XcorrParams, run_xcorr

    store = _store(tmp_path)
    run = run_xcorr(store, XcorrParams(events="kind = 'result'", bucket="1d", max_lag=2))
    view = dataclasses.replace(load_run(store, run.run_id), n_pairs=1_234_567)
    store.close()
    assert "over 1,234,567 pairs" in answers(view, 1)["answer"][0]


def test_an_average_over_events_says_how_many_had_a_value_then(tmp_path: Path) -> None:
    """Two events, the day after the second missing: the answer averages one day and says
    so ("1 of the 2 events ... the other has no value then"), as the table's n_events does,
    not "each of the 2 events". SYNTHETIC: 60 days of views, +50% the day after each event."""
    days = np.arange(np.datetime64("2016-01-01"), np.datetime64("2016-03-01"))
    views = np.full(len(days), 1000.0) + np.arange(len(days)) % 3
    after = [20, 51]  # 21 January and 21 February
    views[after] *= 1.5
    rows = [f"{d},{v:.0f}\n" for i, (d, v) in enumerate(zip(days, views, strict=True)) if i != after[1]]
    (tmp_path / "v.csv").write_text("date,Article\n" + "".join(rows))
    (tmp_path / "e.csv").write_text(
        "ts,kind,name\n2016-01-20T12:00:00Z,launch,One\n2016-02-20T12:00:00Z,launch,Two\n"
    )
    store = tscorr.open(tmp_path / "a.duckdb")
    tscorr.load_file(store, tmp_path / "v.csv")
    tscorr.load_file(store, tmp_path / "e.csv")
    run = run_respond(store, RespondParams(events="kind = 'launch'", bucket="1d", after="2d"))
    row = answers(load_run(store, run.run_id)).row(0, named=True)
    table = store.query(
        "SELECT n_events FROM response_summary WHERE run_id = ? AND is_peak", [run.run_id]
    )
    store.close()
    assert row["lag"] == 1 and table["n_events"][0] == 1
    # 1,503: day 20 is 1,002 views (1,000 + 20 % 3), times 1.5
    assert "1,503 on average 1 day after the day of 1 of the 2 events of kind = 'launch' " \
        "(the other has no value then)" in row["text"], row["text"]
