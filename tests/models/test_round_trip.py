from hypothesis import given, settings
from hypothesis import strategies as st

from crmerp.models import CanonicalModel
from crmerp.testing import strategies as cst

ALL = st.one_of(
    cst.customers(), cst.products(), cst.price_lists(), cst.quotes(), cst.orders(), cst.invoices()
)


@settings(max_examples=300)
@given(ALL)
def test_json_round_trip_gives_an_equal_object(record: CanonicalModel) -> None:
    again = type(record).model_validate_json(record.model_dump_json())
    assert again == record
    assert again.model_dump_json() == record.model_dump_json()


@settings(max_examples=200)
@given(ALL)
def test_python_round_trip_gives_an_equal_object(record: CanonicalModel) -> None:
    assert type(record).parse(record.model_dump()) == record
