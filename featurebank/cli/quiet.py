"""Third-party warnings that tell a Feature Bank user nothing, filtered where the CLI starts.

Each filter names one category and the message (or module) it silences, so any other warning
still shows. Feast turns on `once` filters for RuntimeWarning and DeprecationWarning when it is
imported, and those sit in front of anything installed earlier: Feast is imported first here so
ours win. Child processes of `up` are this same CLI, so they get the same filters. Running
Python with `-W` (or `PYTHONWARNINGS`) shows everything again, for whoever debugs.
"""

from __future__ import annotations

import sys
import warnings

KNOWN_WARNINGS: tuple[tuple[type[Warning], str, str], ...] = (
    # DuckDB 2 nudges every DB-API `.to_arrow_table()` towards `con.sql()`; ours are
    # parameterized queries that cannot use `con.sql()`, and the copy is accounted for.
    (UserWarning, r"Arrow output on a DB-API result makes an extra copy", ""),
    # Feast flags stream, batch and on-demand views as experimental at every definition load.
    (RuntimeWarning, r"(Stream|Batch) feature views are experimental"
                     r"|On demand feature view is an experimental feature", r"feast\."),
    # Feast re-enables DeprecationWarning for every module (Python hides it outside __main__):
    # notes for library authors (kafka-python, importlib.resources), not for users.
    (DeprecationWarning, "", ""),
)


def quiet_known_warnings() -> None:
    """Install the filters above in front of Feast's, unless `-W`/PYTHONWARNINGS was given."""
    if sys.warnoptions:
        return
    import feast  # noqa: F401  (its import-time filters must already be in place)

    for category, message, module in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
