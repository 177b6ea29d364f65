"""Kafka topics with live marketplace events, each backed by a Parquet history directory.

Messages are JSON objects holding the entity join key, the features and `event_timestamp`
(ISO-8601 or epoch seconds). `schema_json` is the Spark DDL form Feast's JsonFormat expects.
The stream processor appends the rows it writes online as new Parquet files to the batch
source's directory (with `created` set to processing time), so streamed features can be joined
for training and backfilled; the demo generator seeds each directory with `history-*.parquet`.
"""

from data_sources import EVENT_TIMESTAMP, parquet_source
from feast import KafkaSource
from feast.data_format import JsonFormat
from paths import KAFKA_BOOTSTRAP_SERVERS, parquet_glob
from teams import MARKETPLACE_ML, PRICING_ML, TRUST_SAFETY_ML, owner, tags

driver_state_events = KafkaSource(
    name="driver_state_events",
    topic="driver-state-events",
    kafka_bootstrap_servers=KAFKA_BOOTSTRAP_SERVERS,
    timestamp_field=EVENT_TIMESTAMP,
    message_format=JsonFormat(
        schema_json=(
            "driver_id BIGINT, trips_in_progress INT, minutes_idle FLOAT, "
            "is_available BOOLEAN, current_zone_id STRING, event_timestamp TIMESTAMP"
        )
    ),
    batch_source=parquet_source(
        name="driver_state_events_history",
        path=parquet_glob("streams/driver_state_events"),
        description="Offline history of driver state events, appended by the stream processor.",
        team=MARKETPLACE_ML,
        domain="driver",
        pii=True,
        cadence="streaming",
    ),
    description=(
        "Driver app state changes (going online, accepting, finishing a trip) and a heartbeat "
        "every few minutes while online, published by the driver app gateway."
    ),
    owner=owner(MARKETPLACE_ML),
    tags=tags(MARKETPLACE_ML, "driver", pii=True, cadence="streaming"),
)

zone_demand_events = KafkaSource(
    name="zone_demand_events",
    topic="zone-demand-events",
    kafka_bootstrap_servers=KAFKA_BOOTSTRAP_SERVERS,
    timestamp_field=EVENT_TIMESTAMP,
    message_format=JsonFormat(
        schema_json=(
            "zone_id STRING, open_requests INT, available_drivers INT, "
            "demand_supply_ratio DOUBLE, p50_pickup_eta_s FLOAT, event_timestamp TIMESTAMP"
        )
    ),
    batch_source=parquet_source(
        name="zone_demand_events_history",
        path=parquet_glob("streams/zone_demand_events"),
        description="Offline history of zone demand snapshots, appended by the stream processor.",
        team=PRICING_ML,
        domain="zone",
        pii=False,
        cadence="streaming",
    ),
    description=(
        "Per-zone snapshot of open requests and idle drivers, emitted by the dispatch engine "
        "every two minutes for every zone."
    ),
    owner=owner(PRICING_ML),
    tags=tags(PRICING_ML, "zone", pii=False, cadence="streaming"),
)

payment_events = KafkaSource(
    name="payment_events",
    topic="payment-events",
    kafka_bootstrap_servers=KAFKA_BOOTSTRAP_SERVERS,
    timestamp_field=EVENT_TIMESTAMP,
    message_format=JsonFormat(
        schema_json=(
            "rider_id BIGINT, last_payment_amount_usd DOUBLE, last_payment_failed BOOLEAN, "
            "failed_payments_1h INT, card_country STRING, event_timestamp TIMESTAMP"
        )
    ),
    batch_source=parquet_source(
        name="payment_events_history",
        path=parquet_glob("streams/payment_events"),
        description="Offline history of payment attempts, appended by the stream processor.",
        team=TRUST_SAFETY_ML,
        domain="rider",
        pii=True,
        cadence="streaming",
    ),
    description=(
        "Every card authorization attempt at trip end, published by the payments service with "
        "the rider's failures over the trailing hour."
    ),
    owner=owner(TRUST_SAFETY_ML),
    tags=tags(TRUST_SAFETY_ML, "rider", pii=True, cadence="streaming"),
)
