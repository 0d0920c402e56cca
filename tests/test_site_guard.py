"""The site guard: fresh data -> measured headroom; stale data -> conservative fallback."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edge.power.site_guard import GridInputs, Mode, assess_site


def inputs(import_w: float | None, **kw: object) -> GridInputs:
    base: dict[str, object] = {
        "limit_id": "grid",
        "import_limit_w": 1_000_000.0,
        "export_limit_w": 400_000.0,
        "fallback_w": 400_000.0,
        "meter": "grid-meter",
        "import_w": import_w,
        "meter_quality": "ok",
        "generation_w": (),
    }
    base.update(kw)
    return GridInputs(**base)  # type: ignore[arg-type]


def test_fresh_reading_gives_measured_headroom() -> None:
    a = assess_site(inputs(250_000.0))
    assert a.mode is Mode.NORMAL
    assert a.headroom_w == 750_000.0
    assert a.import_limit_w == 1_000_000.0
    assert a.warnings == ()


def test_stale_meter_falls_back_and_says_why() -> None:
    a = assess_site(inputs(None, meter_quality="comm_lost"))
    assert a.mode is Mode.FALLBACK
    assert a.import_limit_w == 400_000.0
    assert a.headroom_w == 0.0
    assert a.warnings == ("limit grid: meter grid-meter comm_lost; using fallback 400 kW",)


def test_a_stale_meter_says_how_old_its_last_good_value_is() -> None:
    a = assess_site(inputs(None, meter_quality="stale", meter_age_s=4.25))
    assert a.mode is Mode.FALLBACK
    assert a.warnings == (
        "limit grid: meter grid-meter stale (last good value 4.2 s ago); using fallback 400 kW",
    )


def test_overload_and_export_are_warned() -> None:
    assert "above limit" in assess_site(inputs(1_100_000.0)).warnings[0]
    assert "export 500.0 kW above limit 400 kW" in assess_site(inputs(-500_000.0)).warnings[0]


def test_generation_ignores_unusable_readings() -> None:
    a = assess_site(inputs(0.0, generation_w=(("pv", 120_000.0), ("wind", None))))
    assert a.generation_w == 120_000.0
    assert a.warnings == ("generation wind: no usable reading",)


@given(
    import_w=st.one_of(st.none(), st.floats(-5e6, 5e6, allow_nan=False)),
    limit=st.floats(1.0, 1e7),
    share=st.floats(0.0, 1.0),
)
def test_never_more_than_the_limit_and_never_negative_headroom(
    import_w: float | None, limit: float, share: float
) -> None:
    a = assess_site(inputs(import_w, import_limit_w=limit, fallback_w=limit * share))
    assert a.headroom_w >= 0.0
    assert a.import_limit_w <= limit
    if import_w is not None:
        assert a.headroom_w <= max(0.0, limit - import_w)
    else:
        assert a.mode is Mode.FALLBACK
