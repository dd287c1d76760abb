"""Customers' identifiers from the shop's customer export, validated: e-mail, phone (E.164), names, consent.

Columns ``customer_id``, ``email``, ``phone``, ``first_name``, ``last_name`` and optional
``accepts_email`` / ``accepts_sms``; Shopify's export headers ("Customer ID", "Email", "Phone",
"First Name", "Accepts Email Marketing"…) are recognised too. A malformed e-mail or phone is
blanked and written to the rejects table with its reason (the customer stays, the other
identifier may still reach them); a row without a customer id, or a repeated id, is rejected.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pandas as pd
import phonenumbers

from topicprofile import schema
from topicprofile.errors import DataValidationError
from topicprofile.ingest.files import read_table

logger = logging.getLogger(__name__)

IDENTIFIER_COLUMNS = (
    "customer_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "accepts_email",
    "accepts_sms",
)
_ALIASES = {
    "id": "customer_id", "customer_id": "customer_id", "e_mail": "email", "email_address": "email",
    "phone_number": "phone", "default_address_phone": "default_phone", "accepts_email_marketing": "accepts_email",
    "accepts_marketing": "accepts_email", "accepts_sms_marketing": "accepts_sms",
}  # fmt: skip
# Pragmatic address check (one @, a dot in the domain, no spaces); the shop already verified them.
_EMAIL = re.compile(
    r"^[^@\s\"'<>,;]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_YES = {"yes", "y", "true", "1", "subscribed", "t"}
_NO = {"no", "n", "false", "0", "unsubscribed", "not_subscribed", "f", ""}


def _standard_name(column: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", str(column).strip().lower()).strip("_")
    return _ALIASES.get(key, key)


def normalize_email(value: str) -> str | None:
    """Trimmed, lower-cased e-mail, or None when it is not an address."""
    text = str(value).strip().lower()
    return text if _EMAIL.match(text) and len(text) <= 254 else None


def normalize_phone(value: str, *, region: str | None = None) -> str | None:
    """The phone number in E.164 (``+14155550123``), or None when it is not a valid number.

    A number without ``+`` and country code needs ``region`` (ISO 3166 code of the shop's country).
    """
    text = str(value).strip()
    text = text.removeprefix("'")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _flag(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = values.astype(str).str.strip().str.lower()
    flags = pd.Series(pd.NA, index=values.index, dtype="boolean")
    flags[text.isin(_YES)] = True
    flags[text.isin(_NO - {""})] = False
    bad = ~text.isin(_YES | _NO)
    return flags, bad


def clean_customers(
    frame: pd.DataFrame, *, source: str = "<DataFrame>", region: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validated identifiers (``IDENTIFIER_COLUMNS``) and a rejects table (``schema.REJECT_COLUMNS``)."""
    frame = frame.rename(columns=_standard_name)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    if "customer_id" not in frame.columns:
        raise DataValidationError(
            f"{source}: required column 'customer_id' is missing (found: {', '.join(map(str, frame.columns))})."
        )
    if "phone" not in frame.columns and "default_phone" in frame.columns:
        frame = frame.rename(columns={"default_phone": "phone"})
    frame = frame.fillna("").astype(str).reset_index(drop=True)
    rows = pd.Series(range(1, len(frame) + 1))
    rejects: list[pd.DataFrame] = []

    def reject(mask: pd.Series, column: str, reason: str) -> None:
        if mask.any():
            values = frame.loc[mask, column] if column in frame.columns else ""
            rejects.append(
                pd.DataFrame(
                    {"source": source, "row": rows[mask], "column": column, "reason": reason, "value": values}
                )
            )

    ids = frame["customer_id"].str.strip()
    reject(ids == "", "customer_id", "empty customer id")
    reject(
        (ids != "") & ids.duplicated(keep="last"), "customer_id", "repeated customer id; the last row is kept"
    )
    keep = (ids != "") & ~ids.duplicated(keep="last")
    out = pd.DataFrame({"customer_id": ids})
    for column, normalize, reason in (
        ("email", normalize_email, "not an e-mail address"),
        (
            "phone",
            lambda v: normalize_phone(v, region=region),
            "not a valid phone number (E.164 or pass --region)",
        ),
    ):
        raw = frame[column].str.strip() if column in frame.columns else pd.Series("", index=frame.index)
        values = pd.Series([normalize(v) if v else None for v in raw], index=frame.index, dtype="object")
        reject(keep & (raw != "") & values.isna(), column, reason)
        out[column] = values
    for column in ("first_name", "last_name"):
        out[column] = frame[column].str.strip().replace("", None) if column in frame.columns else None
    for column in ("accepts_email", "accepts_sms"):
        if column in frame.columns:
            out[column], bad = _flag(frame[column])
            reject(keep & bad, column, "consent flag is not yes/no")
        else:
            out[column] = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    table = (
        pd.concat(rejects, ignore_index=True)
        if rejects
        else pd.DataFrame(columns=list(schema.REJECT_COLUMNS))
    )
    if len(table):
        logger.warning("%s: %d identifier values rejected; see the rejects file", source, len(table))
    return out.loc[keep].reset_index(drop=True), table.loc[:, list(schema.REJECT_COLUMNS)]


def load_customers(
    path: str | os.PathLike[str], *, encoding: str | None = None, region: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and validate a customer export file (any format ``read_table`` reads)."""
    path = Path(path)
    return clean_customers(read_table(path, encoding=encoding), source=path.name, region=region)
