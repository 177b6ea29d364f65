"""The CLI's warning filters silence the known third-party notes and nothing else."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from featurebank.cli.quiet import quiet_known_warnings


@pytest.fixture
def shown() -> Iterator[list[warnings.WarningMessage]]:
    """Warnings that reach the user once the CLI's filters are in (Feast's `once` included)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("once", RuntimeWarning)  # what importing Feast installs
        warnings.simplefilter("once", DeprecationWarning)
        warnings.simplefilter("default")
        quiet_known_warnings()
        yield caught


def warn_from(module: str, message: str, category: type[Warning]) -> None:
    warnings.warn_explicit(message, category, filename=f"{module}.py", lineno=1, module=module)


def test_known_third_party_warnings_are_silenced(shown: list[warnings.WarningMessage]) -> None:
    warn_from("feast.stream_feature_view", "Stream feature views are experimental features in "
              "alpha development. Some functionality may still be unstable", RuntimeWarning)
    warn_from("feast.feature_store", "On demand feature view is an experimental feature. This "
              "API is stable", RuntimeWarning)
    warn_from("featurebank.training.spine", "Arrow output on a DB-API result makes an extra "
              "copy of the rows, use con.sql(query).to_arrow_table() instead.", UserWarning)
    warn_from("kafka.protocol.schemas.load_json", "read_text is deprecated", DeprecationWarning)
    assert [str(w.message) for w in shown] == []


def test_other_warnings_still_show(shown: list[warnings.WarningMessage]) -> None:
    warn_from("feast.feature_store", "Saving dataset is an experimental feature", RuntimeWarning)
    warn_from("featurebank.offline", "Stream feature views are experimental", RuntimeWarning)
    warn_from("featurebank.training.spine", "'x' is used as a string value, and it is also a "
              "column name", UserWarning)
    assert len(shown) == 3


def test_python_warning_options_turn_the_filters_off(monkeypatch: pytest.MonkeyPatch,
                                                     shown: list[warnings.WarningMessage]) -> None:
    monkeypatch.setattr("sys.warnoptions", ["default"])
    warnings.resetwarnings()
    warnings.simplefilter("default")
    quiet_known_warnings()
    warn_from("feast.feature_store", "On demand feature view is an experimental feature",
              RuntimeWarning)
    assert len(shown) == 1
