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
    assert (
        offenders(["hit_service", "plugins", "dags", "mturk_money", "hitflow_csv"], ("hitflow_support", "tests")) == []
    )


def test_scripts_never_import_tests() -> None:
    """The demo and the bench share tooling with the tests through hitflow_support, not tests/."""
    assert offenders(["scripts"], ("tests",)) == []


@pytest.mark.parametrize("package", ["mturk_money", "hitflow_csv"])
def test_shared_packages_need_nothing_but_the_standard_library(package: str) -> None:
    """Both sides import them, so they must not pull either side's dependencies in."""
    outside = [
        f"{path.name}: {module}"
        for path in (REPO / package).rglob("*.py")
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


SQL_HOMES = ("hit_service/stores/", "hit_service/core/database.py", "hit_service/core/migrations.py")


def statements_outside_the_stores() -> list[str]:
    """``file:line`` of every ``execute``/``executemany``/``read_one`` call in hit_service/
    outside its stores, the pool (ping, test-mode truncate) and the migration runner."""
    found = []
    for path in sorted((REPO / "hit_service").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if relative.startswith(SQL_HOMES):
            continue
        for node in ast.walk(ast.parse(path.read_text(), relative)):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Attribute) and func.attr in ("execute", "executemany", "read_one"):
                found.append(f"{relative}:{node.lineno}")
    return found


def test_the_services_sql_lives_in_its_stores() -> None:
    """One home for the database: a statement anywhere else in hit_service/ is refused."""
    assert statements_outside_the_stores() == []


MAX_MODULE_LINES = 500


@pytest.mark.parametrize("folder", ["hit_service", "plugins", "mturk_money"])
def test_no_module_is_over_500_lines(folder: str) -> None:
    """Modules split by job stay readable in one sitting (the project's rule)."""
    long = {
        str(path.relative_to(REPO)): n
        for path in (REPO / folder).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
