"""A Modbus simulator in its own process, so benchmarks do not share the client's event loop.

python -m bench.sim_process tcp --units 20            # prints "port N", serves until killed
python -m bench.sim_process rtu --device PTY --units 5 --dead 5
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from edge.clock import SystemClock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.modbus_profile import Profile
from edge.sim.modbus_server import SimModbusServer, SimSerialServer
from edge.sim.models import build_model
from edge.sim.sim_unit import Fault, SimUnit, StaticModel


def units(count: int, dead: set[int], profile_id: str, static: bool) -> list[SimUnit]:
    """Meters with physics, or (static) fixed values: the simulator then costs less CPU,
    so a benchmark sees more of the client's own cost."""
    profile = shipped_catalog()[profile_id]
    assert isinstance(profile, Profile)
    out = []
    for n in range(1, count + 1):
        params = {"model": "load", "base_kw": 10 * n, "peak_kw": 20 * n}
        model = build_model(params)
        unit = SimUnit(n, profile, model, Fault(silent=n in dead))
        if static:  # fill the image once, then serve it as is (no per-read refresh)
            unit.model = StaticModel(model.values(0.0))
            for table in {p.table for p in profile.points}:
                unit.on_read(table, 0.0)
            unit.fault.frozen = True
        out.append(unit)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["tcp", "rtu"])
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--dead", type=int, action="append", default=[])
    parser.add_argument("--device", help="serial device (rtu)")
    parser.add_argument("--profile", default="eastron-sdm630")
    parser.add_argument("--static", action="store_true", help="fixed values, no physics")
    args = parser.parse_args()
    sims = units(args.units, set(args.dead), args.profile, args.static)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server: SimModbusServer | SimSerialServer
    if args.kind == "tcp":
        server = SimModbusServer(sims, SystemClock())  # type: ignore[arg-type]
        print(f"port {await server.start()}", flush=True)
    else:
        server = SimSerialServer(sims, SystemClock(), args.device)  # type: ignore[arg-type]
        await server.start()
        print("ready", flush=True)
    await stop.wait()
    await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
