"""Checks of what the site file asks of the machine: directories the daemon writes, its socket,
the time zone, the broker address and TLS files. What passes here, `edge run` can open.

Only values written in the file are checked; the defaults come from the service's environment
(systemd's StateDirectory= and RuntimeDirectory=), which the check cannot see.
"""

from __future__ import annotations

import os
import re
import stat
import zoneinfo
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edge.logs import is_daemon_area
from edge.siteconf.issues import KeyPath

Report = Callable[[KeyPath, str], None]

SOCKET_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes on Linux, with its final NUL
PATH_MAX = 4095  # Linux PATH_MAX (4096) with its final NUL
NAME_MAX = 255  # one path component
_BROKER = re.compile(r"^mqtts?://[^/:]+(?::([0-9]+))?/?$")


def resolve(base: Path, value: str) -> Path:
    """A path from the site file: `$VARS` expanded, relative to the file's folder."""
    path = Path(os.path.expandvars(value))
    return path if path.is_absolute() else base / path


def check_host(
    data: Mapping[str, Any], base: Path | None, report: Report, warn: Report | None = None
) -> None:
    site, storage, uplink = (data.get(k) for k in ("site", "storage", "uplink"))
    if isinstance(site, dict) and isinstance(site.get("timezone"), str):
        _check_timezone(site["timezone"], report)
    if isinstance(uplink, dict):
        _check_broker(uplink.get("broker"), report)
        _check_uplink_files(uplink, base, report)
    from edge.siteconf.ocpp_checks import check_ocpp_files  # noqa: PLC0415 (it imports resolve)

    check_ocpp_files(data, base, report)
    logging_table = data.get("logging")
    if isinstance(logging_table, dict) and isinstance(logging_table.get("areas"), dict):
        for area in logging_table["areas"]:
            if not is_daemon_area(area):
                report(
                    ("logging", "areas", area),
                    "not one of the daemon's log areas (`edge.logs.AREAS`, or a module of "
                    "`edge`, e.g. 'edge.drivers.modbus_link')",
                )
    if isinstance(storage, dict) and base is not None:
        if isinstance(storage.get("state_dir"), str):
            state_dir = resolve(base, storage["state_dir"])
            _check_dir(("storage", "state_dir"), state_dir, report, warn or report)
        if isinstance(storage.get("socket"), str):
            _check_socket(("storage", "socket"), resolve(base, storage["socket"]), report)


def runtime_path_problems(state_dir: Path, socket: Path) -> tuple[list[str], list[str]]:
    """The same checks for the paths `edge run` ends up with (a `--state-dir` or `--socket`
    override, or a default from the environment): (errors to refuse to start with,
    warnings to start with)."""
    errors: list[str] = []
    warnings: list[str] = []
    _check_dir(
        ("state_dir",),
        state_dir,
        lambda p, m: errors.append(f"state_dir: {m}"),
        lambda p, m: warnings.append(f"state_dir: {m}"),
    )
    _check_socket(("socket",), socket, lambda p, m: errors.append(f"socket: {m}"))
    return errors, warnings


def _check_timezone(name: str, report: Report) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        report(
            ("site", "timezone"),
            f"unknown time zone {name!r} (an IANA name such as 'Europe/Brussels' or 'UTC')",
        )


def _check_broker(url: Any, report: Report) -> None:
    """The schema checks the shape; a port must also be one a socket can connect to."""
    match = _BROKER.match(url) if isinstance(url, str) else None
    if match and match.group(1) is not None and not 1 <= int(match.group(1)) <= 65535:
        report(
            ("uplink", "broker"),
            f"port {int(match.group(1))} is not a TCP port (1-65535; leave it out for the "
            "default 1883, or 8883 with mqtts)",
        )


def _path_problem(path: Path) -> str | None:
    text = os.fsencode(str(path))
    if len(text) > PATH_MAX:
        return f"path is {len(text)} bytes long (at most {PATH_MAX})"
    longest = max((len(os.fsencode(p)) for p in path.parts), default=0)
    if longest > NAME_MAX:
        return f"a path component is {longest} bytes long (at most {NAME_MAX})"
    return None


def _kind_of(path: Path) -> str:
    """'missing', 'directory', 'socket', 'file', or why it cannot be looked at. Never raises:
    `Path.exists()` does, on a name too long or a folder this user may not enter."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):  # the latter: a parent is a file
        return "missing"
    except (OSError, ValueError) as exc:
        return f"cannot be looked at ({getattr(exc, 'strerror', None) or exc})"
    if stat.S_ISDIR(mode):
        return "directory"
    return "socket" if stat.S_ISSOCK(mode) else "file"


def _creatable(path: Path) -> str | None:
    """Why the daemon could not create `path` (with its missing parents), or None."""
    parent = path.parent
    while _kind_of(parent) == "missing" and parent != parent.parent:
        parent = parent.parent
    kind = _kind_of(parent)
    if kind != "directory":
        return f"cannot be created: {parent} is not a directory ({kind})"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: {parent} is not writable by this user"
    return None


def _check_dir(key: KeyPath, path: Path, report: Report, read_only: Report) -> None:
    """Must be a writable directory, or creatable: its nearest existing parent writable.
    An existing directory that is not writable (a disk remounted read-only) goes to
    `read_only`: the daemon still controls the site and shows its buffer's fault."""
    problem = _path_problem(path)
    kind = _kind_of(path) if problem is None else "-"
    if kind == "missing":
        problem = _creatable(path)
    elif kind == "directory":
        if not os.access(path, os.W_OK | os.X_OK):
            read_only(key, f"{path}: directory is not writable: nothing can be buffered or kept")
    elif problem is None:
        problem = "exists and is not a directory" if kind in ("file", "socket") else kind
    if problem:
        report(key, f"{path}: {problem} (a writable directory, or one that can be created)")


def _check_socket(key: KeyPath, path: Path, report: Report) -> None:
    size = len(os.fsencode(str(path)))
    kind = _kind_of(path) if size <= SOCKET_PATH_MAX else "-"
    if size > SOCKET_PATH_MAX:
        problem: str | None = f"is {size} bytes long; a Unix socket path holds at most 107"
    elif kind == "directory":
        problem = "is a directory; name the socket file in it, e.g. edge.sock"
    elif kind == "file":
        problem = "exists and is not a socket"
    elif kind not in ("missing", "socket"):
        problem = kind
    elif _kind_of(path.parent) == "directory":
        writable = os.access(path.parent, os.W_OK | os.X_OK)
        problem = None if writable else f"{path.parent} is not writable by this user"
    else:
        problem = _creatable(path)
    if problem:
        report(key, f"{path}: {problem}")


def _check_uplink_files(uplink: Mapping[str, Any], base: Path | None, report: Report) -> None:
    """TLS files must exist when the uplink is on, so a typo shows at load, not at 3 a.m."""
    if not uplink.get("enabled", "broker" in uplink):
        return
    if "broker" not in uplink:
        report(("uplink", "broker"), "missing: an enabled uplink needs a broker URL")
    if ("cert_file" in uplink) != ("key_file" in uplink):
        report(("uplink",), "cert_file and key_file go together (client certificate and its key)")
    for key in ("ca_file", "cert_file", "key_file"):
        value = uplink.get(key)
        if isinstance(value, str) and base is not None:
            kind = _kind_of(resolve(base, value))
            if kind != "file":
                found = "file not found" if kind == "missing" else f"not a file ({kind})"
                report(("uplink", key), f"{found}: {resolve(base, value)}")
