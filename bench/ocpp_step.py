"""A site-limit step over OCPP: 30 charge points (1.6J, the `ocpp` package, in their own
process) connected to the endpoint over loopback; each step gives every bay a new limit
through the charger port (`SitePort.apply` -> checked SetChargingProfile, one per charger,
all at once), and waits until every charger has acknowledged. Against, in the same run and
alternating, a bare round: the same 30 SetChargingProfile frames written as JSON text on
the same sockets and their answers awaited, without the package (no dataclasses, no schema
validation) and without the port (no decision, no bookkeeping).

    python -m bench.ocpp_step [--chargers 30] [--steps 20] [--rounds 3]

Figures: median time from the step to the last acknowledgement, and this process's CPU per
step, for the port and the bare round, and their ratio; then the same step through the port
with Modbus TCP chargers (bench.ocpp_step_modbus: 30 bays on 15 two-connector cabinets) and
the OCPP/Modbus ratio; the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import ocpp_step_modbus
from edge.chargers.port import Outcome
from edge.chargers.site_port import SitePort
from edge.clock import SystemClock
from edge.ocpp.site import OcppSite
from edge.process_image import ProcessImage
from edge.siteconf.loader import load_site

PASSWORD = "bench-password-0123"
HEAD = """[site]
id = "bench"
name = "OCPP step"
[[limits]]
id = "grid"
import_kw = 50000
fallback_kw = 20000
[[plots]]
id = "p"
[[links]]
id = "ocpp"
type = "ocpp"
host = "127.0.0.1"
port = 9
secrets_file = "secrets.toml"
profile_min_interval_s = 0
"""


def site_file(folder: Path, n: int) -> Path:
    parts = [HEAD]
    for i in range(n):
        parts.append(
            f'[[devices]]\nid = "CP{i:02d}"\nkind = "charger"\nlink = "ocpp"\n'
            f'[[chargers]]\nid = "ch{i:02d}"\nlimit = "grid"\nmax_power_kw = 400\n'
            f'fallback_kw = 100\ndevice = "CP{i:02d}"\n'
            f'[[bays]]\nid = "B{i:02d}"\nplot = "p"\ncharger = "ch{i:02d}"\nconnector = "CCS"\n'
            f'max_power_kw = 400\ninlet_sides = ["left"]\n'
        )
    secrets = folder / "secrets.toml"
    secrets.write_text("".join(f'CP{i:02d} = "{PASSWORD}"\n' for i in range(n)))
    secrets.chmod(0o600)
    path = folder / "site.toml"
    path.write_text("".join(parts))
    return path


async def port_step(port: SitePort, bays: list[str], kw: float) -> None:
    result = await port.apply(dict.fromkeys(bays, kw * 1000.0))
    assert all(w.outcome is Outcome.CONFIRMED for w in result.writes), result.failed()


async def bare_step(site: OcppSite, kw: float, seq: int) -> None:
    async def one(identity: str, cp: Any) -> None:
        profile = {
            "chargingProfileId": 101, "stackLevel": 1,
            "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": kw * 1000.0}]},
        }  # fmt: skip
        frame = json.dumps([2, f"bare-{seq}-{identity}", "SetChargingProfile",
                            {"connectorId": 1, "csChargingProfiles": profile}])  # fmt: skip
        async with cp._call_lock:  # one call in flight per connection, as the package keeps it
            await cp._connection.send(frame)
            answer = await cp._response_queue.get()
        assert json.loads(answer.to_json())[2]["status"] == "Accepted"

    await asyncio.gather(*(one(i, cp) for i, cp in site.endpoints[0].open.items()))


async def measure(
    site: OcppSite, port: SitePort, bays: list[str], steps: int, bare: bool
) -> tuple[float, float]:
    walls, cpu0 = [], time.process_time()
    for k in range(steps):
        kw = 100.0 + 50.0 * ((k + int(bare)) % 2) + 0.5 * k  # a move beyond the threshold
        t0 = time.perf_counter()
        if bare:
            await bare_step(site, kw, k)
        else:
            await port_step(port, bays, kw)
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls), (time.process_time() - cpu0) / steps


async def run(n: int, steps: int, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="ocpp-step-"))
    site = OcppSite(load_site(site_file(folder, n)), ProcessImage(3.0, 10.0), SystemClock())
    site.endpoints[0].settings = replace(site.endpoints[0].settings, port=0)
    await site.start()
    args = ["-m", "bench.ocpp_step_points", str(site.port()), str(n), PASSWORD]
    fleet = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE
    )
    try:  # the charge points connect to this loop: wait for them without blocking it
        assert fleet.stdout is not None
        async with asyncio.timeout(60):
            line = await fleet.stdout.readline()
            assert line.startswith(b"ready"), line
            for _ in range(1200):  # bounded: every standing profile in place
                if all(st.standing_ok for st in site.stations.values()):
                    break
                await asyncio.sleep(0.05)
        port, bays = SitePort(site.backends()), [f"B{i:02d}" for i in range(n)]
        figures: dict[str, list[tuple[float, float]]] = {"port": [], "bare": []}
        for _ in range(rounds):
            figures["port"].append(await measure(site, port, bays, steps, bare=False))
            figures["bare"].append(await measure(site, port, bays, steps, bare=True))
    finally:
        fleet.terminate()
        await fleet.wait()
        await site.stop()
    med = {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for k, v in figures.items()
    }
    for name, (wall, cpu) in med.items():
        print(f"{name:5s} {n} chargers: step to last ack {wall * 1000:.1f} ms, "
              f"CPU {cpu * 1000:.1f} ms per step")  # fmt: skip
    ratio_wall, ratio_cpu = med["port"][0] / med["bare"][0], med["port"][1] / med["bare"][1]
    print(f"ratio port/bare: wall {ratio_wall:.2f}x, CPU {ratio_cpu:.2f}x")
    mb_wall, mb_cpu = await ocpp_step_modbus.measure(max(1, n // 2), steps, rounds)
    print(f"modbus {n} bays on {max(1, n // 2)} cabinets: step to last confirmation "
          f"{mb_wall * 1000:.1f} ms, CPU {mb_cpu * 1000:.1f} ms per step")  # fmt: skip
    print(f"ratio ocpp/modbus: wall {med['port'][0] / mb_wall:.2f}x, "
          f"CPU {med['port'][1] / mb_cpu:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chargers", type=int, default=30)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    a = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the fleet's stop logs 30 disconnections
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    asyncio.run(run(a.chargers, a.steps, a.rounds))
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
