"""On-demand feature views at lookup time, computed by Feast's own transformation code.

They are rare on the hot path and their semantics belong to Feast, so correctness wins over
speed here: inputs become an Arrow table with the column names Feast's transformations expect.
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

from featurebank.codec.columns import Values, as_list
from featurebank.errors import InvalidInput
from server.lookup.plan import LookupPlan

EPOCH_TEXT = "1970-01-01T00:00:00Z"


def _native(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def compute_on_demand(plan: LookupPlan, entities: dict[str, list[Any]], count: int,
                      decoded: list[list[list[tuple[Values, list[str], list[str]]]]]
                      ) -> dict[str, tuple[list[Any], list[str], list[str]]]:
    """Columns for every on-demand output of the plan, keyed by output name."""
    inputs: dict[str, list[Any]] = {k: list(v) for k, v in entities.items()}
    for g, group in enumerate(plan.groups):
        for s, slot in enumerate(group.slots):
            for index, spec in enumerate(slot.features):
                # One name per input, as Feast's response table would have it: duplicated
                # columns (short and full) make pandas transformations see DataFrames.
                name = (f"{slot.view.name}__{spec.name}" if plan.full_feature_names
                        else spec.name)
                inputs.setdefault(name, as_list(decoded[g][s][index][0]))
    wanted = {o.name: o for o in plan.outputs if o.kind == "odfv"}
    out: dict[str, tuple[list[Any], list[str], list[str]]] = {}
    for odfv in plan.odfvs:
        try:
            if odfv.mode == "python":
                result = odfv.transform_dict(dict(inputs))
                columns = {name: list(values) if isinstance(values, list) else [values] * count
                           for name, values in result.items()}
            else:
                table = pa.Table.from_pydict(inputs)
                transformed = odfv.transform_arrow(table, plan.full_feature_names)
                columns = {name: transformed.column(name).to_pylist()
                           for name in transformed.column_names}
        except Exception as exc:  # a user transformation failing is a bad-input problem
            raise InvalidInput(
                f"on-demand feature view {odfv.name!r} failed on this input: "
                f"{type(exc).__name__}: {str(exc)[:300]}"
                f"{_request_fields_hint(odfv, inputs)}",
                detail={"on_demand_feature_view": odfv.name},
            ) from exc
        for name, output in wanted.items():
            if output.odfv != odfv.name:
                continue
            candidates = (name, output.odfv_feature, f"{odfv.name}__{output.odfv_feature}")
            column = next((columns[c] for c in candidates if c in columns), None)
            if column is None:
                raise InvalidInput(f"on-demand feature view {odfv.name!r} did not produce "
                                   f"{output.odfv_feature!r}")
            values = [_native(v) for v in column]
            statuses = ["PRESENT" if v is not None else "NULL_VALUE" for v in values]
            out[name] = (values, statuses, [EPOCH_TEXT] * count)
    return out


def _request_fields_hint(odfv: Any, inputs: dict[str, list[Any]]) -> str:
    """Name the request fields and the value types that came, the usual culprit."""
    fields = [f.name for source in odfv.source_request_sources.values() for f in source.schema]
    if not fields:
        return ""
    seen = {name: sorted({type(v).__name__ for v in inputs.get(name, [])}) for name in fields}
    return f" (request fields and the types given: {seen})"
