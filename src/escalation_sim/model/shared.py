"""Build once per scenario in a process: caches keyed by a frozen spec's identity.

An ensemble builds thousands of models from one scenario object; what follows
from the scenario alone (the theater, the force layer's seed-independent tables,
the scenario's hash) is the same for every one of them. A :class:`SpecCache`
keeps the last few such values, keyed by the spec object itself: the entry holds
the spec, so its ``id`` cannot be reused by another object while the entry lives,
and a hit is checked by identity, never by equality (two equal specs built
separately get their own entries, which costs one rebuild, never a wrong value).

Specs are frozen (pydantic ``frozen=True``), so a value derived from one stays
true for as long as the spec exists. A cached value is shared by every caller:
it must be immutable in use, or copied by the caller before anything writes it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable


class SpecCache[K, V]:
    """The last ``size`` values of ``build(spec)``, by the spec's identity (least recent dropped).

    Args:
        build: What to compute for a spec not yet cached.
        size: Entries kept (a process running a few scenarios in turn keeps each).
    """

    def __init__(self, build: Callable[[K], V], size: int = 8) -> None:
        self._build = build
        self._size = size
        self._entries: OrderedDict[int, tuple[K, V]] = OrderedDict()

    def get(self, spec: K) -> V:
        """The value for ``spec``: cached, or built now and cached."""
        hit = self._entries.get(id(spec))
        if hit is not None and hit[0] is spec:
            self._entries.move_to_end(id(spec))
            return hit[1]
        value = self._build(spec)
        self._entries[id(spec)] = (spec, value)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry (tests that count builds)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
