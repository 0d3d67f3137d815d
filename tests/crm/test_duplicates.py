"""Duplicate rules: known pairs found, a clean set left alone, phones never guessed."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from sheetcrm.config import ConfigError, load_config
from sheetcrm.crm.duplicates import (DuplicateSettings, Entity, company_key, domain_of, email_key, entities,
                                     find_groups, group_key, phone_key, reasons_text, region_of)
from sheetcrm.i18n import using
from sheetcrm.records import Account, Contact, Lead

SETTINGS = DuplicateSettings()


def person(id, name, email=None, phone=None, company=None, country=None, tab="leads"):
    return Entity(tab, id, "person", name, email, phone, company, None, country, None, name.split()[-1])


def company(id, name, website=None):
    return Entity("accounts", id, "company", name, None, None, name, website)


def groups(records, settings=SETTINGS, suppressed=()):
    return [g.ids for g in find_groups(records, settings, suppressed).groups]


@pytest.mark.parametrize("a, b", [
    ("Ana.Lopez@gmail.com", "  analopez@GMAIL.com "),
    ("ana.lopez+crm@googlemail.com", "analopez@gmail.com"),
    ("jo+news@outlook.com", "JO@outlook.com"),
    ("Bob@Acme.com", "bob@acme.com "),
])
def test_emails_that_reach_one_mailbox_are_one(a, b):
    assert email_key(a) == email_key(b) is not None


@pytest.mark.parametrize("a, b", [
    ("a.b@acme.com", "ab@acme.com"),      # a company's server may keep dots apart
    ("jo+news@acme.com", "jo@acme.com"),  # ... and plus signs
    ("jo-news@yahoo.com", "jo@yahoo.com"),
])
def test_emails_of_other_servers_keep_dots_and_tags(a, b):
    assert email_key(a) != email_key(b)


def test_domains_and_free_mail():
    assert domain_of("https://www.Acme.com/about?x=1") == domain_of("ana@acme.com") == "acme.com"
    assert domain_of("ana@gmail.com") is None and domain_of("www.hotmail.com") is None
    assert domain_of("not a site") is None
    assert company_key("Acme, S.L.") == company_key("ACME Inc.") == company_key("acme") == "acme"


def test_phones_in_e164_and_never_guessed():
    assert phone_key("612 34 56 78", "ES") == phone_key("+34 612-345-678", None) == phone_key("0034612345678", None) \
        == "+34612345678"
    assert phone_key("(55) 1234 5678", "MX") == "+525512345678"
    # No country code and no country: left out, not read as anyone's.
    assert phone_key("612 34 56 78", None) is None
    # Not a number of any country, or not a number at all.
    assert phone_key("+1 555 123 4567", None) is None
    assert phone_key("call me", "ES") is None
    assert region_of("España") == region_of("spain") == region_of("ES") == "ES"
    assert region_of("México") == "MX" and region_of("Narnia") is None


def test_a_country_typed_short_is_that_country_and_an_unknown_one_is_no_guess():
    assert {region_of(c) for c in ("USA", "U.S.A.", "EEUU", "EE. UU.", "Estados Unidos")} == {"US"}
    assert {region_of(c) for c in ("UK", "Reino Unido", "England")} == {"GB"}
    mx = DuplicateSettings(country="MX")
    # The row says where it is: its phone is read there, never in the config's country.
    assert groups([person("LEAD-0001", "Bo Li", phone="(415) 555-0199", country="USA"),
                   person("LEAD-0002", "Bo Li", phone="+1 415 555 0199")], mx) == [("LEAD-0001", "LEAD-0002")]
    assert groups([person("LEAD-0001", "Bo Li", phone="(415) 555-0199", country="Narnia"),
                   person("LEAD-0002", "Bo Li", phone="+52 415 555 0199")], mx) == []


def test_same_email_with_case_plus_and_dots_is_a_group():
    found = find_groups([person("LEAD-0001", "Ana López", "Ana.Lopez@gmail.com"),
                         person("LEAD-0002", "Ana Lopez", "analopez+web@googlemail.com"),
                         person("LEAD-0003", "Luis Gil", "luis@gmail.com")], SETTINGS)
    assert [g.ids for g in found.groups] == [("LEAD-0001", "LEAD-0002")]
    group = found.groups[0]
    assert group.score == 1.0
    # Accents never matter in names.
    assert reasons_text(group.reasons) == "same email after normalisation; same name"
    with using("es"):
        assert reasons_text(group.reasons) == "mismo correo tras normalizarlo; mismo nombre"


def test_same_phone_written_differently_with_the_country_of_the_row_or_the_config():
    records = [person("LEAD-0001", "Marta Ruiz", phone="612 34 56 78", country="España"),
               person("LEAD-0002", "Marta Ruiz", phone="+34 612-345-678"),
               person("LEAD-0003", "Pedro Sanz", phone="(55) 1234 5678", country="MX"),
               person("LEAD-0004", "Pedro Sanz", phone="55 1234 5678")]
    assert groups(records) == [("LEAD-0001", "LEAD-0002")]
    assert set(groups(records, DuplicateSettings(country="MX"))) == {("LEAD-0001", "LEAD-0002"),
                                                                      ("LEAD-0003", "LEAD-0004")}


def test_a_shared_phone_alone_is_not_a_duplicate():
    # A switchboard: two people, one number.
    assert groups([person("LEAD-0001", "Marta Ruiz", phone="+34 912 345 678"),
                   person("LEAD-0002", "Jorge Vidal", phone="+34 912 345 678")]) == []


def test_similar_company_names_with_the_same_domain():
    found = find_groups([company("ACC-0001", "Acme Corp", "acme.com"),
                         company("ACC-0002", "ACME Corporation", "https://www.acme.com/"),
                         company("ACC-0003", "Acme", "acme.es"),        # another Acme: its own domain
                         company("ACC-0004", "Acme Robotics", "acme.com"),  # a division: same domain, other name
                         company("ACC-0005", "Initech S.L."),
                         company("ACC-0006", "Initech")], SETTINGS)
    assert [(g.ids, reasons_text(g.reasons)) for g in found.groups] == [
        (("ACC-0001", "ACC-0002"), "same company name, same domain"),
        (("ACC-0005", "ACC-0006"), "company name 100% similar")]


def test_similar_names_at_the_same_company():
    records = [person("LEAD-0001", "Jonathan Smith", "jsmith@initech.com"),
               person("LEAD-0002", "Jonathon Smith", "jonathon.smith@initech.com"),
               person("LEAD-0003", "Jonathan Smith", "jonathan@globex.com"),       # another company
               person("LEAD-0004", "Ana García", "ana1@gmail.com", company="Stark"),
               person("LEAD-0005", "Ana Garcia", "ana2@gmail.com", company="Stark Industries S.A.")]
    found = find_groups(records, SETTINGS)
    assert [(g.ids, reasons_text(g.reasons)) for g in found.groups] == [
        (("LEAD-0001", "LEAD-0002"), "name 92% similar; same company domain")]
    # Same company (by name), same name: a pair too.
    records[4] = person("LEAD-0005", "Ana Garcia", "ana2@gmail.com", company="Stark S.A.")
    assert ("LEAD-0004", "LEAD-0005") in groups(records)


def test_names_in_other_scripts_are_compared_by_their_letters():
    """Only a-z and digits were kept of a name: "Иван Smith" and "Олег Smith" were one name,
    proposed as duplicates, and two Cyrillic names at one company were never compared."""
    records = [person("LEAD-0001", "Иван Smith", company="Initech"),
               person("LEAD-0002", "Олег Smith", company="Initech"),
               person("LEAD-0003", "Дмитрий Иванов", company="Яндекс"),
               person("LEAD-0004", "дмитрий иванов", company="ЯНДЕКС LLC"),
               person("LEAD-0005", "Søren Ødegaard", company="Ørsted"),
               person("LEAD-0006", "Soren Odegaard", company="ORSTED")]
    assert groups(records) == [("LEAD-0003", "LEAD-0004"), ("LEAD-0005", "LEAD-0006")]
    assert company_key("Яндекс LLC") != company_key("Газпром LLC")


def test_a_lead_and_a_contact_across_tabs():
    acc = Account(id="ACC-0001", name="Globex", domain="globex.com", country="Spain")
    contact = Contact(id="CON-0001", account="ACC-0001", first_name="Eva", last_name="Martín",
                      email="eva@globex.com", phone="912 345 678", created=dt.date(2025, 1, 2))
    lead = Lead(id="LEAD-0009", first_name="Eva", last_name="Martin", company="Globex S.A.",
                email="EVA@globex.com ", phone="+34912345678")
    found = find_groups(entities([lead], [contact], [acc]), SETTINGS)
    assert [g.ids for g in found.groups] == [("CON-0001", "LEAD-0009")]
    # The contact's phone is read in its account's country (Spain), so it is the lead's.
    assert reasons_text(found.groups[0].reasons) == "same email; same phone; same name"


def test_chains_make_one_group_scored_by_its_weakest_pair():
    found = find_groups([person("LEAD-0001", "Ana Ruiz", "ana@x.com"),
                         person("CON-0001", "Ana Ruiz", "ana@x.com", phone="+34612345678", tab="contacts"),
                         person("LEAD-0002", "Ana Ruiz", "other@y.com", phone="+34 612 345 678")], SETTINGS)
    assert [(g.ids, g.score) for g in found.groups] == [(("CON-0001", "LEAD-0001", "LEAD-0002"), 0.9)]
    assert found.groups[0].key == group_key(["LEAD-0002", "CON-0001", "LEAD-0001"])
    assert found.groups[0].key.startswith("DUP-") and len(found.groups[0].key) == 12


def test_suppressed_pairs_are_never_proposed():
    records = [person("LEAD-0001", "Ana Ruiz", "ana@x.com"), person("LEAD-0002", "Ana Ruiz", "ana@x.com")]
    assert groups(records, suppressed=[frozenset({"LEAD-0001", "LEAD-0002"})]) == []


def test_a_huge_block_is_reported_not_compared():
    records = [person(f"LEAD-{i:04d}", f"Person {i}", "info@acme.com") for i in range(30)]
    found = find_groups(records, DuplicateSettings(max_block=20))
    assert found.groups == [] and found.skipped == [("email", "info@acme.com", 30)]


FIRST = ["Ana", "María", "José", "Juan", "Luis", "Carmen", "David", "Laura", "John", "Mary", "James", "Sarah",
         "Michael", "Emma", "Daniel", "Lucía", "Pablo", "Sofía", "Javier", "Elena"]
LAST = ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Smith", "Johnson",
        "Brown", "Williams", "Jones", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Anderson", "Thomas",
        "Jackson", "White", "Harris", "Martin", "Thompson", "Robinson", "Clark", "Lewis", "Walker", "Hall"]
WORDS = ["Alpha", "Nimbus", "Quartz", "Harbor", "Summit", "Vertex", "Cobalt", "Meadow", "Pioneer", "Lumen", "Atlas",
         "Granite", "Orchid", "Beacon", "Falcon", "Willow", "Zephyr", "Crimson", "Ember", "Solstice"]
KINDS = ["Labs", "Foods", "Logistics", "Capital", "Media", "Health", "Energy", "Studio", "Works", "Partners"]


def clean_set(n: int, seed: int = 11) -> list[Entity]:
    """n distinct people at n // 4 distinct companies (no two share a full name at one company,
    no two an email or a phone), a third on free-mail addresses; and the companies as accounts."""
    rng = random.Random(seed)
    companies = rng.sample([f"{w} {k} {i}" for w in WORDS for k in KINDS for i in range(1, 20)], n // 4)
    out, used = [], set()
    for i in range(n):
        comp = companies[i % len(companies)]
        while True:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if (first, last, comp) not in used and (first, last) not in {(f, la) for f, la, c in used if c == comp}:
                break
        used.add((first, last, comp))
        slug = comp.lower().replace(" ", "")
        free = i % 3 == 0
        email = f"{first.lower()[:3]}{last.lower()[:3]}{i}@{'gmail.com' if free else slug + '.com'}"
        tab = "contacts" if i % 2 else "leads"
        out.append(Entity(tab, f"{'CON' if i % 2 else 'LEAD'}-{i:05d}", "person", f"{first} {last}", email,
                          f"+34 6{i:08d}"[:15], comp, None, "ES", None, last))
    for j, comp in enumerate(companies):
        out.append(Entity("accounts", f"ACC-{j:05d}", "company", comp, None, None, comp,
                          comp.lower().replace(" ", "") + ".com"))
    return out


def test_no_false_pair_in_a_clean_set():
    records = clean_set(2000)
    assert len({e.id for e in records}) == len(records) == 2500
    found = find_groups(records, SETTINGS)
    assert found.groups == [] and found.skipped == []
    # ... while one real duplicate planted among them is found.
    twin = records[10]
    planted = Entity("leads", "LEAD-99999", "person", twin.name.upper(), twin.email.upper(), None, twin.company)
    assert [g.ids for g in find_groups([*records, planted], SETTINGS).groups] == [
        tuple(sorted((twin.id, "LEAD-99999")))]


def test_the_duplicates_section(tmp_path):
    path = tmp_path / "sheetcrm.toml"
    path.write_text('[duplicates]\ncountry = "mx"\nthreshold = 0.9\n', encoding="utf-8")
    config = load_config(path)
    assert config.duplicates.country == "MX" and config.duplicates.threshold == 0.9
    path.write_text('[duplicates]\ncountry = "Narnia"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicates.country|unknown country code"):
        load_config(path)
    path.write_text('[duplicates]\nthreshhold = 0.9\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="threshhold: unknown key"):
        load_config(path)


# -- near-linear detection: big exact-key blocks -------------------------------------------

IDENTITIES = [("Ana", "Ruiz"), ("Luis", "Pérez"), ("Marta", "Gómez"), ("Jorge", "Navarro")]


def crowd(n: int, blocks: int = 5, seed: int = 3) -> list[Entity]:
    """n people in `blocks` companies, each company's people sharing a handful of mailboxes
    (written with case, dots and tags) and phones (written with and without the country code),
    under a few names spelt several ways, some with another person's phone (a switchboard);
    and each company's accounts under variants of its name. Blocks grow with n."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        b = i % blocks
        first, last = rng.choice(IDENTITIES)
        name = rng.choice([f"{first} {last}", f"{first.upper()} {last.upper()}", f"{first} {last}s",
                           f"{last} {first}"])
        local = rng.choice([f"{first.lower()}.{last.lower()}", "info", f"{first.lower()}{last.lower()}+crm"])
        domain = rng.choice([f"co{b}.com", "gmail.com"])
        email = rng.choice([f"{local}@{domain}", f" {local.upper()}@{domain} ", None])
        phone = rng.choice([f"+34 61{b}00000{rng.randrange(3)}", f"61{b}00000{rng.randrange(3)}", None])
        tab = rng.choice(["leads", "contacts"])
        out.append(Entity(tab, f"{tab[:3].upper()}-{i:05d}", "person", name, email, phone,
                          rng.choice([f"Company {b}", f"Company {b}, S.L.", None]), None, "ES", None, last))
    for j in range(n // 10):
        b = j % blocks
        name = rng.choice([f"Acme {b}", f"ACME {b} Inc.", f"Acmé {b}", f"Acne {b}"])
        out.append(Entity("accounts", f"ACC-{j:05d}", "company", name, None, None, name,
                          rng.choice([f"acme{b}.com", f"www.acme{b}.com/about", None, "other.com"])))
    return out


def brute_force_groups(records: list[Entity], settings: DuplicateSettings) -> set[tuple[str, ...]]:
    """The reference: every pair of records of one kind scored, groups its connected components."""
    from sheetcrm.crm.duplicates import keys_of, score_pair

    keys = [keys_of(e, settings.country) for e in records]
    parent = list(range(len(keys)))

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            if keys[i].entity.kind == keys[j].entity.kind:
                pair = score_pair(keys[i], keys[j], settings)
                if pair is not None and pair.score >= settings.threshold:
                    parent[root(j)] = root(i)
    members: dict[int, list[str]] = {}
    for i, k in enumerate(keys):
        members.setdefault(root(i), []).append(k.entity.id)
    return {tuple(sorted(ids)) for ids in members.values() if len(ids) > 1}


@pytest.mark.parametrize("threshold", [0.8, 0.95, 1.0])
def test_groups_equal_scoring_every_pair_on_big_exact_key_blocks(threshold):
    settings = DuplicateSettings(max_block=100_000, country="ES", threshold=threshold)
    records = crowd(600)
    found = find_groups(records, settings)
    expected = brute_force_groups(records, settings)
    assert len(expected) >= 5 and max(map(len, expected)) >= 30  # big blocks, several groups
    assert {g.ids for g in found.groups} == expected
    if threshold == 0.8:
        # Far fewer pairs scored than every pair within a block (above 0.9, the pairs of
        # similar names at one company, which cannot reach the threshold, are still scored).
        assert found.compared < len(records) * 3


def test_pairs_scored_grow_linearly_with_the_records():
    settings = DuplicateSettings(max_block=100_000, country="ES")
    small, large = (find_groups(crowd(n), settings) for n in (1000, 2000))
    assert small.compared > 0
    assert large.compared <= 2.2 * small.compared


def test_an_email_block_groups_the_same_records_in_every_order():
    """The records of one email were joined as a star from the first: with the first's pair
    with another ruled out (Not duplicates), that other joined nothing, so the group hung on
    the rows' order. A converted lead and its contact (apart by design) are never joined
    through a third record of their email; the third goes with the lead in any order."""
    import itertools

    email = "ana.lopez@gmail.com"  # free mail: no company block joins them by name
    ana = [person("LEAD-0002", "Ana López", email), person("LEAD-0003", "Ana Lopez", email),
           person("LEAD-0005", "Ana Lopez", email), person("LEAD-0009", "Ana L", email)]
    ruled = [frozenset({"LEAD-0002", "LEAD-0003"})]
    seen = {tuple(groups(list(order), suppressed=ruled)) for order in itertools.permutations(ana)}
    assert seen == {(("LEAD-0002", "LEAD-0003", "LEAD-0005", "LEAD-0009"),)}
    converted = [person("LEAD-0001", "Ana Ng", "ana.ng@gmail.com"),
                 person("CON-0002", "Ana Ng", "ana.ng@gmail.com", tab="contacts"),
                 person("LEAD-0004", "Ana María Ng", "ana.ng@gmail.com"),
                 person("CON-0007", "A. Ng", "ana.ng@gmail.com", tab="contacts")]
    apart = [frozenset({"LEAD-0001", "CON-0002"})]
    seen = {tuple(g.ids for g in find_groups(list(order), SETTINGS, apart=apart).groups)
            for order in itertools.permutations(converted)}
    assert seen == {(("CON-0007", "LEAD-0001", "LEAD-0004"),)}
