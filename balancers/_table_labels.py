"""Labels from columnar data: pandas, polars, pyarrow and Hugging Face ``datasets``.

Every input is turned into one Arrow array (zero-copy where the library allows) and read in one
vectorized pass; rows are never iterated and no other column (an image column, say) is read or
decoded. The libraries are imported only when an object of theirs is passed in, so the core
install does not depend on any of them.

Column types and the labels they give:

* integers, booleans, strings, floats with integral values -> multiclass labels (1-D);
* dictionary-encoded values (pandas/polars ``Categorical``) -> the category values;
* a Hugging Face ``ClassLabel`` column -> its class ids;
* a list of class ids or class names per row (``List(ClassLabel)``, ``Sequence``, a list
  column) -> a multilabel 0/1 CSR matrix, one column per class id (``ClassLabel``: its
  ``num_classes``; integer ids: ``max id + 1``; names: the sorted distinct names);
* a fixed-size list, or a list of floats or booleans, per row -> a 0/1 indicator row each;
* several columns (``column=[...]``) of 0/1 values -> a multilabel matrix with one column each.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from ._label_values import missing_error
from ._optional import import_optional
from ._validation import describe_value

__all__ = ["is_table", "read_label_file", "table_labels"]

_LIBRARIES = ("pandas", "polars", "pyarrow", "datasets")
#: label column names looked for when ``column`` is not given
_DEFAULT_COLUMNS = ("label", "labels")


def _library(data: Any) -> str:
    return type(data).__module__.split(".", 1)[0]


def is_table(data: Any) -> bool:
    """Whether ``data`` comes from pandas, polars, pyarrow or Hugging Face ``datasets``.

    Looks only at the type's module, so none of these libraries is imported.
    """
    return _library(data) in _LIBRARIES


def _column_names(data: Any) -> list[str]:
    names = getattr(data, "column_names", None)
    if names is None:
        names = getattr(data, "columns", [])
    return [str(n) for n in names]


def _pick_column(data: Any, column: Any) -> str | list[str]:
    names = _column_names(data)
    if column is None:
        found = [c for c in _DEFAULT_COLUMNS if c in names]
        if len(found) != 1:
            raise ValueError(
                f"`column` should name the label column of the {type(data).__name__}, but got "
                f"column=None and it has no single column named 'label' or 'labels' (columns: "
                f"{_show(names)}). Pass column='...'."
            )
        return found[0]
    if isinstance(column, str):
        wanted = [column]
    elif isinstance(column, Sequence) and column and all(isinstance(c, str) for c in column):
        wanted = list(column)
    else:
        raise TypeError(
            f"`column` should be a column name (str) or a list of names, but got "
            f"{describe_value(column)} of type {type(column).__name__}."
        )
    missing = [c for c in wanted if c not in names]
    if missing:
        raise ValueError(
            f"`column` should name columns of the {type(data).__name__}, but got "
            f"column={missing[0]!r}; its columns are {_show(names)}."
        )
    return column if isinstance(column, str) else wanted


def _show(names: list[str]) -> str:
    return repr(names) if len(names) <= 12 else repr(names[:12])[:-1] + ", ...]"


def _to_arrow(data: Any, column: Any) -> tuple[Any, Any]:
    """``(arrow array or list of arrays, Hugging Face feature or None)`` for ``data``."""
    pa = import_optional("pyarrow", extra="tables")
    library = _library(data)
    kind = type(data).__name__
    if library == "datasets" and kind == "Dataset":
        name = _pick_column(data, column)
        arrow = data.with_format("arrow")
        if isinstance(name, list):
            return [arrow[c] for c in name], None
        return arrow[name], data.features[name]
    one_column = isinstance(data, pa.Array | pa.ChunkedArray) or (
        library in ("pandas", "polars") and kind in ("Series", "Index", "Categorical")
    )
    if one_column:
        if column is not None:
            raise TypeError(
                f"`column` applies to tables and datasets, but got column={column!r} with a "
                f"{library} {kind}, which is one column already; drop column=."
            )
        return _series_to_arrow(pa, data, library), None
    if kind in ("DataFrame", "Table", "RecordBatch"):
        name = _pick_column(data, column)
        names = [name] if isinstance(name, str) else name
        arrays = [_series_to_arrow(pa, data[c], library) for c in names]
        return (arrays[0] if isinstance(name, str) else arrays), None
    raise TypeError(
        f"`column` applies to a pandas/polars DataFrame, a pyarrow Table or a Hugging Face "
        f"datasets.Dataset, but got column={column!r} with a {library or 'builtins'} {kind}. "
        "Pass the labels without column=, or the frame the column belongs to."
    )


def _series_to_arrow(pa: Any, series: Any, library: str) -> Any:
    if library == "pandas":
        return pa.Array.from_pandas(series)
    if library == "polars":
        return series.to_arrow()
    return series


def _null_error(is_null: npt.NDArray[np.bool_], what: str) -> ValueError:
    """The missing-label error of every label source, saying which column held the nulls."""
    error = missing_error(np.flatnonzero(is_null).tolist(), is_null.shape[0], "labels")
    return ValueError(
        f"{error} The nulls are in {what}: drop or fill those rows first (e.g. dataset.filter / "
        "frame.dropna) and keep the row order in step with the data."
    )


def _check_no_nulls(pa: Any, array: Any, what: str) -> None:
    if array.null_count:
        raise _null_error(np.asarray(array.is_null()), what)


def _flat_numpy(pa: Any, array: Any) -> npt.NDArray[Any]:
    """A null-free, non-nested Arrow array as a numpy array (strings as ``str``)."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or _is_string_view(pa, kind):
        # each distinct name is converted once, then taken by code: much faster than row by row
        array = import_optional("pyarrow.compute", extra="tables").dictionary_encode(array)
        kind = array.type
    if pa.types.is_dictionary(kind):
        if isinstance(array, pa.ChunkedArray):
            chunks = array.unify_dictionaries().chunks
            if not chunks:
                return np.empty(0, dtype=np.int64)
            dictionary = chunks[0].dictionary
            codes = np.concatenate([np.asarray(c.indices) for c in chunks])
        else:
            dictionary, codes = array.dictionary, np.asarray(array.indices)
        values = _flat_numpy(pa, dictionary) if _is_number(pa, dictionary.type) else None
        if values is None:
            values = np.asarray(dictionary.to_numpy(zero_copy_only=False), dtype=str)
            if not (
                pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type)
            ):
                raise _type_error(kind)
        return values[codes]
    if not _is_number(pa, kind):
        raise _type_error(kind)
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _is_number(pa: Any, kind: Any) -> bool:
    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
    )


def _type_error(kind: Any) -> TypeError:
    return TypeError(
        "`labels` should be a column of class ids (integers or strings), lists of ids, or 0/1 "
        f"vectors, but got a column of Arrow type {kind}."
    )


def _is_string_view(pa: Any, kind: Any) -> bool:
    check = getattr(pa.types, "is_string_view", None)
    return bool(check is not None and check(kind))


def _is_list(pa: Any, kind: Any) -> bool:
    return bool(
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    )


def _list_labels(pa: Any, array: Any, n_classes: int | None, what: str) -> sp.csr_array:
    """A list column as a multilabel CSR matrix (ids per row, or 0/1 indicator rows)."""
    pc = import_optional("pyarrow.compute", extra="tables")
    n = len(array)
    lengths = np.asarray(pc.list_value_length(array).to_numpy(zero_copy_only=False), np.int64)
    flat = pc.list_flatten(array)
    _check_no_nulls(pa, flat, f"the lists of {what}")
    item = array.type.value_type
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    if (
        pa.types.is_fixed_size_list(array.type)
        or pa.types.is_floating(item)
        or (pa.types.is_boolean(item))
    ):
        width = int(lengths[0]) if n else 0
        if n and (lengths != width).any():
            row = int(np.flatnonzero(lengths != width)[0])
            raise ValueError(
                f"`labels` should hold 0/1 vectors of one length in {what}, but row 0 has "
                f"{width} values and row {row} has {int(lengths[row])}."
            )
        values = _flat_numpy(pa, flat)
        return sp.csr_array(values.reshape(n, width))
    values = _flat_numpy(pa, flat)
    if values.dtype.kind in "US":
        names, ids = np.unique(values, return_inverse=True)
        width = names.shape[0]
    elif values.dtype.kind in "iu":
        ids = values.astype(np.int64, copy=False)
        if ids.size and ids.min() < 0:
            row = int(np.searchsorted(indptr, int(np.flatnonzero(ids < 0)[0]), side="right") - 1)
            raise ValueError(
                f"`labels` should hold non-negative class ids in {what}, but row {row} holds "
                f"{int(ids.min())}."
            )
        width = int(ids.max()) + 1 if ids.size else 0
    else:
        raise TypeError(f"`labels` should hold lists of class ids, but got lists of {item}.")
    if n_classes is not None:
        width = max(width, n_classes)
    matrix = sp.csr_array(
        (np.ones(ids.shape[0], dtype=np.int8), ids.reshape(-1).astype(np.int32), indptr),
        shape=(n, width),
    )
    matrix.sum_duplicates()  # an id listed twice in a row is one label
    matrix.data[:] = 1
    return matrix


def _class_count(feature: Any) -> int | None:
    """``num_classes`` of a ``ClassLabel`` inside a list feature, else None."""
    inner = getattr(feature, "feature", None)
    count = getattr(inner, "num_classes", None)
    return int(count) if isinstance(count, int) else None


def _one_column(pa: Any, array: Any, feature: Any, what: str) -> Any:
    _check_no_nulls(pa, array, what)
    if _is_list(pa, array.type):
        return _list_labels(pa, array, _class_count(feature), what)
    return _flat_numpy(pa, array)


def table_labels(data: Any, column: Any = None) -> npt.NDArray[Any] | sp.csr_array:
    """Labels of a column of a frame, Arrow object or Hugging Face ``Dataset`` (module doc).

    Args:
        data: a pandas/polars ``Series`` or ``DataFrame``, a pyarrow ``Array``,
            ``ChunkedArray``, ``Table`` or ``RecordBatch``, or a ``datasets.Dataset``.
        column: the label column of a frame, table or dataset (default: its single column named
            ``label`` or ``labels``); a list of names reads 0/1 columns as a multilabel matrix.

    Raises:
        TypeError: unsupported object or column type.
        ValueError: unknown column, or null labels (the message gives their count and rows).
    """
    pa = import_optional("pyarrow", extra="tables")
    arrays, feature = _to_arrow(data, column)
    if isinstance(arrays, list):
        pairs = zip(arrays, column, strict=True)
        columns = [_one_column(pa, a, None, f"column {c!r}") for a, c in pairs]
        if any(not isinstance(c, np.ndarray) for c in columns):
            raise TypeError("`column` should name 0/1 columns when it is a list, not list columns.")
        return np.column_stack(columns)
    what = f"column {column!r}" if column is not None else "the column"
    return _one_column(pa, arrays, feature, what)


def read_label_file(path: Path, column: str) -> npt.NDArray[Any] | sp.csr_array:
    """Labels from one column of a Parquet or CSV file (``.csv.gz`` too), read with pyarrow.

    Only ``column`` is read from the file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: unknown extension or column, or null labels.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist or is not a file.")
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        pq = import_optional("pyarrow.parquet", extra="tables")
        schema_names = pq.read_schema(path).names
        if column not in schema_names:
            raise ValueError(
                f"`column` should name a column of {path}, but got column={column!r}; its "
                f"columns are {_show(schema_names)}."
            )
        table = pq.read_table(path, columns=[column])
    elif name.endswith(".csv") or name.endswith(".csv.gz"):
        csv = import_optional("pyarrow.csv", extra="tables")
        try:
            table = csv.read_csv(path, convert_options=csv.ConvertOptions(include_columns=[column]))
        except KeyError as exc:
            raise ValueError(
                f"`column` should name a column of {path}, but got column={column!r}."
            ) from exc
    else:
        raise ValueError(
            f"`path` should be a .parquet, .csv or .csv.gz file, but got {path.name!r}."
        )
    return table_labels(table, column)
