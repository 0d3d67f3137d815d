"""A conversion model learned from the team's own closed leads (Converted = 1, Unqualified = 0).

Model choice: L2-regularised logistic regression, not naive Bayes.

- Lead features are strongly correlated: title words and the seniority derived from them,
  campaign and source, owner and source. Naive Bayes counts each correlated piece of
  evidence again, so its probabilities are pushed towards 0 and 100 %; it ranks well but
  would need Platt or isotonic calibration on held-out folds, which spends part of a
  history that is often just a few hundred rows. Logistic regression fits the features
  jointly; at its optimum the predicted conversions of every one-hot group (every source,
  every owner...) sum to the observed ones, which is what makes its percentages honest.
- The L2 penalty (a Gaussian prior on each weight) keeps rare values (one lead from
  "Trade Show 2026") from getting extreme weights, and lets us keep every category of a
  column (no reference level): a weight is then how far that value moves a lead away from
  the typical one, which is exactly what "Why" needs.
- Every feature is binary (categories, title words, numeric custom columns in quantile
  bins), so leads with identical features collapse into one pattern with counts; 100k
  leads are typically a few thousand patterns. Fitting is cyclic coordinate descent with
  a one-dimensional Newton step per weight (as glmnet does), which needs only the sparse
  column of each feature, converges in a few dozen passes and needs no matrix algebra:
  pure Python stays fast.

Engagement (activities) is deliberately not a feature: activities are logged during and
after the conversion itself, so they would teach the model the outcome, not its cause.
Likewise a custom column filled on closed leads but rarely on open ones ("Lost reason",
"Won on") describes the outcome; such columns are left out and named in the note.

Predictions answer "if this lead is decided, how likely is it to convert?", the quantity
the history can calibrate.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sheetcrm.cells import is_blank, normalize_key
from sheetcrm.crm.rules import as_text, column_label, format_points, show
from sheetcrm.i18n import N_, _
from sheetcrm.records import Lead

CONVERTED, UNQUALIFIED = "Converted", "Unqualified"


def outcome(lead: Lead) -> int | None:
    """1 for a converted lead, 0 for an unqualified one, None while it is open."""
    return 1 if lead.status == CONVERTED else 0 if lead.status == UNQUALIFIED else None


class LearnedSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    min_converted: int = Field(default=50, ge=1)
    min_unqualified: int = Field(default=50, ge=1)
    # The inverse prior variance of each weight, in log-odds; 1 keeps a value seen on a
    # handful of leads within a few points of the average.
    l2: float = Field(default=1.0, gt=0)
    # A value seen on fewer closed leads than this teaches noise, not signal.
    min_feature_count: int = Field(default=3, ge=1)
    max_passes: int = Field(default=60, ge=1)


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

_CATEGORIES = (("source", "Source"), ("campaign", "Campaign"), ("owner", "Owner"))
# How a reason names a seniority level; the level itself is the feature's key.
_LEVELS = {"executive": N_("executive"), "director or head": N_("director or head"), "manager": N_("manager"),  # not for people: feature keys; their labels are _LEVELS
           "junior": N_("junior"), "individual contributor": N_("individual contributor")}  # not for people: feature keys; their labels are _LEVELS
_EMAIL_LABELS = {"webmail": N_("Personal (webmail) email"), "work": N_("Work email"), None: N_("No email")}
_GIVEN_LABELS = {("phone", True): N_("Phone given"), ("phone", False): N_("No phone"),
                 ("company", True): N_("Company given"), ("company", False): N_("No company")}

Key = tuple  # ("source", "referral"), ("title", "vp"), ("num", "budget", 2)...


def _word_label(word: str) -> str:
    return word.upper() if len(word) <= 3 else word.capitalize()


class _Encoder:
    """A lead's features as hashable keys, with the label a salesperson reads for each.

    Built once per fit: it decides which custom columns are numbers (binned at the closed
    leads' quartiles), which are text, and which look like outcomes and are left out.
    """

    def __init__(self, leads: Sequence[Lead]):
        self.labels: dict[Key, str] = {}
        self._memo: dict[tuple[str, Any], tuple[Key, ...]] = {}
        self._header_keys: dict[str, str] = {}
        self._standard: dict[tuple, tuple[Key, ...]] = {}
        self._email_kinds: dict[str, str] = {}
        self._custom: dict[tuple[str, type, Any], Key | None] = {}
        self.numeric: dict[str, list[float]] = {}  # custom key -> bin edges
        self.text: set[str] = set()
        self.ignored: list[str] = []
        self._plan_custom(leads)

    def _plan_custom(self, leads: Sequence[Lead]) -> None:
        shown: dict[str, str] = {}
        # custom key -> leads with the cell filled, by group: unqualified, converted, open
        filled: dict[str, list[int]] = {}
        numbers: dict[str, list[float]] = {}
        kinds: dict[str, list[int]] = {}  # key -> [numeric cells, other cells]
        sizes = [0, 0, 0]
        for lead in leads:
            y = outcome(lead)
            group = 2 if y is None else y
            sizes[group] += 1
            for header, value in lead.custom.items():
                key = self._header_keys.get(header)
                if key is None:
                    key = self._header_key(header)
                    shown.setdefault(key, header)
                if value is None or (value.__class__ is str and is_blank(value)):
                    continue
                filled.setdefault(key, [0, 0, 0])[group] += 1
                kind = kinds.setdefault(key, [0, 0])
                if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                    kind[0] += 1
                    if y is not None:
                        numbers.setdefault(key, []).append(float(value))
                else:
                    kind[1] += 1
        for key, (numeric, other) in kinds.items():
            rates = [filled[key][g] / sizes[g] if sizes[g] else 0.0 for g in range(3)]
            # Filled for most leads of one outcome but seldom while a lead is open: the
            # column is written when the outcome is known ("Lost reason").
            if sizes[2] >= 10 and max(rates[0], rates[1]) - rates[2] > 0.5:
                self.ignored.append(shown[key])
            elif numeric >= 0.8 * (numeric + other):
                values = sorted(numbers.get(key, []))
                if values:
                    quartiles = {values[min(len(values) - 1, len(values) * q // 4)] for q in (1, 2, 3)}
                    self.numeric[key] = sorted(quartiles)
                    self._number_labels(key, shown[key])
            else:
                self.text.add(key)
        self._shown = shown

    def _number_labels(self, key: str, header: str) -> None:
        edges = self.numeric[key]
        for i in range(len(edges) + 1):
            if i == 0:
                text = f"{header} < {show(edges[0])}"
            elif i == len(edges):
                text = f"{header} ≥ {show(edges[-1])}"
            else:
                text = _("{column} {low} to under {high}", column=header, low=show(edges[i - 1]),
                         high=show(edges[i]))
            self.labels[("num", key, i)] = text

    def _header_key(self, header: str) -> str:
        key = self._header_keys.get(header)
        if key is None:
            key = self._header_keys[header] = normalize_key(header)
        return key

    def _cached(self, kind: str, value: Any) -> tuple[Key, ...]:
        memo_key = (kind, value)
        found = self._memo.get(memo_key)
        if found is None:
            found = self._memo[memo_key] = self._compute(kind, value)
        return found

    def _compute(self, kind: str, value: Any) -> tuple[Key, ...]:
        labels = self.labels
        if kind in ("source", "campaign", "owner"):
            header = column_label(dict(_CATEGORIES)[kind], kind)
            norm = normalize_key(value) if value else ""
            key = (kind, norm)
            labels.setdefault(key, f"{header} = {value}" if norm else _("{column} empty", column=header))
            return (key,)
        if kind == "title":
            title = column_label("Title", "title")
            if not value:
                labels.setdefault(("title", ""), _("{column} empty", column=title))
                return (("title", ""),)
            words = [w for w in dict.fromkeys(_WORD.findall(normalize_key(value))) if w not in _STOPWORDS]
            keys: list[Key] = []
            for word in words:
                keys.append(("title", word))
                labels.setdefault(("title", word), _("{column} contains {value}", column=title,
                                                     value=_word_label(word)))
            level = next((name for name, vocab in _SENIORITY if vocab.intersection(words)), "individual contributor")  # not for people: feature keys; their labels are _LEVELS
            keys.append(("seniority", level))
            labels.setdefault(("seniority", level), _("Seniority: {level}", level=_(_LEVELS[level])))
            return tuple(keys)
        if kind == "email":
            kind_key = ("email", value or "none")
            labels.setdefault(kind_key, _(_EMAIL_LABELS.get(value, _EMAIL_LABELS[None])))
            return (kind_key,)
        if kind in ("phone", "company"):
            key = (kind, bool(value))
            labels.setdefault(key, _(_GIVEN_LABELS[key]))
            return (key,)
        raise AssertionError(kind)

    def standard(self, lead: Lead) -> tuple[Key, ...]:
        """The keys from the default columns, memoized: leads share them far more than they differ."""
        email = lead.email
        if email is not None:
            domain = email.rpartition("@")[2]
            kind = self._email_kinds.get(domain)
            if kind is None:
                kind = self._email_kinds[domain] = "webmail" if domain.lower().split(".")[0] in _WEBMAIL else "work"
        else:
            kind = None
        signature = (lead.source, lead.campaign, lead.owner, lead.title, kind, lead.phone is not None,
                     lead.company is not None)
        found = self._standard.get(signature)
        if found is None:
            cached = self._cached
            found = self._standard[signature] = (
                *cached("source", lead.source), *cached("campaign", lead.campaign), *cached("owner", lead.owner),
                *cached("title", lead.title), *cached("email", kind), *cached("phone", lead.phone is not None),
                *cached("company", lead.company is not None))
        return found

    def keep_custom(self, keys: set[str]) -> None:
        self.numeric = {k: v for k, v in self.numeric.items() if k in keys}
        self.text &= keys
        self._custom.clear()

    def custom(self, lead: Lead) -> list[Key]:
        keys: list[Key] = []
        memo = self._custom
        for header, value in lead.custom.items():
            if value is None:
                continue
            column = self._header_keys.get(header)
            if column is None:
                column = self._header_key(header)
            if column not in self.text and column not in self.numeric:
                continue
            try:
                feature = memo[(header, value.__class__, value)]
            except KeyError:
                feature = memo[(header, value.__class__, value)] = self._custom_key(header, value)
            except TypeError:  # an unhashable cell: custom values are open-ended
                feature = self._custom_key(header, value)
            if feature is not None:
                keys.append(feature)
        return keys

    def _custom_key(self, header: str, value: Any) -> Key | None:
        if is_blank(value):
            return None
        key = self._header_key(header)
        edges = self.numeric.get(key)
        if edges is not None:
            if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                return ("num", key, bisect.bisect_right(edges, float(value)))
            return None
        if key not in self.text:
            return None
        feature = ("text", key, normalize_key(as_text(value)))
        self.labels.setdefault(feature, f"{self._shown.get(key, header)} = {as_text(value)}")
        return feature

    def keys(self, lead: Lead) -> list[Key]:
        keys = list(self.standard(lead))
        if lead.custom:
            keys += self.custom(lead)
        return keys


# --- the model -----------------------------------------------------------------------------

def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Prediction:
    probability: float  # 0..1
    # (label, percentage points this feature adds to the probability), largest first
    factors: tuple[tuple[str, float], ...]
    why: str


class LearnedModel:
    def __init__(self, encoder: _Encoder, index: Mapping[Key, int], weights: list[float], intercept: float,
                 converted: int, unqualified: int):
        self._encoder = encoder
        self._index = index
        self._weights = weights
        self._labels = [encoder.labels[k] for k in sorted(index, key=index.__getitem__)]
        self.intercept = intercept
        self.converted = converted
        self.unqualified = unqualified
        self._memo: dict[tuple[int, ...], Prediction] = {}
        self._standard: dict[tuple[Key, ...], tuple[int, ...]] = {}
        self._strength = [abs(x) for x in weights]
        # Custom columns none of whose values made it into the model need not be read again.
        encoder.keep_custom({k[1] for k in index if k[0] in ("num", "text")})

    @property
    def ignored_columns(self) -> list[str]:
        return list(self._encoder.ignored)

    @property
    def weights(self) -> dict[str, float]:
        """Feature label -> weight in log-odds, for inspection and tests."""
        return dict(zip(self._labels, self._weights))

    def predict(self, lead: Lead, top: int = 3) -> Prediction:
        index = self._index
        standard = self._encoder.standard(lead)
        pattern = self._standard.get(standard)
        if pattern is None:
            pattern = self._standard[standard] = tuple(sorted(
                {j for k in standard if (j := index.get(k)) is not None}))
        if lead.custom:
            # Unsorted is fine: the order only matters to the memo, and a tab's headers keep theirs.
            extra = tuple(j for k in self._encoder.custom(lead) if (j := index.get(k)) is not None)
            if extra:
                pattern += extra
        found = self._memo.get(pattern)
        if found is None:
            found = self._memo[pattern] = self._explain(pattern, top)
        return found

    def _explain(self, pattern: tuple[int, ...], top: int) -> Prediction:
        w = self._weights
        z = self.intercept + sum(w[j] for j in pattern)
        p = _sigmoid(z)
        # A feature's share is how much the chance would fall without it: a percentage-point
        # difference reads as plain words ("Source = Referral +18") where log-odds would not.
        ranked = sorted(pattern, key=self._strength.__getitem__, reverse=True)[:top]
        factors = tuple((self._labels[j], 100 * (p - _sigmoid(z - w[j]))) for j in ranked)
        shown = tuple(f for f in factors if abs(f[1]) >= 0.5)
        return Prediction(p, shown, "; ".join(f"{label} {format_points(points)}" for label, points in shown)
                          or _("close to the typical lead"))


def fit(leads: Sequence[Lead], settings: LearnedSettings) -> LearnedModel:
    """Fit on the closed leads of `leads`; the open ones only inform which columns look like outcomes."""
    encoder = _Encoder(leads)
    rows: list[tuple[list[Key], int]] = [(encoder.keys(lead), y) for lead in leads if (y := outcome(lead)) is not None]
    converted = sum(y for _, y in rows)
    unqualified = len(rows) - converted
    if not converted or not unqualified:
        raise ValueError(_("the learned model needs both converted and unqualified leads"))
    counts: dict[Key, int] = {}
    for keys, _y in rows:
        for k in keys:
            counts[k] = counts.get(k, 0) + 1
    vocab = sorted((k for k, n in counts.items() if n >= settings.min_feature_count), key=repr)
    index = {k: j for j, k in enumerate(vocab)}
    patterns: dict[tuple[int, ...], list[int]] = {}
    for keys, y in rows:
        pattern = tuple(j for k in keys if (j := index.get(k)) is not None)
        acc = patterns.get(pattern)
        if acc is None:
            patterns[pattern] = [1, y]
        else:
            acc[0] += 1
            acc[1] += y
    weights, intercept = _coordinate_descent(patterns, len(vocab), settings.l2, settings.max_passes)
    return LearnedModel(encoder, index, weights, intercept, converted, unqualified)


def _coordinate_descent(patterns: Mapping[tuple[int, ...], list[int]], n_features: int, l2: float,
                        max_passes: int, tol: float = 1e-3) -> tuple[list[float], float]:
    """Minimise Σ binomial log-loss + l2/2·|w|² over aggregated patterns; the intercept is not penalised."""
    shapes = list(patterns)
    n = [patterns[s][0] for s in shapes]
    columns: list[list[int]] = [list(range(len(shapes)))] + [[] for _ in range(n_features)]
    # Σ positives over a column never changes, so the gradient needs only Σ n·μ per pass.
    positives_in = [0] * (n_features + 1)
    for p, shape in enumerate(shapes):
        positives = patterns[shape][1]
        positives_in[0] += positives
        for j in shape:
            columns[j + 1].append(p)
            positives_in[j + 1] += positives
    total = sum(n)
    intercept = math.log(positives_in[0] / (total - positives_in[0]))
    z = [intercept] * len(shapes)
    # Column 0 is the intercept, whose weight is not penalised.
    w = [intercept] + [0.0] * n_features
    penalty = [0.0] + [l2] * n_features
    exp = math.exp
    # A 1-D Newton step can overshoot where the loss is flat; a cap in log-odds keeps every
    # pass a descent in practice without a line search.
    cap = 2.0
    # Stop once no weight moves by a thousandth of a log-odds (a few hundredths of a percentage
    # point). With every category kept, the intercept and a column's weights can trade off
    # along a nearly flat ridge that only L2 pins down; crawling along it changes no prediction.
    for _ in range(max_passes):
        largest = 0.0
        for j, rows in enumerate(columns):
            lam = penalty[j]
            g = lam * w[j] - positives_in[j]
            h = lam + 1e-12
            for p in rows:
                zp = z[p]
                # exp(-z) overflows only below -709, where μ is 0 to double precision anyway.
                m = 1.0 / (1.0 + exp(-zp)) if zp > -700.0 else 0.0
                nm = n[p] * m
                g += nm
                h += nm * (1.0 - m)
            step = -g / h
            if step > cap:
                step = cap
            elif step < -cap:
                step = -cap
            if step == 0.0:
                continue
            w[j] += step
            for p in rows:
                z[p] += step
            if abs(step) > largest:
                largest = abs(step)
        if largest < tol:
            break
    return w[1:], w[0]


def closed_counts(leads: Iterable[Lead]) -> tuple[int, int]:
    converted = unqualified = 0
    for lead in leads:
        if lead.status == CONVERTED:
            converted += 1
        elif lead.status == UNQUALIFIED:
            unqualified += 1
    return converted, unqualified
