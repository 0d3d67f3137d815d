"""The one matcher (`crm.matching`): who a record already is, by the duplicate rules held to a
link's certainty; where the matchers before it disagreed, the stricter answer, shown case by case."""

from __future__ import annotations

from sheetcrm.crm.conversion import Ambiguous, Differs, Matcher
from sheetcrm.crm.duplicates import DuplicateSettings
from sheetcrm.crm.matching import Known
from sheetcrm.records import Account, Contact, Lead


def _lead(first, last, email=None, phone=None, **more):
    more = {"company": None, "website": None, "country": None, **more}
    return Lead.model_construct(id=None, first_name=first, last_name=last, email=email, phone=phone, custom={},
                                created=None, **more)


def test_matching_rules_are_the_duplicate_rules_held_to_a_links_certainty():
    people = Known(DuplicateSettings())
    people.add("L1", _lead("Ana", "Ruiz", " Ana.Ruiz+web@GoogleMail.com "))
    people.add("C1", _lead("Carl", "Ode", None, "+34 600 111 222"))
    people.add("L2", _lead("Bo", "Li", "bo@b.com", "0034 600 999 888"))
    # The same mailbox after normalisation (case, spaces, Gmail's dots and +tags).
    assert people.find(_lead("A.", "R.", "anaruiz@gmail.com")) == ["L1"]
    # The same phone in E.164 and a similar name, with no other email on either side.
    assert people.find(_lead("Carla", "Ode", None, "(+34) 600-111-222")) == ["C1"]
    assert people.find(_lead("Carl", "Ode", "carl@new.com", "+34600111222")) == ["C1"]
    # A known phone with another email: someone else (a switchboard, a colleague).
    assert people.find(_lead("Bo", "Li", "other@x.com", "+34600999888")) == []
    assert people.find(_lead("Bo", "Li", None, "123")) == []
    # The email tie outranks the phone tie.
    assert people.find(_lead("Bo", "Li", "bo@b.com", "+34 600 111 222")) == ["L2"]


def test_a_shared_phone_with_another_name_links_no_one():
    """The forms and imports once matched by a phone's digits alone; the duplicate rules never
    pair a phone alone (a switchboard, a family). The stricter wins: a new lead, not a wrong link."""
    people = Known(DuplicateSettings())
    people.add("C1", _lead("Carl", "Ode", None, "+34 600 111 222"))
    assert people.find(_lead("Marta", "Vidal", None, "+34 600 111 222")) == []


def test_a_phone_without_its_country_links_only_when_the_country_is_known():
    """Digits alone once matched "600 111 222" anywhere; the rules read a phone in E.164 and never
    guess its country: the row's Country, else [duplicates] country."""
    carl = _lead("Carl", "Ode", None, "600 111 222")
    people = Known(DuplicateSettings())
    people.add("C1", _lead("Carl", "Ode", None, "+34 600 111 222"))
    assert people.find(carl) == []
    assert people.find(_lead("Carl", "Ode", None, "600 111 222", country="España")) == ["C1"]
    spain = Known(DuplicateSettings(country="ES"))
    spain.add("C1", _lead("Carl", "Ode", None, "+34 600 111 222"))
    assert spain.find(carl) == ["C1"]


def _account(rid, name, domain=None):
    return Account.model_construct(id=rid, name=name, domain=domain, country=None, custom={})


def _convert_match(*accounts, contacts=()):
    return Matcher(list(accounts), list(contacts), DuplicateSettings())


def test_an_account_matches_by_its_exact_name_or_by_domain_and_a_similar_name():
    match = _convert_match(_account("ACC-1", "Acme, S.L.", "acme.com"), _account("ACC-2", "Initech"))
    assert match.account(_lead("Ana", "Ng", company="ACME S.L.", website=None), None) == "ACC-1"
    assert match.account(_lead("Ana", "Ng", "ana@acme.com", company="Acme SL Spain", website=None), None) is None
    assert match.account(_lead("Ana", "Ng", "ana@acme.com", company="Acme SLU", website=None), None) == "ACC-1"
    assert match.account(_lead("Bo", "Li", company="initech", website=None), None) == "ACC-2"


def test_a_domain_alone_links_no_account():
    """Conversion once took the account of the lead's email domain whatever its name; the
    duplicate rules never pair a domain alone (divisions of one group). The stricter wins."""
    match = _convert_match(_account("ACC-1", "Acme Holding", "acme.com"))
    assert match.account(_lead("Ana", "Ng", "ana@acme.com", company="Roadrunner Labs", website=None), None) is None
    assert match.account(_lead("Ana", "Ng", "ana@acme.com", company=None, website=None), None) is None


def test_one_name_at_two_domains_links_no_account():
    """Conversion once took an account of the same name whatever its domain; the rules call two
    companies of one name at different domains two companies. The stricter wins."""
    match = _convert_match(_account("ACC-1", "Acme", "acme.io"))
    assert match.account(_lead("Ana", "Ng", company="Acme", website="https://acme.com"), None) is None
    assert match.account(_lead("Ana", "Ng", company="Acme", website=None), None) == "ACC-1"


def test_names_alike_but_not_the_same_link_no_account():
    """The Duplicates tab proposes "Acme Inc" beside "Acme Corp"; a link, made without asking, waits
    for the same name."""
    match = _convert_match(_account("ACC-1", "Acme Corp"))
    assert match.account(_lead("Ana", "Ng", company="Acme Inc", website=None), None) is None


def test_two_accounts_tied_alike_are_ambiguous():
    match = _convert_match(_account("ACC-1", "Acme"), _account("ACC-2", "ACME"))
    # Both named, oldest first, so the report can say which (issue 14).
    assert match.account(_lead("Ana", "Ng", company="Acme", website=None), None) == Ambiguous(("ACC-1", "ACC-2"))


def test_a_contact_matches_by_the_normalised_email_and_two_are_ambiguous():
    bo = Contact.model_construct(id="CON-1", account="ACC-1", first_name="Bo", last_name="Li",
                                 email="bo.li@gmail.com", phone=None, custom={})
    match = _convert_match(_account("ACC-1", "Initech"), contacts=[bo])
    assert match.contact(_lead("Bo", "Li", " BoLi+crm@gmail.com")) is bo
    assert match.account(_lead("Bo", "Li", "boli@gmail.com", company="INITECH", website=None), bo) == "ACC-1"
    assert match.account(_lead("Bo", "Li", "boli@gmail.com", company=None, website=None), bo) == "ACC-1"
    # A lead naming another company is not put under the contact's account (its deal would be
    # Initech's pipeline): the conversion says so instead.
    assert match.account(_lead("Bo", "Li", "boli@gmail.com", company="Other", website=None), bo) == Differs(
        "CON-1", "ACC-1", "Initech")
    twin = bo.model_copy(update={"id": "CON-2"})
    match.add_contact(twin)
    assert match.contact(_lead("Bo", "Li", "bo.li@gmail.com")) == Ambiguous(("CON-1", "CON-2"))


def test_a_record_with_an_unread_key_cell_is_a_doubt_only_when_it_may_be_the_one():
    """A record whose key cell cannot be read (`add`'s `unread`) is never linked; `doubts` names
    it when, that cell saying what the looked-up record says, they would tie at least as surely
    as `find`'s answer, and what it reads already points at it (s34)."""
    people = Known(DuplicateSettings())
    people.add("C1", _lead("Ana", "Ng", None, company="Acme"), unread={"email"})  # her email is no email
    people.add("C2", _lead("Bo", "Li", "bo@acme.com", company="Acme"))
    assert people.find(_lead("Ana", "Ng", "ana@acme.com", company="Acme")) == []
    assert people.doubts(_lead("Ana", "Ng", "ana@acme.com", company="Acme")) == ["C1"]
    # Someone else at the same company: the unread email is no reason to wait.
    assert people.doubts(_lead("Cy", "Oh", "cy@acme.com", company="Acme")) == []
    # Bo is surely Bo (the same email): a half-read Ana is no doubt about him.
    bo = _lead("Bo", "Li", "bo@acme.com")
    assert people.find(bo) == ["C2"] and people.doubts(bo) == []
    companies = _convert_match(_account("ACC-1", "Acme Corp", "acme.com"))
    companies.add_account(_account("ACC-2", None, "globex.com"), unread={"name"})  # Name shows #N/A
    unsure = companies.account(_lead("Ana", "Ng", "ana@globex.com", company="Globex", website="globex.com"), None)
    assert [a.id for a in unsure.records] == ["ACC-2"]
    assert companies.account(_lead("Ana", "Ng", company="Acme Corp", website=None), None) == "ACC-1"
