"""Imports point one way: contracts never imports mock_server, and inside each package a room
imports only rooms on lower floors (ARCHITECTURE.md draws the same tables)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> room -> floor. A room may import the rooms on lower floors (and itself); the
# wiring floor of each package is ordered by the list below instead.
FLOORS: dict[str, dict[str, int]] = {
    "mock_server": {
        "errors": 0,
        "bounded": 1, "net": 1, "urls": 1, "testing": 1, "server": 1, "intercept": 1,
        "sim": 2, "tls": 2,
        "settings": 3, "store": 3, "media": 3,
        "delivery": 4,
        "services": 5,
        "http": 6, "proxy": 6,
    },
    "contracts": {
        "spec": 0,
        "family": 1,
        "apis": 2,
        "checks": 3,
        "traffic": 4, "run": 4,
    },
}
# The top: wiring, each module may import the rooms below and the wiring named before it.
WIRING: dict[str, list[str]] = {
    "mock_server": ["app", "workers", "pytest_plugin", "cli", "__main__", "__init__"],
    "contracts": ["schemathesis_hooks", "strategies", "engine", "webhook", "pytest_plugin", "cli", "__init__"],
}
# Rooms held tighter than their floor allows.
ONLY: dict[tuple[str, str], set[str]] = {
    ("mock_server", "proxy"): {"errors", "net", "urls"},  # a proxy: contracts' checks, none of the mock's rules
    ("mock_server", "testing"): set(),  # the control-API client talks HTTP only
}
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


def room_of(package: str, path: Path) -> str:
    return path.relative_to(ROOT / package).parts[0].removesuffix(".py")


def allowed(package: str, room: str) -> set[str]:
    floors = FLOORS[package]
    if (package, room) in ONLY:
        return ONLY[(package, room)] | {room}
    if room in floors:
        return {other for other, floor in floors.items() if floor < floors[room]} | {room}
    order = WIRING[package]
    return set(floors) | set(order[:order.index(room) + 1])


def test_contracts_never_imports_mock_server() -> None:
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "contracts").rglob("*.py")
                 if any(name.split(".")[0] == "mock_server" for name in imported_modules(path))]
    assert offenders == []


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_every_module_lives_in_a_known_room(package: str) -> None:
    rooms = {room_of(package, path) for path in (ROOT / package).rglob("*.py")}
    known = set(FLOORS[package]) | set(WIRING[package])
    assert rooms <= known, rooms - known


@pytest.mark.parametrize(("package", "room"), sorted((package, room) for package in FLOORS
                                                     for room in [*FLOORS[package], *WIRING[package]]))
def test_a_room_imports_only_the_floors_below_it(package: str, room: str) -> None:
    permitted = allowed(package, room)
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        if room_of(package, path) != room:
            continue
        for name in imported_modules(path):
            parts = name.split(".")
            if parts[0] == package and (len(parts) == 1 or parts[1] not in permitted):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_the_architecture_page_draws_the_same_floors() -> None:
    """Each room sits on the floor ARCHITECTURE.md's table for its package says, and the page
    names every room (a section per package: `## ... `mock_server` ...`)."""
    page = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for package, floors in FLOORS.items():
        section = next(part for part in page.split("\n## ") if f"`{package}`" in part.splitlines()[0])
        drawn = {}
        for line in section.splitlines():
            cells = [cell.strip() for cell in line.split("|")[1:-1]]
            if len(cells) >= 2 and cells[0].isdigit():
                for room in cells[1].replace(",", " ").split():
                    drawn[room.strip("`").removesuffix("/").removesuffix(".py")] = int(cells[0])
        assert {room: drawn.get(room) for room in floors} == floors


def test_the_simulation_does_no_io() -> None:
    for path in (ROOT / "mock_server" / "sim").rglob("*.py"):
        imports = {module.split(".")[0] for module in imported_modules(path)}
        assert not imports & PURE, (path.name, imports & PURE)


def test_no_module_is_over_250_lines() -> None:
    long = {str(path.relative_to(ROOT)): count for package in FLOORS for path in (ROOT / package).rglob("*.py")
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > 250}
    assert long == {}


def test_the_benchmarks_import_each_other_without_a_cycle() -> None:
    graph = {path.relative_to(ROOT).with_suffix("").as_posix().replace("/", "."):
             {name for name in imported_modules(path) if name.startswith("bench.")}
             for path in (ROOT / "bench").rglob("*.py")}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        return any(name == target or (name not in seen and reaches(name, target, seen | {name}))
                   for name in graph.get(start, ()))

    assert [module for module in graph if reaches(module, module, {module})] == []
