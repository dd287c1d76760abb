"""CPU time of ``tag_text`` on real reviews: batch throughput and single-call p50 (one process).

    python scripts/tag_text_cpu.py MODEL_DIR [--data ../shared/data/zh_reviews.txt] [--n 5000]

CPU seconds of this process (``time.process_time``), so a busy machine does not distort the figure
as much as wall time; min of 3 batch calls, median of 400 single calls. docs/tokenizer_zh.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from topicprofile import TopicProfiler

_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "zh_reviews.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--data", type=Path, default=_DATA)
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    lines = [line.strip() for line in args.data.open(encoding="utf-8") if line.strip()]
    texts = random.Random(1).sample(lines, args.n)
    model = TopicProfiler.load(args.model_dir)
    model.tag_text("warm up")
    batch = []
    for _ in range(3):
        start = time.process_time()
        model.tag_text(texts)
        batch.append(time.process_time() - start)
    single = []
    for text in texts[:400]:
        start = time.process_time()
        model.tag_text(text)
        single.append(time.process_time() - start)
    print(f"batch tag_text of {args.n:,} texts: {min(batch):.2f} CPU s = {args.n / min(batch):,.0f} texts/s; "
          f"single tag_text p50 {1000 * statistics.median(single):.2f} CPU ms")  # fmt: skip


if __name__ == "__main__":
    main()
