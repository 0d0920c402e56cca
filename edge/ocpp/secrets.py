"""The charge points' HTTP Basic passwords (OCPP security profiles 1 and 2): one file, kept
out of the site file and readable by the service user only.

Format: TOML, one `identity = "password"` per charge point (the identity is the charger
device's id in the site file). The file is refused when its group or others may read or
write it (mode & 0o077), like ssh refuses a private key. Passwords are never logged: the
errors name the file and the identity, not the value.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

# The Basic password: 16-20 bytes in the OCPP 1.6 security whitepaper (AuthorizationKey), a
# 16-40 character string in 2.0.1 (BasicAuthPassword); we take 16-40, shorter is refused.
MIN_PASSWORD, MAX_PASSWORD = 16, 40


class SecretsError(Exception):
    """`<file>: <why>`, never with a password in it."""


def mode_problem(path: Path) -> str | None:
    """Why the file is not private to its owner, or None when it is."""
    try:
        info = path.stat()
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_mode & 0o077:
        return (
            f"mode {stat.S_IMODE(info.st_mode):04o} lets others read it; "
            "chmod 600 (readable by the service user only)"
        )
    return None


def load_secrets(path: Path) -> Mapping[str, str]:
    """identity -> password. Raises SecretsError naming the file and the identity."""
    problem = mode_problem(path)
    if problem is not None:
        raise SecretsError(f"{path}: {problem}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretsError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:  # its message quotes no value, only a position
        raise SecretsError(f"{path}: not valid TOML: {exc}") from exc
    out: dict[str, str] = {}
    for identity, password in data.items():
        if not isinstance(password, str):
            raise SecretsError(f"{path}: {identity}: the password must be a string")
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise SecretsError(
                f"{path}: {identity}: the password must be {MIN_PASSWORD}-{MAX_PASSWORD} "
                f"characters (OCPP AuthorizationKey), got {len(password)}"
            )
        out[identity] = password
    return MappingProxyType(out)


def private_file_mode() -> int:
    """The mode to create a secrets file with (tests, tools)."""
    return 0o600 if os.name == "posix" else 0o666
