"""Whether a gate's camera can still be trusted with faces, from what the gate measures about itself.

The seed's gates froze after the first snow and kept insisting on faces. Here the gate runs this rule on
its own telemetry (so it falls back with or without the server) and the server runs the same rule on the
heartbeats it receives (to show it, raise the alarm and open the ticket), so both always agree.

Going into degraded mode and coming out use different thresholds, and a gate stays degraded for a
minimum time, so a gate at the edge of a threshold does not flap between modes. A rate measured on too
few attempts is no evidence either way: it neither degrades a gate nor, if it was the cause, restores it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum

from menjin.domain.errors import InvalidValue

# Telemetry keys, as gates report them in every heartbeat.
TEMPERATURE = "temperature_c"
BRIGHTNESS = "brightness"  # mean grey level of recent camera frames, 0–255
ACQUIRE_RATE = "face_acquire_rate"  # people at a face gate whose face the camera acquired
ACQUIRE_SAMPLES = "face_acquire_samples"
MATCH_RATE = "face_match_rate"  # acquired faces that matched an enrolled resident
MATCH_SAMPLES = "face_match_samples"
LATENCY = "face_latency_p95_ms"


class Symptom(StrEnum):
    COLD = "cold"  # below the set point: the housing fogs, the heater cannot keep up
    DARK = "dark"  # frames too dark (snow on the lens, a failed illuminator)
    NOT_ACQUIRING = "not_acquiring"  # people pass and the camera finds no face
    NOT_MATCHING = "not_matching"  # faces found but residents not recognised (scarves, frost)


@dataclass(frozen=True, slots=True)
class HealthLimits:
    cold_below: float = -30.0
    warm_again: float = -27.0
    dark_below: float = 35.0
    light_again: float = 50.0
    acquire_below: float = 0.6
    acquire_again: float = 0.8
    match_below: float = 0.6
    match_again: float = 0.8
    min_samples: int = 8
    min_stay: timedelta = timedelta(minutes=10)

    @classmethod
    def with_overrides(cls, overrides: Mapping[str, float]) -> HealthLimits:
        """The defaults with a community's set points (unknown keys are ignored: older gates)."""
        known = {f.name for f in fields(cls)} - {"min_stay"}
        values: dict[str, object] = {k: float(v) for k, v in overrides.items() if k in known}
        if "min_samples" in values:
            values["min_samples"] = int(values["min_samples"])  # type: ignore[call-overload]
        if "min_stay_minutes" in overrides:
            values["min_stay"] = timedelta(minutes=float(overrides["min_stay_minutes"]))
        return replace(cls(), **values)  # type: ignore[arg-type]

    def check(self) -> HealthLimits:
        """Coming back must need better readings than falling back, or a gate would flap."""
        pairs = (
            ("warm_again", self.cold_below, self.warm_again),
            ("light_again", self.dark_below, self.light_again),
            ("acquire_again", self.acquire_below, self.acquire_again),
            ("match_again", self.match_below, self.match_again),
        )
        for name, fall, back in pairs:
            if back < fall:
                raise InvalidValue(
                    name,
                    "恢复阈值不能低于降级阈值",
                    "the threshold to come back must not be below the one to fall back",
                )
        return self


@dataclass(frozen=True, slots=True)
class Health:
    degraded: bool = False
    symptoms: frozenset[Symptom] = frozenset()
    since: datetime | None = None  # when the gate went into degraded mode


HEALTHY = Health()


def _rate(telemetry: Mapping[str, float], rate: str, samples: str, limits: HealthLimits) -> float | None:
    if telemetry.get(samples, 0) < limits.min_samples or rate not in telemetry:
        return None
    return telemetry[rate]


def symptoms(telemetry: Mapping[str, float], limits: HealthLimits, recovering: bool) -> frozenset[Symptom]:
    """What is wrong now; `recovering` applies the stricter "again" thresholds of a degraded gate."""
    found: set[Symptom] = set()
    temperature = telemetry.get(TEMPERATURE)
    if temperature is not None and temperature < (limits.warm_again if recovering else limits.cold_below):
        found.add(Symptom.COLD)
    brightness = telemetry.get(BRIGHTNESS)
    if brightness is not None and brightness < (limits.light_again if recovering else limits.dark_below):
        found.add(Symptom.DARK)
    acquire = _rate(telemetry, ACQUIRE_RATE, ACQUIRE_SAMPLES, limits)
    if acquire is not None and acquire < (limits.acquire_again if recovering else limits.acquire_below):
        found.add(Symptom.NOT_ACQUIRING)
    match = _rate(telemetry, MATCH_RATE, MATCH_SAMPLES, limits)
    if match is not None and match < (limits.match_again if recovering else limits.match_below):
        found.add(Symptom.NOT_MATCHING)
    return frozenset(found)


def assess(telemetry: Mapping[str, float], limits: HealthLimits, previous: Health, now: datetime) -> Health:
    """The gate's health after this reading, given what it was before."""
    if not previous.degraded:
        found = symptoms(telemetry, limits, recovering=False)
        return Health(True, found, now) if found else HEALTHY
    still = symptoms(telemetry, limits, recovering=True)
    unproven = {  # a rate that caused the fall must be measured good again before face comes back
        s
        for s, samples in ((Symptom.NOT_ACQUIRING, ACQUIRE_SAMPLES), (Symptom.NOT_MATCHING, MATCH_SAMPLES))
        if s in previous.symptoms and telemetry.get(samples, 0) < limits.min_samples
    }
    still |= unproven
    stayed = previous.since is None or now - previous.since >= limits.min_stay
    if not still and stayed:
        return HEALTHY
    return Health(True, still or previous.symptoms, previous.since)
