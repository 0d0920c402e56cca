"""Config problems that name what and where: `site.toml:41: bays[12].connector: ...`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

KeyPath = tuple[str | int, ...]


def format_path(path: KeyPath) -> str:
    """('bays', 12, 'connector') -> 'bays[12].connector'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    file: str
    path: KeyPath
    message: str
    line: int | None = None
    severity: str = "error"  # "error" stops the load; "warning" is reported and run with

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        prefix = "" if self.severity == "error" else "warning: "
        return f"{where}: {prefix}{format_path(self.path)}: {self.message}"


class ConfigError(Exception):
    """Raised by `load_site` with every error found, never just the first."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        errors = [i for i in self.issues if i.severity == "error"]
        super().__init__(
            f"{len(errors)} error(s) in site configuration:\n" + "\n".join(str(i) for i in errors)
        )
