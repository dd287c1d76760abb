#!/usr/bin/env python
"""Tag the new or changed review exports in a folder with a saved model (for cron).

The same run as ``topicprofile batch`` (`topicprofile.app.batch.tag_folder`): each file is tagged
once, its profiles are added to OUT/profiles.csv and it is recorded in OUT/ledger.json; a changed
file replaces its earlier profiles; a second run while one is working exits 1 and does nothing.
Prints one line per tagged or failed file; exit 0 when every file is done, 1 otherwise.

Usage::

    python scripts/batch_tag.py --model-dir models/shop --input-dir exports/ --out out/ \\
        [--pattern 'reviews_*.csv'] [--columns text=review_body] [--encoding gb18030] \\
        [--format csv|parquet] [--quiet]

A crontab line (every night at 02:15; the lock makes an overlapping run harmless)::

    15 2 * * * cd /srv/shop && venv/bin/python scripts/batch_tag.py -m model -i exports -o out >>log 2>&1
"""

from __future__ import annotations

import argparse
import logging
import sys

from topicprofile.app.batch import FORMATS, summary_line, tag_folder
from topicprofile.errors import TopicProfileError
from topicprofile.ingest.load import parse_column_map


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", "-m", required=True, help="model saved by `topicprofile fit`")
    parser.add_argument("--input-dir", "-i", required=True, help="folder the exports are dropped into")
    parser.add_argument("--out", "-o", required=True, help="output folder")
    parser.add_argument("--pattern", help="glob of files to take (default: csv, tsv, jsonl, parquet, .gz)")
    parser.add_argument("--columns", help="map reviews columns, e.g. text=review_body,customer_id=user_id")
    parser.add_argument("--encoding", help="input encoding (default: detect)")
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="csv", help="output format")
    parser.add_argument("--quiet", "-q", action="store_true", help="print failures only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.WARNING, format="warning: %(message)s")

    def show(result: dict) -> None:
        if result["status"] == "failed":
            print(summary_line(result), file=sys.stderr, flush=True)
        elif result["status"] != "done" and not args.quiet:
            print(summary_line(result, out=args.out), flush=True)

    try:
        summary = tag_folder(
            args.input_dir, model_dir=args.model_dir, out=args.out, pattern=args.pattern,
            columns=parse_column_map(args.columns), encoding=args.encoding, fmt=args.fmt, on_file=show,
        )  # fmt: skip
    except TopicProfileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"{summary['n_new']} new, {summary['n_changed']} changed, {summary['n_done']} already done, "
              f"{summary['n_failed']} failed")  # fmt: skip
    return 1 if summary["n_failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
