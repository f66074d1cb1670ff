"""Imports point one way: contracts never imports mock_server."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_contracts_never_imports_mock_server() -> None:
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "contracts").rglob("*.py")
                 if any(name.split(".")[0] == "mock_server" for name in imported_modules(path))]
    assert offenders == []


def test_pure_simulation_modules_do_no_io() -> None:
    banned = {"httpx", "starlette", "sqlite3", "socket", "os", "pathlib", "asyncio"}
    for name in ("lifecycle", "records", "clock", "ids"):
        imports = {module.split(".")[0] for module in imported_modules(ROOT / "mock_server" / f"{name}.py")}
        assert not imports & banned, (name, imports & banned)
