"""Audience files the marketing tools take: Shopify, Klaviyo, Meta, Google Customer Match, plain CSV/Parquet.

Each exporter takes the audience table (profiles joined with identifiers) and returns the table to
write plus the customers it left out with a reason. Hashing follows each platform's normalisation:

- Meta custom audience (customer list file, identifiers ``email``, ``phone``, ``fn``, ``ln``):
  e-mail trimmed and lower-cased; phone digits with country code and no ``+``; names lower-cased
  without punctuation; each SHA-256 hex.
- Google Customer Match (``Email``, ``Phone``, ``First Name``, ``Last Name``, ``Country``, ``Zip``):
  e-mail trimmed and lower-cased (dots before ``@gmail.com`` / ``@googlemail.com`` removed); phone
  in E.164 with ``+``; names lower-cased; SHA-256 hex; ``Country`` / ``Zip`` left empty.

Consent: the marketing lists (Klaviyo, Meta, Google) leave out an e-mail whose owner refused
e-mail marketing (``accepts_email`` false) and a phone refused for SMS (``accepts_sms`` false);
with ``require_consent`` an unknown flag is a refusal too. A customer left with no identifier is
skipped with the reason ``no marketing consent``. The Shopify import carries the flags itself.

Klaviyo also gets the churn and value columns (``topicprofile_p_alive``, ``…_expected_orders_90d``,
``…_clv_12m``, ``…_churn_risk`` as ``true``/``false``) when the audience has them (``tag --orders``)
and ``topicprofile_recommended`` (the customer's recommended items in rank order, comma-joined,
commas inside an item name made spaces) when it has recommendations (``recommend --db``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re

import pandas as pd

SHOPIFY_HEADER = (
    "First Name", "Last Name", "Email", "Accepts Email Marketing", "Default Address Company",
    "Default Address Address1", "Default Address Address2", "Default Address City",
    "Default Address Province Code", "Default Address Country Code", "Default Address Zip",
    "Default Address Phone", "Phone", "Accepts SMS Marketing", "Tags", "Note", "Tax Exempt",
)  # fmt: skip
KLAVIYO_HEADER = (
    "Email", "Phone Number", "First Name", "Last Name", "topicprofile_interests", "topicprofile_top_interest",
    "topicprofile_score", "rfm_segment", "segment_name",
)  # fmt: skip
#: Klaviyo properties added when the audience has values for them: profile column -> property.
KLAVIYO_OPTIONAL = {
    "p_alive": "topicprofile_p_alive", "expected_orders_90d": "topicprofile_expected_orders_90d",
    "clv_12m": "topicprofile_clv_12m", "churn_risk": "topicprofile_churn_risk",
    "recommended": "topicprofile_recommended",
}  # fmt: skip
META_HEADER = ("email", "phone", "fn", "ln")
GOOGLE_HEADER = ("Email", "Phone", "First Name", "Last Name", "Country", "Zip")
PLAIN_COLUMNS = (
    "customer_id", "top_interest", "top_score", "interest_tags", "rfm_segment", "segment_name", "recency_days",
    "frequency", "monetary", "avg_order_value", "n_documents", "last_seen", "changed_run", "p_alive",
    "expected_orders_90d", "clv_12m", "churn_risk",
)  # fmt: skip
SHOPIFY_MAX_TAGS = 250
SHOPIFY_MAX_TAG_CHARS = 255
NO_IDENTIFIER = "no e-mail or phone"
NO_CONSENT = "no marketing consent"


def sha256_hex(value: str | None) -> str:
    """SHA-256 hex of a normalised identifier ('' for a missing one)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest() if value else ""


def _text(value: object) -> str:
    return (
        ""
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
        else str(value)
    )


def _tags(value: object) -> list[str]:
    return (
        [] if value is None or (isinstance(value, float) and math.isnan(value)) else [str(v) for v in value]
    )


def _reachable(audience: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    has_id = audience["email"].notna() | audience["phone"].notna()
    skipped = pd.DataFrame({"customer_id": audience.loc[~has_id, "customer_id"], "reason": NO_IDENTIFIER})
    return audience.loc[has_id].reset_index(drop=True), skipped.reset_index(drop=True)


def _consented(flags: pd.Series, *, require: bool) -> pd.Series:
    """True where the customer agreed; an unknown flag (no consent column) counts unless ``require``."""
    known = flags.notna()
    agreed = flags.astype(object).where(known, False).astype(bool)
    return agreed if require else agreed | ~known


def _with_consent(audience: pd.DataFrame, *, require: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reachable customers, each identifier kept only with its channel's consent (``accepts_email``
    for the e-mail, ``accepts_sms`` for the phone); customers left with neither are skipped."""
    rows, skipped = _reachable(audience)
    rows = rows.assign(
        email=rows["email"].where(_consented(rows["accepts_email"], require=require)),
        phone=rows["phone"].where(_consented(rows["accepts_sms"], require=require)),
    )
    lost = rows["email"].isna() & rows["phone"].isna()
    refused = pd.DataFrame({"customer_id": rows.loc[lost, "customer_id"], "reason": NO_CONSENT})
    return rows.loc[~lost].reset_index(drop=True), pd.concat([skipped, refused], ignore_index=True)


def _yes_no(flags: pd.Series) -> list[str]:
    return ["yes" if f is True or f == 1 else "no" for f in flags.astype(object).where(flags.notna(), None)]


def shopify_tags(row: pd.Series) -> str:
    """Interest labels and segments as Shopify tags: no commas, ≤ 255 characters each, ≤ 250 tags."""
    tags = [*_tags(row["interest_tags"]), _text(row["rfm_segment"]), _text(row["segment_name"])]
    clean: list[str] = []
    for tag in tags:
        tag = re.sub(r"\s+", " ", tag.replace(",", " ")).strip()[:SHOPIFY_MAX_TAG_CHARS]
        if tag and tag not in clean:
            clean.append(tag)
    return ", ".join(clean[:SHOPIFY_MAX_TAGS])


def to_shopify(audience: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shopify customer import CSV (its template header); interests go to ``Tags``, the top score to ``Note``."""
    rows, skipped = _reachable(audience)
    out = pd.DataFrame({c: [""] * len(rows) for c in SHOPIFY_HEADER})
    out["First Name"] = rows["first_name"].map(_text)
    out["Last Name"] = rows["last_name"].map(_text)
    out["Email"] = rows["email"].map(_text)
    out["Accepts Email Marketing"] = _yes_no(rows["accepts_email"])
    out["Phone"] = rows["phone"].map(_text)
    out["Accepts SMS Marketing"] = _yes_no(rows["accepts_sms"])
    out["Tags"] = [shopify_tags(r) for _, r in rows.iterrows()]
    out["Note"] = [
        f"topicprofile: top interest {_text(t)} ({s:.2f})" if _text(t) else "" for t, s in zip(rows["top_interest"], rows["top_score"].fillna(0))
    ]  # fmt: skip
    out["Tax Exempt"] = "no"
    return out, skipped


def to_klaviyo(audience: pd.DataFrame, *, require_consent: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Klaviyo list import: ``Email`` / ``Phone Number`` first, then profile properties (interests as a JSON list).

    Marketing lists: an identifier whose channel the customer refused (``accepts_email`` /
    ``accepts_sms`` false; also unknown with ``require_consent``) is left out (as in Meta, Google).
    """
    rows, skipped = _with_consent(audience, require=require_consent)
    out = pd.DataFrame({
        "Email": rows["email"].map(_text), "Phone Number": rows["phone"].map(_text),
        "First Name": rows["first_name"].map(_text), "Last Name": rows["last_name"].map(_text),
        "topicprofile_interests": [json.dumps(_tags(t), ensure_ascii=False) for t in rows["interest_tags"]],
        "topicprofile_top_interest": rows["top_interest"].map(_text),
        "topicprofile_score": rows["top_score"].round(3), "rfm_segment": rows["rfm_segment"].map(_text),
        "segment_name": rows["segment_name"].map(_text),
    })  # fmt: skip
    for column, prop in KLAVIYO_OPTIONAL.items():
        if column in rows and rows[column].notna().any():
            out[prop] = _klaviyo_values(rows[column], column)
    return out, skipped


def _klaviyo_values(values: pd.Series, column: str) -> list[object]:
    if column == "churn_risk":
        return ["" if pd.isna(v) else "true" if v else "false" for v in values]
    if column == "recommended":
        items = [_tags(None if v is pd.NA else v) for v in values]
        return [",".join(re.sub(r"\s+", " ", i.replace(",", " ")).strip() for i in its) for its in items]
    return values.round(2 if column == "clv_12m" else 3).tolist()


def normalize_email_for(destination: str, email: object) -> str:
    text = _text(email).strip().lower()
    if destination == "google" and "@" in text:
        local, domain = text.rsplit("@", 1)
        if domain in ("gmail.com", "googlemail.com"):
            text = f"{local.replace('.', '')}@{domain}"
    return text


def _name(value: object, *, strip_punctuation: bool) -> str:
    text = _text(value).strip().lower()
    return re.sub(r"[^\w]", "", text) if strip_punctuation else text


def to_meta(audience: pd.DataFrame, *, require_consent: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Meta custom audience customer list, every identifier normalised and SHA-256 hashed."""
    rows, skipped = _with_consent(audience, require=require_consent)
    out = pd.DataFrame({
        "email": [sha256_hex(normalize_email_for("meta", e)) for e in rows["email"]],
        "phone": [sha256_hex(_text(p).lstrip("+")) for p in rows["phone"]],
        "fn": [sha256_hex(_name(n, strip_punctuation=True)) for n in rows["first_name"]],
        "ln": [sha256_hex(_name(n, strip_punctuation=True)) for n in rows["last_name"]],
    })  # fmt: skip
    return out, skipped


def to_google(audience: pd.DataFrame, *, require_consent: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Google Customer Match CSV, identifiers normalised and SHA-256 hashed (Country/Zip empty)."""
    rows, skipped = _with_consent(audience, require=require_consent)
    out = pd.DataFrame({
        "Email": [sha256_hex(normalize_email_for("google", e)) for e in rows["email"]],
        "Phone": [sha256_hex(_text(p)) for p in rows["phone"]],
        "First Name": [sha256_hex(_name(n, strip_punctuation=False)) for n in rows["first_name"]],
        "Last Name": [sha256_hex(_name(n, strip_punctuation=False)) for n in rows["last_name"]],
        "Country": "", "Zip": "",
    })  # fmt: skip
    return out, skipped


def to_plain(
    audience: pd.DataFrame, columns: tuple[str, ...] = PLAIN_COLUMNS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The profile columns as they are (lists stay lists; the CSV writer joins them with ``;``)."""
    return audience.loc[:, list(columns)].reset_index(drop=True), pd.DataFrame(
        columns=["customer_id", "reason"]
    )


EXPORTERS = {
    "shopify": to_shopify,
    "klaviyo": to_klaviyo,
    "meta": to_meta,
    "google": to_google,
    "csv": to_plain,
    "parquet": to_plain,
}
#: Destinations that are marketing lists: identifiers follow the customers' consent flags.
CONSENTED = ("klaviyo", "meta", "google")
