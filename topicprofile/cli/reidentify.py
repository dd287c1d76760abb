"""``topicprofile reidentify``: map pseudonymous ids back to customer ids, for the id key's holder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from topicprofile.cli._util import app, stderr, stdout, user_errors
from topicprofile.errors import DataValidationError

_TABLES = {".csv", ".tsv", ".parquet"}


def _read_ids(path: Path, column: str) -> list[str]:
    """Ids from a table's ``column`` (CSV, TSV, Parquet) or from a text file, one id per line."""
    import pandas as pd

    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        elif path.suffix.lower() in _TABLES:
            frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",", dtype=str, keep_default_na=False)
        else:
            return [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    except FileNotFoundError:
        raise DataValidationError(f"{path}: file not found") from None
    except (UnicodeDecodeError, ValueError, OSError) as e:
        raise DataValidationError(f"{path}: cannot read ids ({e})") from None
    if column not in frame.columns:
        found = ", ".join(map(str, frame.columns[:10]))
        raise DataValidationError(f"{path}: no column '{column}' (found: {found}); name it with --column")
    return [str(v) for v in frame[column].dropna() if str(v)]


@app.command("reidentify")
def reidentify_cli(
    key_file: Annotated[Path, typer.Option("--key-file", help="The id key used when the outputs were made.")],
    ids: Annotated[Path, typer.Option("--ids", help="Pseudonymous ids: a CSV/TSV/Parquet output or one id per line.")],
    candidates: Annotated[
        Path, typer.Option("--candidates", help="Your original customer ids (an export): CSV/TSV/Parquet or one per line.")
    ],
    column: Annotated[str, typer.Option("--column", help="Id column in table files.")] = "customer_id",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the mapping CSV here (default: stdout).")] = None,
) -> None:
    """Map pseudonymous customer ids (HMAC-SHA256 with your key) back to your customer ids.

    Example: topicprofile reidentify --key-file shop.key --ids out/profiles.csv --candidates customers.csv -o map.csv
    """
    with user_errors():
        import pandas as pd

        from topicprofile._fs import atomic_path
        from topicprofile.privacy.pseudonym import load_id_key, reidentify

        key = load_id_key(key_file)
        mapping = reidentify(pd.Series(_read_ids(ids, column)), pd.Series(_read_ids(candidates, column)), key)
        n_found = int(mapping["customer_id"].notna().sum())
        if n_found == 0 and len(mapping):
            raise DataValidationError(
                f"none of the {len(mapping):,} ids in {ids} matches a candidate: wrong key file, or not pseudonymous ids"
            )
        if out is None:
            stdout.file.write(mapping.to_csv(index=False))
        else:
            with atomic_path(out) as tmp:
                mapping.to_csv(tmp, index=False)
        stderr.print(f"{n_found:,} of {len(mapping):,} ids re-identified")
