"""Catalog pages for a name that does not exist suggest close names (issue 8, item 4)."""

from __future__ import annotations

import pytest

from tests.integration.catalog.conftest import ShopApp

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("path", "message"), [
    ("/catalog/feature-views/customer_profil",
     "no feature view named 'customer_profil'; did you mean: customer_profile"),
    ("/catalog/feature-services/fraud_screening_v3",
     "no feature service named 'fraud_screening_v3'; did you mean: fraud_screening_v2"),
    ("/catalog/feature-views/zzzz", "no feature view named 'zzzz'"),
])
def test_an_unknown_catalog_name_suggests_close_ones(shop_app: ShopApp, path: str,
                                                     message: str) -> None:
    response = shop_app.client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == message
