"""Who exists in the demo marketplace, and their stable traits.

Every table draws its values around these per-entity traits (a driver's usual acceptance rate,
a rider's usual fare, a zone's usual demand), which is what makes the history look like many
observations of the same drivers rather than independent noise, and lets models learn something.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from featurebank.demo.timeline import hour_of_day

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Strs = npt.NDArray[np.str_]

# Entities per unit of `scale`: scale=1 is a quick demo, scale=20 is 10,000 drivers.
DRIVERS_PER_SCALE = 500
RIDERS_PER_SCALE = 1000
ZONES_PER_SCALE = 40

CITIES = np.array(["sfo", "nyc", "chi", "sea"])
ZONE_TYPES = np.array(["downtown", "residential", "nightlife", "airport"])
VEHICLE_CLASSES = np.array(["economy", "comfort", "xl", "premium"])
PAYMENT_METHODS = np.array(["card", "wallet", "paypal", "cash"])
PLATFORMS = np.array(["ios", "android", "web"])

# Relative demand and driver supply by UTC hour: a morning and an evening peak, a quiet night.
_HOURS = np.arange(24)
DEMAND_CURVE = (
    0.25
    + 0.75 * np.exp(-0.5 * ((_HOURS - 8) / 1.5) ** 2)
    + 0.9 * np.exp(-0.5 * ((_HOURS - 18) / 2.0) ** 2)
    + 0.35 * np.exp(-0.5 * ((_HOURS - 23) / 1.5) ** 2)
)
SUPPLY_CURVE = 0.3 + 0.7 * np.clip(DEMAND_CURVE / DEMAND_CURVE.max() + 0.15, 0.0, 1.0)


def demand_at(micros: I64) -> F64:
    """Demand in the hour relative to an average hour (mean 1.0, about 2 at the evening peak)."""
    return np.asarray(DEMAND_CURVE[hour_of_day(micros)] / DEMAND_CURVE.mean(), dtype=np.float64)


def supply_at(micros: I64) -> F64:
    """Share of the peak driver supply that is out in the hour (at most 1.0)."""
    return np.asarray(SUPPLY_CURVE[hour_of_day(micros)], dtype=np.float64)


@dataclass(frozen=True)
class Zones:
    ids: Strs
    city: Strs
    zone_type: Strs
    area_km2: F64
    requests_per_hour: F64  # in an average hour
    drivers_per_hour: F64  # at the supply peak
    avg_fare_usd: F64
    peak_hour: I64

    @property
    def count(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Drivers:
    ids: I64
    acceptance: F64
    completion: F64
    cancellation: F64
    online_share: F64  # chance of being online in a peak hour
    trips_per_hour: F64  # while online
    rating: F64
    vehicle_class: Strs
    is_ev: Bools
    tenure_days: I64  # at the end of the history
    lifetime_trips: I64  # at the end of the history
    home_zone: I64  # index into Zones
    second_zone: I64

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def hours_online_per_day(self) -> F64:
        return _hours_online_per_day(self.online_share)

    @property
    def trips_per_day(self) -> F64:
        return self.hours_online_per_day * self.trips_per_hour


@dataclass(frozen=True)
class Riders:
    ids: I64
    account_age_days: I64  # at the end of the history
    trips_per_day: F64
    lifetime_trips: I64
    avg_fare_usd: F64
    payment_method: Strs
    platform: Strs
    is_business: Bools
    rating: F64
    risky: Bools  # the few accounts behind card testing and promo abuse

    @property
    def count(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Population:
    drivers: Drivers
    riders: Riders
    zones: Zones


def _hours_online_per_day(online_share: F64) -> F64:
    """Expected online hours: the peak-hour chance, the mean of the supply curve, ~33 minutes
    online in an hour the driver works at all."""
    return online_share * 24 * float(SUPPLY_CURVE.mean()) * (35.0 / 60.0)


def scaled(per_scale: int, scale: float, minimum: int) -> int:
    return max(minimum, round(per_scale * scale))


def build_population(scale: float, rng: np.random.Generator) -> Population:
    zones = _zones(scaled(ZONES_PER_SCALE, scale, 4), rng)
    drivers = _drivers(scaled(DRIVERS_PER_SCALE, scale, 2), zones, rng)
    riders = _riders(scaled(RIDERS_PER_SCALE, scale, 4), rng)
    return Population(drivers=drivers, riders=riders, zones=zones)


def _zones(n: int, rng: np.random.Generator) -> Zones:
    city_index = np.arange(n) % len(CITIES)
    number = np.arange(n) // len(CITIES) + 1
    ids = np.array([f"{CITIES[c]}-{k:03d}" for c, k in zip(city_index, number, strict=True)])
    # One airport per city (its first zone); the rest a mix of land uses.
    kind = rng.choice(3, size=n, p=[0.3, 0.5, 0.2])
    kind[number == 1] = 3
    airport = kind == 3
    requests = rng.gamma(4.0, 15.0, n) * np.where(airport, 1.6, 1.0)
    return Zones(
        ids=ids,
        city=CITIES[city_index],
        zone_type=ZONE_TYPES[kind],
        area_km2=np.round(rng.uniform(1.5, 12.0, n) * np.where(airport, 2.0, 1.0), 2),
        requests_per_hour=requests,
        drivers_per_hour=requests * rng.uniform(0.8, 1.3, n),
        avg_fare_usd=np.round(rng.normal(17.0, 3.0, n) + np.where(airport, 22.0, 0.0), 2),
        peak_hour=np.where(kind == 2, 23, np.where(rng.random(n) < 0.5, 8, 18)).astype(np.int64),
    )


def _drivers(n: int, zones: Zones, rng: np.random.Generator) -> Drivers:
    cancellation = rng.beta(1.5, 30.0, n)
    tenure = (1 + rng.exponential(420.0, n)).astype(np.int64).clip(1, 3650)
    trips_per_hour = rng.gamma(6.0, 0.3, n)
    online_share = rng.beta(2.5, 2.0, n)
    home = rng.integers(0, zones.count, n)
    second = _other_zone_in_city(home, zones.count, rng)
    daily = _hours_online_per_day(online_share) * trips_per_hour
    return Drivers(
        ids=1001 + np.arange(n, dtype=np.int64),
        acceptance=rng.beta(8.0, 2.0, n),
        completion=np.clip(1.0 - cancellation - rng.beta(1.2, 40.0, n), 0.0, 1.0),
        cancellation=cancellation,
        online_share=online_share,
        trips_per_hour=trips_per_hour,
        rating=4.2 + 0.8 * rng.beta(5.0, 1.6, n),
        vehicle_class=VEHICLE_CLASSES[rng.choice(4, size=n, p=[0.62, 0.2, 0.12, 0.06])],
        is_ev=rng.random(n) < 0.14,
        tenure_days=tenure,
        lifetime_trips=rng.poisson(tenure * daily * 0.8).astype(np.int64),
        home_zone=home,
        second_zone=second,
    )


def _other_zone_in_city(home: I64, zone_count: int, rng: np.random.Generator) -> I64:
    """A second working zone: another zone of the home city, or of the next city if the home
    city has only one. Zone `i` belongs to city `i % len(CITIES)` (see `_zones`)."""
    cities = len(CITIES)
    city, number = home % cities, home // cities
    in_city = (zone_count - city + cities - 1) // cities  # zones of each home's city
    offset = 1 + rng.integers(0, np.maximum(in_city - 1, 1))
    same_city = city + cities * ((number + offset) % in_city)
    return np.where(in_city > 1, same_city, (home + 1) % zone_count).astype(np.int64)


def _riders(n: int, rng: np.random.Generator) -> Riders:
    age = (1 + rng.exponential(500.0, n)).astype(np.int64).clip(1, 3650)
    trips_per_day = rng.gamma(1.2, 0.25, n)
    return Riders(
        ids=500_001 + np.arange(n, dtype=np.int64),
        account_age_days=age,
        trips_per_day=trips_per_day,
        lifetime_trips=rng.poisson(age * trips_per_day).astype(np.int64),
        avg_fare_usd=np.round(rng.lognormal(np.log(18.0), 0.35, n), 2),
        payment_method=PAYMENT_METHODS[rng.choice(4, size=n, p=[0.58, 0.3, 0.08, 0.04])],
        platform=PLATFORMS[rng.choice(3, size=n, p=[0.55, 0.4, 0.05])],
        is_business=rng.random(n) < 0.07,
        rating=4.4 + 0.6 * rng.beta(6.0, 1.5, n),
        risky=rng.random(n) < 0.03,
    )
