"""Matching records that share no key across the CRM and the ERP.

:class:`ProbabilisticMatcher` implements :class:`Matcher` for the sync engine:
normalisation, blocking, Fellegi-Sunter scoring with m and u estimated without
labels, and three bands (link, review, new) under a one-to-one rule.
:func:`deduplicate` finds duplicates within one system. The normalisers,
comparators and specs are public so a custom :class:`MatchSpec` can reuse them.
"""

from crmerp.match._addresses import (
    AddressKey,
    normalize_address,
    normalize_postcode,
    normalize_street,
)
from crmerp.match._comparators import (
    NULL,
    AnyShared,
    Comparator,
    DateComparator,
    Exact,
    Numeric,
    Similarity,
)
from crmerp.match._customer import (
    AddressComparator,
    EmailComparator,
    LegalFormComparator,
    NameComparator,
    customer_features,
    customer_spec,
)
from crmerp.match._decide import Band, Thresholds, decide
from crmerp.match._dedupe import DEDUPE_THRESHOLDS, Deduplication, deduplicate
from crmerp.match._entity_matchers import EntityMatchers, default_matcher
from crmerp.match._estimate import Override, Parameters
from crmerp.match._identifiers import (
    FREEMAIL_DOMAINS,
    email_key,
    gtin_key,
    phone_key,
    sku_key,
    tax_id_key,
    unit_key,
)
from crmerp.match._legal_forms import LEGAL_FORMS, split_legal_form
from crmerp.match._linkage import Linkage, Settings, link_records
from crmerp.match._matcher import ProbabilisticMatcher, default_specs
from crmerp.match._names import (
    CompanyName,
    NameKey,
    company_name_key,
    normalize_company_name,
    normalize_person_name,
    person_name_key,
)
from crmerp.match._product import SkuComparator, product_features, product_spec
from crmerp.match._protocol import ExactKeyMatcher, MatchDecisions, Matcher, ReviewItem
from crmerp.match._scoring import Contribution, Explanation, ScoredPair
from crmerp.match._spec import Comparison, Features, MatchSpec
from crmerp.match._text import fold

__all__ = [
    "DEDUPE_THRESHOLDS",
    "FREEMAIL_DOMAINS",
    "LEGAL_FORMS",
    "NULL",
    "AddressComparator",
    "AddressKey",
    "AnyShared",
    "Band",
    "CompanyName",
    "Comparator",
    "Comparison",
    "Contribution",
    "DateComparator",
    "Deduplication",
    "EmailComparator",
    "EntityMatchers",
    "Exact",
    "ExactKeyMatcher",
    "Explanation",
    "Features",
    "LegalFormComparator",
    "Linkage",
    "MatchDecisions",
    "MatchSpec",
    "Matcher",
    "NameComparator",
    "NameKey",
    "Numeric",
    "Override",
    "Parameters",
    "ProbabilisticMatcher",
    "ReviewItem",
    "ScoredPair",
    "Settings",
    "Similarity",
    "SkuComparator",
    "Thresholds",
    "company_name_key",
    "customer_features",
    "customer_spec",
    "decide",
    "deduplicate",
    "default_matcher",
    "default_specs",
    "email_key",
    "fold",
    "gtin_key",
    "link_records",
    "normalize_address",
    "normalize_company_name",
    "normalize_person_name",
    "normalize_postcode",
    "normalize_street",
    "person_name_key",
    "phone_key",
    "product_features",
    "product_spec",
    "sku_key",
    "split_legal_form",
    "tax_id_key",
    "unit_key",
]
