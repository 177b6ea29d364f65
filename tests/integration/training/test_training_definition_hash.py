"""Acceptance finding F9: a manifest re-run in a new process reported changed definitions for
any training set with an on-demand or stream view, though nothing was re-applied.

Feast stamps a nested request source's `meta` with "now" on every `to_proto`, and fills a
stream view's features from a set (order varies with the process's hash seed). The re-run
below happens in fresh processes with different hash seeds, as the CLI's would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from featurebank.definitions import load_definitions
from featurebank.feast_repo import open_store
from featurebank.training import manifest as manifests
from featurebank.training.features import definition_hash, select_features
from featurebank.training.spine import as_table, prepare_spine
from tests.integration.training.shopfin_repo import NOW, ShopfinRepo

pytestmark = pytest.mark.integration
FEATURES = ["cust_merchant_stats:spend_30d", "basket_ratio:basket_vs_avg", "card_txn_live:mcc",
            "risk_flags:score_x2"]
RERUN = """
import sys, warnings
warnings.simplefilter("ignore")
from pathlib import Path
from featurebank.settings import Settings
from featurebank.feast_repo import open_store
from featurebank.definitions import load_definitions
from featurebank.training import manifest as manifests
settings = Settings(_env_file=None, FEATUREBANK_REPO=sys.argv[1], FEATUREBANK_DATA_DIR=sys.argv[2],
                    REDIS_URL=sys.argv[3])
report = manifests.rerun(Path(sys.argv[4]), load_definitions(open_store(settings)),
                         Path(sys.argv[5]))
print("IDENTICAL" if report.identical else "DIFFERENT")
for change in report.changes:
    print("CHANGE", change)
"""


APPLY = """
import sys, warnings
warnings.simplefilter("ignore")
from featurebank.settings import Settings
from featurebank.feast_repo import apply_repo
apply_repo(Settings(_env_file=None, FEATUREBANK_REPO=sys.argv[1],
                    FEATUREBANK_DATA_DIR=sys.argv[2], REDIS_URL=sys.argv[3]))
"""


def _apply_elsewhere(shopfin: ShopfinRepo) -> None:
    """`featurebank apply` in a fresh process (this one has the definitions module cached)."""
    settings = shopfin.settings
    done = subprocess.run(
        [sys.executable, "-c", APPLY, str(shopfin.repo), str(settings.data_path),
         settings.redis_url], capture_output=True, text=True, timeout=120, check=False,
        cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0, done.stderr[-2000:]


def _rerun_elsewhere(shopfin: ShopfinRepo, manifest: Path, out: Path, seed: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    settings = shopfin.settings
    done = subprocess.run(
        [sys.executable, "-c", RERUN, str(shopfin.repo), str(settings.data_path),
         settings.redis_url, str(manifest), str(out)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
        cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


def test_rerun_in_new_processes_reports_no_definition_change(shopfin: ShopfinRepo,
                                                             tmp_path: Path) -> None:
    definitions = load_definitions(open_store(shopfin.settings))
    selection = select_features(definitions, features=FEATURES)
    spine = prepare_spine(as_table({"customer_id": ["C-0001", "C-0002"], "merchant_id": [1, 2],
                                    "basket_amount": [10.0, 20.0],
                                    "event_timestamp": [NOW, NOW]}), selection, max_rows=10)
    manifests.build(tmp_path / "set", "f9" * 16, definitions, selection, spine,
                    timestamp_column="event_timestamp")
    path = tmp_path / "set" / manifests.MANIFEST_FILE
    for seed in ("1", "2"):
        lines = _rerun_elsewhere(shopfin, path, tmp_path / f"again{seed}.parquet", seed)
        assert lines == ["IDENTICAL"], lines

    _apply_elsewhere(shopfin)  # re-applying the same code re-pickles the UDFs
    lines = _rerun_elsewhere(shopfin, path, tmp_path / "again3.parquet", "3")
    assert lines == ["IDENTICAL"], lines


def test_hash_still_sees_a_changed_transformation(shopfin: ShopfinRepo) -> None:
    before = load_definitions(open_store(shopfin.settings))
    selection = select_features(before, features=FEATURES)
    first = definition_hash(before, selection)
    source = shopfin.repo / "definitions.py"
    source.write_text(source.read_text().replace("s * 2.0 if", "s * 3.0 if"))
    _apply_elsewhere(shopfin)
    after = load_definitions(open_store(shopfin.settings))
    assert definition_hash(after, select_features(after, features=FEATURES)) != first
