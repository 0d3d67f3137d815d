"""A conversion model learned from the team's own closed leads (Converted = 1, Unqualified = 0).

Two candidates, chosen by stratified k-fold cross-validation on the decided leads:

- "logistic": an L2-regularised logistic regression (scikit-learn). Categories one-hot with
  every value kept (no reference level), so a weight is how far that value moves a lead away
  from the typical one, which is what "Why" needs; title words as yes/no; each number both
  standardised (a straight trend) and in quantile bins (a bend the trend misses), with a
  missing flag. The penalty (a Gaussian prior on each weight) keeps a value seen on a handful
  of leads within a few points of the average.
- "boosted": gradient-boosted trees (LightGBM) with native categorical splits and missing
  values routed at each split, which finds interactions ("referrals convert, but not from
  interns") and thresholds the regression cannot. LightGBM rather than scikit-learn's
  HistGradientBoosting because its `pred_contrib` gives each prediction's exact additive
  contributions (TreeSHAP), so the Why column of a tree model is as honest as the regression's.

The candidate with the higher cross-validated ROC AUC is refitted on every decided lead
(the regression wins ties: it is the simpler). Its raw log-odds are calibrated by a sigmoid
(Platt) fitted on the held-out folds' predictions, never on rows a model saw: trees'
probabilities are not calibrated by construction, and a monotone sigmoid keeps the ranking
(so the AUC) while isotonic steps would tie leads apart and need far more rows.

Engagement (activities) is deliberately not a feature: activities are logged during and
after the conversion itself, so they would teach the model the outcome, not its cause.
Likewise a custom column typed once a lead is decided ("Lost reason", "Converted On") describes
the outcome (`describes_outcome`); such columns are left out and named in the note.

Predictions answer "if this lead is decided, how likely is it to convert?", the quantity
the history can calibrate. A decided lead's own answer is its held-out one (from the fold
model that did not see it), never the final model's, which has learned its outcome. Whether
the model is better than chance at all is `LearnedModel.beats_chance`; the caller decides what
to do when it is not (`scoring.score_leads` keeps the rules). A fit is a pure function of the training rows and settings, so
a `FitCache` the caller keeps (`score_leads(..., cache=)`) spares refitting an unchanged
history: it is keyed by a hash of the encoded training rows, the settings and the library
versions.
"""

from __future__ import annotations

import datetime as dt
import base64
import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import NormalDist
from typing import Any, Literal

# numpy is imported by the functions that fit, predict or read a kept fit, not here: the
# settings and the names below are read at every command's start (config, scoring), and a
# CRM scored by rules never needs numpy's 0.2 s of CPU (tests/test_startup_imports.py).
from babel.dates import format_date
from babel.numbers import format_percent, get_decimal_symbol
from pydantic import BaseModel, ConfigDict, Field

from sheetcrm.cells import is_blank, normalize_key
from sheetcrm.crm.money import Rates
from sheetcrm.crm.rules import YES_NO, as_text, column_label, format_points, show
from sheetcrm.i18n import N_, NC_, _, current, in_locale, pgettext
from sheetcrm.records import Lead

CONVERTED, UNQUALIFIED = "Converted", "Unqualified"

Candidate = Literal["logistic", "boosted"]
CANDIDATES: tuple[Candidate, ...] = ("logistic", "boosted")
# How people are told each candidate (the Dashboard's note, `score --evaluate`).
CANDIDATE_NAMES = {"logistic": NC_("learned model", "logistic regression"),
                   "boosted": NC_("learned model", "gradient-boosted trees")}


def candidate_name(candidate: str) -> str:
    """A candidate's name in the current language; an unknown one as it is."""
    name = CANDIDATE_NAMES.get(candidate)
    return pgettext(*name) if name else candidate


def outcome(lead: Lead) -> int | None:
    """1 for a converted lead, 0 for an unqualified one, None while it is open."""
    return 1 if lead.status == CONVERTED else 0 if lead.status == UNQUALIFIED else None


class LearnedSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    min_converted: int = Field(default=50, ge=1)
    min_unqualified: int = Field(default=50, ge=1)
    # "auto" picks by cross-validation; naming a candidate skips the other one.
    model: Literal["auto", "logistic", "boosted"] = "auto"
    # The inverse prior variance of each regression weight, in log-odds; 1 keeps a value seen
    # on a handful of leads within a few points of the average.
    l2: float = Field(default=1.0, gt=0)
    # A value seen on fewer closed leads than this teaches noise, not signal.
    min_feature_count: int = Field(default=3, ge=1)
    folds: int = Field(default=5, ge=2, le=20)
    seed: int = 0
    # Cross-validation on more decided leads than this uses a stratified sample of them: the
    # choice and the calibration are settled long before 100k rows, the final fit uses all.
    max_cv_rows: int = Field(default=20_000, ge=100)
    max_title_words: int = Field(default=100, ge=0)


# --- features ------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset({"of", "and", "the", "for", "de", "del", "la", "el", "los", "las", "y", "en", "at"})
# Ordered from most to least senior: a "VP of Marketing Operations Manager" is a VP.
_SENIORITY = (
    ("executive", frozenset({"ceo", "cto", "cfo", "coo", "cmo", "cio", "cro", "cpo", "chief", "founder", "cofounder",
                             "president", "presidente", "presidenta", "vp", "svp", "evp", "vice", "fundador",
                             "fundadora", "md"})),
    ("director or head", frozenset({"director", "directora", "head", "jefe", "jefa"})),  # not for people: feature keys; their labels are _LEVELS
    ("manager", frozenset({"manager", "gerente", "lead", "responsable", "coordinator", "coordinador",
                           "coordinadora", "supervisor", "supervisora"})),
    ("junior", frozenset({"intern", "trainee", "student", "becario", "becaria", "junior", "jr", "assistant",
                          "asistente", "practicas", "apprentice"})),
)
_WEBMAIL = frozenset({"gmail", "googlemail", "hotmail", "outlook", "live", "msn", "yahoo", "ymail", "icloud", "me",
                      "mac", "aol", "proton", "protonmail", "pm", "gmx", "yandex", "mail", "zoho", "terra", "orange",
                      "wanadoo", "libero", "web", "qq", "163"})

# How a reason names a seniority level; the level itself is the feature's key.
_LEVELS = {"executive": N_("executive"), "director or head": N_("director or head"), "manager": N_("manager"),  # not for people: feature keys; their labels are _LEVELS
           "junior": N_("junior"), "individual contributor": N_("individual contributor")}  # not for people: feature keys; their labels are _LEVELS
_EMAIL_LABELS = {"webmail": N_("Personal (webmail) email"), "work": N_("Work email"), "": N_("No email")}
_GIVEN_LABELS = {("phone", "yes"): N_("Phone given"), ("phone", "no"): N_("No phone"),
                 ("company", "yes"): N_("Company given"), ("company", "no"): N_("No company")}
# The standard category columns, in order: (key, English header or None for derived ones).
_STANDARD = (("source", "Source"), ("campaign", "Campaign"), ("owner", "Owner"), ("seniority", None),
             ("email", None), ("phone", None), ("company", None))


_LAST_ORDINAL = dt.date.max.toordinal()
_DECIMAL_SIGNS: dict[str, str] = {}  # language -> its decimal sign (CLDR, by babel)
_PERCENT_SIGNS: dict[str, str] = {}  # language -> what follows a percentage's number: "%", " %" (CLDR)


def _word_label(word: str) -> str:
    return word.upper() if len(word) <= 3 else word.capitalize()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _numeric(value: Any) -> float:
    """A custom cell as a model number: numbers as they are, yes/no as 1/0, dates as days; NaN otherwise."""
    if value is None:
        return math.nan
    cls = value.__class__
    if cls is Decimal or cls is float or cls is int:  # the common cases, first
        x = float(value)
        return x if math.isfinite(x) else math.nan
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if _is_number(value):
        x = float(value)
        return x if math.isfinite(x) else math.nan
    if hasattr(value, "toordinal"):
        return float(value.toordinal())
    return math.nan


# A column's fill tells the outcome apart, or the open leads lack it, when chance would do so
# less than once in a hundred histories (per test: there are a handful of custom columns).
_LEAK_ALPHA = 0.01


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _hypergeometric_upper(total: int, marked: int, drawn: int, at_least: int) -> float:
    """P(X ≥ at_least) for X the marked items among `drawn` taken from `total` (`marked` marked):
    the one-sided p-value of Fisher's exact test."""
    low, high = max(at_least, marked + drawn - total, 0), min(marked, drawn)
    if low > high:
        return 0.0
    base = _log_comb(total, drawn)
    return min(1.0, sum(math.exp(_log_comb(marked, x) + _log_comb(total - marked, drawn - x) - base)
                        for x in range(low, high + 1)))


def _binomial_lower(n: int, p: float, at_most: int) -> float:
    """P(X ≤ at_most) for X ~ Binomial(n, p)."""
    if p <= 0:
        return 1.0
    if p >= 1:
        return 1.0 if at_most >= n else 0.0
    lp, lq = math.log(p), math.log1p(-p)
    return min(1.0, sum(math.exp(_log_comb(n, x) + x * lp + (n - x) * lq) for x in range(0, min(at_most, n) + 1)))


def describes_outcome(filled_lost: int, filled_won: int, filled_open: int, lost: int, won: int, n_open: int) -> bool:
    """Whether a custom column is written once a lead is decided ("Converted On", "Lost reason"), from how
    many leads of each group have it filled (unqualified, converted, open) and each group's size.

    A model that learns such a column learns the outcome, not its cause: it scores every open lead
    (which lacks it) as if it had lost, and cross-validates as if it knew the future. This is the
    "target leakage" of Kaufman, Rosset & Perlich, "Leakage in data mining" (KDD 2011), who detect
    it as a feature whose values are distributed differently on the rows still to be predicted
    than on the rows whose outcome is known. Here the value is only filled or not, and both the
    decided and the open leads are at hand, so the test is two exact counts:

    1. the fill tells the outcomes apart: the outcome whose leads have it filled more often does so
       beyond chance (Fisher's exact test, one-sided, p < 0.01); a column filled alike on both,
       however seldom on open leads ("Closed On"), teaches the model nothing and is kept;
    2. the open leads do not look like decided ones. Typed before the outcome, the column would be
       filled on open leads about as often as on decided ones, a mix of both outcomes in the
       history's proportions (the decided leads' own fill rate). So: fewer open leads have it than
       that rate makes likely (binomial lower tail, p < 0.01) and fewer than half as many: a
       material gap, not one a very large sheet makes significant. When the open leads are too few
       for that test to ever reach p < 0.01 (even with none filled), they cannot speak, and the
       column is taken as an outcome's when it is filled on the other outcome at most a tenth as often
       (a stray typo allowed): its emptiness then all but rules out one outcome, which a column
       typed before the decision seldom does.
    """
    decided, filled_decided = lost + won, filled_lost + filled_won
    if not lost or not won or not filled_decided:
        return False
    rate_lost, rate_won = filled_lost / lost, filled_won / won
    more, fewer = ((filled_won, won), (filled_lost, lost)) if rate_won >= rate_lost else (
        (filled_lost, lost), (filled_won, won))
    if _hypergeometric_upper(decided, filled_decided, more[1], more[0]) >= _LEAK_ALPHA:
        return False
    expected = filled_decided / decided
    if n_open and (1 - expected) ** n_open < _LEAK_ALPHA:  # enough open leads to tell
        return (filled_open < expected * n_open / 2
                and _binomial_lower(n_open, expected, filled_open) < _LEAK_ALPHA)
    return fewer[0] / fewer[1] <= 0.1 * more[0] / more[1]


# A column tells the outcome when, leave one out, its value gives each outcome's leads their own
# outcome this often: a stray typo allowed; a strong cause (a tier that converts 90 % or 10 %)
# falls short on one outcome or the other.
_TELLS_OUTCOME = 0.95


def values_tell_outcome(counts: Iterable[tuple[int, int, int]]) -> bool:
    """Whether a custom column's values are the outcome written another way (a "Stage Flag" of
    Won, Lost and Open; a formula =Status="Converted"), from each value's count of leads
    (unqualified, converted, open), an empty cell being one value.

    `describes_outcome` sees a column typed once a lead is decided by its fill; this one is
    filled on every lead, with a value the outcome decides. The same two tests as there, on
    values (Kaufman, Rosset & Perlich's leakage: the rows to predict do not look like the rows
    learned from):

    1. the value all but decides the outcome: each decided lead's outcome is the one most other
       decided leads of its value have (leave one out, so a value of one lead tells nothing) for
       at least 95 % of the converted leads and 95 % of the unqualified ones. A cause a sales
       team types before the outcome never sorts its leads so cleanly;
    2. the open leads' values are not the decided leads' mix: of the values that point to one
       outcome, fewer than half as many open leads have one as the decided leads' share would
       give, and fewer than that share makes likely (binomial, p < 0.01), for either outcome (a
       value only open leads have, "Open", points to neither). With too few open leads for that
       to ever be significant, the first test alone decides, as `describes_outcome`'s tenth."""
    counts = list(counts)
    lost = sum(c[0] for c in counts)
    won = sum(c[1] for c in counts)
    n_open = sum(c[2] for c in counts)
    if not lost or not won:
        return False
    told_lost = sum(c[0] for c in counts if c[0] - 1 > c[1])
    told_won = sum(c[1] for c in counts if c[1] - 1 > c[0])
    if told_lost < _TELLS_OUTCOME * lost or told_won < _TELLS_OUTCOME * won:
        return False
    decided = lost + won
    heard = False  # whether the open leads are enough to say they look like the decided ones
    for side in (0, 1):
        # The decided and the open leads whose value points to this outcome.
        pointing = [c for c in counts if c[side] > c[1 - side]]
        expected = sum(c[0] + c[1] for c in pointing) / decided
        if not n_open or (1 - expected) ** n_open >= _LEAK_ALPHA:
            continue
        heard = True
        have = sum(c[2] for c in pointing)
        if have < expected * n_open / 2 and _binomial_lower(n_open, expected, have) < _LEAK_ALPHA:
            return True
    return not heard


class _Encoder:
    """Leads as model rows: category codes, title words, numbers; and the words a salesperson reads.

    Built once per fit from every lead: which custom columns are numbers, which are text, which
    look like outcomes and are left out; which category values and title words were seen often
    enough on the decided leads to teach anything. A row is a hashable signature
    (category codes, word indices, numbers), so identical leads share one prediction.
    """

    def __init__(self, leads: Sequence[Lead], min_count: int, max_words: int, percent: Iterable[str] = (),
                 money: Iterable[str] = (), rates: Rates | None = None):
        self._header_keys: dict[str, str] = {}
        # The custom columns the tab reads as percentages: their cells hold points (15 for "15%").
        self._percent = {normalize_key(header) for header in percent}
        # The ones it reads as money: a cell holds its amount in the currency it names, which the
        # model reads in the base currency (`_in_base`), as a condition compares it.
        self._money = {normalize_key(header) for header in money} if rates is not None else set()
        self._rates = rates
        self._email_kinds: dict[str, str] = {}
        self._standard_memo: dict[tuple, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._text_memo: dict[tuple[type, Any], str] = {}
        self.shown: dict[str, str] = {}        # custom key -> the header as the tab shows it
        self.numeric: list[str] = []          # custom keys read as numbers
        self.text: list[str] = []             # custom keys read as categories
        self.ignored: list[str] = []          # headers left out as outcome-describing
        self.outcome_valued: list[str] = []   # those of them whose values, not fill, tell the outcome
        self.dates: set[str] = set()          # numeric keys whose cells are dates (the model reads day numbers)
        self.yes_no: set[str] = set()         # numeric keys whose cells are yes/no (the model reads 1 and 0)
        self._date_texts: dict[tuple[str, int], str] = {}
        self._plan_custom(leads)
        self.cat_keys = [k for k, _h in _STANDARD] + [f"custom:{k}" for k in self.text]
        # Category values and words, counted on the decided leads.
        counts: list[dict[str, int]] = [{} for _ in self.cat_keys]
        word_counts: dict[str, int] = {}
        self._first_text: dict[tuple[int, str], Any] = {}
        # A decided lead's values, kept for its row: the fit and the scores both ask for it.
        self._seen: dict[int, tuple] = {}  # id -> (lead, values, words[, row])
        # By ID: a value typed two ways ("Referral", "referral") is named as the first lead by ID
        # types it, so a Leads tab sorted otherwise names it as before.
        for lead in sorted(leads, key=lambda lead: lead.id or ""):
            if outcome(lead) is None:
                continue
            values, words = self._values(lead)
            self._seen[id(lead)] = (lead, values, words)
            for c, v in enumerate(values):
                counts[c][v] = counts[c].get(v, 0) + 1
            for w in words:
                word_counts[w] = word_counts.get(w, 0) + 1
        self.cat_values = [sorted(v for v, n in cnt.items() if n >= min_count) for cnt in counts]
        self._codes = [{v: i for i, v in enumerate(vals)} for vals in self.cat_values]
        kept = sorted((w for w, n in word_counts.items() if n >= min_count), key=lambda w: (-word_counts[w], w))
        self.words = sorted(kept[:max_words])
        self._word_index = {w: i for i, w in enumerate(self.words)}
        self._codes_memo: dict[tuple, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    # planning ----------------------------------------------------------------------------

    def _header_key(self, header: str) -> str:
        key = self._header_keys.get(header)
        if key is None:
            key = self._header_keys[header] = normalize_key(header)
        return key

    def _plan_custom(self, leads: Sequence[Lead]) -> None:
        filled: dict[str, list[int]] = {}   # custom key -> leads with the cell filled: unqualified, converted, open
        # custom key -> each filled value's leads (unqualified, converted, open)
        valued: dict[str, dict[Any, list[int]]] = {}
        kinds: dict[str, list[int]] = {}    # key -> [numeric cells, other cells, date cells, yes/no cells]
        sizes = [0, 0, 0]
        for lead in leads:
            y = outcome(lead)
            group = 2 if y is None else y
            sizes[group] += 1
            for header, value in lead.custom.items():
                key = self._header_key(header)
                self.shown.setdefault(key, header)
                if value is None or (value.__class__ is str and is_blank(value)):
                    continue
                tallies = filled.get(key)
                if tallies is None:
                    tallies = filled[key] = [0, 0, 0]
                    valued[key] = {}
                tallies[group] += 1
                values = valued[key]
                try:
                    tally = values.get(value)
                    seen = value
                except TypeError:  # an unhashable cell: custom values are open-ended
                    seen = repr(value)
                    tally = values.get(seen)
                if tally is None:
                    tally = values[seen] = [0, 0, 0]
                tally[group] += 1
                kind = kinds.setdefault(key, [0, 0, 0, 0])
                if value.__class__ is dt.date or value.__class__ is dt.datetime:
                    kind[0] += 1
                    kind[2] += 1
                elif value.__class__ is bool:
                    kind[0] += 1
                    kind[3] += 1
                else:
                    x = _numeric(value)
                    kind[0 if x == x else 1] += 1
        for key in sorted(kinds):
            numeric, other, dates, yes_no = kinds[key]
            if describes_outcome(*filled[key], *sizes):
                self.ignored.append(self.shown[key])
            elif values_tell_outcome([*map(tuple, valued[key].values()),
                                      tuple(size - n for size, n in zip(sizes, filled[key]))]):  # empty: a value too
                self.ignored.append(self.shown[key])
                self.outcome_valued.append(self.shown[key])
            # Numbers only when every filled cell is of one kind, as the read leaves a column it
            # types (`columns.infer_kind`: at least 95 % of its cells, the others emptied and said,
            # or declared). One it keeps as text may hold numbers, dates and words side by side
            # ("big" beside 50s and 200s, a date among them): read as numbers, its words would be
            # silently missing and a date a number of days, 739,311 employees.
            elif not other and (dates == numeric or yes_no == numeric or not dates and not yes_no):
                self.numeric.append(key)
                if dates == numeric:
                    self.dates.add(key)
                elif yes_no == numeric:
                    self.yes_no.add(key)
            else:
                self.text.append(key)

    # rows --------------------------------------------------------------------------------

    def _standard(self, lead: Lead) -> tuple[tuple[str, ...], tuple[str, ...]]:
        email = lead.email
        if email is not None:
            domain = email.rpartition("@")[2]
            kind = self._email_kinds.get(domain)
            if kind is None:
                kind = self._email_kinds[domain] = "webmail" if domain.lower().split(".")[0] in _WEBMAIL else "work"
        else:
            kind = ""
        signature = (lead.source, lead.campaign, lead.owner, lead.title, kind, lead.phone is not None,
                     lead.company is not None)
        found = self._standard_memo.get(signature)
        if found is None:
            words: tuple[str, ...] = ()
            level = ""
            if lead.title:
                words = tuple(w for w in dict.fromkeys(_WORD.findall(normalize_key(lead.title)))
                              if w not in _STOPWORDS)
                level = next((name for name, vocab in _SENIORITY if vocab.intersection(words)),
                             "individual contributor")  # not for people: a feature key; its label is _LEVELS
            for c, value in enumerate((lead.source, lead.campaign, lead.owner)):
                if value:
                    self._first_text.setdefault((c, normalize_key(value)), value)
            found = self._standard_memo[signature] = (
                (normalize_key(lead.source) if lead.source else "", normalize_key(lead.campaign) if lead.campaign
                 else "", normalize_key(lead.owner) if lead.owner else "", level, kind,
                 "yes" if lead.phone is not None else "no", "yes" if lead.company is not None else "no"), words)
        return found

    def _values(self, lead: Lead) -> tuple[tuple[str, ...], tuple[str, ...]]:
        values, words = self._standard(lead)
        if self.text:
            custom = {self._header_key(h): v for h, v in lead.custom.items()}
            extra = []
            memo = self._text_memo
            for c, key in enumerate(self.text, len(_STANDARD)):
                value = custom.get(key)
                try:
                    text = memo[(value.__class__, value)]
                except KeyError:
                    text = memo[(value.__class__, value)] = self._text(value)
                except TypeError:  # an unhashable cell: custom values are open-ended
                    text = self._text(value)
                extra.append(text)
                if text and (c, text) not in self._first_text:
                    self._first_text[(c, text)] = value
            values = values + tuple(extra)
        return values, words

    @staticmethod
    def _text(value: Any) -> str:
        return "" if value is None or is_blank(value) else normalize_key(as_text(value))

    def row(self, lead: Lead) -> tuple:
        """(category codes, -1 for rare or unseen; word indices; numbers, NaN when missing)."""
        seen = self._seen.get(id(lead))
        if seen is not None and seen[0] is lead:
            if len(seen) == 4:
                return seen[3]
            values, words = seen[1], seen[2]
        else:
            values, words = self._values(lead)
        coded = self._codes_memo.get((values, words))
        if coded is None:
            index = self._word_index
            coded = self._codes_memo[(values, words)] = (
                tuple(self._codes[c].get(v, -1) for c, v in enumerate(values)),
                tuple(sorted(i for w in words if (i := index.get(w)) is not None)))
        codes, present = coded
        numbers: tuple[float, ...] = ()
        if self.numeric:
            custom = {self._header_key(h): v for h, v in lead.custom.items()}
            numbers = tuple(self._in_base(lead, key, custom[key]) if key in self._money and custom.get(key) is not None
                            else _numeric(custom.get(key)) for key in self.numeric)
        row = (codes, present, numbers)
        if seen is not None and seen[0] is lead:
            self._seen[id(lead)] = (lead, values, words, row)
        return row

    def _in_base(self, lead: Lead, key: str, amount: Any) -> float:
        """A money cell's amount in the base currency: in the currency the cell names (`Record.priced`),
        else the lead's Currency, else the base one (as a workflow condition reads it). NaN, missing
        to the model, when it cannot be put there: no rate, or a symbol of several currencies ("kr")."""
        assert self._rates is not None
        priced = next((p for h, p in (lead.priced or {}).items() if self._header_key(h) == key), None)
        if priced is None or priced.currency is None and priced.symbol is None:
            code = lead.currency
        else:
            code = priced.currency
            if code is None or priced.symbol is not None and code != self._rates.base:
                return math.nan
        rate = self._rates.rate(code) if self._rates.doubt(code) is None else None  # as `rules.in_base`
        x = _numeric(amount)
        return math.nan if rate is None or x != x else _numeric(Decimal(str(amount)) * rate)

    def signature(self) -> str:
        """What the encoding depends on besides the rows, for the fit cache."""
        # The spellings the labels show are part of it: a cached fit's predictions carry them.
        return repr((self.cat_keys, self.cat_values, self.words, self.numeric, sorted(self.yes_no),
                     sorted(self._percent.intersection(self.numeric)),
                     sorted(self.shown.items()),
                     sorted((key, as_text(value)) for key, value in self._first_text.items())))

    # labels ------------------------------------------------------------------------------

    def category_label(self, c: int, code: int) -> str:
        key = self.cat_keys[c]
        value = self.cat_values[c][code] if code >= 0 else None
        if key == "seniority":
            return _("Seniority: {level}", level=_(_LEVELS[value])) if value else _("{column} empty",
                                                                                    column=column_label("Title", "title"))
        if key == "email":
            return _(_EMAIL_LABELS.get(value or "", _EMAIL_LABELS[""]))
        if key in ("phone", "company"):
            return _(_GIVEN_LABELS[(key, value or "no")])
        if key.startswith("custom:"):
            header = self.shown[key[len("custom:"):]]
        else:
            header = column_label(dict(_STANDARD)[key], key)  # type: ignore[arg-type]
        if value is None:
            return _("{column}: a rare value", column=header)
        if not value:
            return _("{column} empty", column=header)
        shown = self._first_text.get((c, value))
        return f"{header} = {as_text(shown) if shown is not None else value}"

    def word_label(self, i: int) -> str:
        return _("{column} contains {value}", column=column_label("Title", "title"), value=_word_label(self.words[i]))

    def number_label(self, k: int, x: float, language: str | None = None) -> str:
        header = self.shown[self.numeric[k]]
        if x != x:
            return _("{column} empty", column=header)
        return f"{header} = {self.number_text(k, x, language)}"

    def number_text(self, k: int, x: float, language: str | None = None) -> str:
        """A number the model read, as the reader writes it (in `language`, by default the current
        one): a date column's day number as a date ("Mar 5, 2025", "5 mar 2025"), a number with
        the language's decimal sign ("3,5"), a yes/no column's 1 and 0 as "Yes" and "No" ("Sí"), a
        percentage column's points with the language's percent sign ("15%", "15 %")."""
        language = language or current()
        if self.numeric[k] in self.yes_no and x in (0.0, 1.0):
            return in_locale(language, YES_NO[int(x)])  # whatever the sheet wrote (TRUE, Sí)
        if self.numeric[k] in self.dates and x.is_integer() and 1 <= x <= _LAST_ORDINAL:
            key = (language, int(x))
            text = self._date_texts.get(key)
            if text is None:  # babel takes a tenth of a millisecond a date; a column has few distinct ones
                text = self._date_texts[key] = format_date(dt.date.fromordinal(int(x)), "medium", locale=language)
            return text
        text = show(x)
        sign = _DECIMAL_SIGNS.get(language)
        if sign is None:
            sign = _DECIMAL_SIGNS[language] = get_decimal_symbol(language)
        text = text if sign == "." else text.replace(".", sign)
        if self.numeric[k] in self._money:
            text += " " + self._rates.base  # type: ignore[union-attr]  # the model's amounts are in it
        elif self.numeric[k] in self._percent:
            percent = _PERCENT_SIGNS.get(language)
            if percent is None:  # babel's own percentage of 0, less its 0: 40 µs once, not per lead
                percent = _PERCENT_SIGNS[language] = format_percent(0, locale=language)[1:]
            text += percent
        return text


# --- the model -----------------------------------------------------------------------------

def _chance(z: float) -> float:
    """The logistic function of one log-odds, without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True, slots=True)
class Prediction:
    probability: float  # 0..1
    # (label, percentage points this feature adds to the probability), largest first
    factors: tuple[tuple[str, float], ...]
    why: str


def _dense(encoder: _Encoder, rows: Sequence[tuple]) -> np.ndarray:
    """Rows as one float matrix: category codes (NaN: rare or unseen), title words 0/1, numbers (NaN: missing)."""
    import numpy as np

    c, w, k = len(encoder.cat_keys), len(encoder.words), len(encoder.numeric)
    x = np.zeros((len(rows), c + w + k), dtype=np.float64)
    if not rows:
        return x
    codes = np.array([r[0] for r in rows], dtype=np.float64).reshape(len(rows), c)
    codes[codes < 0] = np.nan
    x[:, :c] = codes
    if w:
        hits = [(i, c + j) for i, r in enumerate(rows) for j in r[1]]
        if hits:
            at = np.array(hits)
            x[at[:, 0], at[:, 1]] = 1.0
    if k:
        x[:, c + w:] = np.array([r[2] for r in rows], dtype=np.float64).reshape(len(rows), k)
    return x


@dataclass(frozen=True)
class _Design:
    """The regression's sparse design from the dense rows: every category value one-hot, each
    title word, and per number: standardised value, missing flag, one-hot quantile bin. `group`
    maps each design column back to its dense column, so contributions add up per lead column."""

    n_cat: int
    n_words: int
    offsets: tuple[int, ...]
    word_start: int
    num_start: tuple[int, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    edges: tuple[tuple[float, ...], ...]
    width: int
    group: np.ndarray

    @classmethod
    def of(cls, encoder: _Encoder, x: np.ndarray) -> "_Design":
        import numpy as np

        n_cat, n_words = len(encoder.cat_keys), len(encoder.words)
        offsets, group, col = [], [], 0
        for c, values in enumerate(encoder.cat_values):
            offsets.append(col)
            group += [c] * len(values)
            col += len(values)
        word_start = col
        group += [n_cat + j for j in range(n_words)]
        col += n_words
        starts, means, stds, edges = [], [], [], []
        for k in range(len(encoder.numeric)):
            v = x[:, n_cat + n_words + k]
            v = v[~np.isnan(v)]
            mean, std = (float(v.mean()), float(v.std())) if v.size else (0.0, 1.0)
            cut = tuple(float(e) for e in np.unique(np.quantile(v, [0.25, 0.5, 0.75]))) if v.size else ()
            starts.append(col)
            means.append(mean)
            stds.append(std if std > 0 else 1.0)
            edges.append(cut)
            width = 2 + len(cut) + 1
            group += [n_cat + n_words + k] * width
            col += width
        return cls(n_cat, n_words, tuple(offsets), word_start, tuple(starts), tuple(means), tuple(stds), tuple(edges), col,
                   np.array(group, dtype=np.int64))

    def transform(self, x: np.ndarray) -> Any:
        import numpy as np
        from scipy.sparse import csr_matrix

        n = len(x)
        every = np.arange(n)
        rows, cols, vals = [], [], []
        for c, offset in enumerate(self.offsets):
            codes = x[:, c]
            seen = ~np.isnan(codes)
            rows.append(every[seen])
            cols.append(offset + codes[seen].astype(np.int64))
            vals.append(np.ones(int(seen.sum())))
        if self.n_words:
            r, j = np.nonzero(x[:, self.n_cat:self.n_cat + self.n_words])
            rows.append(r)
            cols.append(self.word_start + j)
            vals.append(np.ones(len(r)))
        for k, start in enumerate(self.num_start):
            v = x[:, self.n_cat + self.n_words + k]
            missing = np.isnan(v)
            rows += [every[~missing], every[missing], every[~missing]]
            cols += [np.full(int((~missing).sum()), start), np.full(int(missing.sum()), start + 1),
                     start + 2 + np.searchsorted(np.array(self.edges[k]), v[~missing], side="right")]
            vals += [(v[~missing] - self.means[k]) / self.stds[k], np.ones(int(missing.sum())),
                     np.ones(int((~missing).sum()))]
        return csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, self.width))


def _logistic(z: np.ndarray, y: np.ndarray, l2: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    # C is the inverse of the penalty on Σ log-loss: l2/2·|w|² <=> C = 1/l2. lbfgs is deterministic.
    return LogisticRegression(C=1.0 / l2, solver="newton-cholesky", max_iter=200, tol=1e-8).fit(z, y)


# Small, shallow trees: histories are hundreds to thousands of rows, the number of rounds is
# found by early stopping on rows the trees did not see, and TreeSHAP (the Why) costs
# trees × leaves × depth² per lead.
_BOOST = {"objective": "binary", "learning_rate": 0.1, "num_leaves": 15, "max_depth": 4, "min_data_in_leaf": 20,
          "lambda_l2": 1.0, "min_data_per_group": 20, "cat_smooth": 10.0, "cat_l2": 10.0, "max_cat_to_onehot": 8,
          "max_bin": 255, "verbose": -1, "num_threads": 1, "deterministic": True, "force_row_wise": True,
          "feature_pre_filter": False}
_MAX_ROUNDS, _PATIENCE = 1000, 50
_MIN_TO_STOP, _FEW_ROUNDS = 20, 50


def _boost(x: np.ndarray, y: np.ndarray, cats: list[int], seed: int, rounds: int | None = None) -> tuple[Any, int]:
    """(booster, rounds). Without `rounds`, a stratified tenth of the rows stops the boosting."""
    import numpy as np
    import lightgbm as lgb

    params = {**_BOOST, "seed": seed}
    if rounds is None and int(min(np.bincount(y, minlength=2))) < _MIN_TO_STOP:
        rounds = _FEW_ROUNDS  # too few of one outcome to hold a tenth out for stopping
    if rounds is None:
        from sklearn.model_selection import train_test_split

        fit_at, stop_at = train_test_split(np.arange(len(y)), test_size=0.1, stratify=y, random_state=seed)
        train = lgb.Dataset(x[fit_at], y[fit_at], categorical_feature=cats, free_raw_data=False)
        valid = lgb.Dataset(x[stop_at], y[stop_at], reference=train, categorical_feature=cats)
        booster = lgb.train(params, train, num_boost_round=_MAX_ROUNDS, valid_sets=[valid],
                            callbacks=[lgb.early_stopping(_PATIENCE, verbose=False)])
        return booster, max(booster.best_iteration, 1)
    booster = lgb.train(params, lgb.Dataset(x, y, categorical_feature=cats), num_boost_round=rounds)
    return booster, rounds


@dataclass
class _Fit:
    """A fitted model, without the words: those come from the encoder, in the sync's language."""

    chosen: Candidate
    cv_auc: dict[str, float]
    platt: tuple[float, float]                 # calibrated chance = sigmoid(a · raw log-odds + b)
    design: _Design | None = None
    coef: np.ndarray | None = None             # the regression's weights, by design column
    intercept: float = 0.0
    booster: Any = None
    # A fit read back from the cache holds LightGBM's model text, made a Booster only when it
    # predicts: importing LightGBM (with the scikit-learn and SciPy it imports) costs 0.8 s of
    # CPU, which a sync whose scores are the last sync's (engine: "lead_scores") never needs.
    model_text: str | None = None
    rounds: int = 0
    cv_rows: int = 0
    cv_counts: tuple[int, int] = (0, 0)        # converted and unqualified leads cross-validated
    # The raw log-odds of each training row (in the order fitted) from a model that did not see it.
    oof: np.ndarray | None = None
    # The last predictions by language and row (a decided lead's: its index among the training
    # rows): an unchanged lead of an unchanged history is not explained again.
    memo: dict[str, dict[Any, Prediction]] = field(default_factory=dict)

    def raw(self, x: np.ndarray) -> np.ndarray:
        if self.chosen == "logistic":
            return self.design.transform(x) @ self.coef + self.intercept
        return self._trees().predict(x, raw_score=True, num_iteration=self.rounds)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Log-odds each dense column adds to each row's raw score (rows × columns)."""
        import numpy as np

        if self.chosen == "logistic":
            design = self.design
            z = design.transform(x).multiply(self.coef).tocsr()
            out = np.zeros((len(x), x.shape[1]))
            coo = z.tocoo()
            np.add.at(out, (coo.row, design.group[coo.col]), coo.data)
            return out
        return self._trees().predict(x, pred_contrib=True, num_iteration=self.rounds)[:, :-1]

    def readable(self) -> bool:
        """Whether the model can predict: a cached model text LightGBM cannot read (a damaged
        cache file) is a fit to make again, not an error."""
        if self.model_text is None or self.booster is not None:
            return True
        import lightgbm as lgb

        try:
            self._trees()
        except lgb.basic.LightGBMError:
            return False
        return True

    def _trees(self) -> Any:
        if self.booster is None and self.model_text is not None:
            import lightgbm as lgb

            self.booster = lgb.Booster(model_str=self.model_text)
        return self.booster


@dataclass
class FitCache:
    """Fits by the hash of what they were fitted on; the caller keeps it between syncs.

    A value passed in and out of the pure core: nothing here reads or writes a file."""

    entries: dict[str, _Fit] = field(default_factory=dict)
    max_entries: int = 4
    hits: int = 0
    misses: int = 0

    def get(self, key: str) -> _Fit | None:
        found = self.entries.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: str, fit_: _Fit) -> None:
        self.entries[key] = fit_
        while len(self.entries) > self.max_entries:
            del self.entries[next(iter(self.entries))]

    def dumps(self) -> str:
        """The fits as JSON text (the regression's numbers, LightGBM's own model text): data a
        caller may keep in a file and read back with `loads`, never code. Predictions are not kept."""
        return json.dumps({"format": _CACHE_FORMAT, "entries": {key: _fit_data(f) for key, f in self.entries.items()}})

    @classmethod
    def loads(cls, text: str) -> "FitCache":
        """The cache `dumps` wrote; an unreadable text or another format is an empty cache, which
        only costs a fit."""
        cache = cls()
        try:
            data = json.loads(text)
            if data.get("format") != _CACHE_FORMAT:
                return cache
            for key, entry in data["entries"].items():
                cache.put(key, _fit_of(entry))
        except (ValueError, KeyError, TypeError, AttributeError, IndexError):
            return cls()
        return cache


_CACHE_FORMAT = 2  # 2: each decided lead's held-out log-odds, the cross-validated counts


def _fit_data(f: _Fit) -> dict[str, Any]:
    data: dict[str, Any] = {"chosen": f.chosen, "cv_auc": f.cv_auc, "platt": list(f.platt), "rounds": f.rounds,
                            "cv_rows": f.cv_rows, "intercept": f.intercept, "cv_counts": list(f.cv_counts)}
    if f.oof is not None:
        # The float64 bytes themselves: exact, and a third of the size of their decimal text.
        data["oof"] = base64.b64encode(f.oof.astype("<f8").tobytes()).decode("ascii")
    if f.design is not None and f.coef is not None:
        d = f.design
        data["design"] = {"n_cat": d.n_cat, "n_words": d.n_words, "offsets": list(d.offsets),
                          "word_start": d.word_start, "num_start": list(d.num_start), "means": list(d.means),
                          "stds": list(d.stds), "edges": [list(e) for e in d.edges], "width": d.width,
                          "group": d.group.tolist()}
        # repr of a float is exact, so the weights read back bit for bit.
        data["coef"] = [float(w) for w in f.coef]
    if f.booster is not None:
        data["booster"] = f.booster.model_to_string(num_iteration=f.rounds)
    elif f.model_text is not None:
        data["booster"] = f.model_text
    return data


def _fit_of(data: dict[str, Any]) -> _Fit:
    import numpy as np

    design = coef = model_text = None
    if "design" in data:
        d = data["design"]
        design = _Design(d["n_cat"], d["n_words"], tuple(d["offsets"]), d["word_start"], tuple(d["num_start"]),
                         tuple(d["means"]), tuple(d["stds"]), tuple(tuple(e) for e in d["edges"]), d["width"],
                         np.array(d["group"], dtype=np.int64))
        coef = np.array(data["coef"], dtype=np.float64)
    if "booster" in data:
        model_text = data["booster"]
        if not isinstance(model_text, str):
            raise TypeError("a model's text")  # not for people: loads turns it into an empty cache
    if data["chosen"] not in CANDIDATES or (design is None) == (model_text is None):
        raise ValueError("a fit holds one model")  # not for people: loads turns it into an empty cache
    oof = np.frombuffer(base64.b64decode(data["oof"], validate=True), dtype="<f8").astype(np.float64) if (
        "oof" in data) else None
    counts = data["cv_counts"]
    return _Fit(data["chosen"], dict(data["cv_auc"]), (float(data["platt"][0]), float(data["platt"][1])),
                design=design, coef=coef, intercept=float(data["intercept"]), model_text=model_text,
                rounds=int(data["rounds"]), cv_rows=int(data["cv_rows"]), cv_counts=(int(counts[0]), int(counts[1])),
                oof=oof)


def _versions() -> str:
    # From the installed distributions' metadata: importing scikit-learn and LightGBM to ask
    # costs over a second, and a cached fit of the regression needs neither.
    import numpy as np
    from importlib.metadata import version

    return f"numpy {np.__version__}, scikit-learn {version('scikit-learn')}, lightgbm {version('lightgbm')}"


# A model may score only when its cross-validated ROC AUC is above chance with 95 % confidence.
_CHANCE_ALPHA = 0.05


def auc_beyond_chance(converted: int, unqualified: int, candidates: int = 1) -> float:
    """The ROC AUC a model must exceed on `converted` and `unqualified` held-out leads to be better than
    chance: 0.5 plus the one-sided normal quantile times the AUC's standard deviation when the scores
    carry no signal, sqrt((n1 + n0 + 1) / (12 n1 n0)) (the Mann–Whitney U statistic's null variance,
    n1 n0 (n1 + n0 + 1) / 12, Mann & Whitney 1947, over (n1 n0)²). Choosing the better of `candidates`
    models is that many chances to look good, so the 5 % is split among them (Bonferroni).
    1.0 (nothing can pass) without both outcomes."""
    if converted < 1 or unqualified < 1:
        return 1.0
    z = NormalDist().inv_cdf(1 - _CHANCE_ALPHA / max(candidates, 1))
    return 0.5 + z * math.sqrt((converted + unqualified + 1) / (12 * converted * unqualified))


class LearnedModel:
    def __init__(self, encoder: _Encoder, fitted: _Fit, converted: int, unqualified: int,
                 decided: Sequence[Lead] = (), candidates: int = 1):
        self._encoder = encoder
        self._fit = fitted
        self.converted = converted
        self.unqualified = unqualified
        self._candidates = candidates
        # The decided leads fitted on, by identity: their own chance is their held-out one.
        self._held_out: dict[int, tuple[Lead, int]] = {}   # id -> (lead, its training row's index)
        if fitted.oof is not None:
            self._held_out = {id(lead): (lead, i) for i, lead in enumerate(decided)}
        self._language = current()
        self._memo: dict[Any, Prediction] = dict(fitted.memo.get(self._language, {}))
        self._labels: dict[tuple[int, int], str] = {}
        self._typical = _("close to the typical lead")

    @property
    def chosen(self) -> Candidate:
        return self._fit.chosen

    @property
    def cv_auc(self) -> dict[str, float]:
        """Each candidate's cross-validated ROC AUC on the decided leads."""
        return dict(self._fit.cv_auc)

    @property
    def auc_needed(self) -> float:
        """The cross-validated ROC AUC the chosen model had to exceed to beat chance (`auc_beyond_chance`)."""
        return auc_beyond_chance(*self._fit.cv_counts, self._candidates)

    @property
    def beats_chance(self) -> bool:
        """Whether the model ranks leads better than chance: its cross-validated ROC AUC exceeds
        `auc_needed` and its calibration keeps the ranking (a positive slope: a slope at or below
        zero would rank the leads backwards, or all alike). False when it could not be
        cross-validated (fewer than 2 leads of an outcome): nothing shows it beats chance."""
        auc = self._fit.cv_auc.get(self._fit.chosen)
        return auc is not None and auc > self.auc_needed and self._fit.platt[0] > 0

    @property
    def ignored_columns(self) -> list[str]:
        """The custom columns left out as describing the outcome, by either test."""
        return list(self._encoder.ignored)

    @property
    def outcome_valued_columns(self) -> list[str]:
        """Those of `ignored_columns` left out for their values (`values_tell_outcome`), not their fill."""
        return list(self._encoder.outcome_valued)

    @property
    def features(self) -> list[str]:
        """The label of every lead column the model reads (categories, title words, numbers)."""
        enc = self._encoder
        return ([enc.category_label(c, code) for c, values in enumerate(enc.cat_values) for code in
                 range(len(values))] + [enc.word_label(i) for i in range(len(enc.words))]
                + [enc.shown[k] for k in enc.numeric])

    @property
    def weights(self) -> dict[str, float]:
        """Regression column label -> weight in log-odds (the logistic candidate only), for inspection and tests."""
        fitted, enc = self._fit, self._encoder
        if fitted.chosen != "logistic":
            return {}
        design, coef = fitted.design, fitted.coef
        labels = [enc.category_label(c, code) for c, values in enumerate(enc.cat_values) for code in range(len(values))]
        labels += [enc.word_label(i) for i in range(len(enc.words))]
        for k, key in enumerate(enc.numeric):
            header, edges = enc.shown[key], design.edges[k]
            labels += [f"{header} (standardised)", _("{column} empty", column=header)]  # not for people: inspection
            for i in range(len(edges) + 1):
                if i == 0:
                    labels.append(f"{header} < {show(edges[0])}" if edges else header)
                elif i == len(edges):
                    labels.append(f"{header} ≥ {show(edges[-1])}")
                else:
                    labels.append(_("{column} {low} to under {high}", column=header, low=show(edges[i - 1]),
                                    high=show(edges[i])))
        return dict(zip(labels, (float(w) for w in coef)))

    def predict(self, lead: Lead, top: int = 3) -> Prediction:
        return self.predict_all([lead], top)[0]

    def predict_all(self, leads: Sequence[Lead], top: int = 3) -> list[Prediction]:
        """Each lead's calibrated chance and its top reasons; identical leads computed once, and a
        lead whose row a cached fit already explained (in this language) not again. A decided lead
        the model was fitted on (the same object) gets its held-out chance; any other lead, an
        identical open one too, the final model's."""
        import numpy as np

        # A decided lead the model was fitted on is keyed by its place among the training rows
        # (which, with the fit, settle its row and its held-out log-odds); any other lead by its
        # row, so identical open leads share one prediction.
        held_out = self._held_out
        row_of = self._encoder.row
        keys: list[Any] = []
        rows: dict[Any, tuple] = {}
        for lead in leads:
            seen = held_out.get(id(lead))
            if seen is not None and seen[0] is lead:
                keys.append(seen[1])
                rows[seen[1]] = row_of(lead)
            else:
                keys.append(row_of(lead))
        memo = self._memo
        new = list(dict.fromkeys(k for k in keys if k not in memo))
        oof = self._fit.oof
        for start in range(0, len(new), 20_000):  # bounded memory: contributions are rows × columns
            chunk = new[start:start + 20_000]
            chunk_rows = [rows[k] if k.__class__ is int else k for k in chunk]
            distinct = list(dict.fromkeys(chunk_rows))
            at = {r: i for i, r in enumerate(distinct)}
            x = _dense(self._encoder, distinct)
            raw, contribution = self._fit.raw(x), self._fit.contributions(x)
            index = np.array([at[r] for r in chunk_rows], dtype=np.int64)
            own = raw[index]
            mine = np.array([k.__class__ is int for k in chunk])
            if mine.any():
                own[mine] = oof[np.array([k for k in chunk if k.__class__ is int], dtype=np.int64)]
            memo.update(zip(chunk, self._explain(chunk_rows, x[index], own, contribution[index], top)))
        # What the next sync will ask again is what this one asked: the memo keeps just that.
        self._fit.memo[self._language] = {k: memo[k] for k in keys}
        return [memo[k] for k in keys]

    def _explain(self, rows: list[tuple], x: np.ndarray, raw: np.ndarray, contribution: np.ndarray,
                 top: int) -> list[Prediction]:
        """Each row's Prediction from its log-odds `raw` (a decided lead's held-out one) and the
        final model's `contribution` of each dense column to it."""
        import numpy as np

        a, b = self._fit.platt
        enc = self._encoder
        n_cat, n_words = len(enc.cat_keys), len(enc.words)
        p = 1.0 / (1.0 + np.exp(-np.clip(a * raw + b, -700, 700)))
        # A factor's share is how much the chance would move without it: a percentage-point
        # difference reads as plain words ("Source = Referral +18") where log-odds would not.
        without = 1.0 / (1.0 + np.exp(-np.clip(a * (raw[:, None] - contribution) + b, -700, 700)))
        points = 100 * (p[:, None] - without)
        # A factor is something the lead has: its value of each column, the title words it
        # contains. A word it lacks is not a reason a person can read, so it is not named.
        if n_words:
            points[:, n_cat:n_cat + n_words] *= x[:, n_cat:n_cat + n_words]
        points[contribution == 0] = 0.0
        # Near 0 % or 100 % the curve is flat: no factor alone moves the chance, though together
        # they put the lead far from an average one (the history's conversion rate). Such a lead's
        # factors are measured by what each would do to an average lead instead (its calibrated
        # log-odds, a · contribution, added to the rate's), so a lead the model rules out is
        # never "close to the typical lead".
        average = self.converted / (self.converted + self.unqualified)
        flat = (np.abs(points).max(axis=1, initial=0.0) < 0.5) & (np.abs(100 * (p - average)) >= 0.5)
        if flat.any():
            z = math.log(average / (1 - average)) + a * contribution[flat]
            points[flat] = 100 * (1.0 / (1.0 + np.exp(-np.clip(z, -700, 700))) - average)
            if n_words:
                points[flat, n_cat:n_cat + n_words] *= x[flat, n_cat:n_cat + n_words]
            points[contribution == 0] = 0.0
        order = np.argsort(-np.abs(points), axis=1, kind="stable")[:, :top]
        labels = self._labels
        out = []
        for i, row in enumerate(rows):
            factors = []
            for j in order[i]:
                pts = float(points[i, j])
                if abs(pts) < 0.5:
                    break
                if j < n_cat + n_words:
                    key = (j, row[0][j]) if j < n_cat else (j, 1)
                    label = labels.get(key)
                    if label is None:
                        label = labels[key] = enc.category_label(j, row[0][j]) if j < n_cat else enc.word_label(
                            j - n_cat)
                else:
                    label = enc.number_label(j - n_cat - n_words, float(x[i, j]), self._language)
                factors.append((label, pts))
            out.append(Prediction(float(p[i]), tuple(factors), "; ".join(
                f"{label} {format_points(pts, self._language)}" for label, pts in factors) or self._typical))
        return out


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


def _choose(encoder: _Encoder, x: np.ndarray, y: np.ndarray, settings: LearnedSettings) -> _Fit:
    """Cross-validate the candidates, keep the better, calibrate it on its held-out predictions, refit on all."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, train_test_split

    seed = settings.seed
    cats = list(range(len(encoder.cat_keys)))
    if int(min(np.bincount(y, minlength=2))) < 2:
        # One lead of an outcome cannot be both learned from and held out: the regression alone,
        # its own probabilities, no cross-validated AUC to report.
        design = _Design.of(encoder, x)
        model = _logistic(design.transform(x), y, settings.l2)
        return _Fit("logistic", {}, (1.0, 0.0), design=design, coef=model.coef_[0].copy(),
                    intercept=float(model.intercept_[0]), cv_rows=0)
    at = np.arange(len(y))
    if len(y) > settings.max_cv_rows:
        at, _rest = train_test_split(at, train_size=settings.max_cv_rows, stratify=y, random_state=seed)
        at = np.sort(at)
    xs, ys = x[at], y[at]
    folds = max(2, min(settings.folds, int(ys.sum()), int(len(ys) - ys.sum())))
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(xs, ys))
    wanted = CANDIDATES if settings.model == "auto" else (settings.model,)
    held_out: dict[str, np.ndarray] = {}
    fold_models: dict[str, list[Any]] = {}  # each fold's model, to score the decided leads it did not see
    best_rounds: list[int] = []
    for candidate in wanted:
        raw = np.zeros(len(ys))
        models = fold_models[candidate] = []
        for train, test in splits:
            if candidate == "logistic":
                design = _Design.of(encoder, xs[train])
                model = _logistic(design.transform(xs[train]), ys[train], settings.l2)
                raw[test] = model.decision_function(design.transform(xs[test]))
                models.append((design, model))
            else:
                booster, rounds = _boost(xs[train], ys[train], cats, seed)
                best_rounds.append(rounds)
                raw[test] = booster.predict(xs[test], raw_score=True, num_iteration=rounds)
                models.append((booster, rounds))
        held_out[candidate] = raw
    cv_auc = {c: _auc(ys, raw) for c, raw in held_out.items()}
    # The regression wins ties: it is the simpler model, and its weights are the Why.
    chosen: Candidate = max(wanted, key=lambda c: (round(cv_auc[c], 6), c == "logistic"))
    platt = _platt(held_out[chosen], ys)
    # Each decided lead's own chance comes from a model that did not see it (its fold's; a lead
    # left out of a sampled cross-validation, from the fold models in turn): the final model
    # has learned each decided lead's outcome, so its chance for one would reflect that outcome.
    oof = np.zeros(len(y))
    oof[at] = held_out[chosen]
    rest = np.setdiff1d(np.arange(len(y)), at, assume_unique=True)
    for f, (model, extra) in enumerate(fold_models[chosen]):
        part = rest[f::folds]
        if not part.size:
            continue
        if chosen == "logistic":  # (design, regression)
            oof[part] = extra.decision_function(model.transform(x[part]))
        else:  # (booster, rounds)
            oof[part] = model.predict(x[part], raw_score=True, num_iteration=extra)
    counts = (int(ys.sum()), int(len(ys) - ys.sum()))
    if chosen == "logistic":
        design = _Design.of(encoder, x)
        model = _logistic(design.transform(x), y, settings.l2)
        return _Fit(chosen, cv_auc, platt, design=design, coef=model.coef_[0].copy(),
                    intercept=float(model.intercept_[0]), cv_rows=len(ys), cv_counts=counts, oof=oof)
    # The final trees see a tenth more rows than each fold's did; the median round count of
    # the folds is the stopping point cross-validation found.
    rounds = int(np.median(best_rounds))
    booster, rounds = _boost(x, y, cats, seed, rounds)
    return _Fit(chosen, cv_auc, platt, booster=booster, rounds=rounds, cv_rows=len(ys), cv_counts=counts, oof=oof)


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    # Nearly unpenalised: two parameters fitted on hundreds of held-out predictions.
    model = LogisticRegression(C=1e4, max_iter=1000, tol=1e-8).fit(raw.reshape(-1, 1), y)
    return float(model.coef_[0][0]), float(model.intercept_[0])


def _canonical(x: np.ndarray, y: np.ndarray, decided: list[Lead]) -> tuple[np.ndarray, np.ndarray, list[Lead]]:
    """The training rows in an order of their own, whatever the sheet's: by the row's encoded
    values (their bytes: any fixed order will do), then its outcome, then the lead's ID."""
    import numpy as np

    if len(y) < 2:
        return x, y, decided
    ids = [lead.id or "" for lead in decided]
    rank = {v: float(i) for i, v in enumerate(sorted(set(ids)))}
    keys = np.ascontiguousarray(np.column_stack([x, y.astype(np.float64), [rank[v] for v in ids]]))
    order = np.argsort(keys.view(np.dtype((np.void, keys.shape[1] * keys.itemsize))).ravel(), kind="stable")
    return x[order], y[order], [decided[i] for i in order]


def fit(leads: Sequence[Lead], settings: LearnedSettings, cache: FitCache | None = None,
        percent: Iterable[str] = (), money: Iterable[str] = (), rates: Rates | None = None) -> LearnedModel:
    """Fit on the closed leads of `leads`; the open ones only inform which columns look like outcomes.
    `percent`: the custom headers the Leads tab reads as percentages (its cells hold points),
    which the reasons show as percentages ("Discount = 15%"); `money`: those it reads as money,
    which the model reads in `rates.base` (a cell without a rate as empty; without `rates`, as written).

    Raises ValueError without both outcomes. With `cache`, a fit of the same encoded training
    rows, settings and library versions is reused (and a new one stored)."""
    import numpy as np

    encoder = _Encoder(leads, settings.min_feature_count, settings.max_title_words, percent, money, rates)
    rows, labels, decided = [], [], []
    for lead in leads:
        y = outcome(lead)
        if y is not None:
            rows.append(encoder.row(lead))
            labels.append(y)
            decided.append(lead)
    converted = sum(labels)
    unqualified = len(labels) - converted
    if not converted or not unqualified:
        raise ValueError(_("the learned model needs both converted and unqualified leads"))
    x = _dense(encoder, rows)
    y = np.array(labels, dtype=np.int64)
    # The rows' order is no part of the history: a Leads tab sorted by Score is the same one. In
    # the tab's order the folds followed the rows, so sorting the tab moved every held-out chance
    # and the calibration, and with them nearly every lead's score (a C became a B).
    x, y, decided = _canonical(x, y, decided)
    key = None
    fitted = None
    if cache is not None:
        digest = hashlib.blake2b(digest_size=20)
        for part in (x.tobytes(), y.tobytes(), encoder.signature().encode(), settings.model_dump_json().encode(),
                     _versions().encode()):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
        key = digest.hexdigest()
        fitted = cache.get(key)
    if fitted is None or not fitted.readable() or (fitted.oof is not None and len(fitted.oof) != len(y)):
        fitted = _choose(encoder, x, y, settings)
        if cache is not None and key is not None:
            cache.put(key, fitted)
    return LearnedModel(encoder, fitted, converted, unqualified, decided,
                        1 if settings.model != "auto" else len(CANDIDATES))


def closed_counts(leads: Iterable[Lead]) -> tuple[int, int]:
    converted = unqualified = 0
    for lead in leads:
        if lead.status == CONVERTED:
            converted += 1
        elif lead.status == UNQUALIFIED:
            unqualified += 1
    return converted, unqualified
