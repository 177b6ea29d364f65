"""Compiling Feast views into `ViewSpec`s, as they come back from a real registry."""

from __future__ import annotations

import warnings
from datetime import timedelta

from feast import Entity, Field, FileSource, KafkaSource, ValueType
from feast.data_format import JsonFormat
from feast.protos.feast.core.StreamFeatureView_pb2 import (
    StreamFeatureView as StreamFeatureViewProto,
)
from feast.stream_feature_view import StreamFeatureView
from feast.types import Int32, Int64

from featurebank.definitions import compile_view


def _stream_view_from_registry() -> tuple[StreamFeatureView, Entity]:
    """A stream view serialized and read back, as `feast apply` + the registry hand it over."""
    account = Entity(name="account", join_keys=["account_id"], value_type=ValueType.INT64)
    events = KafkaSource(
        name="account_events", topic="account-events", kafka_bootstrap_servers="localhost:9092",
        timestamp_field="ts",
        message_format=JsonFormat(schema_json="account_id BIGINT, clicks INT"),
        batch_source=FileSource(name="account_history", path="/tmp/x.parquet",
                                timestamp_field="ts"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        view = StreamFeatureView(
            name="account_live", entities=[account], ttl=timedelta(hours=1), source=events,
            schema=[Field(name="account_id", dtype=Int64), Field(name="clicks", dtype=Int32)],
        )
        proto = StreamFeatureViewProto()
        proto.CopyFrom(view.to_proto())
        return StreamFeatureView.from_proto(proto), account


def test_a_stream_views_join_key_is_not_one_of_its_features() -> None:
    view, account = _stream_view_from_registry()
    assert "account_id" in [f.name for f in view.features]  # what Feast hands over
    spec = compile_view(view, "p", {"account": account})
    assert list(spec.features) == ["clicks"]
    assert spec.join_key_names == ("account_id",)
