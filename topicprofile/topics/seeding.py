"""A shop's own interest taxonomy as seed words that guide LDA (a topic-word prior, gensim ``eta``).

A taxonomy file names the shop's interests and gives each a few seed words::

    # taxonomy.toml
    [interests]
    "Outdoor & hiking" = ["hiking", "tent", "trail", "backpack"]
    "Coffee & tea" = ["espresso", "coffee", "tea", "grinder"]

(YAML works too: an ``interests:`` mapping of name to a list of words.) Seeded topic ``k`` gets a
large prior on its seeds and a tiny one on the other interests' seeds, so it converges on its
interest (Jagarlamudi et al. 2012, "guided LDA"); topics beyond the taxonomy stay free and are
reported as emerging interests.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from topicprofile.errors import ConfigError
from topicprofile.text.vectorize import in_vocabulary

__all__ = [
    "load_taxonomy",
    "seed_prior",
    "convergence_warnings",
    "SeedPrior",
    "EMERGING_PREFIX",
    "FREE_TOPICS",
    "DEFAULT_N_TOPICS",
    "topics_for_taxonomy",
]

logger = logging.getLogger(__name__)

#: Label prefix of topics the taxonomy does not cover.
EMERGING_PREFIX = "emerging: "
#: Prior pseudo-counts of a seed word in its topic, as a multiple of the word's corpus frequency:
#: 1.0 means "as if every occurrence had been seen in this topic once more".
SEED_WEIGHT = 1.0
#: A seed word's prior in the *other* topics, relative to the default prior.
OTHER_TOPIC_FACTOR = 0.01
#: Topics without a taxonomy (and without ``n_topics``).
DEFAULT_N_TOPICS = 12
#: Free (emerging) topics added to a taxonomy's interests when ``n_topics`` is not given.
#: Measured (scripts/quality.py's ``tp-taxonomy``; zh_domains, 150 customers, construction seeds 1
#: and 2, model seeds 0-2, three interests of 3-4 seed words; the share of customers whose top
#: interest is their planted one by name): 0 free topics 0.78 / 0.83, 1: 0.53 / 0.76, 2: 0.42 /
#: 0.64 (one free topic before the tagger's named-first rule: 0.45 on construction seed 1). Each free topic
#: takes customers from the named interests it shares words with (a second "book" topic), so none
#: by default; ask for more topics (``n_topics``) to see emerging interests.
FREE_TOPICS = 0


def topics_for_taxonomy(taxonomy: Mapping[str, Sequence[str]] | None) -> int:
    """The number of topics when none is asked for: the taxonomy's interests plus
    :data:`FREE_TOPICS` (room for what the shop did not name), or :data:`DEFAULT_N_TOPICS`."""
    if not taxonomy:
        return DEFAULT_N_TOPICS
    return max(2, len(taxonomy) + FREE_TOPICS)


def load_taxonomy(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Read ``{interest name: [seed words]}`` from a TOML or YAML file (``[interests]`` table).

    Raises
    ------
    ConfigError
        Missing or unreadable file, no ``interests`` table, or an interest without seed words.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: taxonomy file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix.lower() in {".yaml", ".yml"}:
            import yaml

            data = yaml.safe_load(text)
        else:
            raise ConfigError(f"{path}: taxonomy must be a .toml or .yaml file")
    except ConfigError:
        raise
    except Exception as e:  # tomllib/yaml syntax errors, bad encoding
        raise ConfigError(f"{path}: cannot read taxonomy ({type(e).__name__}: {e})") from e
    interests = data.get("interests") if isinstance(data, dict) else None
    if not isinstance(interests, dict) or not interests:
        raise ConfigError(f'{path}: expected an [interests] table, e.g. outdoor = ["hiking", "tent"]')
    return validate_taxonomy(interests, source=str(path))


def validate_taxonomy(interests: Mapping[str, Any], *, source: str = "taxonomy") -> dict[str, list[str]]:
    """Check names and seed lists; returns a plain ``{name: [words]}`` dict in the given order."""
    out: dict[str, list[str]] = {}
    for name, words in interests.items():
        if isinstance(words, str):
            words = [words]
        if not isinstance(words, (list, tuple)) or not words or not all(isinstance(w, str) for w in words):
            raise ConfigError(f"{source}: interest {name!r} needs a list of seed words")
        if ";" in str(name) or not str(name).strip():
            raise ConfigError(f"{source}: interest name {name!r} must be non-empty and without ';'")
        out[str(name).strip()] = [w.strip() for w in words if w.strip()]
    return out


class SeedPrior:
    """The ``eta`` matrix for a taxonomy and what became of each seed word.

    Attributes
    ----------
    eta : array, shape (n_topics, n_terms)
    seed_ids : list of list of int
        Vocabulary ids of each interest's seeds (topic ``k`` = interest ``k``).
    missing : dict
        Interest name -> seed words not in the vocabulary.
    """

    def __init__(self, eta: np.ndarray, seed_ids: list[list[int]], missing: dict[str, list[str]]) -> None:
        self.eta = eta
        self.seed_ids = seed_ids
        self.missing = missing


def seed_prior(
    interests: Mapping[str, Sequence[str]],
    *,
    n_topics: int,
    dictionary: Any,
    encode: Any,
    n_training_docs: int,
    base: float | None = None,
) -> SeedPrior:
    """Build the topic-word prior: topic ``k`` is seeded with interest ``k``'s words.

    Parameters
    ----------
    interests : mapping
        ``{name: [seed words]}`` in topic order.
    n_topics : int
        Total topics (at least the number of interests).
    dictionary : gensim Dictionary
    encode : callable
        ``encode(list of str) -> list of token lists``: the fit's tokenizer and phrases, so seeds
        are normalized exactly like the text ("hiking boots" -> ``hike``, ``boot`` or ``hike_boot``).
    n_training_docs : int
        Documents LDA trains on (kept for the record; the weight follows the seeds' frequencies).
    base : float, optional
        The prior of every other word in every topic: ``None`` is ``1 / n_topics`` (gensim's
        symmetric default, the variational trainer); the Gibbs trainer passes its ``eta`` (0.1), so
        the matrix's common value is tomotopy's ``eta`` and the seed columns its ``set_word_prior``.
    """
    if n_topics < len(interests):
        raise ConfigError(f"--topics {n_topics} is fewer than the taxonomy's {len(interests)} interests")
    base = 1.0 / n_topics if base is None else float(base)
    eta = np.full((n_topics, len(dictionary)), base)
    seed_ids: list[list[int]] = []
    missing: dict[str, list[str]] = {}
    for name, words in interests.items():
        ids: list[int] = []
        for word, tokens in zip(words, encode(list(words)), strict=True):
            found = [dictionary.token2id[t] for t in in_vocabulary(tokens, dictionary.token2id)
                     if t in dictionary.token2id]  # fmt: skip
            if not found:
                missing.setdefault(name, []).append(word)
            ids.extend(i for i in found if i not in ids)
        seed_ids.append(ids)
    frequency = np.array([dictionary.cfs.get(i, 1) for i in range(len(dictionary))], dtype=float)
    for k, ids in enumerate(seed_ids):
        eta[:, ids] = base * OTHER_TOPIC_FACTOR
        eta[k, ids] = SEED_WEIGHT * frequency[ids]
    for name, words in missing.items():
        logger.warning(
            "taxonomy: seed word(s) %s of %r not in the vocabulary (too rare or stop words); they are ignored",
            ", ".join(repr(w) for w in words),
            name,
        )
    return SeedPrior(eta, seed_ids, missing)


def convergence_warnings(
    topic_word: np.ndarray, seed_ids: Sequence[Sequence[int]], names: Sequence[str], *, top_n: int = 20
) -> list[str]:
    """Seeded topics that did not converge on their seeds, with the evidence (seed ranks).

    A seeded topic converged when at least one seed is among its ``top_n`` words and its seeds
    hold at least 5% of its probability mass.
    """
    messages = []
    for k, (ids, name) in enumerate(zip(seed_ids, names, strict=False)):
        if not ids:
            messages.append(f"taxonomy: interest {name!r} has no seed word in the vocabulary; its topic is unguided")
            continue
        order = np.argsort(-topic_word[k], kind="stable")
        ranks = sorted(int(np.flatnonzero(order == i)[0]) + 1 for i in ids)
        mass = float(topic_word[k, ids].sum())
        if ranks[0] > top_n or mass < 0.05:
            messages.append(
                f"taxonomy: topic {k} ({name!r}) did not converge on its seeds: best seed rank "
                f"{ranks[0]}, seeds hold {mass:.1%} of the topic; add seed words the customers use"
            )
    for message in messages:
        logger.warning("%s", message)
    return messages
