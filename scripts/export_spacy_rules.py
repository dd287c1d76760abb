"""Save spaCy's English tokenizer rules and lexical-attribute data as JSON for :mod:`topicprofile.text.rules`.

``tag-text`` tokenizes a sentence with these rules instead of importing spaCy (~1 s of start-up);
the rules are spaCy's own, exported from the installed version, and used only while that version
is installed (``spacy_version`` in the file). ``tests/text/test_tokenizer_rules.py`` checks that they
give spaCy's tokens on thousands of real reviews. Run after upgrading spaCy:

    python scripts/export_spacy_rules.py   # writes topicprofile/data/spacy_rules_en.json
"""

from __future__ import annotations

import json
from pathlib import Path

import spacy
import spacy.lang.en.lex_attrs as en_lex_attrs
from spacy.attrs import ORTH
from spacy.lang import lex_attrs
from spacy.tokenizer import Tokenizer

OUT = Path(__file__).resolve().parents[1] / "topicprofile" / "data" / "spacy_rules_en.json"


def _regex(function) -> dict | None:
    """The pattern and flags of a compiled regex's bound ``search``/``finditer``/``match``."""
    if function is None:
        return None
    pattern = function.__self__
    return {"pattern": pattern.pattern, "flags": int(pattern.flags)}


def _matcher_patterns(tokenizer) -> dict[str, list[str]]:
    """The special cases spaCy's special-case matcher looks for across tokens, each as the tokens
    its string gives without special cases (``Tokenizer.add_special_case``)."""
    plain = Tokenizer(
        tokenizer.vocab, rules=None, prefix_search=tokenizer.prefix_search, suffix_search=tokenizer.suffix_search,
        infix_finditer=tokenizer.infix_finditer, token_match=tokenizer.token_match, url_match=tokenizer.url_match,
    )  # fmt: skip
    return {
        key: [t.text for t in plain(key)]
        for key in sorted(tokenizer.rules)
        if tokenizer.find_prefix(key) or tokenizer.find_infix(key) or tokenizer.find_suffix(key) or " " in key
    }


def rules_data() -> dict:
    """The rules of the installed spaCy's blank English pipeline, as saved."""
    nlp = spacy.blank("en")
    tokenizer = nlp.tokenizer
    assert tokenizer.faster_heuristics, "the rules below assume spaCy's default faster_heuristics"
    data = {
        "spacy_version": spacy.__version__,
        "lang": "en",
        "max_length": nlp.max_length,
        "prefix": _regex(tokenizer.prefix_search),
        "suffix": _regex(tokenizer.suffix_search),
        "infix": _regex(tokenizer.infix_finditer),
        "token_match": _regex(tokenizer.token_match),
        "url_match": _regex(tokenizer.url_match),
        "special_cases": {key: [t[ORTH] for t in tokens] for key, tokens in sorted(tokenizer.rules.items())},
        "matcher_patterns": _matcher_patterns(tokenizer),
        "stop_words": sorted(nlp.Defaults.stop_words),
        "lex_attrs": {
            "email": _regex(lex_attrs._like_email),
            "url": _regex(lex_attrs.URL_MATCH),
            "tlds": sorted(lex_attrs._tlds),
            "num_words": list(en_lex_attrs._num_words),
            "ordinal_words": list(en_lex_attrs._ordinal_words),
        },
    }
    return data


def main() -> None:
    data = rules_data()
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(data['special_cases'])} special cases, spaCy {spacy.__version__}")


if __name__ == "__main__":
    main()
