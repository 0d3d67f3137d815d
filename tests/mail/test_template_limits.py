"""Email bodies run in the Subject's sandbox (mail/sandbox.py): a hostile or broken template
(huge output, `**`, loops nested in loops, recursion) fails its own Outbox row with a reason
a person can read, and the other rows still go, against a real SMTP server on loopback
(aiosmtpd). Quotes' templates are held to the same policy."""

from __future__ import annotations

import jinja2
import pytest

from sheetcrm.mail.sandbox import MAX_BODY, STEPS, Sandbox, SandboxLimit
from sheetcrm.mail.templates import TemplateError, Templates
from sheetcrm.config import Config
from test_workflow_mail import make, outbox, rule, send
from test_workflows import day

HOSTILE = {
    "huge": ("{{ 'x' * 10**9 }}", "repetition"),
    "power": ("{{ 10 ** 100000000 }}", "power"),
    "nested": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "steps"),
    "loopout": ("{% for i in range(99999) %}{{ 'y' * 50000 }}{% endfor %}", str(MAX_BODY)),
    "recurse": ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "calls itself"),
    "doubling": ("{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
                 "{{ ns.s }}", str(MAX_BODY)),
    "padding": ("{{ Company|center(10**9) }}", "larger than"),
    "broken": ("{{ Company|int + 'a' }}", "line 1"),
    "builds": ("{{ range(2000)|map('center', 20000)|join|length }}", "built by its filters"),
    "lipsum": ("{{ lipsum(3) }}", "lipsum"),
}


def test_a_hostile_body_fails_its_own_row_and_the_good_rows_are_sent(tmp_path, request, server):
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "good.txt.j2").write_text("Hi {{ Last_Name }}.\n")
    for name, (text, _) in HOSTILE.items():
        (folder / f"{name}.txt.j2").write_text(text)
    config = Config(templates=str(folder), owners={"Sam": "sam@team.example"})
    names = ["good", *HOSTILE, "good"]
    rules = [rule(f"WF-{n:04d}", "lead", "created", "send email", f"About {name}", name)
             for n, name in enumerate(names, 1)]
    book = make("xlsx", tmp_path, request, rules)
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config)
    rows = outbox(book)
    assert [r["Subject"] for r in rows] == [f"About {n}" for n in names]
    for n in range(len(rows)):
        book.set("Outbox", n + 2, 6, "Approved")

    report = send(book, server, config, day(2))
    assert [m["Subject"] for m in server.inbox.messages] == ["About good", "About good"]
    assert sorted(report.sent) == [rows[0]["ID"], rows[-1]["ID"]]
    after = {r["Subject"].removeprefix("About "): r for r in outbox(book)[1:-1]}
    for name, (_, reason) in HOSTILE.items():
        assert after[name]["Status"] == "Failed", name
        assert f"{name}.txt.j2" in after[name]["Error"] and reason in after[name]["Error"], (name, after[name]["Error"])
    # Failed is final: a second run sends nothing more.
    assert send(book, server, config, day(3)).sent == [] and len(server.inbox.messages) == 2


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_quote_template_is_a_template_error(tmp_path, name):
    (tmp_path / "quote.txt.j2").write_text(HOSTILE[name][0])
    with pytest.raises(TemplateError, match="quote.txt.j2, line"):
        Templates(tmp_path).render("quote.txt.j2", {"Company": "Beta", "locale": "en"})


def test_the_policy_leaves_ordinary_templates_alone():
    env = Sandbox(MAX_BODY, undefined=jinja2.StrictUndefined)
    text = ("{% for l in lines %}{{ '%-6s' % l.sku }}|{{ '{:>5}'.format(l.qty) }}|{{ (l.sku ~ '-') * 2 }}\n{% endfor %}"
            "{{ 2 ** 10 }} {{ 'ab'|center(6) }}")
    lines = [{"sku": f"S{i}", "qty": i} for i in range(3)]
    assert env.render(env.from_string(text), {"lines": lines}) == (
        "S0    |    0|S0-S0-\nS1    |    1|S1-S1-\nS2    |    2|S2-S2-\n1024   ab  ")
    # A long quote stays well inside the step budget, and the budget is per render.
    many = [{"sku": "S", "qty": 1}] * (STEPS // 4)
    for _ in range(3):
        assert env.render(env.from_string("{% for l in lines %}{{ l.sku }}{% endfor %}"), {"lines": many}) == \
            "S" * len(many)


def test_each_limit_is_one_place_for_subject_and_body():
    from sheetcrm.crm import workflows
    assert isinstance(workflows._sandbox(), Sandbox) and isinstance(Templates().env, Sandbox)
    env = Sandbox(100)
    with pytest.raises(SandboxLimit):
        env.render(env.from_string("{{ 'x' ~ 'y' * 60 ~ 'z' * 60 }}"), {})


@pytest.mark.parametrize("text", ["{{ ('\t' * 2000).expandtabs(30000)|length }}",
                                  "{{ ('x' * 2000)|replace('x', 'y' * 30000)|length }}",
                                  "{{ ('x' * 2000).replace('x', 'y' * 30000)|length }}",
                                  "{{ range(2000)|map('string')|join('x' * 30000)|length }}",
                                  "{{ ('x' * 30000).join(range(2000)|map('string'))|length }}",
                                  "{{ ('\n' * 2000)|indent(30000)|length }}"])
def test_one_operation_whose_result_is_a_product_is_refused_before_it_is_built(text):
    """Each input within the limit, the result their product (60 million characters here, a
    gigabyte at a cell's 32,767 x 32,767): refused by the size it would build, never built and
    then counted."""
    import tracemalloc

    env = Sandbox(32767, undefined=jinja2.StrictUndefined)
    template = env.from_string(text)
    tracemalloc.start()
    try:
        with pytest.raises(SandboxLimit, match="built by its filters"):
            env.render(template, {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, peak
