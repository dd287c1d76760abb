"""The split check of docs/quality.md: several Gibbs chains per harness fit, each scored, and the
restart rules replayed on them.

For every shop, construction seed and model seed, topicprofile is fitted once per chain (chain 0
= the default seed, chain r = ``quality.chain_seed(seed, r)``) and each fit records the customers'
NMI, the trained model's ``quality.split_ratio`` and its log-likelihood per word. ``--report``
replays the rule "train another chain while the ratio is below a threshold, up to C chains, keep
the tried chain with the highest ratio / log-likelihood" on the recorded chains, without fitting.

    python scripts/split_check.py --shops zh_domains zh_shop en_amazon corpora --chains 5 \\
        --construction-seeds 0 1 2 --json docs/quality_runs/split_check_chains.jsonl
    python scripts/split_check.py --report docs/quality_runs/split_check_chains.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality

from topicprofile.topics import gibbs


def run(args: argparse.Namespace) -> None:
    original, seen = gibbs.train_tomotopy, {}

    def one_chain(counts, dictionary, *, n_topics, params, random_state):
        chain = seen["chain"]
        seed = random_state if chain == 0 else quality.chain_seed(random_state, chain)
        model = original(counts, dictionary, n_topics=n_topics, params=params, random_state=seed)
        seen.update(ratio=quality.split_ratio(model), ll=float(model.ll_per_word))
        return model

    gibbs.train_tomotopy = one_chain
    tables: dict = {}
    with open(args.json, "a", encoding="utf-8") as out:
        for source in args.shops:
            specs = [(0, 0)] if source == "corpora" else [(150, c) for c in args.construction_seeds]
            for n_customers, cseed in specs:
                shop = quality.make_shop(source, n_customers, cseed, tables)
                ps = quality.prepare(shop)
                truth = shop.planted.to_numpy(dtype=str)
                for seed in args.seeds:
                    for chain in range(args.chains):
                        seen["chain"] = chain
                        scores = quality.score(truth, quality.fit_topicprofile(ps, shop.k, seed).top)
                        ratio = seen["ratio"] if np.isfinite(seen["ratio"]) else None
                        record = {"shop": source, "n_customers": shop.n_customers, "construction_seed": cseed,
                                  "seed": seed, "chain": chain, "nmi": scores["nmi"], "coverage": scores["coverage"],
                                  "ratio": ratio, "ll_per_word": seen["ll"]}  # fmt: skip
                        out.write(json.dumps(record) + "\n")
                        out.flush()
                        print(record, flush=True)


def replay(chains: pd.DataFrame, threshold: float, max_chains: int, keep: str) -> tuple[float, float]:
    """Mean NMI and mean number of chains trained under the rule, over the recorded fits."""
    nmis, counts = [], []
    for _, fit in chains.groupby(["construction_seed", "seed"]):
        tried = []
        for row in fit.sort_values("chain").itertuples():
            if row.chain >= max_chains:
                break
            tried.append(row)
            if row.ratio >= threshold:
                break
        kept = max(tried, key=lambda r: r.ratio if keep == "ratio" else r.ll_per_word)
        nmis.append(kept.nmi)
        counts.append(len(tried))
    return float(np.mean(nmis)), float(np.mean(counts))


def report(path: Path) -> str:
    chains = pd.read_json(path, lines=True)
    chains["ratio"] = chains["ratio"].fillna(np.inf)  # no pair of topics sharing words: not split
    chains["part"] = np.where(chains["construction_seed"] >= 3, "held-out c3-4", "c0-2")
    groups = sorted(chains.groupby(["shop", "part"]).groups)
    lines = ["| rule | " + " | ".join(f"{s} {p}" for s, p in groups) + " |", "|---" * (len(groups) + 1) + "|"]
    rules = [("one chain (default)", 0.0, 1, "ratio")] + [
        (f"ratio < {t}: up to {c} chains, keep best {k}", t, c, k)
        for t in (0.1, 0.2) for k in ("ratio", "ll") for c in (2, 3)
    ]  # fmt: skip
    for name, threshold, max_chains, keep in rules:
        cells = []
        for shop, part in groups:
            nmi, n = replay(
                chains[(chains["shop"] == shop) & (chains["part"] == part)], threshold, max_chains, keep
            )
            cells.append(f"{nmi:.3f} ({n:.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shops", nargs="+", default=["zh_domains", "zh_shop", "en_amazon", "corpora"])
    p.add_argument("--construction-seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--chains", type=int, default=5)
    p.add_argument("--json", type=Path, default=None, help="append one JSON line per chain")
    p.add_argument("--report", type=Path, default=None, help="no fitting: the rule table from a --json file")
    args = p.parse_args()
    if args.report is not None:
        print(report(args.report))
    elif args.json is None:
        p.error("--json FILE is required to fit")
    else:
        run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
