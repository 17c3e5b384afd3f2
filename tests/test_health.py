"""The camera health rule both the gate and the server run: thresholds, hysteresis, evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from menjin.domain.health import (
    ACQUIRE_RATE,
    ACQUIRE_SAMPLES,
    BRIGHTNESS,
    HEALTHY,
    MATCH_RATE,
    MATCH_SAMPLES,
    TEMPERATURE,
    Health,
    HealthLimits,
    Symptom,
    assess,
)

T0 = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
LIMITS = HealthLimits()


def test_a_healthy_gate_stays_normal_and_an_empty_reading_proves_nothing() -> None:
    assert assess({}, LIMITS, HEALTHY, T0) == HEALTHY
    assert assess({TEMPERATURE: -20, BRIGHTNESS: 120}, LIMITS, HEALTHY, T0) == HEALTHY


def test_cold_below_the_set_point_degrades_and_warming_a_little_is_not_enough() -> None:
    cold = assess({TEMPERATURE: -31}, LIMITS, HEALTHY, T0)
    assert cold == Health(True, frozenset({Symptom.COLD}), T0)
    later = T0 + timedelta(minutes=30)
    assert assess({TEMPERATURE: -29}, LIMITS, cold, later).degraded  # above the set point, not yet warm
    assert assess({TEMPERATURE: -26}, LIMITS, cold, later) == HEALTHY


def test_a_degraded_gate_stays_degraded_for_the_minimum_time() -> None:
    cold = assess({TEMPERATURE: -35}, LIMITS, HEALTHY, T0)
    warm = {TEMPERATURE: -5}
    assert assess(warm, LIMITS, cold, T0 + timedelta(minutes=9)).degraded
    assert not assess(warm, LIMITS, cold, T0 + timedelta(minutes=10)).degraded


def test_rates_count_only_with_enough_attempts() -> None:
    few = {ACQUIRE_RATE: 0.0, ACQUIRE_SAMPLES: 7}
    assert assess(few, LIMITS, HEALTHY, T0) == HEALTHY
    enough = {ACQUIRE_RATE: 0.5, ACQUIRE_SAMPLES: 8, MATCH_RATE: 0.5, MATCH_SAMPLES: 8}
    assert assess(enough, LIMITS, HEALTHY, T0).symptoms == {Symptom.NOT_ACQUIRING, Symptom.NOT_MATCHING}


def test_a_rate_that_caused_the_fall_must_be_measured_good_again() -> None:
    fallen = assess({ACQUIRE_RATE: 0.2, ACQUIRE_SAMPLES: 20}, LIMITS, HEALTHY, T0)
    later = T0 + timedelta(hours=1)
    # After the fall the gate forgot its window: no attempts yet is no proof the camera works.
    assert assess({ACQUIRE_SAMPLES: 0}, LIMITS, fallen, later).symptoms == {Symptom.NOT_ACQUIRING}
    assert assess({ACQUIRE_RATE: 0.75, ACQUIRE_SAMPLES: 10}, LIMITS, fallen, later).degraded  # not 0.8 yet
    assert not assess({ACQUIRE_RATE: 0.9, ACQUIRE_SAMPLES: 10}, LIMITS, fallen, later).degraded


def test_dark_frames_degrade_and_a_community_may_set_its_own_points() -> None:
    assert assess({BRIGHTNESS: 20}, LIMITS, HEALTHY, T0).symptoms == {Symptom.DARK}
    harbin = HealthLimits.with_overrides(
        {"cold_below": -35, "warm_again": -32, "min_stay_minutes": 2, "x": 1}
    )
    assert not assess({TEMPERATURE: -33}, harbin, HEALTHY, T0).degraded
    fallen = assess({TEMPERATURE: -36}, harbin, HEALTHY, T0)
    assert not assess({TEMPERATURE: -31}, harbin, fallen, T0 + timedelta(minutes=2)).degraded
