"""Owning teams and the tag vocabulary the catalog filters on.

Every object carries `owner` (a team address people can write to) and the same tag keys, so
search and lineage pages can group by team, domain, PII class and update cadence.
"""

DOMAIN_EMAIL = "ridehail.example"

MARKETPLACE_ML = "marketplace-ml"  # dispatch: which driver gets which request
PRICING_ML = "pricing-ml"  # surge and zone-level supply/demand
MAPPING_ML = "mapping-ml"  # ETAs and trip quotes
TRUST_SAFETY_ML = "trust-safety-ml"  # payment fraud and account abuse
RIDER_GROWTH = "rider-growth"  # rider lifecycle and loyalty


def owner(team: str) -> str:
    """The team's mailing list, which is what Feast's `owner` field holds."""
    return f"{team}@{DOMAIN_EMAIL}"


def tags(team: str, domain: str, *, pii: bool, cadence: str, **extra: str) -> dict[str, str]:
    """Standard tags; `pii` is explicit so nobody forgets to classify a new object."""
    return {
        "team": team,
        "domain": domain,
        "pii": "true" if pii else "false",
        "cadence": cadence,
        **extra,
    }
