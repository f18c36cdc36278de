"""Fill a freshly activated Tryton database with what a sale needs (run as a script).

Usage: ``python _build_template.py CONFIG_FILE DATABASE OUTPUT_JSON``

Runs in its own process (never inside pytest): proteus drives trytond in-process
(``proteus.config.set_trytond``), which loads trytond's global configuration and
pool. The database must already have the modules activated by ``trytond-admin``.

It creates, as the ``admin`` user:

* currencies EUR (rate 1) and USD (rate 1.1);
* every ISO 3166-1 country from pycountry (code, code3, numeric code, name);
* a company (party "crmerp Test Company") in EUR, set as the admin's company;
* the minimal English chart of accounts with default receivable/payable accounts;
* fiscal years for last, this and next year, each with an account-move sequence,
  invoice sequences and monthly periods;
* customer taxes "VAT 20%" and "VAT 19%", an accounting product category
  "Goods" using the chart's revenue/expense accounts and the 20 % tax;
* tax rounding "per line" (crmerp's rule: tax is rounded on each line);
* a payment term "Immediate" (one ``remainder`` line);
* a price list "Customer -10%" (formula ``unit_price * 0.9``) usable by sales but
  not set as the default.

The ids of everything created are written to OUTPUT_JSON for the tests.
This file is our own code; it uses Tryton's public model and wizard names only.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from typing import Any


def main(config_file: str, database: str, output: str) -> None:
    from proteus import Model, Wizard  # type: ignore[import-untyped]
    from proteus import config as pconfig

    cfg = pconfig.set_trytond(database=database, user="admin", config_file=config_file)

    Currency = Model.get("currency.currency")
    Rate = Model.get("currency.currency.rate")
    Party = Model.get("party.party")
    User = Model.get("res.user")
    Account = Model.get("account.account")
    AccountTemplate = Model.get("account.account.template")
    ModelData = Model.get("ir.model.data")
    FiscalYear = Model.get("account.fiscalyear")
    SequenceStrict = Model.get("ir.sequence.strict")
    SequenceType = Model.get("ir.sequence.type")
    Tax = Model.get("account.tax")
    Category = Model.get("product.category")
    PaymentTerm = Model.get("account.invoice.payment_term")
    PriceList = Model.get("product.price_list")
    Uom = Model.get("product.uom")

    # Currencies ------------------------------------------------------------------
    def currency(code: str, name: str, symbol: str, rate: str) -> Any:
        found = Currency.find([("code", "=", code)])
        cur = found[0] if found else Currency(code=code, name=name, symbol=symbol)
        cur.rounding = Decimal("0.01")
        cur.digits = 2
        cur.save()
        Rate(date=dt.date(2000, 1, 1), rate=Decimal(rate), currency=cur).save()
        return cur

    eur = currency("EUR", "Euro", "€", "1")
    usd = currency("USD", "U.S. Dollar", "$", "1.1")

    # Countries (no subdivisions: trytond_import_countries takes ~80 s) ----------
    import pycountry

    Country = Model.get("country.country")
    existing = {c.code for c in Country.find([])}
    Country.save(
        [
            Country(
                name=getattr(c, "common_name", None) or c.name,
                code=c.alpha_2,
                code3=c.alpha_3,
                code_numeric=c.numeric,
            )
            for c in pycountry.countries
            if c.alpha_2 not in existing
        ]
    )

    # Company ---------------------------------------------------------------------
    company_party = Party(name="crmerp Test Company")
    company_party.save()
    wizard = Wizard("company.company.config")
    wizard.execute("company")
    wizard.form.party = company_party
    wizard.form.currency = eur
    wizard.execute("add")
    cfg._context = User.get_preferences(True, {})
    Company = Model.get("company.company")
    (company,) = Company.find([])

    # Chart of accounts -----------------------------------------------------------
    root_id = ModelData.get_id("account", "account_template_root_en", cfg.context)
    chart = Wizard("account.create_chart")
    chart.execute("account")
    chart.form.account_template = AccountTemplate(root_id)
    chart.form.company = company
    chart.execute("create_account")

    def account(kind: str) -> Any:
        (found,) = Account.find(
            [(f"type.{kind}", "=", True), ("company", "=", company.id), ("closed", "!=", True)],
            limit=1,
        )
        return found

    receivable = account("receivable")
    payable = account("payable")
    revenue = account("revenue")
    expense = account("expense")
    chart.form.account_receivable = receivable
    chart.form.account_payable = payable
    if hasattr(chart.form, "category_account_revenue"):
        chart.form.category_account_revenue = revenue
    if hasattr(chart.form, "category_account_expense"):
        chart.form.category_account_expense = expense
    chart.execute("create_properties")
    tax_accounts = Account.find(
        [("company", "=", company.id), ("name", "ilike", "%tax%"), ("type", "!=", None)],
        limit=1,
    )
    tax_account = tax_accounts[0] if tax_accounts else revenue

    # Fiscal years with sequences and periods ---------------------------------------
    (move_type,) = SequenceType.find([("name", "=", "Account Move")], limit=1)
    (invoice_type,) = SequenceType.find([("name", "=", "Invoice")], limit=1)
    this_year = dt.date.today().year
    fiscalyears: list[int] = []
    for year in (this_year - 1, this_year, this_year + 1):
        move_seq = SequenceStrict(name=f"Moves {year}", sequence_type=move_type, company=company)
        move_seq.save()
        invoice_seq = SequenceStrict(
            name=f"Invoices {year}",
            sequence_type=invoice_type,
            company=company,
            prefix=f"INV/{year}/",
        )
        invoice_seq.save()
        fy = FiscalYear(
            name=str(year),
            start_date=dt.date(year, 1, 1),
            end_date=dt.date(year, 12, 31),
            company=company,
            move_sequence=move_seq,
        )
        (seq,) = fy.invoice_sequences
        seq.out_invoice_sequence = invoice_seq
        seq.in_invoice_sequence = invoice_seq
        seq.out_credit_note_sequence = invoice_seq
        seq.in_credit_note_sequence = invoice_seq
        fy.save()
        fy.click("create_period")
        fiscalyears.append(fy.id)

    # Tax and accounting category -----------------------------------------------------
    tax = Tax(
        name="VAT 20%",
        description="VAT 20%",
        type="percentage",
        rate=Decimal("0.20"),
        invoice_account=tax_account,
        credit_note_account=tax_account,
    )
    tax.save()
    tax19 = Tax(
        name="VAT 19%",
        description="VAT 19%",
        type="percentage",
        rate=Decimal("0.19"),
        invoice_account=tax_account,
        credit_note_account=tax_account,
    )
    tax19.save()
    category = Category(name="Goods", accounting=True)
    category.account_revenue = revenue
    category.account_expense = expense
    category.customer_taxes.append(Tax(tax.id))
    category.save()

    # Tax rounding per line, as crmerp computes totals --------------------------------------
    AccountConfiguration = Model.get("account.configuration")
    account_config = AccountConfiguration(1)
    account_config.tax_rounding = "line"
    account_config.save()

    # Payment term -----------------------------------------------------------------------
    term = PaymentTerm(name="Immediate")
    term.lines.new(type="remainder")
    term.save()

    # Price list -------------------------------------------------------------------------
    price_list = PriceList(name="Customer -10%", price="list_price")
    line = price_list.lines.new()
    line.formula = "unit_price * 0.9"
    price_list.save()

    (unit,) = Uom.find([("name", "=", "Unit")], limit=1)

    refs = {
        "company": company.id,
        "company_party": company_party.id,
        "currency_eur": eur.id,
        "currency_usd": usd.id,
        "account_receivable": receivable.id,
        "account_payable": payable.id,
        "account_revenue": revenue.id,
        "account_expense": expense.id,
        "account_tax": tax_account.id,
        "fiscalyears": fiscalyears,
        "tax_vat20": tax.id,
        "tax_vat19": tax19.id,
        "account_category": category.id,
        "payment_term": term.id,
        "price_list": price_list.id,
        "uom_unit": unit.id,
    }
    with open(output, "w", encoding="utf-8") as fh:
        json.dump(refs, fh, indent=2, sort_keys=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3])
