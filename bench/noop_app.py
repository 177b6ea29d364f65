"""The ceiling for the lookup bench: FastAPI under the same uvicorn settings, doing no work.

It reads the same POST body our endpoint reads and answers a constant JSON, so the gap between
this and `/get-online-features` is exactly what the lookup itself costs.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

RESPONSE = b'{"metadata":{"feature_names":[]},"results":[]}'

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/get-online-features")
async def get_online_features(request: Request) -> Response:
    await request.body()
    return Response(RESPONSE, media_type="application/json")
