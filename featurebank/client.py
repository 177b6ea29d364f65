"""A small Python client for a Feature Bank server (httpx).

    client = Client("http://localhost:8000", api_key="...")
    frame = client.training_set(entity_df, features=["account_stats:balance"])
    online = client.online_features({"driver_id": [1, 2]}, features=[...])

Entity rows go up as Parquet (types and time zones survive the trip); the server answers 202,
the client polls the job and downloads the Parquet result. Error envelopes come back as the
same `featurebank.errors` classes the server raised, with its message.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from featurebank.errors import (
    AuthError,
    Conflict,
    DependencyUnavailable,
    FeatureBankError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    ScopeDenied,
)
from featurebank.training.entity_columns import mixed_types

_BY_STATUS: dict[int, type[FeatureBankError]] = {
    401: AuthError, 403: ScopeDenied, 404: NotFound, 409: Conflict, 413: LimitExceeded,
    422: InvalidInput, 503: DependencyUnavailable,
}


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """The frame as Arrow; a column mixing kinds of values is an error naming it and the rows
    (Arrow alone says only "Expected bytes, got a 'int' object")."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        for name in frame.columns:
            values = [None if pd.isna(v) else v for v in frame[name].tolist()]
            try:
                pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as column_exc:
                raise mixed_types(str(name), values, str(column_exc)) from None
        raise InvalidInput(f"entity rows cannot be sent as Parquet: {exc}") from None


class Client:
    def __init__(self, url: str, api_key: str | None = None, *, timeout: float = 30.0,
                 http: httpx.Client | None = None) -> None:
        """`http` lets tests (or callers with their own pool/transport) supply the client."""
        headers = {"x-api-key": api_key} if api_key else {}
        self._http = http or httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        self._http.headers.update(headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise DependencyUnavailable(f"Feature Bank at {self._http.base_url} did not answer: "
                                        f"{type(exc).__name__}") from exc
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                message, detail = str(error["message"]), error.get("detail")
            except (ValueError, KeyError, TypeError):
                message, detail = f"HTTP {response.status_code}", None
            kind = _BY_STATUS.get(response.status_code, FeatureBankError)
            raise kind(message, detail=detail)
        return response

    def online_features(self, entities: dict[str, list[Any]], *,
                        features: list[str] | None = None, feature_service: str | None = None,
                        full_feature_names: bool = False) -> dict[str, list[Any]]:
        """Latest values as {name: [values]}, entity columns included (Feast's response)."""
        body: dict[str, Any] = {"entities": entities, "full_feature_names": full_feature_names}
        if features is not None:
            body["features"] = features
        if feature_service is not None:
            body["feature_service"] = feature_service
        data = self._request("POST", "/get-online-features", json=body).json()
        names = data["metadata"]["feature_names"]
        return {name: result["values"] for name, result in zip(names, data["results"], strict=True)}

    def submit_training_set(self, entities: pd.DataFrame | pa.Table | str | Path, *,
                            features: list[str] | None = None,
                            feature_service: str | None = None,
                            full_feature_names: bool = False,
                            timestamp_column: str = "event_timestamp") -> str:
        """Upload entity rows and start a job; returns its id."""
        if isinstance(entities, (str, Path)):
            path = Path(entities)
            payload, name = path.read_bytes(), path.name
        else:
            table = entities if isinstance(entities, pa.Table) else _arrow(entities)
            buffer = io.BytesIO()
            pq.write_table(table, buffer)
            payload, name = buffer.getvalue(), "entities.parquet"
        form: dict[str, str] = {"full_feature_names": str(full_feature_names).lower(),
                                "timestamp_column": timestamp_column}
        if features is not None:
            form["features"] = ",".join(features)
        if feature_service is not None:
            form["feature_service"] = feature_service
        response = self._request("POST", "/training-sets", data=form,
                                 files={"entities": (name, payload, "application/octet-stream")})
        return str(response.json()["id"])

    def training_set_status(self, set_id: str) -> dict[str, Any]:
        status: dict[str, Any] = self._request("GET", f"/training-sets/{set_id}").json()
        return status

    def wait(self, set_id: str, *, timeout: float = 600.0, poll: float = 0.2) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.training_set_status(set_id)
            if status["status"] == "succeeded":
                return status
            if status["status"] == "failed":
                error = status.get("error") or {}
                if error.get("code") == "owner_lost":  # not the request's fault: resubmit it
                    raise DependencyUnavailable(f"training set {set_id} failed: "
                                                f"{error.get('message')}", detail=error)
                raise InvalidInput(f"training set {set_id} failed: {error.get('message')}",
                                   detail=error)
            if time.monotonic() > deadline:
                raise DependencyUnavailable(f"training set {set_id} not ready after {timeout}s "
                                            f"({status.get('phase')}, {status.get('progress')})")
            time.sleep(poll)
            poll = min(poll * 1.5, 2.0)

    def download(self, set_id: str) -> pa.Table:
        response = self._request("GET", f"/training-sets/{set_id}/data",
                                 params={"format": "parquet"})
        return pq.read_table(pa.BufferReader(response.content))

    def training_set(self, entities: pd.DataFrame | pa.Table | str | Path, *,
                     features: list[str] | None = None, feature_service: str | None = None,
                     full_feature_names: bool = False, timestamp_column: str = "event_timestamp",
                     timeout: float = 600.0, as_arrow: bool = False) -> pd.DataFrame | pa.Table:
        """Point-in-time correct features for every entity row, in input order."""
        set_id = self.submit_training_set(entities, features=features,
                                          feature_service=feature_service,
                                          full_feature_names=full_feature_names,
                                          timestamp_column=timestamp_column)
        self.wait(set_id, timeout=timeout)
        table = self.download(set_id)
        return table if as_arrow else table.to_pandas()
