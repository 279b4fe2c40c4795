"""Transient filter: N consecutive, M sources within a window, suppressed fraction."""

from __future__ import annotations

import pytest

from qualitas.edge_adapters._model import RawHit
from qualitas.edge_adapters.transient import CorroborationFilter


def test_consecutive_hits_corroborate_and_isolated_hits_are_suppressed() -> None:
    f = CorroborationFilter(consecutive=3)
    pattern = [1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 0]  # one real episode among transients
    alarms = [f.observe("k", bool(x), source="aoi", ts=i, value=x) for i, x in enumerate(pattern)]
    fired = [a for a in alarms if a is not None]
    assert len(fired) == 1 and len(fired[0].hits) == 3 and fired[0].how == "consecutive:3"
    s = f.stats()
    assert s.raw_hits == 8 and s.alarms == 1
    assert s.passed == 4  # three of evidence plus one while latched
    assert s.suppressed == 4  # 1, 1+1, and the last 1 after re-arming... resolved on the next miss
    assert s.suppressed_fraction == pytest.approx(0.5)


def test_two_independent_sources_within_the_window() -> None:
    f = CorroborationFilter(min_sources=2, window_s=1.0)
    assert f.hit(RawHit("void", "cam1", 0.0, 0.9)) is None
    assert f.hit(RawHit("void", "cam1", 0.5, 0.9)) is None  # same source does not corroborate
    alarm = f.hit(RawHit("void", "cam2", 0.9, 0.95))
    assert alarm is not None and {h.source for h in alarm.hits} == {"cam1", "cam2"}
    # too far apart: the first hit expires and is suppressed
    g = CorroborationFilter(min_sources=2, window_s=1.0)
    assert g.hit(RawHit("void", "cam1", 0.0, 0.9)) is None
    assert g.hit(RawHit("void", "cam2", 5.0, 0.9)) is None
    assert g.stats().suppressed == 1


def test_one_source_is_not_independent() -> None:
    with pytest.raises(ValueError):
        CorroborationFilter(min_sources=1)
