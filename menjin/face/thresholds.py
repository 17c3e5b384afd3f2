"""Thresholds per gate security level, chosen from measured error rates (README, "Face": the data,
the tail fit and the margins are written down there; `menjin face evaluate` reproduces them).

Scores are AS-normalised (see `gallery`). `accept` is for 1:1 verification (face + card/PIN) and
`identify` for a face-only gate searching everyone enrolled; `second_factor` is the floor of the grey
zone where the gate asks for a card, PIN or QR pass instead of opening.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    name: str
    accept: float
    identify: float
    second_factor: float


LEVELS = {
    level.name: level
    for level in (
        Level("relaxed", accept=3.0, identify=4.5, second_factor=-1.5),
        Level("standard", accept=3.5, identify=5.0, second_factor=-1.5),
        Level("strict", accept=4.0, identify=5.5, second_factor=-1.5),
    )
}
STANDARD = LEVELS["standard"]
# A covered face (scarf, mask) must score this much higher: half the face is missing, and covered
# strangers look more alike (on lfw_pairs with synthetic masks, FMR at `accept` was 1.4e-3 without it).
COVERED_MARGIN = 1.0
# An enrolment this close to someone already enrolled is flagged for the office to look at.
DUPLICATE_SCORE = 4.0
