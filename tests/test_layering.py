"""The functional core stays pure: edge/power and edge/access import no I/O, no asyncio,
and nothing from the shell. This test is the layering contract CI enforces."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

EDGE = Path(__file__).resolve().parents[1] / "edge"
PURE_PACKAGES = ("power", "access")
# Standard-library modules that do no I/O and keep no hidden state.
ALLOWED_STDLIB = {
    "__future__",
    "dataclasses",
    "enum",
    "typing",
    "collections",
    "collections.abc",
    "math",
    "itertools",
    "functools",
    "bisect",
    "heapq",
    "operator",
    "types",
    "statistics",
    "fractions",
    "decimal",
    "abc",
}
# The session model, the availability rules and the site model are frozen dataclasses with no
# I/O: the core reuses them (Bay, Connector, InletSide, LimitNode, the availability View)
# rather than declaring parallel types.
ALLOWED_EDGE = {
    "edge.readings",
    "edge.sessions",
    "edge.availability",
    "edge.siteconf.model",
    "edge.power",
    "edge.access",
    # Billing and authorization decisions (edge/billing/, edge/auth/): their pure modules.
    "edge.chargers.port",
    "edge.billing.model",
    "edge.auth.model",
    "edge.auth.local_list",
}
PURE_MODULES = ("billing/model.py", "billing/tracker.py", "auth/model.py", "auth/local_list.py")
PURE_MODULES += ("auth/decide.py", "chargers/port.py")
# Lower layers must never reach up into the shell.
SHELL = ("edge.runtime", "edge.cli", "edge.local_api", "edge.control_cycle", "edge.status")


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def pure_files() -> list[Path]:
    shared = [EDGE / "readings.py", EDGE / "sessions.py", EDGE / "availability.py"]
    shared += [EDGE / m for m in PURE_MODULES]
    return shared + [p for pkg in PURE_PACKAGES for p in sorted((EDGE / pkg).rglob("*.py"))]


def test_the_site_model_the_core_reuses_does_no_io() -> None:
    # pathlib only for the `Path` type of `SiteConfig.path`; the model never opens it.
    bad = [n for n in imports(EDGE / "siteconf" / "model.py") if n not in ALLOWED_STDLIB]
    assert bad == ["pathlib"], bad


@pytest.mark.parametrize("path", pure_files(), ids=lambda p: str(p.relative_to(EDGE)))
def test_pure_core_imports_only_pure_modules(path: Path) -> None:
    bad = []
    for name in imports(path):
        if name.startswith("edge"):
            if not any(name == a or name.startswith(a + ".") for a in ALLOWED_EDGE):
                bad.append(name)
        elif name not in ALLOWED_STDLIB:
            bad.append(name)
    assert bad == [], f"{path.relative_to(EDGE)} imports {bad}: the pure core must not do I/O"


@pytest.mark.parametrize("package", ["drivers", "siteconf", "sim", "power", "access"])
def test_lower_layers_do_not_import_the_shell(package: str) -> None:
    for path in sorted((EDGE / package).rglob("*.py")):
        for name in imports(path):
            assert not name.startswith(SHELL), (
                f"{path.relative_to(EDGE)} imports shell module {name}"
            )


def test_the_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import asyncio\nfrom edge.runtime import Daemon\n")
    assert imports(bad) == ["asyncio", "edge.runtime"]
