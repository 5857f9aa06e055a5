"""Read-only containers: a validated scenario cannot be changed in place.

The model builds what follows from a scenario alone (its theater, the force
layer's tables, its hash) once per scenario object and shares it between every
run made from that object (:mod:`escalation_sim.model.shared`). pydantic's
``frozen=True`` stops ``scenario.horizon_days = 90``, but not
``scenario.weapons["atacms"] = ...``: a plain dict or list inside a frozen
model can still be changed, and a model built afterwards would silently get
the set-up of the scenario as it was. So every mapping in a validated scenario
is a :class:`FrozenDict` and every list a :class:`FrozenList`, and each refuses
to change with a :class:`TypeError` that says how to make a changed copy.

Both subclass the builtin they stand for (``dict``; ``tuple``, Python's own
immutable sequence), so reading code, ``isinstance`` checks, ``json`` and
``yaml`` (representers registered here) treat them as before; both pickle
(spawned pool workers and Dask receive scenarios) and deep-copy as themselves;
both hash when their contents do. In a pydantic model they validate as the
``dict`` / ``list`` they replace (strict as before) and serialise as exactly
that, so ``model_dump`` (either mode), the JSON Schema and the scenario hash
are unchanged. (``types.MappingProxyType`` does not pickle, and the
``frozendict`` package would add a dependency for what this module does.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn, get_args

import yaml
from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic_core import CoreSchema, PydanticSerializationUnexpectedValue, core_schema

#: What a refused change says: why, and the validated ways to a changed copy.
READ_ONLY = (
    "a validated scenario is read-only (what the model builds from it is cached per "
    "scenario object); make a changed copy instead, validated like a file: "
    "escalation_sim.with_overrides(scenario, ['weapons.ATACMS.range_km=300', ...]), or "
    "overrides=[...] in escalation_sim.run and the experiments (--set on the command line)"
)


def _refusal(what: str) -> Any:
    """A mutating method of a frozen container: it raises the read-only :class:`TypeError`."""

    def refuse(self: object, *_args: Any, **_kwargs: Any) -> NoReturn:
        raise TypeError(f"cannot {what} a {type(self).__name__}: {READ_ONLY}")

    refuse.__name__ = refuse.__qualname__ = f"refused_{what.replace(' ', '_')}"
    return refuse


class FrozenDict[K, V](dict[K, V]):
    """A ``dict`` that refuses every change after construction (a scenario's mappings).

    ``copy()`` and ``|`` give a plain, changeable ``dict``, as for any mapping.
    """

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> FrozenDict[K, V]:
        """A frozen dict of what ``dict(*args, **kwargs)`` holds."""
        # Filled here, once: calling __init__ again on a built one changes nothing.
        self = super().__new__(cls)
        dict.__init__(self, *args, **kwargs)
        return self

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    __setitem__ = _refusal("set an item of")
    __delitem__ = _refusal("delete an item of")
    __ior__ = update = _refusal("update")
    clear = _refusal("clear")
    pop = popitem = _refusal("pop from")
    setdefault = _refusal("setdefault on")

    @classmethod
    def fromkeys(cls, keys: Any, value: Any = None) -> FrozenDict[Any, Any]:  # type: ignore[override]
        """A frozen dict of ``keys``, each mapped to ``value`` (dict's own would refill it)."""
        return cls(dict.fromkeys(keys, value))

    def __reduce__(self) -> tuple[type[FrozenDict[K, V]], tuple[dict[K, V]]]:
        # dict's own pickling refills the object item by item, which __setitem__ refuses.
        return type(self), (dict(self),)

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """Validate as ``dict[K, V]`` (strict, as before), then freeze; serialise as that dict."""
        key, value = get_args(source) or (Any, Any)
        return core_schema.no_info_after_validator_function(
            cls, handler.generate_schema(dict[key, value])
        )


def _as_list(value: Any) -> Any:
    """A tuple (a FrozenList among them) read as the list it stands for; anything else as is."""
    return list(value) if isinstance(value, tuple) else value


def _serialise_as_list(value: Any, serialise: core_schema.SerializerFunctionWrapHandler) -> Any:
    """A FrozenList written as the list it stands for (anything else: not ours, in a union)."""
    if not isinstance(value, tuple):
        raise PydanticSerializationUnexpectedValue(f"expected a FrozenList, got {type(value)}")
    return serialise(list(value))


class FrozenList[T](tuple[T, ...]):
    """A ``tuple`` standing for a scenario's list: it refuses the list's changes with the reason.

    A plain tuple would refuse them too, but with ``'tuple' object has no
    attribute 'append'``, which says nothing of why or what to do instead.
    """

    __slots__ = ()

    __setitem__ = _refusal("set an item of")
    __delitem__ = _refusal("delete an item of")
    append = _refusal("append to")
    extend = __iadd__ = __imul__ = _refusal("extend")
    insert = _refusal("insert into")
    remove = pop = clear = _refusal("remove from")
    sort = reverse = _refusal("reorder")

    # It compares and concatenates with a list as the list it stands for did, so code
    # written for lists (``rule.weapons == ["ATACMS"]``) keeps its meaning rather than
    # turning silently false; concatenation gives a new, plain list.
    def __eq__(self, other: object) -> bool:
        return tuple.__eq__(self, tuple(other) if isinstance(other, list) else other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def __add__(self, other: Any) -> Any:  # type: ignore[override]
        return [*self, *other] if isinstance(other, list) else tuple.__add__(self, other)

    def __radd__(self, other: Any) -> Any:
        return [*other, *self] if isinstance(other, list) else NotImplemented

    def __repr__(self) -> str:
        return f"FrozenList({list(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """Validate as ``list[T]`` (a tuple is read as one), then freeze; serialise as a list."""
        (item,) = get_args(source) or (Any,)
        as_list = handler.generate_schema(list[item])
        return core_schema.no_info_before_validator_function(
            _as_list,
            core_schema.no_info_after_validator_function(cls, as_list),
            serialization=core_schema.wrap_serializer_function_ser_schema(
                _serialise_as_list, schema=as_list
            ),
        )


# YAML writes them as the mapping and list they stand for (as JSON does, since they
# subclass dict and tuple); PyYAML looks representers up by exact type.
for _dumper in (
    yaml.SafeDumper,
    yaml.Dumper,
    *(getattr(yaml, name) for name in ("CSafeDumper", "CDumper") if hasattr(yaml, name)),
):
    _dumper.add_representer(FrozenDict, yaml.representer.SafeRepresenter.represent_dict)
    _dumper.add_representer(FrozenList, yaml.representer.SafeRepresenter.represent_list)


def thawed(value: Any) -> Any:
    """``value`` with every frozen container (and tuple) inside it a plain dict or list again.

    For data that goes on to be merged and overridden (``scenario_from_dict``),
    where a user may pass parts of a validated scenario (``{"schedule":
    sc.schedule}``) and an override must be able to go inside them. Specs are
    left as they are.
    """
    if isinstance(value, dict):
        return {k: thawed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thawed(v) for v in value]
    return value


#: Values that cannot change (``bool`` is an ``int``).
_ATOMS = (str, int, float, type(None), bytes, dt.date)


def is_read_only(value: object) -> bool:
    """Whether nothing reachable from ``value`` can be changed in place.

    True for a validated scenario or any part of one; false for one assembled
    without validation (``model_copy(update=...)`` or ``model_construct`` with
    plain dicts or lists), whose set-up therefore must not be cached.
    """
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _ATOMS):
            continue
        if isinstance(item, FrozenDict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, FrozenList):
            stack.extend(item)
        elif isinstance(item, BaseModel) and item.model_config.get("frozen"):
            stack.extend(item.__dict__.values())
        else:
            return False
    return True
