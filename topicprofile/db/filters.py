"""The audience filter language: a small expression grammar parsed to an AST and compiled to SQL with parameters.

Grammar (keywords case-insensitive)::

    expr       := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "not" factor | "(" expr ")" | comparison
    comparison := COLUMN OP literal | COLUMN ["not"] "in" "(" literal ("," literal)* ")"
    OP         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    literal    := 'text' (a quote inside is doubled: 'Can''t Lose') | number

Columns (anything else is an error): ``interest`` (one of the customer's interest tags; ``=``,
``!=``, ``in``), ``score`` (the top interest's score), ``top_interest``, ``rfm_segment``,
``segment_name``, ``segment_id``, ``recency_days``, ``frequency``, ``monetary``,
``avg_order_value``, ``r_score``, ``f_score``, ``m_score``, ``n_documents``, ``last_seen``
(an ISO date), ``p_alive``, ``expected_orders_90d``, ``clv_12m`` (numbers; unknown without
orders), ``accepts_email`` / ``accepts_sms`` / ``churn_risk`` (``= 'yes'`` / ``'no'``; an
unknown flag matches neither), ``recommended`` (one of the customer's current recommended items,
``recommend --db``; ``=``, ``!=``, ``in``).

The compiled SQL holds only column expressions from the table below and ``?`` placeholders; the
user's text is never part of it. Example::

    interest = 'Outdoor' and rfm_segment in ('At Risk', 'Can''t Lose') and monetary >= 100
    interest = 'Jazz' and churn_risk = 'yes' and clv_12m >= 50
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from topicprofile.errors import ConfigError

MAX_LENGTH = 4_000
MAX_DEPTH = 32

# column -> (SQL expression over profiles p / identifiers i, kind)
COLUMNS: dict[str, tuple[str, str]] = {
    "interest": ("p.interest_tags", "interest"),
    "score": ("p.top_score", "number"),
    "top_interest": ("p.top_interest", "text"),
    "rfm_segment": ("p.rfm_segment", "text"),
    "segment_name": ("p.segment_name", "text"),
    "segment_id": ("p.segment_id", "number"),
    "recency_days": ("p.recency_days", "number"),
    "frequency": ("p.frequency", "number"),
    "monetary": ("p.monetary", "number"),
    "avg_order_value": ("p.avg_order_value", "number"),
    "r_score": ("p.r_score", "number"),
    "f_score": ("p.f_score", "number"),
    "m_score": ("p.m_score", "number"),
    "n_documents": ("p.n_documents", "number"),
    "last_seen": ("p.last_seen", "date"),
    "p_alive": ("p.p_alive", "number"),
    "expected_orders_90d": ("p.expected_orders_90d", "number"),
    "clv_12m": ("p.clv_12m", "number"),
    "churn_risk": ("p.churn_risk", "flag"),
    "accepts_email": ("i.accepts_email", "flag"),
    "accepts_sms": ("i.accepts_sms", "flag"),
    "recommended": ("r.item", "recommended"),
}
_EQUALITY_ONLY = ("interest", "flag", "recommended")
# a customer's current recommendations hold the item (``r.item`` compared inside)
_RECOMMENDED = "EXISTS (SELECT 1 FROM recommendations r WHERE r.customer_id = p.customer_id AND {})"
_OPS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),]))"
)
_KEYWORDS = {"and", "or", "not", "in"}


@dataclass(frozen=True)
class Token:
    kind: str  # string | number | name | keyword | op | punct | end
    value: Any
    pos: int


@dataclass(frozen=True)
class Compare:
    column: str
    op: str
    value: Any


@dataclass(frozen=True)
class InList:
    column: str
    values: tuple[Any, ...]
    negated: bool = False


@dataclass(frozen=True)
class Not:
    item: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    items: tuple[Any, ...]


def _error(text: str, pos: int, what: str) -> ConfigError:
    return ConfigError(f"--where: {what} at character {pos + 1}: {text[max(0, pos - 10) : pos + 20]!r}")


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text`` (strings unquoted, numbers as float/int, keywords lower-cased)."""
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"--where: the filter is {len(text):,} characters long; at most {MAX_LENGTH:,}.")
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            start = len(text[pos:]) - len(text[pos:].lstrip()) + pos
            what = "unterminated string" if text[start] == "'" else f"unexpected character {text[start]!r}"
            raise _error(text, start, what)
        kind = m.lastgroup
        raw, start = m.group(kind), m.start(kind)
        if kind == "string":
            value: Any = raw[1:-1].replace("''", "'")
        elif kind == "number":
            value = float(raw) if any(c in raw for c in ".eE") else int(raw)
        elif kind == "name" and raw.lower() in _KEYWORDS:
            kind, value = "keyword", raw.lower()
        else:
            value = raw
        tokens.append(Token(kind, value, start))
        pos = m.end()
    tokens.append(Token("end", None, len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.i, self.depth = text, tokenize(text), 0, 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self, kind: str, value: Any = None) -> Token:
        token = self.peek()
        if token.kind != kind or (value is not None and token.value != value):
            found = "the end" if token.kind == "end" else repr(str(token.value))
            raise _error(self.text, token.pos, f"expected {value or kind}, found {found}")
        self.i += 1
        return token

    def accept(self, kind: str, value: Any = None) -> bool:
        token = self.peek()
        if token.kind == kind and (value is None or token.value == value):
            self.i += 1
            return True
        return False

    def parse(self) -> Any:
        if self.peek().kind == "end":
            raise ConfigError("--where: the filter is empty.")
        node = self.expr()
        self.take("end")
        return node

    def expr(self) -> Any:
        items = [self.term()]
        while self.accept("keyword", "or"):
            items.append(self.term())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def term(self) -> Any:
        items = [self.factor()]
        while self.accept("keyword", "and"):
            items.append(self.factor())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def factor(self) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(self.text, self.peek().pos, f"nesting deeper than {MAX_DEPTH}")
        try:
            if self.accept("keyword", "not"):
                return Not(self.factor())
            if self.accept("punct", "("):
                node = self.expr()
                self.take("punct", ")")
                return node
            return self.comparison()
        finally:
            self.depth -= 1

    def literal(self, column: str) -> Any:
        token = self.peek()
        if token.kind not in ("string", "number"):
            raise _error(self.text, token.pos, "expected a 'text' or a number")
        self.i += 1
        return _check_value(self.text, token, column)

    def comparison(self) -> Any:
        token = self.take("name")
        column = token.value.lower()
        if column not in COLUMNS:
            raise ConfigError(f"--where: unknown column {token.value!r}; use one of: {', '.join(COLUMNS)}.")
        negated = self.accept("keyword", "not")
        if negated or self.peek() == Token("keyword", "in", self.peek().pos):
            self.take("keyword", "in")
            self.take("punct", "(")
            values = [self.literal(column)]
            while self.accept("punct", ","):
                values.append(self.literal(column))
            self.take("punct", ")")
            return InList(column, tuple(values), negated)
        op = self.take("op").value
        if COLUMNS[column][1] in _EQUALITY_ONLY and op not in ("=", "!=", "<>"):
            raise _error(self.text, token.pos, f"{column} takes =, != or in, not {op}")
        return Compare(column, "!=" if op == "<>" else op, self.literal(column))


def _check_value(text: str, token: Token, column: str) -> Any:
    kind = COLUMNS[column][1]
    if kind == "number":
        if token.kind != "number":
            raise _error(text, token.pos, f"{column} is a number; {token.value!r} is text")
        return token.value
    if token.kind != "string":
        raise _error(text, token.pos, f"{column} takes 'quoted text', not {token.value}")
    if kind == "date":
        try:
            return dt.datetime.fromisoformat(token.value)
        except ValueError:
            raise _error(
                text, token.pos, f"{column} takes an ISO date like '2026-01-31', not {token.value!r}"
            ) from None
    if kind == "flag":
        if token.value.lower() not in ("yes", "no"):
            raise _error(text, token.pos, f"{column} is 'yes' or 'no'")
        return token.value.lower() == "yes"
    return token.value


def parse(text: str) -> Any:
    """The AST of a filter (``Compare``, ``InList``, ``Not``, ``BoolOp``); ``ConfigError`` on bad input."""
    return _Parser(text).parse()


def _interest_sql(value: str, params: list[Any], min_score: float | None) -> str:
    params.append(value)
    if min_score is None:
        return "list_contains(p.interest_tags, ?)"
    params.extend([value, min_score])
    return "(list_contains(p.interest_tags, ?) AND coalesce(p.interest_scores[?], 0) >= ?)"


def _compile(node: Any, params: list[Any], min_score: float | None) -> str:
    if isinstance(node, BoolOp):
        return (
            "(" + f" {node.op.upper()} ".join(_compile(item, params, min_score) for item in node.items) + ")"
        )
    if isinstance(node, Not):
        return f"(NOT coalesce({_compile(node.item, params, min_score)}, FALSE))"
    expression, kind = COLUMNS[node.column]
    if isinstance(node, InList):
        if kind == "interest":
            inner = " OR ".join(_interest_sql(v, params, min_score) for v in node.values)
        elif kind == "recommended":
            params.extend(node.values)
            inner = _RECOMMENDED.format(f"{expression} IN ({', '.join('?' * len(node.values))})")
        else:
            params.extend(node.values)
            inner = f"{expression} IN ({', '.join('?' * len(node.values))})"
        return f"(NOT coalesce(({inner}), FALSE))" if node.negated else f"({inner})"
    if kind == "interest":
        sql = _interest_sql(node.value, params, min_score)
        return f"(NOT coalesce({sql}, FALSE))" if node.op == "!=" else sql
    if kind == "recommended":
        params.append(node.value)
        sql = _RECOMMENDED.format(f"{expression} = ?")
        return f"(NOT {sql})" if node.op == "!=" else f"({sql})"
    params.append(node.value)
    return f"({expression} {node.op} ?)"


def compile_filter(text: str | None, *, min_score: float | None = None) -> tuple[str, list[Any]]:
    """``(sql, params)``: a boolean SQL expression over ``profiles p`` and ``identifiers i`` (and,
    for ``recommended``, a subquery over ``recommendations``).

    ``min_score`` also requires each named interest's score to reach it (and, without a filter,
    the top interest's score).
    """
    params: list[Any] = []
    if text is None or not text.strip():
        if min_score is None:
            return "TRUE", params
        return "(p.top_score >= ?)", [min_score]
    return _compile(parse(text), params, min_score), params
