"""Every name a user can write for an option, and the bounds of the numbers, declared once.

The kernels dispatch on these names, the requests validate against them and the CLI builds
its choices and help from them (``tests/test_request.py`` checks that all three agree).
This module imports nothing, so ``tscorr --help`` stays fast.
"""

from __future__ import annotations

DEFAULT_DB = "tscorr.duckdb"  # the database file when no --db or TSCORR_DB is given

# analysis
ESTIMATORS = ("ccf", "pearson", "spearman")
TESTS = ("surrogate", "prewhiten", "white", "none")
TRANSFORMS = ("none", "log1p", "diff", "log-diff", "seasonal-diff", "zscore")
ENCODINGS = ("impulse", "count", "weight", "step", "decay:HALF_LIFE")
INTERVALS = ("t", "bootstrap")
BASELINES = ("prev-days:N", "same-weekday:K", "pre:DURATION")
BY = ("kind", "name")
# which xcorr rows are stored: every lag of every pair, or each pair's peak lag (and every lag
# of the discoveries); auto: every lag while the run has at most KEEP_ALL_ROWS of them
KEEPS = ("auto", "all", "peaks")
# where an xcorr's blocks run: this machine's processes, or a Dask cluster (tscorr.analysis.engine)
ENGINES = ("local", "dask")
KEEP_ALL_ROWS = 1_000_000
DISCOVERY_Q = 0.05  # --keep peaks still stores every lag of pairs with q_peak at or below this
SHOWN_DOWN_TO = 1e-12  # p- and q-values are stored as computed, shown as "< 1e-12" below

# loading
SERIES_KINDS = ("count", "level", "censored")
AGGS = ("sum", "mean", "last", "max")
DATE_ORDERS = ("auto", "mdy", "dmy")
FORMS = ("auto", "long", "wide", "events")

# results
EXPORT_FORMATS = ("csv", "tsv", "parquet", "json", "ndjson", "md", "html")
RESULT_TABLES = ("xcorr", "peaks", "responses", "response_summary", "spikes", "explanations")
OUTPUTS = ("table", "json", "csv", "nl")  # how a command prints its rows

# bounds: beyond these a run would take hours or all the memory
LIMITS = {"placebos": 10_000, "bootstrap": 100_000, "surrogates": 10_000_000}
MAX_BASELINE = 1000  # days, weeks or buckets in one baseline
SQL_SECONDS = 3600.0  # how long 'tscorr sql' may run unless --timeout says otherwise


# series in one batch at most: a batch is the unit of work of one process and of an engine's
# task (tscorr.analysis.engine), so that both cut the same blocks (the kernels work in chunks of rows
# from a block's first row, and BLAS may round a row's products differently in another chunk).
# 2,000 hourly series x 10 sets at +-168 lags: 256 a batch took 3.8-4.1 s at 717 MB in one
# process, 1,024 3.3-3.4 s at 1.0 GB (4,096: 3.1 s at 1.4 GB)
BATCH_ROWS = 1024


def listed(names: tuple[str, ...]) -> str:
    """``a, b or c``: for help texts and messages."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
