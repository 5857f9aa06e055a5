"""Build once per scenario in a process: caches keyed by a read-only spec's identity.

An ensemble builds thousands of models from one scenario object; what follows
from the scenario alone (the theater, the force layer's seed-independent tables,
the scenario's hash) is the same for every one of them. A :class:`SpecCache`
keeps the last few such values, keyed by the spec object itself: the entry holds
the spec, so its ``id`` cannot be reused by another object while the entry lives,
and a hit is checked by identity, never by equality (two equal specs built
separately get their own entries, which costs one rebuild, never a wrong value).

The rule that makes this safe: **a validated scenario is read-only, all the way
down.** Its fields cannot be assigned and every mapping and list in it is a
:class:`~escalation_sim.scenario.frozen.FrozenDict` or
:class:`~escalation_sim.scenario.frozen.FrozenList`, which refuse changes with a
``TypeError`` saying how to make a changed copy (``with_overrides(scenario,
["key.path=value"])``, or ``overrides=`` of the API, validated like a file). A
changed copy is another object, so it gets its own entry: a value derived from
a spec stays true for as long as the spec exists. A spec assembled without
validation (pydantic's ``model_copy(update=...)`` or ``model_construct`` with
plain dicts or lists) could still change in place, so it is never cached: each
call builds afresh (correct, only slower); :func:`~escalation_sim.scenario.
frozen.is_read_only` decides, once per spec, when it is first seen.

A cached value is shared by every caller: it must be immutable in use, or
copied by the caller before anything writes it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from escalation_sim.scenario.frozen import is_read_only


class SpecCache[K, V]:
    """The last ``size`` values of ``build(spec)``, by the spec's identity (least recent dropped).

    Only read-only specs are cached (see the module's docstring); any other is
    built for on every call.

    Args:
        build: What to compute for a spec not yet cached.
        size: Entries kept (a process running a few scenarios in turn keeps each).
    """

    def __init__(self, build: Callable[[K], V], size: int = 8) -> None:
        self._build = build
        self._size = size
        self._entries: OrderedDict[int, tuple[K, V]] = OrderedDict()

    def get(self, spec: K) -> V:
        """The value for ``spec``: cached, or built now (and cached if ``spec`` is read-only)."""
        hit = self._entries.get(id(spec))
        if hit is not None and hit[0] is spec:
            self._entries.move_to_end(id(spec))
            return hit[1]
        value = self._build(spec)
        if is_read_only(spec):
            self._entries[id(spec)] = (spec, value)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry (tests that count builds)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
