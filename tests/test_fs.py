"""topicprofile._fs: the one atomic writer (whole-text / whole-bytes forms) and the file fingerprint."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from topicprofile import _fs
from topicprofile.ingest.load import write_rejects


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("durable", [False, True])
def test_atomic_write_text_replaces_with_umask_permissions(tmp_path: Path, durable: bool) -> None:
    target = tmp_path / "sub" / "ledger.json"
    _fs.atomic_write_text(target, "first\n", durable=durable)
    _fs.atomic_write_text(target, "second ünïcode\n", durable=durable)
    assert target.read_text(encoding="utf-8") == "second ünïcode\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_fs.current_umask()  # not mkstemp's 0600
    assert _leftovers(target.parent) == []


def test_atomic_write_bytes_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "entry.parquet"
    _fs.atomic_write_bytes(target, b"old")
    with pytest.raises(TypeError):
        _fs.atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_write_rejects_goes_through_the_atomic_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while the rejects are written leaves the previous rejects file and no temporary file."""
    import pandas as pd

    from topicprofile.schema import REJECT_COLUMNS

    target = tmp_path / "rejects.csv"
    target.write_text("previous\n", encoding="utf-8")
    table = pd.DataFrame([["r.csv", 2, "text", "empty text", ""]], columns=list(REJECT_COLUMNS))

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_rejects(table, target)
    assert target.read_text(encoding="utf-8") == "previous\n"
    assert _leftovers(tmp_path) == []


def test_sha256_file_equals_hashlib_across_blocks(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # more than one 1 MiB block, not a multiple of it
    path = tmp_path / "input.csv"
    path.write_bytes(data)
    assert _fs.sha256_file(path) == hashlib.sha256(data).hexdigest() == _fs.sha256_bytes(data)
