"""Giving a gate its identity: a one-time enrolment code, redeemed once, returns the gate's kit.

MQTT passwords are never stored: each is an HMAC, under a server key kept outside the database, of the
login's name and its enrolment epoch. The server can therefore rebuild every broker login at start; the
gate learns its own password once, in its kit; enrolling a gate again bumps the epoch, and the old
password (a stolen gate's, say) stops working when the broker is next configured.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.link.credentials import GateKit, GateLogin, Login, ServerLogin
from menjin.security.keys import KeyRing
from menjin.security.passes import public_key
from menjin.security.passwords import one_time_password
from menjin.server.fleet.faces import gate_key
from menjin.server.fleet.sync import device_for
from menjin.store.audit_log import AuditLog
from menjin.store.communities import system_actor
from menjin.store.register import NotFound, Register, check
from menjin.store.tables import Community, Gate, GateDevice

ENROLMENT_TIME = timedelta(hours=24)


def _password(keys: KeyRing, username: str, epoch: int) -> str:
    return hmac.new(keys.get("mqtt"), f"{username}:{epoch}".encode(), hashlib.sha256).hexdigest()


def server_login(keys: KeyRing, community: str) -> ServerLogin:
    username = f"server.{community}"
    return ServerLogin(community, username, _password(keys, username, 0))


def gate_login(keys: KeyRing, community: str, gate: str, epoch: int) -> GateLogin:
    username = f"gate.{community}.{gate}"
    return GateLogin(community, gate, username, _password(keys, username, epoch))


def broker_logins(session: Session, keys: KeyRing) -> list[Login]:
    """Every login the broker must accept: one server login per community and each enrolled gate."""
    logins: list[Login] = [server_login(keys, code) for code in session.scalars(select(Community.code))]
    enrolled = session.execute(
        select(Community.code, Gate.code, GateDevice.epoch)
        .join(Gate, Gate.community_id == Community.id)
        .join(GateDevice, GateDevice.gate_id == Gate.id)
        .where(GateDevice.provisioned_at.is_not(None))
    )
    logins += [gate_login(keys, community, gate, epoch) for community, gate, epoch in enrolled]
    return logins


def enrol(session: Session, audit: AuditLog, actor: Actor, gate_id: int, now: datetime) -> str:
    """A one-time code for the gate's installer, valid for a day; only its hash is kept."""
    check(actor, Permission.REGISTER_WRITE)
    gate = Register.fetch(session, actor, Gate, gate_id)
    code = one_time_password()
    device = device_for(session, gate)
    device.enrolment_hash = hashlib.sha256(code.encode()).hexdigest()
    device.enrolment_expires = now + ENROLMENT_TIME
    audit.record(session, actor, "gate_enrolment_code", f"gates/{gate.id}", at=now)
    return code


def redeem(
    session: Session, register: Register, code: str, now: datetime, broker_host: str, broker_port: int
) -> GateKit:
    """The kit for the gate whose code this is; the code is then spent."""
    digest = hashlib.sha256(code.strip().encode()).hexdigest()
    device = session.scalar(select(GateDevice).where(GateDevice.enrolment_hash == digest))
    if device is None or device.enrolment_expires is None or device.enrolment_expires <= now:
        raise NotFound("登记码无效或已过期", "enrolment code unknown, used or expired")
    gate = session.get(Gate, device.gate_id)
    community = session.get(Community, gate.community_id)
    device.epoch += 1
    login = gate_login(register.keys, community.code, gate.code, device.epoch)
    device.mqtt_username, device.provisioned_at = login.username, now
    device.enrolment_hash = device.enrolment_expires = None
    device.cache_version = 0
    register.audit.record(
        session,
        system_actor(community.id, f"gate-{gate.code}"),
        "gate_enrolled",
        f"gates/{gate.id}",
        detail={"epoch": device.epoch},
        at=now,
    )
    return GateKit(
        community=community.code,
        gate=gate.code,
        username=login.username,
        password=login.password,
        broker_host=broker_host,
        broker_port=broker_port,
        pin_key=register.pin_key(community.id).hex(),
        pass_public_key=public_key(register.pass_seed(community.id)).hex(),
        face_key=gate_key(register.keys, community.code, gate.code, device.epoch).hex(),
    )
