"""Which code may import which: the layering the README's "Layout" section states, checked on the
source (every ``import`` statement, including those inside functions) rather than trusted."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports, at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(folders: list[str], forbidden: tuple[str, ...]) -> list[str]:
    """``file: module`` for each import of a forbidden top-level package under ``folders``."""
    found = []
    for folder in folders:
        for path in sorted((REPO / folder).rglob("*.py")):
            for module in sorted(imported_modules(path)):
                if module.split(".")[0] in forbidden:
                    found.append(f"{path.relative_to(REPO)}: {module}")
    return found


def test_the_airflow_side_never_imports_the_hit_service() -> None:
    """An Airflow deployment ships plugins/ and dags/; the service's code is not part of it."""
    assert offenders(["plugins", "dags"], ("hit_service",)) == []


def test_the_product_never_imports_test_tooling() -> None:
    """hitflow_support (and tests) drive the product from outside; the product ships without them."""
    assert offenders(["hit_service", "plugins", "dags", "mturk_money"], ("hitflow_support", "tests")) == []


def test_scripts_never_import_tests() -> None:
    """The demo and the bench share tooling with the tests through hitflow_support, not tests/."""
    assert offenders(["scripts"], ("tests",)) == []


def test_mturk_money_needs_nothing_but_the_standard_library() -> None:
    """Both sides import it, so it must not pull either side's dependencies in."""
    outside = [
        f"{path.name}: {module}"
        for path in (REPO / "mturk_money").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] not in sys.stdlib_module_names and module != "__future__"
    ]
    assert outside == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import hit_service.core.rules\n", {"hit_service.core.rules"}),
        ("def f():\n    from hit_service.settings import Settings\n", {"hit_service.settings"}),
        ("from . import sibling\n", set()),
    ],
)
def test_the_import_scan_sees_nested_and_module_imports(tmp_path: Path, source: str, expected: set[str]) -> None:
    """The checks above are only as good as the scan: an import inside a function counts too."""
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert imported_modules(path) == expected
