"""Pseudonymous customer ids: HMAC-SHA256(key, id), so outputs join back only for the key holder.

The key is the shop's secret: from the environment variable ``TOPICPROFILE_ID_KEY`` or a key file
(its bytes, surrounding whitespace stripped). The same key and id always give the same pseudonym, so
fit, tag and later runs agree; without the key a pseudonym cannot be turned back into the id
(short of trying every candidate id, which is why :func:`reidentify` takes the candidates).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import pandas as pd

from topicprofile import schema
from topicprofile.errors import ConfigError

__all__ = [
    "ID_KEY_ENV",
    "PSEUDONYM_PREFIX",
    "key_id",
    "load_id_key",
    "pseudonym",
    "pseudonymize_frame",
    "pseudonymize_ids",
    "pseudonymize_rejects",
    "reidentify",
]

#: Environment variable holding the shop's id key.
ID_KEY_ENV = "TOPICPROFILE_ID_KEY"
#: Every pseudonym starts with this, so a reader (and ``privacy-report``) can tell one from an id.
PSEUDONYM_PREFIX = "p_"
#: Hex characters kept of the 64 of the HMAC: 96 bits, no collision among billions of customers.
_HEX_CHARS = 24
_MIN_KEY_BYTES = 16


def load_id_key(key_file: str | Path | None = None) -> bytes:
    """The id key from ``key_file`` if given, else from ``$TOPICPROFILE_ID_KEY``.

    Raises
    ------
    ConfigError
        No key, an unreadable file, or a key shorter than 16 bytes (too easy to guess).
    """
    if key_file is not None:
        try:
            key = Path(key_file).read_bytes().strip()
        except OSError as e:
            raise ConfigError(f"{key_file}: cannot read the id key file ({e.strerror})") from e
        where = str(key_file)
    else:
        key = os.environ.get(ID_KEY_ENV, "").strip().encode("utf-8")
        where = f"${ID_KEY_ENV}"
        if not key:
            raise ConfigError(f"no id key: set {ID_KEY_ENV} or give a key file (e.g. --key-file shop.key)")
    if len(key) < _MIN_KEY_BYTES:
        raise ConfigError(
            f"{where}: the id key has {len(key)} bytes; use at least {_MIN_KEY_BYTES} "
            '(e.g. python -c "import secrets; print(secrets.token_hex(32))" > shop.key)'
        )
    return key


def pseudonym(customer_id: object, key: bytes) -> str:
    """``"p_" + the first 24 hex digits of HMAC-SHA256(key, str(customer_id))``."""
    digest = hmac.new(key, str(customer_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:_HEX_CHARS]


def pseudonymize_ids(ids: pd.Series, key: bytes) -> pd.Series:
    """Replace each id by its pseudonym (missing values stay missing).

    Parameters
    ----------
    ids : Series
        Customer ids of any type (compared as strings, the way ``build_documents`` reads them).
    key : bytes
        The id key, see :func:`load_id_key`.

    Returns
    -------
    Series
        Same index and name, string pseudonyms.
    """
    uniques = ids.dropna().astype(str).unique()
    mapping = {value: pseudonym(value, key) for value in uniques}
    out = ids.astype(str).map(mapping)
    return out.where(ids.notna(), None).rename(ids.name)


def key_id(key: bytes) -> str:
    """A short public name of ``key`` (HMAC of a fixed label, 12 hex digits): stored in a model's
    manifest so that a later run can tell it was given the same key, without storing the key."""
    return hmac.new(key, b"topicprofile id key check", hashlib.sha256).hexdigest()[:12]


def pseudonymize_frame(frame: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """A copy of an input table (reviews, browsing, orders) with its ``customer_id`` column pseudonymised."""
    if schema.CUSTOMER_ID not in frame.columns:
        return frame
    return frame.assign(**{schema.CUSTOMER_ID: pseudonymize_ids(frame[schema.CUSTOMER_ID], key)})


def pseudonymize_rejects(rejects: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """A rejects table (``schema.REJECT_COLUMNS``) whose rejected customer ids are pseudonymised."""
    column, value = schema.REJECT_COLUMNS[2], schema.REJECT_COLUMNS[4]
    ids = rejects[column] == schema.CUSTOMER_ID
    if not ids.any():
        return rejects
    out = rejects.copy()
    out.loc[ids, value] = [pseudonym(v, key) if str(v) else "" for v in out.loc[ids, value]]
    return out


def reidentify(pseudonyms: pd.Series, candidates: pd.Series, key: bytes) -> pd.DataFrame:
    """Map pseudonyms back to the original ids for the key holder.

    Parameters
    ----------
    pseudonyms : Series
        Pseudonymous ids found in outputs.
    candidates : Series
        The shop's original ids (e.g. a customer export); each is hashed with ``key``.
    key : bytes
        The id key used when the outputs were made.

    Returns
    -------
    DataFrame
        Columns ``pseudonym, customer_id`` in the order of ``pseudonyms``; ``customer_id`` is
        missing where no candidate matches (wrong key, or a customer not in the export).
    """
    table = {pseudonym(value, key): value for value in candidates.dropna().astype(str).unique()}
    wanted = pseudonyms.astype(str).reset_index(drop=True)
    return pd.DataFrame({"pseudonym": wanted, "customer_id": wanted.map(table)})
