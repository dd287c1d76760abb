"""Write the hostile input files of this folder (run once; the files are committed).

    python tests/hostile/make_cases.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOOD = [
    "Great running shoes with grip on wet trails is excellent",
    "The tent kept us dry all night and easy to pitch",
    "Love this coffee grinder and beans ground evenly every morning",
    "Soft yoga mat with a good grip and no slipping in hot class",
    "Backpack straps are comfortable on long hikes",
    "The espresso machine makes a rich crema",
    "Trail shoes fit well and the sole is durable",
    "Sleeping bag warm enough for cold mountain nights",
]


def rows(prefix: str = "c") -> list[str]:
    return [f"{prefix}{i},{text}" for i, text in enumerate(GOOD)]


def write(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


def main() -> None:
    header = "customer_id,text\n"
    utf8 = (header + "\n".join(rows() + ["u1,Très bon café et crème brûlée parfaite", "u2,质量很好，物流也快"]) + "\n").encode()
    damaged = utf8.replace("c1,The tent".encode(), b"c1,The t\xe9nt").replace("c5,The espresso".encode(), b"c5,The espr\xffsso")
    damaged = damaged.replace("Très".encode(), b"Tr\xe8s")
    write("utf8_three_bad_bytes.csv", damaged)
    mixed = (header + "\n".join(rows())).encode() + b"\n" + "m1,café au lait très bien\n".encode() + b"m2,caf\xe9 noir tr\xe8s bien\n"
    write("mixed_utf8_cp1252.csv", mixed)
    write("cp1252_whole_file.csv", (header + "\n".join(rows() + ["w1,Größe passt und schöne Qualität"]) + "\n").encode("cp1252"))
    write("utf16_bom.csv", (header + "\n".join(rows()) + "\n").encode("utf-16"))
    write("gb18030.csv", (header + "\n".join(rows() + ["z1,酒店房间很干净，服务很好"]) + "\n").encode("gb18030"))
    write("first_row_extra_field.csv", (header + "c0,shoes,extra\n" + "\n".join(rows()[1:]) + "\n").encode())
    write("first_row_unbalanced_quote.csv", (header + 'c0,"shoes\n' + "\n".join(rows()[1:]) + "\n").encode())
    write("header_only.csv", header.encode())
    write("empty.csv", b"")
    write("random_binary.csv", bytes(range(256)) * 4)
    lines = [json.dumps({"customer_id": f"c{i}", "text": t}) for i, t in enumerate(GOOD)]
    accented = [json.dumps({"customer_id": f"a{i}", "text": f"Très bon café {i}"}, ensure_ascii=False) for i in range(3)]
    damaged_jsonl = ("\n".join(lines + accented) + "\n").encode().replace(b"coffee", b"c\xf6ffee")
    write("jsonl_bad_bytes_in_a_string.jsonl", damaged_jsonl)
    write("jsonl_malformed_line.jsonl", ("\n".join(lines[:3] + ['{"customer_id": "x", "text": "no end'] + lines[3:]) + "\n").encode())
    write("jsonl_lone_surrogate_escape.jsonl", ("\n".join(lines + ['{"customer_id": "s1", "text": "half a pair \\ud800 here"}']) + "\n").encode())
    write("jsonl_not_objects.jsonl", b'[1, 2]\n"text"\n')
    write("truncated.csv.gz", __import__("gzip").compress((header + "\n".join(rows()) + "\n").encode())[:-12])
    write("fake.parquet", b"PAR1 this is not parquet PAR1")
    write("nul_bytes.csv", (header + "\n".join(rows())).encode().replace(b"tent", b"te\x00nt") + b"\n")
    write("crlf_semicolon.csv", ("customer_id;text\r\n" + "\r\n".join(r.replace(",", ";", 1) for r in rows()) + "\r\n").encode())


if __name__ == "__main__":
    main()
