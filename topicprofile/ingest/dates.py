"""Day-first or month-first: the order of numeric dates such as ``03/04/2025``, decided per file.

``03/04/2025`` is 3 April in most of the world and March 4 in the US; pandas reads it month-first
without a word. A file's dates are read one way for the whole file: a value whose first field is
above 12 (``13/04/2025``) proves day-first, one whose second field is above 12 (``04/13/2025``)
proves month-first. A file with no such value but with dates whose reading depends on the order
(``03/04/2025``, not ``03/03/2025``) is refused until the user gives ``--date-format``; a file with
evidence both ways too. Dates with the year first (ISO ``2025-04-03``, ``2025/04/03``), month names
or epoch numbers are unambiguous and untouched.

Numeric dates are rewritten to ISO (``2025-04-03`` + the time part as it was) before the usual
timestamp parser sees them, so that the decision is the only place the order is chosen.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from topicprofile.errors import ConfigError, DataValidationError

__all__ = [
    "DAY_FIRST", "MONTH_FIRST", "as_day", "check_date_format", "infer_date_order", "latest_today",
    "parse_date", "parse_with_format", "to_iso_dates",
]  # fmt: skip

DAY_FIRST, MONTH_FIRST = "day-first", "month-first"

# Two numeric fields, the same separator twice, a 2- or 4-digit year last, then the time (if any).
_NUMERIC_DATE = r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})((?:[ T].*)?)$"


def _fields(text: pd.Series) -> pd.DataFrame:
    """The numeric-date parts of each value (NaN rows where the value is not such a date)."""
    parts = pd.DataFrame(index=text.index, columns=["a", "sep", "b", "year", "rest"], dtype=object)
    candidates = text.str.match(r"\d{1,2}[/.\-]").fillna(False).astype(bool)  # cheap pre-filter (ISO fails it)
    if candidates.any():
        found = text[candidates].str.extract(_NUMERIC_DATE)
        found.columns = parts.columns
        parts.loc[found.index] = found
    return parts


def infer_date_order(text: pd.Series, *, source: str, column: str, first_row: int = 1) -> str | None:
    """``DAY_FIRST``, ``MONTH_FIRST`` or None (no numeric date whose reading depends on the order).

    Parameters
    ----------
    text : pandas.Series of str
        The raw timestamp values, stripped.
    source, column : str
        File and column names for the error message.
    first_row : int
        Row number of ``text``'s first value (chunks of a file).

    Raises
    ------
    DataValidationError
        The values are ambiguous (all fields at most 12 and some reading depends on the order) or
        hold evidence for both orders.
    """
    parts = _fields(text)
    matched = parts["a"].notna().to_numpy()
    if not matched.any():
        return None
    a = pd.to_numeric(parts["a"], errors="coerce").to_numpy()
    b = pd.to_numeric(parts["b"], errors="coerce").to_numpy()
    day_first = matched & (a > 12) & (b <= 12)
    month_first = matched & (b > 12) & (a <= 12)
    if day_first.any() and month_first.any():
        i, j = int(np.flatnonzero(day_first)[0]), int(np.flatnonzero(month_first)[0])
        raise DataValidationError(
            f"{source}: column {column!r} mixes day-first dates (row {i + first_row}: {text.iloc[i]}) and "
            f"month-first dates (row {j + first_row}: {text.iloc[j]}); give --date-format for one of them "
            "(the other rows are then rejected)."
        )
    if day_first.any():
        return DAY_FIRST
    if month_first.any():
        return MONTH_FIRST
    ambiguous = matched & (a != b)
    if not ambiguous.any():
        return None  # 03/03/2025 reads the same either way
    i = int(np.flatnonzero(ambiguous)[0])
    sep, year, rest = parts.loc[parts.index[i], ["sep", "year", "rest"]]
    date = f"%d{sep}%m{sep}{'%Y' if len(year) == 4 else '%y'}"
    us = f"%m{sep}%d{sep}{'%Y' if len(year) == 4 else '%y'}"
    time = _time_format(rest)
    raise DataValidationError(
        f"{source}: column {column!r} has dates such as {text.iloc[i]} (row {i + first_row}) that could be "
        f"day-first or month-first (no day above 12 tells); give --date-format '{date}{time}' or "
        f"--date-format '{us}{time}'."
    )


def _time_format(rest: str) -> str:
    rest = rest or ""
    for pattern, fmt in ((r"^ \d{1,2}:\d{2}:\d{2}$", " %H:%M:%S"), (r"^ \d{1,2}:\d{2}$", " %H:%M")):
        if pd.Series([rest]).str.fullmatch(pattern).iloc[0]:
            return fmt
    return ""


def to_iso_dates(text: pd.Series, order: str | None) -> pd.Series:
    """``text`` with its numeric dates rewritten as ``YYYY-MM-DD`` in the given order (other values as they are).

    Two-digit years follow ``strptime``'s ``%y``: 69-99 are 1969-1999, 00-68 are 2000-2068.
    """
    parts = _fields(text)
    matched = parts["a"].notna()
    if not matched.any():
        return text
    p = parts[matched]
    day, month = (p["a"], p["b"]) if order in (DAY_FIRST, None) else (p["b"], p["a"])
    year = p["year"].astype(int)
    year = year.where(p["year"].str.len() == 4, np.where(year >= 69, 1900 + year, 2000 + year))
    iso = year.astype(str).str.zfill(4) + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + p["rest"].fillna("")
    out = text.copy()
    out[matched] = iso
    return out


def check_date_format(date_format: str | None) -> None:
    """Raise ConfigError unless ``date_format`` is None or a strftime format that round-trips a date."""
    if date_format is None:
        return
    sample = dt.datetime(2001, 2, 13, 14, 5, 6)
    try:
        ok = "%" in date_format and pd.to_datetime(sample.strftime(date_format), format=date_format) is not pd.NaT
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ConfigError(
            f"date format {date_format!r} is not a strftime format that reads dates back; "
            "e.g. '%d/%m/%Y' or '%m/%d/%Y %H:%M'."
        )


def parse_with_format(text: pd.Series, date_format: str) -> pd.Series:
    """Values parsed strictly with ``date_format`` (NaT where they do not match); naive, UTC for offsets."""
    parsed = pd.to_datetime(text, format=date_format, errors="coerce", utc=True)
    return parsed.dt.tz_localize(None)


def parse_date(value: str | pd.Timestamp | dt.date, *, what: str) -> pd.Timestamp:
    """A date-like value as a Timestamp (its time zone kept); ConfigError naming ``what`` when it is no date."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{what} {value!r} is not a date; use YYYY-MM-DD.") from e
    if pd.isna(stamp):
        raise ConfigError(f"{what} {value!r} is not a date; use YYYY-MM-DD.")
    return stamp


def as_day(value: str | pd.Timestamp | dt.date, *, what: str) -> pd.Timestamp:
    """A date-like value as a naive midnight Timestamp; ConfigError naming ``what`` when it is no date."""
    stamp = parse_date(value, what=what)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)  # wall time decides the calendar day, as in behavior.rfm_table
    return stamp.normalize()


def latest_today() -> pd.Timestamp:
    """Today's date where it is latest on Earth (UTC+14): no honest order can be dated later.

    The UTC date alone would reject orders placed this morning in Asia or the Pacific.
    """
    now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=14)
    return pd.Timestamp(now.date())
