"""Pictures as a person sees them: PNGs read back, the report opened in headless Chromium
(Debian's ``chromium``, installed by ``.ci/run``), and the numbers the charts and sentences
show checked against the tables and against an independent computation of the null band."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image
from scipy.stats import norm

import tscorr
from tscorr.analysis.correlate import run_xcorr
from tscorr.analysis.request import RespondParams, XcorrParams
from tscorr.analysis.respond import run_respond
from tscorr.results.answers import answers, number
from tscorr.results.runview import load_run
from tscorr.store import Store

FIX = Path(__file__).resolve().parent.parent / "fixtures"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def sandy(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Sandy's 311 calls and the landfall: run 1 respond, run 2 xcorr (the README's)."""
    store = tscorr.open(tmp_path_factory.mktemp("pictures") / "p.duckdb")
    tscorr.load_file(
        store,
        FIX / "real/sandy-311-calls--sandy-311-calls-by-day.csv",
        options=tscorr.LoadOptions(prefix="311:", tz="America/New_York", series_kind="count"),
    )
    tscorr.load_file(store, FIX / "events/news2012-2016.csv")
    for path in sorted((FIX / "real/wikipedia").glob("*.csv")):
        tscorr.load_file(store, path)
    hurricane = "kind = 'hurricane'"
    run_respond(
        store,
        RespondParams(
            events=hurricane,
            series="311:total",
            bucket="1d",
            before="2d",
            after="7d",
            baseline="pre:7d",
        ),  # type: ignore[arg-type]
    )
    run_xcorr(
        store,
        XcorrParams(
            events=hurricane,
            series="311:*",
            bucket="1d",
            max_lag="14d",  # type: ignore[arg-type]
            transform="log1p",
        ),
    )
    run_respond(
        store,
        RespondParams(
            events="kind = 'race-call'",
            series="pageviews:*",
            bucket="1d",
            before="1d",
            after="1d",
            baseline="pre:3d",
        ),  # type: ignore[arg-type]
    )
    return store


def test_sentences_say_what_the_tables_hold(sandy: Store) -> None:
    view = load_run(sandy, 1)
    peak = view.peaks.row(0, named=True)
    (sentence,) = answers(view)["answer"].to_list()
    assert sentence.startswith(
        f"total (311): {number(peak['mean_value'])} on the day of “Sandy makes landfall near "
        f"Brigantine NJ” (29 Oct 2012), against {number(peak['mean_baseline'])} a day in the "
        f"7 days before the window (20-26 Oct 2012): {number(peak['mean_ratio'])} times its "
        "usual level"
    )
    assert "937" in sentence and f"199 placebo dates, p = {peak['p_placebo']:.2g}" in sentence
    assert "the excess halving within a day" in sentence  # half_life 0.8 d
    assert "fewer observed values than asked" in sentence  # the baseline-short flag
    xview = load_run(sandy, 2)
    top = xview.peaks.row(0, named=True)
    said = answers(xview).row(0, named=True)
    assert said["series"] == top["series"] and f"r = {top['r']:.2f}" in said["answer"]
    assert f"over {xview.peaks.height} pairs" in said["answer"]


def test_censored_series_say_so(sandy: Store) -> None:
    view = load_run(sandy, 3)
    text = " ".join(answers(view)["answer"].to_list())
    assert "a top list: days an item is absent are below the cut-off, not zero" in text


def storm_run(folder: Path) -> tuple[Store, int]:
    """SYNTHETIC daily counts, 200 days of 2015, and storms (and quakes) before, inside and
    after them; the xcorr run of both kinds at +-7 days."""
    rng = np.random.default_rng(0)
    days = pl.date_range(pl.date(2015, 1, 1), pl.date(2015, 7, 19), "1d", eager=True)
    (folder / "calls.csv").write_text(
        "date,calls\n"
        + "".join(f"{d},{v}\n" for d, v in zip(days, rng.poisson(20, days.len()), strict=True))
    )
    (folder / "storms.csv").write_text(
        "ts,kind,name\n2014-06-01T12:00:00Z,storm,Before\n2015-03-02T12:00:00Z,storm,Inside A\n"
        "2015-05-10T12:00:00Z,storm,Inside B\n2016-01-05T12:00:00Z,storm,After\n"
        "2014-01-01T12:00:00Z,quake,Early\n2015-04-01T12:00:00Z,quake,Middle\n"
    )
    store = tscorr.open(folder / "s.duckdb")
    tscorr.load_file(store, folder / "calls.csv", options=tscorr.LoadOptions(series_kind="count"))
    tscorr.load_file(store, folder / "storms.csv")
    run = run_xcorr(
        store,
        XcorrParams(events="true", by="kind", bucket="1d", max_lag="7d"),  # type: ignore[arg-type]
    )
    return store, run.run_id


def test_sentences_count_only_the_events_a_pair_used(tmp_path: Path) -> None:
    """Events of the set outside a series' span are dropped by the run: the sentence counts
    (or names) the ones inside and says how many were left out."""
    store, run_id = storm_run(tmp_path)
    said = dict(answers(load_run(store, run_id)).select("event_set", "answer").iter_rows())
    storms, quakes = said["kind = storm"], said["kind = quake"]
    assert "the 2 events of kind = storm" in storms and "the 4 events" not in storms
    assert "2 of the set's 4 events fall outside this series' span and were not used" in storms
    assert "“Middle”" in quakes and "before it (lag" in quakes  # one event used: named, "it"
    assert "1 of the set's 2 events falls outside this series' span and was not used" in quakes
    assert "1 event: a correlation over so few events says little" in quakes


def test_the_null_band_is_the_runs_own_surrogates(sandy: Store) -> None:
    """Recomputed here by brute force: r of the series with every circular shift of the
    landfall impulse; the stored levels are the normal reading of that null (the default
    test's): 1.96 times the rms of r over every shift for one lag, and Sidak's two-sided
    95% level over the window's 2L+1 lags for a peak."""
    view = load_run(sandy, 2)
    band = view.band("kind = 'hurricane'", "311:total")
    assert band is not None
    values = sandy.query(
        "SELECT ts, value FROM observations WHERE series = '311:total' ORDER BY ts"
    )
    days = values["ts"].dt.convert_time_zone("America/New_York").dt.date().to_list()
    start = days[0]
    y = np.zeros((days[-1] - start).days + 1)
    for day, v in zip(days, values["value"].to_list(), strict=True):
        y[(day - start).days] = v
    y = np.log1p(y)
    e = np.zeros_like(y)
    landfall = sandy.scalar("SELECT ts FROM events WHERE kind = 'hurricane'")
    import zoneinfo

    e[(landfall.astimezone(zoneinfo.ZoneInfo("America/New_York")).date() - start).days] = 1.0
    r = np.array([np.corrcoef(np.roll(e, s), y)[0, 1] for s in range(len(y))])
    rms = np.sqrt(np.mean(r**2))
    assert band["lag_level"] == pytest.approx(norm.ppf(0.975) * rms, rel=1e-9)
    L = 14
    level = norm.ppf(1 - (1 - 0.95 ** (1 / (2 * L + 1))) / 2)
    assert band["peak_level"] == pytest.approx(level * rms, rel=1e-9)
    assert band["peak_level"] >= band["lag_level"]  # the dotted lines lie outside the band


@pytest.mark.parametrize(
    "kind,run", [("series", 1), ("response", 1), ("correlogram", 2), ("overview", 2)]
)
def test_png_files_read_back(cli, sandy: Store, tmp_path: Path, kind: str, run: int) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / f"{kind}.png"
    from tscorr.results.pictures import plot

    path, _ = plot(sandy, run, out, "311:total" if kind != "overview" else "*", None, kind)
    image = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert image.shape[0] >= 400 and image.shape[1] >= 1000  # 7.5 x 3.2 in at 150 dpi
    assert image.std() > 10  # not blank
    ink = (image < 128).mean()
    assert 0.005 < ink < 0.5  # lines, ticks and labels; not a black square


def test_svg_has_titled_axes_and_a_legend(sandy: Store, tmp_path: Path) -> None:
    from tscorr.results.pictures import plot

    path, _ = plot(sandy, 2, tmp_path / "c.svg", "311:total")
    text = path.read_text()
    for words in (
        "lag (d); k &gt; 0: the series moves k d after the events",
        "95% of r under the surrogate null",
        "level a peak must pass",
        "total against “Sandy makes landfall near Brigantine NJ”: r by lag",  # human names
        "r by lag",
    ):
        assert words in text, words


def test_plot_refuses_what_it_cannot_draw(cli, sandy: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tscorr.errors import BadInput, NoData
    from tscorr.results.pictures import plot

    with pytest.raises(BadInput, match="name a .png, .svg or .html file"):
        plot(sandy, 1, tmp_path / "x.gif")
    with pytest.raises(BadInput, match="is an event study"):
        plot(sandy, 1, tmp_path / "x.png", kind="correlogram")
    with pytest.raises(NoData, match="has no pair of series 'nothing'"):
        plot(sandy, 1, tmp_path / "x.png", series="nothing")


@pytest.fixture(scope="module")
def sandy_report(sandy: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of runs 1-3, rendered once (about 8 s) for the tests that read it."""
    from tscorr.results.pictures import report

    return report(sandy, [1, 2, 3], tmp_path_factory.mktemp("report") / "report.html")


def test_the_report_is_self_contained(sandy_report: Path) -> None:
    text = sandy_report.read_text()
    assert "<script" not in text and not re.search(r'(src|href)="(https?:)?//', text)
    ids = set(re.findall(r'id="([^"]+)"', text))
    links = set(re.findall(r'href="#([^"]+)"', text)) | set(
        re.findall(r'xlink:href="#([^"]+)"', text)
    )
    assert links and links <= ids  # every answer and every overview dot leads to its pair
    assert "Seed 0" in text and "duckdb" in text  # parameters, seed, versions
    assert "@media print" in text


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_the_report_renders_in_a_real_browser(sandy_report: Path, tmp_path: Path) -> None:
    page = sandy_report
    shot = tmp_path / "report.png"
    common = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ]
    dom = subprocess.run(
        [*common, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [x for x in dom.stderr.splitlines() if "CONSOLE" in x or "net::ERR" in x]
    assert not console, console
    rendered = dom.stdout
    svgs = re.findall(r"<svg.*?</svg>", rendered, re.S)
    pairs = len(re.findall(r'class="pair"', rendered))
    assert pairs >= 3 and len(svgs) >= 2 * pairs  # every chart rendered
    for svg in svgs:  # each with axis text
        assert re.search(r"<text|<tspan|>lag|>time", svg) or '<g id="text_' in svg
    taken = subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    image = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert image.shape == (2400, 1200) and image.std() > 20
    keep = Path(__file__).resolve().parent.parent / "benchmarks" / "out"
    keep.mkdir(exist_ok=True)
    shutil.copy(shot, keep / "report-screenshot.png")  # for a person to look at


def test_cli_plot_and_report(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tscorr.cli import app

    db = tmp_path / "c.duckdb"
    runner.invoke(app, ["--db", str(db), "load", str(FIX / "events/news2012-2016.csv")])
    runner.invoke(
        app,
        [
            "--db",
            str(db),
            "load",
            str(FIX / "real/sandy-311-calls--sandy-311-calls-by-day.csv"),
            "--prefix",
            "311:",
            "--kind",
            "count",
        ],
    )
    ran = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "xcorr",
            "--events",
            "kind = 'hurricane'",
            "--series",
            "311:*",
            "--bucket",
            "1d",
            "--max-lag",
            "3",
            "--json",
        ],
    )
    assert ran.exit_code == 0, ran.stderr
    png = tmp_path / "p.png"
    done = runner.invoke(app, ["--db", str(db), "plot", "--out", str(png)])
    assert done.exit_code == 0 and png.stat().st_size > 10_000, done.stderr
    again = runner.invoke(app, ["--db", str(db), "plot", "--out", str(png)])
    assert again.exit_code != 0 and "exists" in again.stderr  # never overwritten silently
    html = tmp_path / "r.html"
    rep = runner.invoke(app, ["--db", str(db), "report", "--out", str(html)])
    assert rep.exit_code == 0 and "<svg" in html.read_text()
    bad = runner.invoke(app, ["--db", str(db), "plot", "--out", str(db)])
    assert bad.exit_code != 0 and json.dumps("Traceback") not in bad.stderr


def test_the_charts_draw_the_tables_numbers(sandy: Store) -> None:
    """The plotted points are the stored ones (read from the figures, not re-derived)."""
    store, hurricane = sandy, "kind = 'hurricane'"
    from tscorr.results import charts

    respond, xcorr = load_run(store, 1), load_run(store, 2)
    curve = charts.response_curve(respond, hurricane, "311:total")
    line = next(x for x in curve.axes[0].lines if x.get_label().startswith("ratio to baseline"))
    table = respond.rows.sort("lag")
    assert list(line.get_xdata()) == table["lag"].to_list()
    np.testing.assert_allclose(line.get_ydata(), table["mean_ratio"].to_numpy())
    gram = charts.correlogram(xcorr, hurricane, "311:total")
    line = next(x for x in gram.axes[0].lines if x.get_label() == "r (cross-correlation)")
    stored = xcorr.rows.filter(pl.col("series") == "311:total").sort("lag")
    np.testing.assert_allclose(line.get_ydata(), stored["r"].to_numpy())
    import matplotlib.pyplot as plt

    plt.close("all")


def test_a_zero_ratio_on_a_log_scale_is_a_mark_below_ratio_1(demo_built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The demo's tweets: 0 tweets 6 and 5 hours before the race call, 1,740 times the usual
    level at it, so a log scale. A 0 has no place on it: drawn as a value it became a line
    falling off the chart from lag -4 (so it was). Now the line breaks there, and each 0 is
    a mark at the foot of the chart, below the dashed ratio-1 line."""
    import matplotlib.pyplot as plt

    from tscorr.results import charts

    with Store.open(demo_built.db, read_only=True) as store:
        view = load_run(store, 1)
    table = view.rows.filter(pl.col("series") == "tweets:congratulations").sort("lag")
    zero_lags = table.filter(pl.col("mean_ratio") == 0)["lag"].to_list()
    assert zero_lags == [-6, -5]  # the data this test is about
    fig = charts.response_curve(view, table["event_set"][0], "tweets:congratulations")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    line = next(x for x in ax.lines if x.get_label().startswith("ratio to baseline"))
    y = np.asarray(line.get_ydata(), dtype=float)
    assert not (y <= 0).any()  # nothing drawn at 0 (or below) on the log axis
    kept = table["mean_ratio"].to_numpy() > 0
    np.testing.assert_allclose(y[kept], table["mean_ratio"].to_numpy()[kept])
    marks = next(x for x in ax.lines if x.get_gid() == "zero-ratio")
    assert list(marks.get_xdata()) == zero_lags
    fig.canvas.draw()
    to_pixels = marks.get_transform().transform
    feet = to_pixels(np.column_stack([marks.get_xdata(), marks.get_ydata()]))[:, 1]
    one = ax.transData.transform([[0, 1.0]])[0, 1]
    bottom = ax.get_window_extent().y0
    assert (feet < one - 5).all() and (feet > bottom).all()  # below ratio 1, inside the axes
    # read back as a person sees it: under lag -4 (60 times), from ratio 5 down to ratio
    # 1.5, the column holds no pixel of the line's blue (the old chart's fall to the axis)
    png = tmp_path / "curve.png"
    fig.savefig(png, dpi=fig.dpi)
    (x, top), (_, low) = ax.transData.transform([[-4, 5.0], [-4, 1.5]])
    plt.close(fig)
    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    height = pixels.shape[0]
    column = pixels[height - int(top) : height - int(low), int(round(x)) - 1 : int(round(x)) + 2]
    assert column.size and not ((column[..., 0] < 120) & (column[..., 2] > 150)).any()


def test_no_legend_covers_a_plotted_point(sandy: Store, tmp_path: Path) -> None:
    """Every chart's legend, once drawn, leaves every data point of its axes visible (a
    legend placed "best" inside the correlogram had covered points of a short one)."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import PathCollection

    from tscorr.results import charts

    hurricane = "kind = 'hurricane'"
    respond, xcorr = load_run(sandy, 1), load_run(sandy, 2)
    short = load_run(*storm_run(tmp_path))
    figures = [
        charts.correlogram(xcorr, hurricane, name) for name in xcorr.peaks["series"].to_list()[:8]
    ] + [
        charts.response_curve(respond, hurricane, "311:total"),
        charts.correlogram(short, "kind = storm", "calls:calls"),
        charts.correlogram(short, "kind = quake", "calls:calls"),
        charts.overview(xcorr, {}),
        charts.overview(respond, {}),
        charts.overview(load_run(sandy, 3), {}),
    ]
    for fig in figures:
        fig.canvas.draw()
        boxes = [legend.get_window_extent() for legend in fig.legends]
        ax = fig.axes[0]
        if ax.get_legend() is not None:
            boxes.append(ax.get_legend().get_window_extent())
        assert boxes
        drawn = [  # lines of data points, and scattered dots (the overview's)
            (line.get_label(), np.column_stack([line.get_xdata(), line.get_ydata()]))
            for line in ax.lines
            if len(line.get_xdata()) >= 2 and line.get_transform() == ax.transData
        ] + [
            (dots.get_label(), dots.get_offsets())
            for dots in ax.collections
            if isinstance(dots, PathCollection)
        ]
        for label, xy in drawn:
            xy = np.asarray(xy, dtype=float)
            shown = ax.transData.transform(xy[np.isfinite(xy).all(axis=1)])
            for box in boxes:
                x, y = shown[:, 0], shown[:, 1]
                inside = (x >= box.x0) & (x <= box.x1) & (y >= box.y0) & (y <= box.y1)
                assert not inside.any(), (ax.get_title(), label)
    plt.close("all")


@pytest.mark.parametrize("bucket", ["1w", "1mo", "1d"])
def test_a_series_is_drawn_in_the_buckets_it_was_analysed_in(sandy: Store, bucket: str) -> None:
    """Points finer than the run's bucket are drawn as the aligner bucketed them: the same
    calendar weeks (from Monday), months and days in the run's zone and the same values, a
    count's empty buckets as 0. (Fixed-length windows from 1970 had drawn weeks from a
    Thursday, in UTC, so the landfall's week showed its peak days earlier.)"""
    from tscorr.analysis.align import make_grid, series_matrix
    from tscorr.results.charts import _as_analysed
    from tscorr.units import parse_duration

    zone, size = "America/New_York", parse_duration(bucket)
    points = sandy.query(
        "SELECT s.series_id, p.ts, p.value FROM points p JOIN series s USING (series_id) "
        "WHERE s.name = '311:total' ORDER BY p.ts"
    )
    drawn = _as_analysed(points.select("ts", "value"), {"agg": "sum", "kind": "count"}, size, zone)
    grid = make_grid(points["ts"].min(), points["ts"].max(), size, zone)
    aligned = series_matrix(points, [int(points["series_id"][0])], ["sum"], grid)[0]
    assert drawn["ts"].to_list() == grid.starts.to_list()
    np.testing.assert_array_equal(drawn["value"].to_numpy(), aligned)


MEASURE = """
<script>
function boxes(id) {
  return [...document.querySelectorAll('[id="' + id + '"]')].map(e => e.getBoundingClientRect());
}
function points(id) {  // points along each path of the element, in page coordinates
  const out = [];
  for (const g of document.querySelectorAll('[id="' + id + '"]')) {
    for (const path of g.querySelectorAll('path')) {
      const m = path.getScreenCTM(), n = path.getTotalLength();
      for (let i = 0; i <= 200; i++) {
        const p = path.getPointAtLength(n * i / 200);
        out.push([m.a * p.x + m.c * p.y + m.e, m.b * p.x + m.d * p.y + m.f]);
      }
    }
  }
  return out;
}
const result = {};
for (const fig of document.querySelectorAll('figure')) {
  const name = fig.getAttribute('data-name');
  const scope = (id) => [...fig.querySelectorAll('[id="' + id + '"]')];
  const marker = scope('event-marker').map(e => e.getBoundingClientRect());
  const windows = scope('window').map(e => e.getBoundingClientRect());
  const inside = marker.length > 0 && marker.every(m => windows.some(
      w => m.left + m.width / 2 >= w.left - 0.5 && m.left + m.width / 2 <= w.right + 0.5));
  const labels = scope('event-label').map(e => e.getBoundingClientRect());
  const line = [];
  for (const g of scope('observed')) for (const path of g.querySelectorAll('path')) {
    const m = path.getScreenCTM(), n = path.getTotalLength();
    for (let i = 0; i <= 4000; i++) {
      const p = path.getPointAtLength(n * i / 4000);
      line.push([m.a * p.x + m.c * p.y + m.e, m.b * p.x + m.d * p.y + m.f]);
    }
  }
  const covered = labels.some(b => line.some(
      ([x, y]) => x > b.left + 1 && x < b.right - 1 && y > b.top + 1 && y < b.bottom - 1));
  // the event's own bucket: inside the window, holding the marker, and the observed line
  // flat across it (a daily value is drawn as the span of its day, not a point at midnight)
  const own = scope('event-bucket').map(e => e.getBoundingClientRect());
  const bucketOk = own.length > 0 && own.every(b =>
      windows.some(w => b.left >= w.left - 0.5 && b.right <= w.right + 0.5) &&
      marker.some(m => m.left + m.width / 2 >= b.left && m.left + m.width / 2 <= b.right));
  const b = own[0] || {left: 0, right: 0};
  const at = (x) => line.filter(([px, py]) => Math.abs(px - x) < 0.6).map(([px, py]) => py);
  const q1 = at(b.left + 0.25 * (b.right - b.left)), q3 = at(b.left + 0.75 * (b.right - b.left));
  const flat = q1.length > 0 && q3.length > 0 &&
      Math.abs(Math.min(...q1) - Math.min(...q3)) < 1.0;
  const expected = scope('expected').flatMap(g => [...g.querySelectorAll('path')])
      .reduce((s, p) => s + p.getTotalLength(), 0);
  result[name] = {inside, bucketOk, flat, covered, labels: labels.length, line: line.length, expected};
}
document.getElementById('out').textContent = JSON.stringify(result);
</script>
"""


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_event_charts_as_a_browser_draws_them(sandy: Store, tmp_path: Path) -> None:
    """Sandy's daily 311 calls (days in New York; landfall 19:30 local, --before 0s): in the
    series chart and the impact chart the event's marker and the peak day's value lie inside
    the shaded window (daily points drawn at midnight had put the peak outside it), no event
    label covers a point of the observed line, and the impact chart draws the expected
    level. Measured by Chromium on the SVG the report inlines (a page of its own, with a
    script to measure)."""
    from tscorr.results import charts

    run = run_respond(
        sandy,
        RespondParams(  # type: ignore[arg-type]
            events="kind = 'hurricane'", series="311:total", bucket="1d", before="0s",
            after="1d", baseline="pre:3d", placebos=0,
        ),
    )
    view = load_run(sandy, run.run_id)
    e, s = view.peaks.select("event_set", "series").row(0)
    figures = {
        "series": charts.svg(charts.series_chart(sandy, view, e, s)),
        "impact": charts.svg(charts.impact(sandy, view, e, s)),
    }
    page = tmp_path / "measure.html"
    page.write_text(
        "<!DOCTYPE html><html><body>"
        + "".join(f'<figure data-name="{k}">{v}</figure>' for k, v in figures.items())
        + '<pre id="out"></pre>'
        + MEASURE
        + "</body></html>"
    )
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'<pre id="out">(.*?)</pre>', dom.stdout, re.S)
    assert found and found.group(1), dom.stdout[-2000:]
    result = json.loads(html.unescape(found.group(1)))
    for name in ("series", "impact"):
        got = result[name]
        assert got["inside"] and got["bucketOk"] and got["flat"], (name, got)
        assert got["labels"] >= 1 and got["line"] > 0 and not got["covered"], (name, got)
    assert result["impact"]["expected"] > 10  # the expected level is drawn, not an empty path


def test_an_event_study_is_drawn_as_observed_against_expected(sandy: Store, tmp_path: Path) -> None:
    """``plot`` of a respond run draws the impact chart unless asked otherwise."""
    from tscorr.results.pictures import plot

    path, what = plot(sandy, 1, tmp_path / "auto.png")
    assert what.startswith("impact of 311:total")
    pixels = np.asarray(Image.open(path).convert("L"))
    assert pixels.shape[0] > 600 and pixels.std() > 10  # three panels, drawn
