"""Lead scoring: a 0–100 score, a grade A–D, a conversion chance and the reasons, per lead.

Two methods, chosen per run:

- "learned": when the history holds enough decided leads (by default ≥ 50 Converted and
  ≥ 50 Unqualified), a model of the leads' own columns (a logistic regression or boosted
  trees, whichever cross-validates better; see `learned.py`) gives each lead a calibrated
  conversion chance; the score is that chance in percent, so
  the score, the grade and the percentage never disagree. Only when the model predicts better
  than chance (`LearnedModel.beats_chance`): a model no better than a coin would replace the
  rules with noise. A decided lead's chance is its held-out one.
- "rules": otherwise, the configured rules plus decayed engagement (see `rules.py`), and no
  conversion chance, because nothing calibrates rule points into a probability. The result's
  note says why the learned model was not used.

Everything here is pure: records and `as_of` in, values out. Leads without an ID are not
scored (a score could not be written back to them nor activities linked to them; the next
sync gives them one) but still teach the model when they are closed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from sheetcrm.crm.learned import (FitCache, LearnedModel, LearnedSettings, candidate_name, closed_counts, fit,
                                  outcome)
from sheetcrm.crm.money import Rates
from sheetcrm.crm.rules import (ACTIVITY_TYPES, PLAIN, Engagement, Reading, Rule, RuleDoubt, RuleSet, activity_type,
                                check_columns, why)
from sheetcrm.cells import half_up, quoted, show_number
from sheetcrm.i18n import NC_, _, ngettext, pgettext
from sheetcrm.records import Activity, Lead

Method = Literal["learned", "rules"]
# How people are told each method (the Dashboard, `sheetcrm score`), in their language.
METHOD_NAMES = (NC_("scoring method", "learned"), NC_("scoring method", "rules"))


def method_name(method: str) -> str:
    """"learned" or "rules" in the current language (METHOD_NAMES); another value as it is."""
    return pgettext(*name) if (name := next((n for n in METHOD_NAMES if n[1] == method), None)) else method

# The title rules match whole words (`whole_words`: "VP" is not in "MVP Developer", "Head" not
# in "Headhunter", "Intern" not in "International" or "Internal"), folding case and accents, so
# each inflection a title is typed in is listed: Directora, Vicepresidenta, Becaria.
_SENIOR = ["CEO", "Founder", "Cofounder", "President", "Vicepresident", "Chief", "VP", "SVP", "EVP", "AVP", "Head",
           "Director", "Directors", "Presidente", "Presidenta", "Vicepresidente", "Vicepresidenta", "Fundador",
           "Fundadora", "Cofundador", "Cofundadora", "Directora", "Directores", "Directoras", "Subdirector",
           "Subdirectora", "Jefe", "Jefa"]

# Rules that read only the default Leads columns, so scoring means something before any setup.
# Each value in English and in Spanish (the values a team types, not sheetcrm's words): a
# "Referido" lead scores exactly like a "Referral" one, and its reason names it as typed.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(column="Source", op="in", values=["Referral", "Referido", "Referida", "Recomendación"], points=20),
    Rule(column="Source", op="in", values=["Partner", "Event", "Socio", "Evento", "Feria"], points=10),
    Rule(column="Source", op="in", values=["Cold Call", "Llamada en frío"], points=-10),  # not for people: values a team types, matched in either language
    Rule(column="Source", op="in", values=["Ads", "Anuncios", "Publicidad"], points=-5),
    Rule(column="Title", op="contains", values=_SENIOR, whole_words=True, points=15),
    Rule(column="Title", op="contains", values=["Manager", "Managers", "Gerente", "Gerentes"], whole_words=True,
         points=5),
    Rule(column="Title", op="contains", values=["Intern", "Student", "Becario", "Becaria", "Estudiante", "Prácticas"],
         whole_words=True, points=-10),
    Rule(column="Email", op="present", points=5),
    Rule(column="Phone", op="present", points=5),
    Rule(column="Company", op="present", points=5),
)


class Grades(BaseModel):
    """Minimum scores for grades A, B and C; anything lower is D."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    a: float = Field(default=80, ge=0, le=100, validation_alias=AliasChoices("A", "a"))
    b: float = Field(default=60, ge=0, le=100, validation_alias=AliasChoices("B", "b"))
    c: float = Field(default=40, ge=0, le=100, validation_alias=AliasChoices("C", "c"))

    @model_validator(mode="after")
    def _descending(self) -> "Grades":
        if not self.a > self.b > self.c:
            raise ValueError(_("grade thresholds must fall from A to C; got A={a}, B={b}, C={c}", a=self.a,
                               b=self.b, c=self.c))
        return self

    def grade(self, score: float) -> str:
        return "A" if score >= self.a else "B" if score >= self.b else "C" if score >= self.c else "D"


class ScoringSettings(BaseModel):
    """The [scoring] section of sheetcrm.toml. Setting `rules` replaces the default rules."""

    model_config = ConfigDict(extra="forbid")

    # Every lead starts here, so a lead with a few good signs can reach grade A.
    base: float = Field(default=30, ge=0, le=100)
    rules: list[Rule] = Field(default_factory=lambda: list(DEFAULT_RULES))
    # Points per activity type before decay; keys are activity types (Call, Email, Meeting, Note).
    # (activity_type folds the Spanish names, "Reunión" = Meeting, so either language may be written.)
    engagement: dict[str, float] = Field(default_factory=lambda: {"Meeting": 10, "Call": 5, "Email": 3, "Note": 1})
    # Engagement alone should not make a poor-fit lead an A by logging many notes.
    engagement_cap: float | None = Field(default=30, ge=0)
    half_life_days: float = Field(default=30, gt=0)
    grades: Grades = Field(default_factory=Grades)
    learned: LearnedSettings = Field(default_factory=LearnedSettings)

    @field_validator("engagement")
    @classmethod
    def _activity_types(cls, points: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, value in points.items():
            kind = activity_type(name)
            if kind is None:
                raise ValueError(_("unknown activity type {name}; use {types}", name=quoted(name),
                                   types=", ".join(ACTIVITY_TYPES)))
            if not math.isfinite(value):
                raise ValueError(_("engagement points for {name} must be a finite number", name=name))
            # "Reunión" and "meeting" are Meeting: the later one's points replaced the other's unsaid.
            other = next((n for n in points if n != name and activity_type(n) == kind), None)
            if other is not None:
                raise ValueError(_("{name} and {other} are both the activity type {kind}; give its points once",
                                   name=quoted(name), other=quoted(other), kind=kind))
            out[kind] = value
        return out

    @model_validator(mode="after")
    def _columns_known(self, info: ValidationInfo) -> "ScoringSettings":
        # Which custom columns exist is the Leads tab's business; when the caller passes
        # them (context={"lead_custom_fields": [...]}) a rule on an unknown one is rejected here.
        context = info.context if isinstance(info.context, Mapping) else {}
        if "lead_custom_fields" in context:
            check_columns(self.rules, context["lead_custom_fields"])
        return self

    def check_columns(self, custom_fields: Iterable[str]) -> None:
        """Raise ValueError when a rule reads a column that is neither a Leads column nor a declared custom one."""
        check_columns(self.rules, custom_fields)


@dataclass(frozen=True, slots=True)
class LeadScore:
    lead_id: str
    score: int                      # 0..100
    grade: str                      # A..D
    conversion_pct: float | None    # calibrated chance in percent, 1 decimal; None under rules
    why: str                        # the top three reasons, e.g. "Source = Referral +20; Title contains CEO +15"
    method: Method


@dataclass(frozen=True)
class ScoringResult:
    scores: dict[str, LeadScore]
    method: Method
    note: str
    # Under rules, each rule a lead's cell left undecided (it gave no points): said at the cell.
    doubts: tuple[RuleDoubt, ...] = ()


def _round(x: float) -> int:
    # Half up: people expect 79.5 to be an 80 (grade A), not banker's rounding to 80/79.
    return int(math.floor(x + 0.5))


def _clamp(x: float) -> float:
    return 0.0 if x < 0 else 100.0 if x > 100 else x


def rule_scores(leads: Sequence[Lead], activities: Iterable[Activity], settings: ScoringSettings,
                as_of: dt.date, reading: Reading = PLAIN, undecided: list[RuleDoubt] | None = None,
                statuses: Mapping[str, str] | None = None, money: Iterable[str] = (), rates: Rates | None = None,
                percent: Iterable[str] = ()) -> list[tuple[int, str]]:
    """(score, why) for each lead, in order, by the rules and decayed engagement. `reading`: how
    the Leads tab reads its text cells' numbers and dates, `statuses` the words it reads a Status
    by, `money` its own money columns, compared with the Amount in `rates.base`, `percent` its
    percentage columns (`rules.RuleSet`); the rules its cells leave undecided are added to
    `undecided` when given."""
    rules = RuleSet(settings.rules, reading, statuses, money, rates, percent)
    engagement = Engagement(activities, settings.engagement, settings.half_life_days, as_of, settings.engagement_cap)
    base = settings.base
    texts: dict[tuple, str] = {}
    out: list[tuple[int, str]] = []
    for lead in leads:
        points, ranked, doubts = rules.evaluate(lead)
        if doubts and undecided is not None:
            undecided.extend(doubts)
        active = engagement.factor(lead.id)
        if active is None:
            text = texts.get(ranked)
            if text is None:
                text = texts[ranked] = why(ranked) or _("no rule matched")
        else:
            points += active[1]
            text = why((*ranked[:3], active)) or _("no rule matched")
        out.append((_round(_clamp(base + points)), text))
    return out


def _learned_or_why_not(converted: int, unqualified: int, settings: LearnedSettings) -> str | None:
    """None when the learned model may be used, else the reason it may not."""
    if not settings.enabled:
        return _("the learned model is turned off (scoring.learned.enabled)")
    if converted < settings.min_converted or unqualified < settings.min_unqualified:
        return _("learned model needs ≥ {min_converted} converted and ≥ {min_unqualified} unqualified leads; "
                 "have {converted} and {unqualified}", min_converted=settings.min_converted,
                 min_unqualified=settings.min_unqualified, converted=converted, unqualified=unqualified)
    return None


def _auc_text(auc: float) -> str:
    return show_number(half_up(auc, 3), group=False)  # 0,717 in Spanish


def _no_better_than_chance(model: LearnedModel) -> str | None:
    """None when the fitted model ranks leads better than chance (`LearnedModel.beats_chance`), else
    why not, for the note: a model no better than a coin would replace the rules with noise and
    name noise as reasons."""
    if model.beats_chance:
        return None
    auc = model.cv_auc.get(model.chosen)
    if auc is None:
        return _("the learned model cannot be cross-validated with fewer than 2 converted or 2 unqualified leads, "
                 "so nothing shows it predicts better than chance")
    if model.auc_needed >= 1:
        # No AUC is above 1: on this few leads even a perfect ranking is what chance could give.
        return _("the learned model cannot show it predicts better than chance on {converted} converted and "
                 "{unqualified} unqualified leads: even a perfect ranking of so few is not beyond chance ({model}: "
                 "cross-validated ROC AUC {auc})", converted=model.converted, unqualified=model.unqualified,
                 model=candidate_name(model.chosen), auc=_auc_text(auc))
    if auc <= model.auc_needed:
        return _("the learned model predicts no better than chance on this history ({model}: cross-validated ROC "
                 "AUC {auc}, needs above {needed})", model=candidate_name(model.chosen), auc=_auc_text(auc),
                 needed=_auc_text(model.auc_needed))
    return _("the learned model's calibration would rank the leads backwards ({model}: cross-validated ROC AUC "
             "{auc})", model=candidate_name(model.chosen), auc=_auc_text(auc))


def _ignored_note(model: LearnedModel) -> str:
    """The columns left out as describing the outcome, each with the test that found it."""
    by_values = model.outcome_valued_columns
    filled = [c for c in model.ignored_columns if c not in by_values]
    notes = []
    if filled:
        notes.append(_("ignored {columns}: filled mostly on closed leads, so it describes the outcome",
                       columns=", ".join(f'"{c}"' for c in filled)))
    if by_values:
        notes.append(ngettext("ignored {columns}: its values all but decide whether a lead converted, so it "
                              "describes the outcome",
                              "ignored {columns}: their values all but decide whether a lead converted, so they "
                              "describe the outcome", len(by_values), columns=", ".join(f'"{c}"' for c in by_values)))
    return "; ".join(notes)


def score_leads(leads: Iterable[Lead], activities: Iterable[Activity], settings: ScoringSettings,
                as_of: dt.date, cache: FitCache | None = None, reading: Reading = PLAIN,
                percent: Iterable[str] = (), money: Iterable[str] = (), rates: Rates | None = None,
                statuses: Mapping[str, str] | None = None) -> ScoringResult:
    """Every lead with an ID scored. `cache`: fits kept by the caller between syncs (`learned.FitCache`),
    so an unchanged history is not fitted again; the result is the same with or without it.
    `reading`: (locale, set by the config) of the Leads tab, how the rules read a text cell as a
    number or a date; the rules a cell leaves undecided are the result's `doubts`. `percent`: the
    custom headers the tab reads as percentages, which the learned reasons show as such; `money`:
    those it reads as money, which the learned model reads in `rates.base` (`learned.fit`) and the
    rules compare there, as the Amount;
    `statuses`: normalize_key(word) -> lead status, the words the tab reads a Status by, as the
    rules compare one (`records.lead_status_choices`; None: the built-in words)."""
    leads, money, percent = list(leads), list(money), list(percent)
    converted, unqualified = closed_counts(leads)
    why_not = _learned_or_why_not(converted, unqualified, settings.learned)
    scored = [lead for lead in leads if lead.id is not None]
    scores: dict[str, LeadScore] = {}
    notes: list[str] = []
    doubts: list[RuleDoubt] = []
    model: LearnedModel | None = None
    if why_not is None:
        model = fit(leads, settings.learned, cache, percent, money, rates)
        why_not = _no_better_than_chance(model)
    if why_not is None:
        assert model is not None
        method: Method = "learned"
        grades = settings.grades
        for lead, pred in zip(scored, model.predict_all(scored)):
            pct = 100 * pred.probability
            score = _round(pct)
            scores[lead.id] = LeadScore(lead.id, score, grades.grade(score), float(half_up(pct, 1)),  # type: ignore[index]
                                        pred.why, method)
        notes.append(_("learned from {converted} converted and {unqualified} unqualified leads", converted=converted,
                       unqualified=unqualified))
        if model.chosen in model.cv_auc:
            notes.append(_("{model} (cross-validated ROC AUC {auc})", model=candidate_name(model.chosen),
                           auc=_auc_text(model.cv_auc[model.chosen])))
    else:
        method = "rules"
        ranked = rule_scores(scored, activities, settings, as_of, reading, doubts, statuses, money, rates, percent)
        for lead, (score, text) in zip(scored, ranked):
            scores[lead.id] = LeadScore(lead.id, score, settings.grades.grade(score), None, text,  # type: ignore[index]
                                        method)
        notes.append(_("{reason}; scored by rules", reason=why_not))
    if model is not None and model.ignored_columns:
        notes.append(_ignored_note(model))
    skipped = len(leads) - len(scored)
    if skipped:
        notes.append(ngettext("{n} lead without an ID not scored (the next sync gives it one)",
                              "{n} leads without an ID not scored (the next sync gives them one)", skipped))
    return ScoringResult(scores, method, "; ".join(notes), tuple(doubts))


# --- evaluation ---------------------------------------------------------------------------

def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Exact ROC AUC by the rank-sum (Mann–Whitney) statistic; tied scores share their mean rank."""
    n = len(labels)
    positives = sum(labels)
    negatives = n - positives
    if not positives or not negatives:
        raise ValueError("ROC AUC needs both outcomes among the labels")  # not for people: evaluate checks first
    order = sorted(range(n), key=scores.__getitem__)
    rank_sum = 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mid = (i + j) / 2 + 1
        rank_sum += mid * sum(labels[order[k]] for k in range(i, j + 1))
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def calibration(labels: Sequence[int], probabilities: Sequence[float], bins: int = 10) -> list[dict[str, Any]]:
    """Predicted vs observed conversion, in percent, per tenth of predicted chance; empty bins left out."""
    acc = [[0, 0.0, 0] for _ in range(bins)]
    for y, p in zip(labels, probabilities):
        b = acc[min(int(p * bins), bins - 1)]
        b[0] += 1
        b[1] += p
        b[2] += y
    width = 100 // bins
    return [{"bin": f"{i * width}-{(i + 1) * width}%", "predicted": float(half_up(100 * s / n, 1)),
             "observed": float(half_up(100 * k / n, 1)), "n": n}
            for i, (n, s, k) in enumerate(acc) if n]


def _split_order(lead: Lead) -> tuple[str, str]:
    """Where a decided lead stands before `evaluate`'s seeded shuffle: by ID, then by a digest
    of its cells (its fields and custom columns, not its row). Two leads alike in every cell
    are interchangeable to the evaluation, so the one left tied changes nothing it reports."""
    cells = sorted((k, v) for k, v in lead.__dict__.items() if k not in _NOT_CELLS)
    text = repr((cells, sorted(lead.custom.items(), key=lambda kv: kv[0])))
    return lead.id or "", hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


_NOT_CELLS = frozenset({"row", "custom", "priced"})  # `Record` fields that are no cell of the lead's own


def evaluate(leads: Iterable[Lead], activities: Iterable[Activity], settings: ScoringSettings, as_of: dt.date,
             seed: int = 0, test_fraction: float = 0.3, reading: Reading = PLAIN, money: Iterable[str] = (),
             rates: Rates | None = None, statuses: Mapping[str, str] | None = None,
             percent: Iterable[str] = ()) -> dict[str, Any]:
    """Hold out a stratified share of the decided leads and measure what score_leads would do on them.

    The method is the one score_leads would pick for the whole history. Under "rules" the
    score divided by 100 stands in for a chance, so its calibration shows how far rule
    points are from probabilities. Predicted and observed are percentages. `reading`: how the
    Leads tab reads its text cells' numbers and dates, `money`, `rates` its money columns,
    `statuses` its Status words and `percent` its percentage columns, as for `score_leads`. The held-out share
    depends on `seed` and the leads, not on the order their rows stand in.

    Returns {"method" (what scored the held-out leads), "auc" (on the held-out leads), "n_train",
    "n_test", "calibration" (`calibration`'s bins); when the history is large enough to fit,
    "candidates" ({candidate: its cross-validated ROC AUC on the training share}) and
    "ignored_columns" (the custom columns left out as describing the outcome; "ignored_for_values" those of
    them left out for their values, `learned.values_tell_outcome`, not their fill), with "model" (the
    candidate chosen, which scored) under "learned" or "best_candidate" (the one that would have
    been chosen, not used) under "rules"; and under "rules" "note", why the learned model does not
    score (too few decided leads, no better than chance)}. "model" is never there under "rules":
    a reader looking for what scored finds only the method that did.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(_("test_fraction must be between 0 and 1"))
    leads, money, percent = list(leads), list(money), list(percent)
    rng = random.Random(seed)
    by_outcome: dict[int, list[Lead]] = {0: [], 1: []}
    open_leads: list[Lead] = []
    for lead in leads:
        y = outcome(lead)
        (open_leads if y is None else by_outcome[y]).append(lead)
    if len(by_outcome[1]) < 2 or len(by_outcome[0]) < 2:
        raise ValueError(_("evaluation needs at least 2 converted and 2 unqualified leads; have {converted} and "
                           "{unqualified}", converted=len(by_outcome[1]), unqualified=len(by_outcome[0])))
    train: list[Lead] = []
    test: list[Lead] = []
    for y in (1, 0):
        group = by_outcome[y]
        # A Leads tab sorted otherwise holds the same history, so the same leads out: in an order
        # of the leads themselves, never of their rows (a workbook never synced has no IDs).
        shuffled = sorted(group, key=_split_order)
        rng.shuffle(shuffled)
        k = min(max(round(len(group) * test_fraction), 1), len(group) - 1)
        test += shuffled[:k]
        train += shuffled[k:]
    labels = [outcome(lead) for lead in test]
    extra: dict[str, Any] = {}
    why_not = _learned_or_why_not(len(by_outcome[1]), len(by_outcome[0]), settings.learned)
    if why_not is None:
        model: LearnedModel = fit(train + open_leads, settings.learned, percent=percent, money=money, rates=rates)
        why_not = _no_better_than_chance(model)
        # The chosen candidate is named "model" only when it scored: beside "method": "rules" a
        # "model" read as the model that scored (issue: shuffled outcomes named the trees).
        extra = {"candidates": {c: float(half_up(a, 4)) for c, a in model.cv_auc.items()},
                 "ignored_columns": model.ignored_columns, "ignored_for_values": model.outcome_valued_columns}
        if model.cv_auc:  # with one lead of an outcome to train on, no candidate was cross-validated, none chosen
            extra["model" if why_not is None else "best_candidate"] = model.chosen
    if why_not is None:
        probabilities = [p.probability for p in model.predict_all(test)]
        method: Method = "learned"
    else:
        probabilities = [score / 100 for score, _ in rule_scores(test, activities, settings, as_of, reading,
                                                                 statuses=statuses, money=money, rates=rates,
                                                                 percent=percent)]
        method = "rules"
        extra["note"] = _("{reason}; scored by rules", reason=why_not)
    return {"method": method, **extra, "auc": roc_auc(labels, probabilities),  # type: ignore[arg-type]
            "n_train": len(train), "n_test": len(test),
            "calibration": calibration(labels, probabilities)}  # type: ignore[arg-type]
