"""The SunSpec device driver: discovers the model chain, polls the models its profile's points
come from (one model per read where it fits), and curtails PV output with a reversion timeout.

Curtailment uses 704 (DER AC controls) where present, else 123 (immediate controls), and
always sets the reversion timer: if the controller stops refreshing the limit, the inverter
falls back by itself (704: to `revert_pct`; 123: to no limit). The limit is confirmed by
reading the model back.
"""

from __future__ import annotations

import logging
import math

from edge.clock import Clock
from edge.drivers import sunspec_models
from edge.drivers.device_base import DeviceBase, WriteFailed
from edge.drivers.line_capacity import Transaction
from edge.drivers.modbus_client import ModbusFailure
from edge.drivers.modbus_device import FRESH_PERIODS
from edge.drivers.modbus_link import PRIORITY_BACKGROUND, PRIORITY_CONTROL, ModbusLink
from edge.drivers.modbus_profile import MAX_REGISTERS_PER_READ, Table
from edge.drivers.sunspec_models import ModelLocation, SunSpecError
from edge.drivers.sunspec_profile import CURTAILMENT_MODELS, Source, SunSpecProfile
from edge.drivers.sunspec_scan import NotSunSpec, read_model, scan
from edge.process_image import ProcessImage

log = logging.getLogger(__name__)

REDISCOVER_S = 10.0  # retry period while a device has not shown its model chain


class SunSpecDevice(DeviceBase):
    def __init__(
        self,
        device_id: str,
        unit: int,
        profile: SunSpecProfile,
        link: ModbusLink,
        image: ProcessImage,
        clock: Clock,
        poll_s: float | None = None,
    ) -> None:
        super().__init__(device_id, f"link={link.id} unit={unit}", image, clock)
        self.unit = unit
        self.profile = profile
        self.link = link
        self._poll_s = poll_s
        self.models: dict[int, ModelLocation] = {}
        self.sources: dict[str, Source] = {}  # point -> the model point it is read from
        self.last_words: dict[int, list[int]] = {}
        self._periods: dict[int, float] = {}
        self.stall_after_s = 3 * REDISCOVER_S

    async def _read(
        self, address: int, count: int, priority: int = PRIORITY_BACKGROUND
    ) -> list[int]:
        return await self.link.read(self.unit, Table.HOLDING, address, count, priority)

    async def discover(self) -> None:
        """Walk the model chain and choose, per point, the first source the device has."""
        found = await scan(self._read, self.profile.base_addresses)
        self.models = {}
        for location in found:
            self.models.setdefault(location.model_id, location)  # first instance wins
        self.sources = {}
        for point in self.profile.points:
            source = next((s for s in point.sources if s.model_id in self.models), None)
            if source is not None:
                self.sources[point.name] = source
        log.info(
            "sunspec_discovered device=%s %s models=%s",
            self.id,
            self.where,
            ",".join(str(m.model_id) for m in found),
        )

    def schedule(self) -> list[tuple[ModelLocation, float]]:
        """(model, period) for every model a point is read from: the fastest of its points."""
        periods: dict[int, float] = {}
        for point in self.profile.points:
            source = self.sources.get(point.name)
            if source is not None:
                periods[source.model_id] = min(
                    periods.get(source.model_id, math.inf), point.period_s
                )
        if not periods:
            return []
        factor = 1.0 if self._poll_s is None else self._poll_s / min(periods.values())
        return [(self.models[mid], period * factor) for mid, period in sorted(periods.items())]

    def plan(self) -> list[tuple[Transaction, float]]:
        """The reads this device puts on its link (empty until discovered)."""
        out = []
        for location, period in self.schedule():
            for start in range(0, location.words, MAX_REGISTERS_PER_READ):
                count = min(MAX_REGISTERS_PER_READ, location.words - start)
                out.append((Transaction(Table.HOLDING, count), period))
        return out

    async def run(self) -> None:
        """Discover, then poll each needed model at its period, forever."""
        while not self.models:
            try:
                await self.discover()
            except (ModbusFailure, NotSunSpec, SunSpecError) as exc:
                self.failed(f"discovery: {exc}")
                await self._clock.sleep(REDISCOVER_S)
        plan = self.schedule()
        self._periods = {location.model_id: period for location, period in plan}
        if not plan:
            self.failed("none of the profile's models is on the device")
            return
        due = [self._clock.monotonic()] * len(plan)
        while True:
            now = self._clock.monotonic()
            index = min(range(len(due)), key=due.__getitem__)
            if due[index] > now:
                await self._clock.sleep(due[index] - now)
                continue
            location, period = plan[index]
            due[index] = max(due[index] + period, now)
            await self.poll_model(location)

    async def poll_model(self, location: ModelLocation) -> None:
        self.health.polls += 1
        try:
            words = await read_model(lambda a, c: self._read(a, c, PRIORITY_CONTROL), location)
            values = sunspec_models.decode(location.model_id, words)
        except (ModbusFailure, SunSpecError) as exc:
            self.failed(str(exc))
            return
        self.last_words[location.model_id] = words
        at = self._clock.monotonic()
        for point in self.profile.points:
            source = self.sources.get(point.name)
            if source is None or source.model_id != location.model_id:
                continue
            value = values.get(source.point)
            number = value if isinstance(value, float) else None
            fresh = FRESH_PERIODS * self._periods.get(location.model_id, point.period_s)
            self.put(point.name, self.judge(point.name, number, point.unit, point, at, fresh))
        self.recovered(at)

    async def curtail(
        self, limit_pct: float | None, revert_after_s: float, revert_pct: float | None = None
    ) -> None:
        """Limit PV output to `limit_pct` of its maximum (None: no limit), reverting by itself
        after `revert_after_s` without a new call to `revert_pct` (None: the profile's
        `curtailment.revert_pct`). Model 123 can only revert to no limit: asked to revert to
        less than 100 %, it gets no reversion timer (the limit stands). Raises WriteFailed."""
        model_id = next((m for m in CURTAILMENT_MODELS if m in self.models), None)
        where = f"device {self.id}: curtail to {limit_pct}%"
        if model_id is None:
            raise WriteFailed(f"{where}: the device has neither model 704 nor 123 ({self.where})")
        location = self.models[model_id]
        enable = 0.0 if limit_pct is None else 1.0
        pct = 100.0 if limit_pct is None else limit_pct
        revert = self.profile.revert_pct if revert_pct is None else revert_pct
        if model_id == 704:
            writes = [
                ("WMaxLimPct", pct),
                ("WMaxLimPctRvrt", revert),
                ("WMaxLimPctRvrtTms", revert_after_s),
                ("WMaxLimPctEnaRvrt", 1.0),
                ("WMaxLimPctEna", enable),
            ]
        else:
            timer = revert_after_s if revert >= 100.0 else 0.0  # 0: no reversion
            writes = [("WMaxLimPct", pct), ("WMaxLimPct_RvrtTms", timer)]
            writes.append(("WMaxLim_Ena", enable))
        try:
            words = await read_model(lambda a, c: self._read(a, c, PRIORITY_CONTROL), location)
            for name, value in writes:
                info = sunspec_models.points(model_id)[name]
                registers = sunspec_models.encode(model_id, words, name, value)
                await self.link.write(
                    self.unit, Table.HOLDING, location.address + info.offset, registers
                )
            back = sunspec_models.decode(
                model_id,
                await read_model(lambda a, c: self._read(a, c, PRIORITY_CONTROL), location),
            )
        except (ModbusFailure, SunSpecError) as exc:
            self.health.write_failures += 1
            raise WriteFailed(f"{where}: {exc} ({self.where})") from exc
        self.health.writes += 1
        self._confirm(where, model_id, back, writes)

    def _confirm(
        self,
        where: str,
        model_id: int,
        back: dict[str, float | str | None],
        writes: list[tuple[str, float]],
    ) -> None:
        for name, value in writes:
            got = back.get(name)
            if not isinstance(got, float) or not math.isclose(got, value, abs_tol=0.5):
                self.health.write_failures += 1
                raise WriteFailed(
                    f"{where}: not confirmed, {model_id}.{name} reads back {got} ({self.where})"
                )
        log.info(
            "curtailment_set device=%s model=%d %s",
            self.id,
            model_id,
            " ".join(f"{n}={v:g}" for n, v in writes),
        )
