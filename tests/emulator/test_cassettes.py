"""Every recording of real Google Sheets traffic must replay identically on the emulator."""

from __future__ import annotations

import pytest

from sheets_cassettes import cassette_files, replay

RESULTS: dict[str, object] = {}


def test_cassettes_are_present():
    # Guards against a silently empty parametrisation.
    assert len(cassette_files()) >= 70


@pytest.mark.parametrize("name", cassette_files())
def test_replay(name):
    result = replay(name)
    RESULTS[name] = result
    print(f"\n{name}: {result.matched}/{len(result.in_scope)} interactions match")
    failures = [o for o in result.in_scope if not o.matched]
    assert not failures, "\n".join(f"#{o.index} {o.method} {o.uri}\n{o.detail}" for o in failures)

