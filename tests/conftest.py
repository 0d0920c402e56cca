from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "config" / "demo.toml"


@pytest.fixture
def demo_text() -> str:
    return DEMO.read_text()


@pytest.fixture
def write_site(tmp_path: Path):
    def write(text: str, name: str = "site.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
