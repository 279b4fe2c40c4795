"""Transient filter: a raw hit becomes an alarm only when it is corroborated.

Two ways to corroborate, per key (one key per thing judged, e.g. ``weld.temperature/nelson1``
or a rule id):

- ``consecutive``: the condition held on N consecutive evaluations (a miss resets);
- ``sources``: at least M distinct sources hit within ``window_s`` seconds
  (two cameras, or a camera and a PLC signal, agreeing).

After an alarm the key is latched: further hits belong to the same episode and raise
no new alarm until a miss (``consecutive``) or a quiet window (``sources``) re-arms
it. Every raw hit ends up *passed* (evidence of an alarm), *suppressed* (it never got
corroborated: a transient), or still *pending*; :attr:`FilterStats.suppressed_fraction`
is the share of resolved raw hits that were suppressed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from qualitas.edge_adapters._model import Corroborated, RawHit


@dataclass(frozen=True)
class FilterStats:
    raw_hits: int
    passed: int
    suppressed: int
    pending: int
    alarms: int

    @property
    def suppressed_fraction(self) -> float:
        resolved = self.passed + self.suppressed
        return self.suppressed / resolved if resolved else 0.0


@dataclass
class _KeyState:
    pending: deque[RawHit] = field(default_factory=deque)
    latched: bool = False
    last_hit: float = float("-inf")


class CorroborationFilter:
    """Keyed N-consecutive or M-sources-in-a-window corroboration, with counts."""

    def __init__(self, *, consecutive: int = 3, min_sources: int | None = None, window_s: float = 1.0) -> None:
        if consecutive < 1:
            raise ValueError("consecutive must be >= 1")
        if min_sources is not None and min_sources < 2:
            raise ValueError("min_sources must be >= 2 (one source is not independent corroboration)")
        self.consecutive = consecutive
        self.min_sources = min_sources
        self.window_s = window_s
        self._keys: dict[str, _KeyState] = {}
        self._raw = self._passed = self._suppressed = self._alarms = 0

    @property
    def how(self) -> str:
        if self.min_sources is not None:
            return f"sources:{self.min_sources}/{self.window_s:g}s"
        return f"consecutive:{self.consecutive}"

    def stats(self) -> FilterStats:
        pending = sum(len(s.pending) for s in self._keys.values())
        return FilterStats(self._raw, self._passed, self._suppressed, pending, self._alarms)

    def _suppress(self, state: _KeyState) -> None:
        self._suppressed += len(state.pending)
        state.pending.clear()

    def miss(self, key: str, *, source: str = "", ts: float = 0.0) -> None:
        """The condition was evaluated for ``key`` and did not hold."""
        state = self._keys.get(key)
        if state is None:
            return
        if self.min_sources is None:
            self._suppress(state)
            state.latched = False
        else:
            self._expire(state, ts)

    def _expire(self, state: _KeyState, now: float) -> None:
        while state.pending and now - state.pending[0].ts > self.window_s:
            state.pending.popleft()
            self._suppressed += 1
        if state.latched and now - state.last_hit > self.window_s:
            state.latched = False

    def hit(self, hit: RawHit) -> Corroborated | None:
        """A raw hit; returns the evidence when it completes a corroboration."""
        self._raw += 1
        state = self._keys.setdefault(hit.key, _KeyState())
        if self.min_sources is not None:
            self._expire(state, hit.ts)
        state.last_hit = hit.ts
        if state.latched:
            self._passed += 1
            return None
        state.pending.append(hit)
        if self.min_sources is None:
            done = len(state.pending) >= self.consecutive
        else:
            done = len({h.source for h in state.pending}) >= self.min_sources
        if not done:
            return None
        evidence = tuple(state.pending)
        self._passed += len(evidence)
        self._alarms += 1
        state.pending.clear()
        state.latched = True
        return Corroborated(hit.key, self.how, evidence)

    def observe(
        self, key: str, fired: bool, *, source: str, ts: float, value: float, detail: str = ""
    ) -> Corroborated | None:
        """One evaluation of a condition: a hit when ``fired``, otherwise a miss."""
        if fired:
            return self.hit(RawHit(key, source, ts, value, detail))
        self.miss(key, source=source, ts=ts)
        return None

    def reset(self, key: str) -> None:
        """Re-arm ``key`` (e.g. after the corrective action took effect)."""
        state = self._keys.get(key)
        if state is not None:
            self._suppress(state)
            state.latched = False
