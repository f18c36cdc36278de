"""Normalisers: spellings of one thing become one key, different things stay apart."""

import doctest
import importlib
import pkgutil

import pytest

import crmerp.match
from crmerp.match import (
    AddressComparator,
    company_name_key,
    email_key,
    gtin_key,
    normalize_address,
    normalize_company_name,
    normalize_person_name,
    normalize_postcode,
    normalize_street,
    person_name_key,
    phone_key,
    sku_key,
    tax_id_key,
    unit_key,
)


@pytest.mark.parametrize(
    ("spellings", "form"),
    [
        (
            ["Müller GmbH", "MUELLER G.m.b.H.", "Müller Gesellschaft mit beschränkter Haftung"],
            "gmbh",
        ),
        (["Hammond Ltd", "Hammond Limited", "HAMMOND LTD."], "ltd"),
        (["Acme Inc.", "ACME Incorporated", "Acme, Inc"], "inc"),
        (["Dumas S.A.", "Dumas SA", "Dumas Société Anonyme"], "sa"),
        (["Adolph GmbH & Co. KG", "Adolph GmbH und Co. KG"], "gmbh co kg"),
        (["明腾网络有限公司", "明腾网络有限责任公司"], "youxian gongsi"),
    ],
)
def test_legal_forms_in_any_spelling_give_one_name_and_form(
    spellings: list[str], form: str
) -> None:
    names = {normalize_company_name(s) for s in spellings}
    assert len(names) == 1
    assert names.pop().legal_form == form


def test_the_legal_form_is_kept_apart_from_the_name() -> None:
    gmbh, ag = normalize_company_name("Weber GmbH"), normalize_company_name("Weber AG")
    assert gmbh.key == ag.key == "weber"
    assert gmbh.legal_form != ag.legal_form
    # A name that is only a legal form is not emptied.
    assert normalize_company_name("Limited").key == "limited"
    assert (
        normalize_company_name("Smith & Sons").key == normalize_company_name("Smith and Sons").key
    )


@pytest.mark.parametrize(
    ("mistyped", "form"),
    [
        ("Bien Aktingesellschaft", "ag"),
        ("Klein Kommanditgesellshaft", "kg"),
        ("Saunders Limited Lilability Company", "llc"),
        ("Seifert e.G.", "eg"),
        ("群英传媒有限责u任公司", "youxian gongsi"),
        ("联通时科信息限有公司", "youxian gongsi"),
    ],
)
def test_a_written_out_legal_form_with_a_slip_is_still_a_legal_form(
    mistyped: str, form: str
) -> None:
    found = normalize_company_name(mistyped)
    assert found.legal_form == form
    assert " " not in found.key  # only the firm's own name is left


def test_a_short_legal_form_one_letter_off_is_part_of_the_name() -> None:
    assert normalize_company_name("Hammond Ltf").key == "hammond ltf"


def test_person_names_ignore_order_titles_and_accents() -> None:
    assert normalize_person_name("Dr. Hans-Jürgen Müller") == normalize_person_name(
        "MUELLER, Hans Juergen"
    )
    assert normalize_person_name("Mme Édith Piaf") == "edith piaf"


def test_a_person_written_surname_first_reads_given_name_first() -> None:
    assert person_name_key("Anderson, Karen").flat == person_name_key("Karen Anderson").flat
    assert person_name_key("Anderson Karen").turned == person_name_key("Karen Anderson").flat
    assert company_name_key("Harper-Palmer Ltd").flat == "harperpalmer"


def test_identifiers_compare_after_formatting_is_removed() -> None:
    assert phone_key("+49 30 1234567") == phone_key("030 123 45 67")
    assert tax_id_key("DE 136.695.976") == tax_id_key("136695976")
    assert email_key("Info+crm@ACME.de") == ("info@acme.de", "acme.de")
    assert sku_key("ab-00 12") == sku_key("AB0012")
    assert gtin_key("036000291452") == gtin_key("0036000291452")  # UPC-A and its EAN-13
    assert gtin_key("4006381333932") is None  # bad check digit
    assert {unit_key(u) for u in ("pcs", "Stück", "each", "PC")} == {"unit"}


def test_addresses_in_different_formats_agree() -> None:
    assert normalize_street("Hauptstraße 12a") == normalize_street("Haupt Str. 12a")
    assert normalize_street("12 Main St, Suite 300") == normalize_street("12 Main Street")
    assert normalize_postcode("sw1a 1aa") == "SW1A1AA"
    assert normalize_postcode("94105-1234") == "94105"
    written_in = normalize_address("Hauptstr. 5", "", "10115 Berlin", "DE")
    separate = normalize_address("Hauptstraße 5", "10115", "Berlin", "DE")
    assert written_in == separate


def test_examples_in_the_docstrings_hold() -> None:
    failures = 0
    for info in pkgutil.iter_modules(crmerp.match.__path__, "crmerp.match."):
        module = importlib.import_module(info.name)
        failures += doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed
    assert failures == 0


def test_an_address_without_a_house_number_still_agrees_with_itself() -> None:
    compare = AddressComparator()
    flat = normalize_address("Flat 64p, Cook Parks", "CM25 3EW", "South Gemma", "GB")
    other_flat = normalize_address("Flat 12, Cook Parks", "CM25 3EW", "South Gemma", "GB")
    unnumbered = normalize_address("boulevard Alix Rivière", "49158", "Jean", "FR")
    assert compare((flat,), (flat,)) == 0
    assert compare((flat,), (other_flat,)) == 2  # another flat: the same postcode only
    assert compare((unnumbered,), (unnumbered,)) == 0
    street_only = normalize_address("Main Street", "", "", "US")
    assert compare((street_only,), (street_only,)) == 1  # nothing places it


def test_a_street_written_as_the_city_is_put_back() -> None:
    swapped = normalize_address("Badajoz", "18200", "Ronda de Berta Pereira 8")
    assert swapped == normalize_address("Ronda de Berta Pereira 8", "18200", "Badajoz")
    assert normalize_address("", "", "Rue 5").street == ""  # nothing to swap with
