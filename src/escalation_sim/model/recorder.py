"""The model's time-series table: typed columns in arrays allocated once, one row a step.

Mesa's :class:`mesa.DataCollector` keeps a table as a dict of Python lists and
appends to every list on every row; building that row as a dict costs more
than the step's bookkeeping itself. :class:`SeriesTable` keeps the same table
(one row per step, the same columns in the same order) in one preallocated
numpy array per value type (integers, floats, booleans) plus one list of the
rows' text and date values (a tuple a row, turned into columns when read),
writes a row as one assignment per type and one append, and builds the
DataFrame once, when it is asked for. It answers the two calls of ``DataCollector`` the
project uses: ``get_table_dataframe("series")`` and ``tables["series"]``
(a dict of column lists), so ``model.datacollector`` reads as before.

The DataFrame equals ``pandas.DataFrame(dict_of_lists)``, which is what
``DataCollector.get_table_dataframe`` returns, value for value and dtype for
dtype, as long as every value has its column's declared kind
(``tests/test_fast_paths.py`` checks both on every shipped scenario).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

#: Value kinds stored in numpy arrays, and their dtypes.
ARRAY_KINDS = {"int": np.int64, "float": np.float64, "bool": np.bool_}
#: Value kinds kept as Python objects (pandas infers their dtype as from a list).
OBJECT_KINDS = ("str", "date")
#: The one table name the model keeps (as ``DataCollector(tables={"series": ...})``).
TABLE = "series"


class SeriesTable:
    """One row per step of typed columns, plus an optional block of float columns.

    Args:
        columns: ``(name, kind)`` in output order; kinds are ``int``, ``float``,
            ``bool``, ``str`` or ``date``.
        rows: Rows to allocate (the horizon's steps + 1); the table grows if more
            rows are added (a game run past its horizon).
        block_width: Width of a float block stored beside the columns (the model's
            per-category counts), one row of it per row of the table.
    """

    def __init__(self, columns: Sequence[tuple[str, str]], rows: int, block_width: int = 0) -> None:
        self.columns = [name for name, _ in columns]
        self.kinds = [kind for _, kind in columns]
        unknown = sorted(set(self.kinds) - set(ARRAY_KINDS) - set(OBJECT_KINDS))
        if unknown:
            raise ValueError(f"SeriesTable: unknown column kind(s) {unknown}")
        rows = max(1, rows)
        self.n = 0
        #: Per array kind: the column positions in the row, and the (rows, k) array.
        self._positions = {
            kind: [i for i, k in enumerate(self.kinds) if k == kind] for kind in ARRAY_KINDS
        }
        self._arrays = {
            kind: np.zeros((rows, len(pos)), dtype=ARRAY_KINDS[kind])
            for kind, pos in self._positions.items()
        }
        # One itemgetter per kind that has columns: it picks the kind's values of a row
        # (one value alone broadcasts over its one-column row). No lambdas: a model
        # stays picklable.
        self._pick = {kind: itemgetter(*pos) for kind, pos in self._positions.items() if pos}
        #: Text and date columns: their positions in the row, and one tuple of them a row
        #: (one append a row, not one a column).
        self._object_pos = [i for i, k in enumerate(self.kinds) if k in OBJECT_KINDS]
        self._object_slot = {i: j for j, i in enumerate(self._object_pos)}
        self._pick_objects = itemgetter(*self._object_pos) if len(self._object_pos) > 1 else None
        self._object_rows: list[tuple[Any, ...]] = []
        self._block = np.zeros((rows, block_width))

    def add_row(self, values: Sequence[Any], block: np.ndarray | None = None) -> None:
        """Append one row: ``values`` in column order, and the block's row (if any)."""
        k = self.n
        if k == len(self._block):
            self._grow()
        for kind, pick in self._pick.items():
            self._arrays[kind][k] = pick(values)
        if self._pick_objects is not None:
            self._object_rows.append(self._pick_objects(values))
        elif self._object_pos:
            self._object_rows.append((values[self._object_pos[0]],))
        if block is not None:
            self._block[k] = block
        self.n = k + 1

    def _grow(self) -> None:
        rows = 2 * len(self._block)
        for kind, arr in self._arrays.items():
            grown = np.zeros((rows, arr.shape[1]), dtype=arr.dtype)
            grown[: len(arr)] = arr
            self._arrays[kind] = grown
        block = np.zeros((rows, self._block.shape[1]))
        block[: len(self._block)] = self._block
        self._block = block

    def column(self, name: str) -> np.ndarray | list[Any]:
        """The values of one column so far (an array view, or the list of a text/date column)."""
        i = self.columns.index(name)
        kind = self.kinds[i]
        if kind in OBJECT_KINDS:
            j = self._object_slot[i]
            return [row[j] for row in self._object_rows]
        return self._arrays[kind][: self.n, self._positions[kind].index(i)]

    def block(self) -> np.ndarray:
        """The block's rows so far (a view)."""
        return self._block[: self.n]

    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame, as ``pandas.DataFrame(dict_of_lists)`` would build it."""
        return pd.DataFrame(self.to_dict())

    def to_dict(self) -> dict[str, np.ndarray | list[Any]]:
        """The columns in order: a copy of each array column, a list for text and dates."""
        data: dict[str, Any] = {}
        slot = {kind: 0 for kind in ARRAY_KINDS}
        objects = list(zip(*self._object_rows, strict=True)) or [()] * len(self._object_pos)
        for i, (name, kind) in enumerate(zip(self.columns, self.kinds, strict=True)):
            if kind in OBJECT_KINDS:
                data[name] = list(objects[self._object_slot[i]])
            else:
                data[name] = self._arrays[kind][: self.n, slot[kind]].copy()
                slot[kind] += 1
        return data

    # ----------------------------------------------------- DataCollector's interface
    def get_table_dataframe(self, table_name: str) -> pd.DataFrame:
        """The table as a DataFrame (``DataCollector.get_table_dataframe``'s call)."""
        if table_name != TABLE:
            raise KeyError(f"table {table_name!r} does not exist; the model keeps {TABLE!r}")
        return self.frame()

    @property
    def tables(self) -> dict[str, dict[str, list[Any]]]:
        """``{"series": {column: list of values}}``, as ``DataCollector.tables`` holds it."""
        out: dict[str, list[Any]] = {}
        for name in self.columns:
            values = self.column(name)
            out[name] = values.tolist() if isinstance(values, np.ndarray) else list(values)
        return {TABLE: out}
