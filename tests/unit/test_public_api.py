"""The package's public API: an explicit, sorted __all__ that matches what is exported."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["makerates_lake", "makerates_lake.bronze", "makerates_lake.extract"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_every_name_exists(name: str) -> None:
    """__all__ is sorted, has no duplicates, and every name in it is importable."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    assert len(set(exported)) == len(exported)
    for attribute in exported:
        assert hasattr(module, attribute), f"{name}.{attribute} is in __all__ but missing"


def test_public_names_are_all_exported() -> None:
    """Every public, non-module name at the top level is listed in __all__."""
    module = importlib.import_module("makerates_lake")
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not isinstance(v, type(importlib))
    }
    assert public <= set(module.__all__)


def test_bronze_writer_internals_live_in_the_bronze_package() -> None:
    """The top level is for notebooks; writing bronze records directly is bronze's API."""
    top = importlib.import_module("makerates_lake")
    bronze = importlib.import_module("makerates_lake.bronze")
    for name in ("AppendResult", "BronzeRecord", "BronzeWriter"):
        assert name not in top.__all__
        assert not hasattr(top, name)
        assert name in bronze.__all__
