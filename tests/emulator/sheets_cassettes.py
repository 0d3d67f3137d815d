"""Replaying gspread's recorded Google traffic against the emulator.

Each cassette is replayed in order over real HTTP. IDs Google handed out (spreadsheet,
sheet, protected range...) are learned from each response by walking the recorded and
the emulated body side by side, and substituted into later requests and into the
recorded answers before comparing. Only Drive timestamps are ignored: they are times.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from sheetcrm.emulator import Emulator
from sheetcrm.emulator.session import emulator_session

CASSETTES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "sheets-cassettes")

# The Google account that recorded the cassettes. Protected ranges list their owner as
# an editor, so the replay runs the emulator as that same account.
RECORDING_ACCOUNT = "telegram-budgeter@telegram-budgeter.iam.gserviceaccount.com"

ID_KEYS = {"spreadsheetId", "id", "sheetId", "protectedRangeId", "metadataId", "chartId", "namedRangeId"}
TIME_KEYS = {"createdTime", "modifiedTime"}

# (cassette file, interaction index) -> why it cannot be replayed faithfully.
# Empty on purpose. The two account-dependent kinds of interaction were examined and kept
# in scope: ClientTest.test_no_found_exeption lists Drive files by a name nobody uses, and
# the emulator's own Drive answers that as Google did (no match); protected ranges name
# the owner as editor, and the replay runs the emulator as RECORDING_ACCOUNT.
OUT_OF_SCOPE: dict[tuple[str, int], str] = {}


@dataclass
class Outcome:
    index: int
    method: str
    uri: str
    matched: bool
    out_of_scope: str | None = None
    detail: str = ""


@dataclass
class FileResult:
    name: str
    outcomes: list[Outcome] = field(default_factory=list)
    records: list = field(default_factory=list)  # the emulator's request log

    @property
    def in_scope(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.out_of_scope]

    @property
    def matched(self) -> int:
        return sum(o.matched for o in self.in_scope)


def cassette_files() -> list[str]:
    return sorted(f for f in os.listdir(CASSETTES) if f.endswith(".json"))


class _Ids:
    def __init__(self):
        self.strings: dict[str, str] = {}
        self.numbers: dict[int, int] = {}

    def learn(self, recorded, actual, key=None):
        if isinstance(recorded, dict) and isinstance(actual, dict):
            for k, v in recorded.items():
                if k in actual:
                    self.learn(v, actual[k], k)
        elif isinstance(recorded, list) and isinstance(actual, list):
            for r, a in zip(recorded, actual):
                self.learn(r, a, key)
        elif key in ID_KEYS and type(recorded) is type(actual) and recorded != actual:
            if isinstance(recorded, str):
                self.strings.setdefault(recorded, actual)
            elif isinstance(recorded, int):
                self.numbers.setdefault(recorded, actual)

    def text(self, s: str) -> str:
        for old, new in self.strings.items():
            s = s.replace(old, new)
        return s

    def tree(self, obj, key=None):
        if isinstance(obj, dict):
            return {k: self.tree(v, k) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.tree(v, key) for v in obj]
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, int) and not isinstance(obj, bool) and key in ID_KEYS:
            return self.numbers.get(obj, obj)
        return obj


def _without_times(obj):
    if isinstance(obj, dict):
        return {k: ("<time>" if k in TIME_KEYS else _without_times(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_without_times(v) for v in obj]
    return obj


def same(recorded, actual) -> bool:
    """Equal as JSON: Python's == takes 1 for 1.0 and True, where Google's 1 is a whole
    number and 1.0 would read as a fraction to a client that goes by the JSON type (sheetcrm
    asks about a column's formats when it holds a float, `gsheets._shown_candidates`)."""
    if type(recorded) is not type(actual):
        return False
    if isinstance(recorded, dict):
        return recorded.keys() == actual.keys() and all(same(v, actual[k]) for k, v in recorded.items())
    if isinstance(recorded, list):
        return len(recorded) == len(actual) and all(same(r, a) for r, a in zip(recorded, actual))
    return recorded == actual


def _body(text):
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def replay(name: str) -> FileResult:
    with open(os.path.join(CASSETTES, name), encoding="utf-8") as fh:
        interactions = json.load(fh)["interactions"]
    result = FileResult(name)
    ids = _Ids()
    with Emulator(account=RECORDING_ACCOUNT, seed=len(name)) as emu:
        session = emulator_session(emu.host)
        for i, interaction in enumerate(interactions):
            req, resp = interaction["request"], interaction["response"]
            uri = ids.text(req["uri"])
            body = req.get("body")
            if body:
                body = json.dumps(ids.tree(json.loads(body)), ensure_ascii=False).encode("utf-8")
            actual = session.request(req["method"], uri, data=body, headers={"Content-Type": "application/json"})
            recorded_body = _body(resp["body"]["string"])
            actual_body = _body(actual.text)
            ids.learn(recorded_body, actual_body)
            expected = _without_times(ids.tree(recorded_body))
            got = _without_times(actual_body)
            matched = actual.status_code == resp["status"]["code"] and same(expected, got)
            detail = "" if matched else (
                f"status {actual.status_code} vs recorded {resp['status']['code']}\n"
                f"  emulator: {json.dumps(got, ensure_ascii=False)[:1500]}\n"
                f"  recorded: {json.dumps(expected, ensure_ascii=False)[:1500]}"
            )
            result.outcomes.append(
                Outcome(i, req["method"], req["uri"], matched, OUT_OF_SCOPE.get((name, i)), detail)
            )
        session.close()
    result.records = list(emu.requests)
    return result

