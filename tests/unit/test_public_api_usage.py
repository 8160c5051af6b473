"""The notebooks and the README use the public API only.

Their code is parsed, not run: an import from a module under ``makerates_lake`` other
than the package itself, an ``mr.<name>`` outside ``makerates_lake.__all__``, or a method
of the opened lake outside :class:`~makerates_lake.lakehouse.Lakehouse`'s own public
methods fails the test with the file, the line and the name.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import makerates_lake
from makerates_lake.lakehouse import Lakehouse

ROOT = Path(__file__).parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: What a notebook may call on the lake it opened: the Lakehouse's own reads, plus
#: ``settings`` to show where the lake lives. Not the storage core's ``table()``.
LAKE_API = {n for n in vars(Lakehouse) if not n.startswith("_")} | {"settings"}


def _code_of_notebook(path: Path) -> str:
    book = json.loads(path.read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) for c in book["cells"] if c["cell_type"] == "code"]
    # IPython magics (%matplotlib inline) are not Python.
    return "\n".join(line for c in cells for line in c.splitlines() if not line.startswith("%"))


def _code_of_readme() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return "\n".join(re.findall(r"```python\n(.*?)```", text, re.DOTALL))


def violations(code: str) -> list[str]:
    """Every use of a name outside the public API in ``code``, as ``line: text``."""
    tree = ast.parse(code)
    aliases = {"makerates_lake"}
    lakes: set[str] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for imported in node.names:
                if imported.name.startswith("makerates_lake."):
                    found.append(f"{node.lineno}: import {imported.name}")
                elif imported.name == "makerates_lake":
                    aliases.add(imported.asname or imported.name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("makerates_lake"):
            if node.module != "makerates_lake":
                found.append(f"{node.lineno}: from {node.module} import ...")
            found.extend(
                f"{node.lineno}: from makerates_lake import {n.name}"
                for n in node.names
                if n.name not in makerates_lake.__all__
            )
        elif isinstance(node, ast.Assign) and _opens_lake(node.value, aliases):
            lakes.update(t.id for t in node.targets if isinstance(t, ast.Name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner, name = node.value.id, node.attr
            if owner in aliases and name not in makerates_lake.__all__:
                found.append(f"{node.lineno}: {owner}.{name}")
            if owner in lakes and name not in LAKE_API:
                found.append(f"{node.lineno}: {owner}.{name} (not a Lakehouse method)")
    return found


def _opens_lake(value: ast.expr, aliases: set[str]) -> bool:
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and isinstance(value.func.value, ast.Name)
        and value.func.value.id in aliases
        and value.func.attr == "open_lake"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_uses_the_public_api_only(path: Path) -> None:
    """No deep import, no unexported name, no storage-core method of the lake."""
    assert violations(_code_of_notebook(path)) == []


def test_readme_python_uses_the_public_api_only() -> None:
    """The README's Python snippets use exported names and Lakehouse methods only."""
    code = _code_of_readme()
    assert "mr.open_lake" in code
    assert violations(code) == []


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("from makerates_lake.gold.build import read_facts", "from makerates_lake.gold.build"),
        ("import makerates_lake.audit.trace", "import makerates_lake.audit.trace"),
        ("import makerates_lake as mr\nmr.BronzeWriter", "mr.BronzeWriter"),
        ("from makerates_lake import BronzeWriter", "import BronzeWriter"),
        (
            "import makerates_lake as mr\nlake = mr.open_lake()\nlake.table('gold.fact_rate')",
            "lake.table (not a Lakehouse method)",
        ),
    ],
)
def test_the_check_catches_each_kind_of_bypass(snippet: str, expected: str) -> None:
    """Each kind of use outside the public API is reported (the check can fail)."""
    assert any(expected in v for v in violations(snippet))


def test_public_api_names_the_issue_asks_for() -> None:
    """The notebook surface: one opener, the jobs, the audit, the rates."""
    wanted = {
        "open_lake", "ingest", "backfill", "transform", "reprocess", "trace", "diff",
        "verify", "access_log", "rates", "convert", "closing_rates", "average_rates",
    }  # fmt: skip
    assert wanted <= set(makerates_lake.__all__)
    assert {"read", "scan", "sql", "snapshots", "tags"} <= LAKE_API
