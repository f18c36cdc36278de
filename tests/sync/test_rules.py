import pytest

from crmerp import ConfigError
from crmerp.sync import DeletePolicy, Direction, Policy, Rules


def test_defaults_follow_the_business_split() -> None:
    rules = Rules.default()
    assert rules.entity("product").field("name").direction is Direction.ERP_TO_CRM
    assert rules.entity("customer").field("credit_limit").owner == "erp"
    assert rules.entity("customer").field("emails").owner == "crm"
    assert rules.entity("quote").may_create("crm")
    assert not rules.entity("quote").may_create("erp")
    assert rules.entity("invoice").may_create("erp")


def test_rules_load_from_toml(tmp_path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[customer]\ndeletes = "propagate"\n'
        'default = { direction = "both", policy = "latest" }\n\n'
        '[customer.fields.name]\npolicy = "owner"\nowner = "erp"\n'
    )
    rules = Rules.from_toml(path)
    customer = rules.entity("customer")
    assert customer.deletes is DeletePolicy.PROPAGATE
    assert customer.default.policy is Policy.LATEST
    assert customer.field("name").owner == "erp"
    assert rules.entity("product").field("sku").direction is Direction.ERP_TO_CRM


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        (
            '[customer]\ndeletes = "archive"\n\n[customer.fields.credit_limit]\n'
            'direction = "sideways"\n',
            5,
            "customer.fields.credit_limit.direction",
        ),
        ('[custmer]\ndeletes = "archive"\n', 1, "custmer"),
        (
            '[customer]\ncreate = ["crm->erp"]\nfields.name.policy = "owner"\n',
            3,
            "customer.fields.name.owner",
        ),
        ("[customer]\ndeletes = \n", 2, None),
    ],
)
def test_bad_rules_point_at_file_line_and_key(text: str, line: int, key: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        Rules.from_toml_text(text, path="rules.toml")
    assert (info.value.path, info.value.line, info.value.key) == ("rules.toml", line, key)
    assert str(info.value).startswith(f"rules.toml:{line}:")
