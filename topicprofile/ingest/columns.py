"""Map the user's column names to the standard ones (`topicprofile.schema`) and check the required ones.

`parse_column_map` reads ``--columns customer_id=user,text=body``; each table kind (reviews, browsing,
orders) has a spec of required / optional columns; `STANDARD_COLUMNS` lists every name a map may use.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from topicprofile.errors import ConfigError, DataValidationError
from topicprofile.schema import (
    AMOUNT, CUSTOMER_ID, ORDER_ID, PRODUCT, QUERY, RATING, STATUS, TEXT, TIMESTAMP, TITLE, URL,
)  # fmt: skip

__all__ = [
    "parse_column_map",
    "STANDARD_COLUMNS",
]

logger = logging.getLogger(__name__)

BROWSING_CONTENT = (TEXT, TITLE, QUERY, URL)
_MAX_FOUND_SHOWN = 20


@dataclass(frozen=True)
class TableSpec:
    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    one_of: tuple[str, ...] = ()  # at least one of these must be present
    option: str = "--columns"  # the CLI option that maps this table's columns

    @property
    def names(self) -> tuple[str, ...]:
        return self.required + self.optional


REVIEWS_SPEC = TableSpec("reviews", (CUSTOMER_ID, TEXT), (TIMESTAMP, RATING, PRODUCT))
BROWSING_SPEC = TableSpec(
    "browsing", (CUSTOMER_ID,), (TIMESTAMP, *BROWSING_CONTENT), BROWSING_CONTENT, "--browsing-columns"
)
ORDERS_SPEC = TableSpec("orders", (CUSTOMER_ID, ORDER_ID, TIMESTAMP, AMOUNT), (STATUS,), (), "--orders-columns")

#: Standard names a column map may use (keys of ``columns`` / ``--columns``).
STANDARD_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(REVIEWS_SPEC.names + BROWSING_SPEC.names + ORDERS_SPEC.names)
)



# ---------------------------------------------------------------------------------------
# Column mapping


def parse_column_map(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """Parse a column map: standard name -> the user's column name.

    Parameters
    ----------
    spec : str, Mapping or None
        ``"text=review_body,customer_id=user_id"``, an equivalent mapping, or None.

    Returns
    -------
    dict of str to str
        ``{"text": "review_body", "customer_id": "user_id"}``; empty for None or ``""``.

    Raises
    ------
    ConfigError
        Bad syntax, an empty name, or a key that is not a standard column name.
    """
    if spec is None:
        return {}
    pairs = list(spec.items()) if isinstance(spec, Mapping) else _split_spec(spec)
    mapping: dict[str, str] = {}
    for standard, user in pairs:
        standard, user = str(standard).strip(), str(user).strip()
        if standard not in STANDARD_COLUMNS:
            raise ConfigError(
                f"unknown standard column {standard!r} in the column map. "
                f"Accepted names: {', '.join(STANDARD_COLUMNS)}."
            )
        if not user:
            raise ConfigError(
                f"column map: no column given for {standard!r} (use {standard}=<your column>)."
            )
        mapping[standard] = user
    return mapping


def _split_spec(spec: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        standard, sep, user = item.partition("=")
        if not sep:
            raise ConfigError(
                f"column map: {item!r} is not of the form standard=column "
                "(e.g. text=review_body,customer_id=user_id)."
            )
        pairs.append((standard, user))
    return pairs


def resolve_columns(
    df: pd.DataFrame, spec: TableSpec, columns: str | Mapping[str, str] | None, source: str
) -> dict[str, object]:
    """Standard name -> the df column holding it; raises for missing required columns."""
    mapping = {k: v for k, v in parse_column_map(columns).items() if k in spec.names}
    resolved: dict[str, object] = {}
    for standard, user in mapping.items():
        found = _find_column(df.columns, user, source, spec.option)
        if found is None:
            raise DataValidationError(
                f"{source}: column {user!r} (mapped to {standard!r}) does not exist "
                f"(found: {_shown_columns(df)})."
            )
        resolved[standard] = found
    taken = set(resolved.values())
    for standard in spec.names:
        if standard not in resolved:
            found = _find_column([c for c in df.columns if c not in taken], standard, source, spec.option)
            if found is not None:
                resolved[standard] = found
    _check_required(df, spec, resolved, source)
    return {standard: resolved[standard] for standard in spec.names if standard in resolved}


def _find_column(candidates: object, wanted: str, source: str, option: str) -> object | None:
    """Exact name first, else the unique case-insensitive match ignoring outer spaces."""
    names = list(candidates)  # type: ignore[call-overload]
    if wanted in names:
        return wanted
    key = wanted.strip().casefold()
    matches = [c for c in names if str(c).strip().casefold() == key]
    if len(matches) > 1:
        raise DataValidationError(
            f"{source}: several columns match {wanted!r} ({', '.join(map(str, matches))}). "
            f"Rename one or map it with {option} {wanted}=<your column>."
        )
    return matches[0] if matches else None


def _check_required(
    df: pd.DataFrame, spec: TableSpec, resolved: Mapping[str, object], source: str
) -> None:
    missing = [name for name in spec.required if name not in resolved]
    if missing:
        quoted = ", ".join(f"'{name}'" for name in missing)
        noun, verb, it = ("column", "is", "it") if len(missing) == 1 else ("columns", "are", "them")
        hint = ",".join(f"{name}=<your column>" for name in missing)
        raise DataValidationError(
            f"{source}: required {noun} {quoted} {verb} missing (found: {_shown_columns(df)}). "
            f"Map {it} with {spec.option} {hint}."
        )
    if spec.one_of and not any(name in resolved for name in spec.one_of):
        quoted = ", ".join(f"'{name}'" for name in spec.one_of)
        raise DataValidationError(
            f"{source}: needs at least one of the columns {quoted} (found: {_shown_columns(df)}). "
            f"Map one with {spec.option} {spec.one_of[0]}=<your column>."
        )


def _shown_columns(df: pd.DataFrame) -> str:
    names = [str(c) for c in df.columns]
    more = f", ... ({len(names)} in all)" if len(names) > _MAX_FOUND_SHOWN else ""
    return (", ".join(names[:_MAX_FOUND_SHOWN]) or "no columns") + more
