"""One gate: readers and inputs → `decide` → door → outbox, whether or not the server can be reached.

The controller owns no thread. Drivers call `on_read`/`on_input` from theirs, the link delivers
messages through `receive`, and a timer calls `tick`; one lock keeps decisions and the door consistent.
Everything that happens becomes an event in the durable outbox first; the outbox drains to the server
when the link is up and an event leaves it only when the server confirms storing it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from menjin.domain.access import AccessRequest, Decision, GateView, Presented, Reason, decide
from menjin.domain.credentials import normalise_card_uid, normalise_plate
from menjin.domain.door import Action, Alarm, Clear, Door, Raise, Relay
from menjin.domain.errors import DomainError
from menjin.domain.health import HEALTHY, TEMPERATURE, Health, assess
from menjin.domain.pin_guard import PinGuard
from menjin.domain.register import CredentialKind, GateMode
from menjin.face.match import Outcome, Probe
from menjin.face.recognise import Attempt, probe_of
from menjin.gate.cache import Cache
from menjin.gate.drivers.base import Reader
from menjin.gate.drivers.base import Relay as RelayDriver
from menjin.gate.faces import GateFaces
from menjin.gate.outbox import Outbox
from menjin.link.messages import (
    Ack,
    Channel,
    Command,
    CommandKind,
    EventBatch,
    EventKind,
    Heartbeat,
    Message,
    Stored,
    SyncEnvelope,
)
from menjin.security import guest_codes, passes
from menjin.security.passwords import lookup_hash

log = logging.getLogger("menjin.gate")

Publish = Callable[[Channel, Message], bool]  # False when the link is down
SECOND_FACTOR_WINDOW = timedelta(seconds=15)
RESEND_AFTER = timedelta(seconds=5)
BATCH = 500
FACE_MISSED_WITHIN = timedelta(seconds=10)  # a card used this long after no face: the camera missed
ASSESS_EVERY = timedelta(seconds=1)  # how often the gate checks its own health


@dataclass(frozen=True)
class GateSecrets:
    pin_key: bytes  # the community's PIN lookup key
    pass_public_key: bytes | None = None  # verifies QR passes


class GateController:
    def __init__(
        self,
        code: str,
        cache: Cache,
        outbox: Outbox,
        secrets: GateSecrets,
        relay: RelayDriver,
        clock: Callable[[], datetime],
        publish: Publish | None = None,
        heartbeat_every: timedelta = timedelta(seconds=10),
        faces: GateFaces | None = None,
    ) -> None:
        self.code = code
        self.cache = cache
        self.outbox = outbox
        self.secrets = secrets
        self.relay = relay
        self.clock = clock
        self.publish = publish or (lambda channel, message: False)
        self.heartbeat_every = heartbeat_every
        self.door = Door(cache.door_settings())
        self.pins = PinGuard()
        self.seen_passes = passes.SeenPasses()
        self.mode_override: GateMode | None = None  # a command or the fire input, until the next sync
        self.faces = faces
        self.telemetry: dict[str, float] = {}  # what the gate's sensors say (temperature, brightness)
        self.health: Health = HEALTHY
        self._next_assess: datetime | None = None
        self._lock = threading.RLock()
        self._view = cache.view() if cache.version else None
        self._pending: tuple[list[Presented], datetime] | None = None
        self._in_flight: datetime | None = None
        self._next_heartbeat: datetime | None = None
        self._last_face = datetime.min.replace(tzinfo=clock().tzinfo)
        self._face_failed: datetime | None = None  # a live face just not recognised: whose was it?

    # ---- people at the gate ------------------------------------------------------------------------

    def on_read(self, kind: CredentialKind, raw: str, reader: Reader | None = None) -> Decision:
        with self._lock:
            now = self.clock()
            decision = self._decide(kind, raw, now)
            self._observe_entry(decision, now)
            self._conclude(now, kind, decision, reader)
        return decision

    def on_face(self, attempt: Attempt, camera: Reader | None = None) -> Decision:
        """A tracked face over several frames. Liveness and the embedding (the slow part) run outside
        the lock, so cards and PINs are never kept waiting behind a face. A degraded gate still tries, in
        the background, to tell when the camera works again, but opens for nobody by face."""
        started = time.perf_counter()
        face_on = self.wants_faces()
        probe = probe_of(attempt) if face_on else "face-off"
        with self._lock:
            now = self.clock()
            self._last_face = now
            detail: dict[str, Any] = {"face": probe if isinstance(probe, str) else "matched"}
            if TEMPERATURE in self.telemetry:
                detail[TEMPERATURE] = self.telemetry[TEMPERATURE]  # recognition against cold, in the reports
            found: str | Decision  # the face credential's lookup, or why nobody was recognised
            if not face_on:
                found = Decision(False, Reason.FACE_UNAVAILABLE)
            elif isinstance(probe, str):
                not_live = probe == "not-live"
                found = Decision(False, Reason.FACE_NOT_LIVE if not_live else Reason.FACE_NOT_RECOGNISED)
            else:
                found, more = self._recognise(probe, now)
                detail |= more
            recognised = isinstance(found, str)
            if self.faces is not None and face_on:
                live = not isinstance(probe, str)
                self.faces.stats.seen(live or probe == "not-live", time.perf_counter() - started)
                if recognised:
                    self.faces.stats.recognised(True)
                self._face_failed = now if live and not recognised else None
            if face_on and self.health.degraded:
                # A background try: did the camera recognise an enrolled resident (the way back to
                # normal)? Never a way in, nor a first factor waiting for their card.
                detail["trial"] = recognised
                decision = Decision(False, Reason.FACE_UNAVAILABLE)
            elif isinstance(found, str):
                decision = self._decide(CredentialKind.FACE, found, now)
            else:
                decision = found
            self._conclude(now, CredentialKind.FACE, decision, camera, detail)
        return decision

    def _observe_entry(self, decision: Decision, now: datetime) -> None:
        """An enrolled resident came in by card or PIN at a face gate: if the camera had just failed to
        recognise them, that is a recognition miss; if it saw no face at all, an acquisition miss."""
        if self.faces is None or not decision.granted or not self.wants_faces():
            return
        self.faces.refresh(self.cache)
        if decision.person_id not in self.faces.by_person:
            return  # no face enrolled: the camera was not expected to know them
        if self._face_failed is not None and now - self._face_failed <= FACE_MISSED_WITHIN:
            self.faces.stats.recognised(False)
        elif now - self._last_face > FACE_MISSED_WITHIN:
            self.faces.stats.missed()
        self._face_failed = None

    def wants_faces(self) -> bool:
        """False in maintenance mode and at gates without face: the camera can rest."""
        view = self.view()
        if self.faces is None or view is None or not view.offers_face:
            return False
        return view.mode in (GateMode.NORMAL, GateMode.DEGRADED)

    def _recognise(self, probe: Probe, now: datetime) -> tuple[str | Decision, dict[str, Any]]:
        """The face credential's lookup when the probe is an enrolled resident, else the refusal. Being
        recognised is the camera's part; whether the door opens (a grant, a second factor) is `decide`'s,
        so a face + card gate's face waiting for its card counts as recognised."""
        assert self.faces is not None
        claimed = self._pending_person(now)
        match = self.faces.match(self.cache, probe, claimed)
        detail: dict[str, Any] = {"face": match.outcome.value, "covered": probe.covered}
        if math.isfinite(match.score):  # -inf: nobody enrolled to compare with
            detail["score"] = round(match.score, 2)
        lookup = self.faces.lookups.get(match.person_id) if match.person_id is not None else None
        if match.outcome is Outcome.ACCEPT and lookup is not None:
            return lookup, detail
        reason = (
            Reason.FACE_UNCERTAIN if match.outcome is Outcome.SECOND_FACTOR else Reason.FACE_NOT_RECOGNISED
        )
        return Decision(False, reason, claimed), detail

    def _pending_person(self, now: datetime) -> int | None:
        """The person a card or PIN just named, waiting for their face (face + card, face + PIN)."""
        view = self.view()
        if not self._pending or self._pending[1] <= now or view is None:
            return None
        for item in self._pending[0]:
            credential = view.credentials.get((item.kind, item.lookup))
            if credential is not None and item.kind is not CredentialKind.FACE:
                return credential.person_id
        return None

    def _conclude(
        self,
        now: datetime,
        kind: CredentialKind,
        decision: Decision,
        reader: Reader | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Door and prompt first, record second: nobody waits at the gate for the outbox's fsync. The
        events are still durable before `on_read` or `on_face` returns."""
        if decision.granted:
            self._act(self.door.grant(now))
        if reader is not None:
            reader.feedback(decision.granted, decision.prompt("zh"))
        self.outbox.append(
            EventKind.ACCESS,
            granted=decision.granted,
            reason=decision.reason.value,
            method=kind,
            person_id=decision.person_id,
            credential_ids=list(decision.credential_ids),
            detail=detail or {},
        )
        if decision.alarm:
            self.outbox.append(
                EventKind.ALARM,
                reason=decision.alarm,
                person_id=decision.person_id,
                detail={"silent": True},
            )

    def _decide(self, kind: CredentialKind, raw: str, now: datetime) -> Decision:
        view = self.view()
        if view is None:
            return Decision(False, Reason.UNKNOWN_CREDENTIAL)  # never synced: nobody is known yet
        keypad = self.code
        if kind is CredentialKind.PIN and self.pins.locked(keypad, None, now):
            return Decision(False, Reason.PIN_LOCKED)
        lookup = self._lookup(kind, raw, now)
        if isinstance(lookup, Reason):
            return Decision(False, lookup)
        presented = [Presented(kind, lookup)]
        if self._pending and self._pending[1] > now and kind not in {p.kind for p in self._pending[0]}:
            presented = self._pending[0] + presented
        self._pending = None
        decision = decide(AccessRequest(presented), view, now, self.cache.used)
        if decision.granted:
            for item in presented:
                credential = view.credentials.get((item.kind, item.lookup))
                if credential is not None and credential.guest:
                    self.cache.spend(credential.id)
        if decision.reason is Reason.SECOND_FACTOR_REQUIRED:
            self._pending = (presented, now + SECOND_FACTOR_WINDOW)
        if kind is CredentialKind.PIN:
            wrong = decision.reason in (Reason.UNKNOWN_CREDENTIAL, Reason.FACTORS_DISAGREE)
            if wrong:
                self.pins.failed(keypad, decision.person_id, now)
            elif decision.granted:
                self.pins.succeeded(keypad, decision.person_id)
        return decision

    def _lookup(self, kind: CredentialKind, raw: str, now: datetime) -> str | Reason:
        """The canonical form a credential is known by, or why what was read cannot be used."""
        try:
            if kind in (CredentialKind.CARD, CredentialKind.EBIKE_TAG):
                return normalise_card_uid(raw)
            if kind is CredentialKind.PLATE:
                return normalise_plate(raw)
        except DomainError:
            return Reason.UNREADABLE
        if kind is CredentialKind.PIN:
            ok = raw.isdigit() and 4 <= len(raw) <= 8
            return lookup_hash(self.secrets.pin_key, raw) if ok else Reason.UNREADABLE
        if kind is CredentialKind.QR and raw.strip().startswith(guest_codes.QR_PREFIX):
            return lookup_hash(self.secrets.pin_key, raw.strip())  # a guest's pass: a keyed hash, as a PIN
        if kind is CredentialKind.QR:
            if self.secrets.pass_public_key is None:
                return Reason.PASS_INVALID
            check = passes.verify(self.secrets.pass_public_key, raw, now)
            fresh = check.ref is not None and self.seen_passes.first_use(check, now)
            return check.ref if fresh and check.ref else Reason.PASS_INVALID
        return raw.strip() or Reason.UNREADABLE

    def view(self) -> GateView | None:
        if self._view is None:
            return None
        mode = self.mode_override or self._view.mode
        if self.door.state.evacuation:
            mode = GateMode.EVACUATION
        elif mode is GateMode.NORMAL and self.health.degraded:
            mode = GateMode.DEGRADED
        return self._view if mode is self._view.mode else replace(self._view, mode=mode)

    # ---- door inputs -------------------------------------------------------------------------------

    def on_input(self, name: str, active: bool) -> None:
        with self._lock:
            now = self.clock()
            if name == "contact":
                actions = self.door.contact(active, now)
            elif name == "rex":
                actions = self.door.request_to_exit(now) if active else []
            elif name == "fire":
                actions = self.door.fire(active, now)
            elif name == "power":
                actions = self.door.power(active, now)
            elif name == "tamper":
                actions = self.door.tamper(active)
            else:
                log.warning("unknown input %r ignored", name)
                return
            self._act(actions)  # the relay first: a fire exit must not wait for the outbox's fsync
            if name == "fire" and active:
                self.outbox.append(EventKind.ALARM, reason="fire", detail={"evacuation": True})
            self.outbox.append(EventKind.DOOR, reason=name, detail={"active": active})

    def _act(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Relay):
                self.relay.set(action.unlocked)
            elif isinstance(action, Raise):
                self.outbox.append(
                    EventKind.ALARM, reason=action.alarm.value, detail={"repeat": action.repeat}
                )
            elif isinstance(action, Clear):
                self.outbox.append(EventKind.ALARM, reason=action.alarm.value, detail={"cleared": True})

    # ---- the link ----------------------------------------------------------------------------------

    def receive(self, channel: Channel, message: Message) -> None:
        """A decoded message from the server (the link has already refused anything malformed)."""
        with self._lock:
            if channel is Channel.SYNC and isinstance(message, SyncEnvelope):
                self._sync(message)
            elif channel is Channel.STORED and isinstance(message, Stored):
                self.outbox.mark_stored(message.ids)
                self._in_flight = None
            elif channel is Channel.CMD and isinstance(message, Command):
                self.publish(Channel.ACK, self._command(message))
            else:
                log.warning("%s message %s ignored", channel, type(message).__name__)

    def _sync(self, envelope: SyncEnvelope) -> None:
        if not self.cache.apply(envelope.sync):
            log.info(
                "delta from version %s does not fit cache version %s: asking for a snapshot",
                getattr(envelope.sync, "base_version", "?"),
                self.cache.version,
            )
            self._heartbeat(self.clock(), cache_version=0)
            return
        self._view = self.cache.view()
        self.door.settings = self.cache.door_settings()
        self.mode_override = None
        self.outbox.append(
            EventKind.MODE, reason=self._view.mode.value, detail={"version": self.cache.version}
        )

    def _command(self, command: Command) -> Ack:
        now = self.clock()
        detail: dict[str, Any] = {"command_id": command.id, "actor": command.actor, "why": command.reason}
        if command.kind is CommandKind.UNLOCK_ONCE:
            self._act(self.door.grant(now))
        elif command.kind is CommandKind.RESET_EVACUATION:
            self._act(self.door.reset_evacuation(now))
            # The cache may still say evacuation until the next sync brings the register's word: the
            # reset must not leave the gate opening for anyone meanwhile.
            cached = self._view.mode if self._view is not None else GateMode.NORMAL
            self.mode_override = GateMode.NORMAL if cached is GateMode.EVACUATION else None
        elif command.kind is CommandKind.SET_MODE and command.mode is not None:
            self.mode_override = command.mode
            if command.mode is GateMode.EVACUATION:
                self._act(self.door.fire(True, now))
        else:
            return Ack(command_id=command.id, ok=False, detail="command not understood")
        self.outbox.append(EventKind.COMMAND, reason=command.kind.value, detail=detail)
        return Ack(command_id=command.id, ok=True)

    def tick(self) -> None:
        """Called often (every ~100 ms): door timers, heartbeat, and draining the outbox."""
        with self._lock:
            now = self.clock()
            self._act(self.door.tick(now))
            if self._next_assess is None or now >= self._next_assess:
                self._assess(now)
            if self._next_heartbeat is None or now >= self._next_heartbeat:
                self._heartbeat(now)
            if self._in_flight is None or now - self._in_flight >= RESEND_AFTER:
                batch = self.outbox.pending(BATCH)
                if batch:
                    self._in_flight = now  # before publishing: the confirmation may come back at once
                    if not self.publish(Channel.EVT, EventBatch(events=batch)):
                        self._in_flight = None

    def sense(self, name: str, value: float) -> None:
        """A sensor reading (keys in `domain.health`): the housing's temperature, the frames' brightness.
        A broken sensor's NaN or infinity is no reading: the last good one is dropped, not trusted."""
        with self._lock:
            if math.isfinite(value):
                self.telemetry[name] = value
            else:
                log.warning("gate %s: sensor %s read %r; ignored", self.code, name, value)
                self.telemetry.pop(name, None)

    def readings(self) -> dict[str, float]:
        return self.telemetry | (self.faces.stats.telemetry() if self.faces else {})

    def _assess(self, now: datetime) -> None:
        """The gate watches its own camera: when faces stop working it falls back to the other ways in
        by itself, server or no server, and returns to normal once the camera proves good again."""
        self._next_assess = now + ASSESS_EVERY
        view = self.view()
        if self.faces is None or view is None or not view.offers_face:
            return
        health = assess(self.readings(), self.cache.health_limits(), self.health, now)
        if health.degraded != self.health.degraded:
            if health.degraded:
                self.faces.stats.reset()  # only attempts made from now on may bring face back
            self.outbox.append(
                EventKind.MODE,
                reason=(GateMode.DEGRADED if health.degraded else GateMode.NORMAL).value,
                detail={"symptoms": sorted(health.symptoms or self.health.symptoms), "health": True},
            )
        self.health = health

    def _heartbeat(self, now: datetime, cache_version: int | None = None) -> None:
        view = self.view()
        state = self.door.state
        beat = Heartbeat(
            gate=self.code,
            at=now,
            mode=view.mode if view else GateMode.NORMAL,
            door_open=state.contact_open,
            unlocked=state.unlocked,
            cache_version=self.cache.version if cache_version is None else cache_version,
            outbox_depth=self.outbox.depth(),
            alarms=sorted(a.value for a in state.alarms),
            telemetry=self.readings(),
            symptoms=sorted(self.health.symptoms) if self.health.degraded else [],
            every_seconds=self.heartbeat_every.total_seconds(),
        )
        if self.publish(Channel.HB, beat):
            self._next_heartbeat = now + self.heartbeat_every

    @property
    def alarms(self) -> frozenset[Alarm]:
        return self.door.state.alarms
