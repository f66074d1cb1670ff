"""Imports point one way: contracts never imports mock_server, and inside mock_server each room
imports only the rooms below it (ARCHITECTURE.md draws the same table)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mock_server"

# room -> the rooms it may import (besides itself, `contracts` and third-party packages).
BOTTOM = {"errors", "net", "urls"}
ROOMS: dict[str, set[str]] = {
    "errors": set(), "net": set(), "urls": set(),
    "sim": BOTTOM,
    "settings": {"sim"},
    "store": {"sim", *BOTTOM},
    "media": BOTTOM,
    "delivery": {"sim", "store", *BOTTOM},
    "services": {"sim", "store", "media", "delivery", "settings", *BOTTOM},
    "http": {"services", "sim", "store", "media", *BOTTOM},
    "proxy": BOTTOM,  # a validating proxy: contracts' checks around httpx, none of the mock's rules
    "testing": set(),  # the control-API client talks HTTP only
}
TOP = {"app", "cli", "workers", "pytest_plugin", "server", "__init__", "__main__"}  # wiring: may import anything
PURE = {"httpx", "starlette", "sqlite3", "redis", "socket", "os", "pathlib", "asyncio", "uvicorn", "av", "PIL"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def room_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def test_contracts_never_imports_mock_server() -> None:
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "contracts").rglob("*.py")
                 if any(name.split(".")[0] == "mock_server" for name in imported_modules(path))]
    assert offenders == []


def test_every_module_lives_in_a_known_room() -> None:
    rooms = {room_of(path) for path in PACKAGE.rglob("*.py")}
    assert rooms <= set(ROOMS) | TOP, rooms - set(ROOMS) - TOP


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_a_room_imports_only_the_rooms_below_it(room: str) -> None:
    allowed = ROOMS[room] | {room}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if room_of(path) != room:
            continue
        for name in imported_modules(path):
            parts = name.split(".")
            if parts[0] == "mock_server" and (len(parts) == 1 or parts[1] not in allowed):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_the_simulation_does_no_io() -> None:
    for path in (PACKAGE / "sim").rglob("*.py"):
        imports = {module.split(".")[0] for module in imported_modules(path)}
        assert not imports & PURE, (path.name, imports & PURE)


def test_no_module_is_over_250_lines() -> None:
    long = {str(path.relative_to(ROOT)): count for path in [*PACKAGE.rglob("*.py"), *(ROOT / "contracts").rglob("*.py")]
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > 250}
    assert long == {}
