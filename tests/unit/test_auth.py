"""API key parsing and checks: scopes imply, secrets never appear in errors or reprs."""

from __future__ import annotations

import pytest

from featurebank.auth import Scope, authenticate, parse_api_keys


def test_scopes_imply_weaker_ones() -> None:
    keys = parse_api_keys("app:aaaaaaaaaaaaaaaa:read, ops:bbbbbbbbbbbbbbbb:write,"
                          "root:cccccccccccccccc:admin")
    by_name = {k.name: k for k in keys}
    assert by_name["app"].scopes == {Scope.READ}
    assert by_name["ops"].scopes == {Scope.READ, Scope.WRITE}
    assert by_name["root"].allows(Scope.ADMIN)
    assert authenticate(keys, "bbbbbbbbbbbbbbbb") is by_name["ops"]
    assert authenticate(keys, "nope") is None
    assert "bbbbbbbbbbbbbbbb" not in repr(keys)


@pytest.mark.parametrize(("spec", "needle"), [
    ("app:short:read", "at least 16"),
    ("app:aaaaaaaaaaaaaaaa:root", "'root'"),
    ("app:aaaaaaaaaaaaaaaa", "entry #1"),
    ("a:aaaaaaaaaaaaaaaa:read,a:bbbbbbbbbbbbbbbb:read", "twice"),
])
def test_bad_specs_name_the_problem_not_the_secret(spec: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle) as info:
        parse_api_keys(spec)
    assert "aaaaaaaaaaaaaaaa" not in str(info.value)
