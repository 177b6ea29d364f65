"""`UnknownName` names every unknown name, each with close matches only (issue 8, item 4)."""

from __future__ import annotations

from featurebank.errors import MAX_NAME_CHARS, MAX_NAMED, UnknownName, close_matches, did_you_mean

REFS = ["stats:rate", "stats:trips", "stats:rating_count", "profile:tier", "profile:city",
        "adjusted:rate_plus_bonus"]
MANY = [f"service_{i}" for i in range(20)] + ["checkout_features"]


def test_every_unknown_name_is_named_with_its_own_close_matches() -> None:
    error = UnknownName("feature", "stats:rat", "profile:teir", "ghost:zz", known=REFS)
    assert error.names == ["stats:rat", "profile:teir", "ghost:zz"]
    assert "'stats:rat' (did you mean: stats:rate" in error.message
    assert "'profile:teir' (did you mean: profile:tier)" in error.message
    assert "'ghost:zz'" in error.message
    assert error.detail["names"] == ["stats:rat", "profile:teir", "ghost:zz"]
    assert error.detail["suggestions"]["profile:teir"] == ["profile:tier"]
    assert error.detail["suggestions"]["ghost:zz"] == []


def test_the_shared_view_prefix_does_not_make_every_feature_close() -> None:
    # difflib over whole refs rated 'stats:zzzz' close to 'stats:rate' (same 6-char prefix).
    assert close_matches("stats:zzzz", REFS) == []
    assert close_matches("stats:trip", REFS) == ["stats:trips"]


def test_an_unknown_view_suggests_the_same_feature_of_a_close_view() -> None:
    assert close_matches("stat:rate", REFS) == ["stats:rate"]
    assert close_matches("Stats:Rate", REFS) == ["stats:rate"]


def test_without_a_close_match_a_large_pool_is_not_listed_at_random() -> None:
    assert did_you_mean("zzz", MANY) == ""
    message = UnknownName("feature service", "zzz", known=MANY).message
    assert message == "unknown feature service 'zzz'"
    assert did_you_mean("checkout_feature", MANY) == "did you mean: checkout_features"


def test_a_small_pool_is_listed_whole_when_nothing_is_close() -> None:
    assert did_you_mean("stats:zzzz", REFS) == "known: stats:rate, stats:trips, stats:rating_count"


def test_one_name_keeps_the_single_form() -> None:
    message = UnknownName("feature", "stats:rat", known=REFS).message
    assert message.startswith("unknown feature 'stats:rat'; did you mean: stats:rate")


def test_a_shared_suffix_alone_is_no_match_beside_a_real_one() -> None:
    views = ["account_stats", "region_stats", "pair_stats"]
    assert close_matches("acount_stats", views) == ["account_stats"]
    assert close_matches("stats_v", ["stats_v1", "stats_v2", "other"]) == ["stats_v1", "stats_v2"]


def test_a_flood_of_unknown_names_is_bounded() -> None:
    # A body may carry thousands of names; each matched against the registry would make the
    # error the costly part of the request. The first MAX_NAMED are named and matched.
    flood = [f"stats:rat{i}" for i in range(5000)]
    error = UnknownName("feature", *flood, known=REFS)
    assert len(error.names) == MAX_NAMED
    assert error.detail["count"] == 5000
    assert error.message.endswith(f" and {5000 - MAX_NAMED} more")
    long_name = "stats:" + "r" * 100_000
    error = UnknownName("feature", long_name, known=REFS)
    assert error.names == [long_name[:MAX_NAME_CHARS] + "…"]
    assert close_matches(long_name, REFS) == []
