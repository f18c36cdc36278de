"""The public surface: every ``__all__`` matches its module and leaks nothing private."""

import importlib
import inspect
import pkgutil

import pytest

import crmerp

PUBLIC_MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(crmerp.__path__, "crmerp.")
    if not any(part.startswith("_") for part in name.split("."))
)


@pytest.mark.parametrize("name", ["crmerp", *PUBLIC_MODULES])
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(getattr(module, "__all__", []))
    assert exported, f"{name} has no __all__"
    # Public names are those defined here or re-exported from a private module.
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and not inspect.ismodule(value)
        and inspect.isclass(value) | inspect.isfunction(value)
        and (_home(value) == name or _home(value).startswith(f"{name}._"))
    }
    assert not (exported - set(vars(module))), f"{name}.__all__ lists missing names"
    assert public <= exported, f"{name} exposes unlisted {public - exported}"
    assert not [n for n in exported if n.startswith("_") and n != "__version__"]


def _home(value: object) -> str:
    return getattr(value, "__module__", "") or ""


@pytest.mark.parametrize("name", ["crmerp", *PUBLIC_MODULES])
def test_public_names_have_docstrings(name: str) -> None:
    module = importlib.import_module(name)
    for attr in getattr(module, "__all__", []):
        value = getattr(module, attr)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name}.{attr} has no docstring"
