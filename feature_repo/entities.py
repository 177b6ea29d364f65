"""The marketplace's three entities: who drives, who rides, and where."""

from feast import Entity, Field, ValueType
from feast.types import Int64, String
from teams import MARKETPLACE_ML, PRICING_ML, RIDER_GROWTH, owner, tags

driver = Entity(
    name="driver",
    join_keys=["driver_id"],
    value_type=ValueType.INT64,
    description="A driver partner account; driver_id is the numeric id from the driver backend.",
    owner=owner(MARKETPLACE_ML),
    tags=tags(MARKETPLACE_ML, "driver", pii=False, cadence="static"),
)

rider = Entity(
    name="rider",
    join_keys=["rider_id"],
    value_type=ValueType.INT64,
    description="A rider account; rider_id is the numeric account id from the rider app backend.",
    owner=owner(RIDER_GROWTH),
    tags=tags(RIDER_GROWTH, "rider", pii=True, cadence="static"),
)

zone = Entity(
    name="zone",
    join_keys=["zone_id"],
    value_type=ValueType.STRING,
    description=(
        "A pricing and dispatch zone: a fixed polygon of a city, keyed by a string such as "
        "'sfo-007' (city code and zone number)."
    ),
    owner=owner(PRICING_ML),
    tags=tags(PRICING_ML, "zone", pii=False, cadence="static"),
)


# Views list their join-key columns in `schema` so `feast apply` never has to open the Parquet
# files to infer them (the data may not have been generated yet).
def driver_id_field() -> Field:
    """The `driver_id` entity column of a view's schema."""
    return Field(name="driver_id", dtype=Int64, description="Driver account id (join key).")


def rider_id_field() -> Field:
    """The `rider_id` entity column of a view's schema."""
    return Field(name="rider_id", dtype=Int64, description="Rider account id (join key).")


def zone_id_field() -> Field:
    """The `zone_id` entity column of a view's schema."""
    return Field(name="zone_id", dtype=String, description="Zone id such as 'sfo-007' (join key).")
