"""The demo community: a walled Harbin yard of walk-up buildings, as in the seed report.

Everything is created through the Register, so the demo's history is in the audit log like any real
office's work would be.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.register import AccountRole
from menjin.domain.schedule import DAYS
from menjin.services import Services
from menjin.store import register as rg
from menjin.store.communities import create_community, system_actor
from menjin.store.tables import Community, Person

CODE = "heping"
BUILDINGS = 6
ENTRANCES = 3
FLOORS = 9
RESIDENTS = [  # building, entrance, room, name, role, phone, card
    ("1", "1", "101", "刘桂兰", "owner", "13904510001", "04A1B2C3"),
    ("1", "1", "101", "王建国", "family", "13904510002", "04A1B2C4"),
    ("3", "2", "302", "孙丽华", "owner", "13904510003", "04A1B2C5"),
    ("5", "1", "901", "赵明", "tenant", "13904510004", "04A1B2C6"),
]
RESIDENT_ACCOUNT = "resident"  # the demo's portal account, for the first resident above


def create_sample(svc: Services, session: Session) -> tuple[Community, str]:
    """The sample community and its administrator's one-time password."""
    community, password = create_community(
        session,
        svc.audit,
        CODE,
        "和平小区",
        address="哈尔滨市南岗区和平路 88 号",
        operator_name="哈尔滨和平物业服务有限公司",
        operator_phone="0451-8888-0000",
    )
    actor = system_actor(community.id, "sample")
    reg = svc.register

    def add(resource: rg.Resource, **data: object) -> object:
        return reg.create(session, actor, resource, data)

    buildings = [add(rg.BUILDINGS, name=str(n), floors=FLOORS) for n in range(1, BUILDINGS + 1)]
    units: dict[tuple[str, str, str], object] = {}
    for building in buildings:
        for entrance in range(1, ENTRANCES + 1):
            for floor in range(1, FLOORS + 1):
                for flat in (1, 2):
                    room = f"{floor}0{flat}"
                    unit = add(
                        rg.UNITS, building_id=building.id, entrance=str(entrance), room=room, floor=floor
                    )
                    units[(building.name, str(entrance), room)] = unit
    all_ids = [b.id for b in buildings]
    gates = [
        add(rg.GATES, code="S1", name="南门人行", kind="pedestrian", escape_route=True, building_ids=all_ids),
        add(rg.GATES, code="N1", name="北门人行", kind="pedestrian", escape_route=True, building_ids=all_ids),
        add(rg.GATES, code="V1", name="南门车行道闸", kind="vehicle", building_ids=all_ids),
        add(rg.GATES, code="E1", name="电动车通道", kind="ebike", building_ids=all_ids),
    ]
    always = add(rg.SCHEDULES, name="全天", windows={d: [("00:00", "24:00")] for d in DAYS})
    office = add(
        rg.SCHEDULES, name="物业工作时间", windows={d: [("07:30", "18:30")] for d in DAYS[:5]} | {"hol": []}
    )
    people = []
    for building, entrance, room, name, role, phone, card in RESIDENTS:
        person = add(
            rg.PEOPLE, unit_id=units[(building, entrance, room)].id, name=name, role=role, phone=phone
        )
        add(rg.CREDENTIALS, person_id=person.id, kind="card", value=card, label="门禁卡")
        people.append(person)
    cleaner = add(rg.PEOPLE, name="李师傅", role="staff", phone="13904519999")
    add(
        rg.ACCESS_GROUPS,
        name="居民",
        schedule_id=always.id,
        gate_ids=[g.id for g in gates],
        person_ids=[p.id for p in people],
    )
    add(rg.ACCESS_GROUPS, name="保洁", schedule_id=office.id, gate_ids=[gates[0].id], person_ids=[cleaner.id])
    return community, password


def create_resident_account(svc: Services, session: Session, community_id: int) -> str:
    """The portal account of the first sample resident (a household with a unit), so the demo shows the
    resident's side too; returns its one-time password, made like any office-made account's."""
    name = RESIDENTS[0][3]
    person_id = session.scalar(
        select(Person.id).where(Person.community_id == community_id, Person.name == name)
    )
    actor = system_actor(community_id, "sample")
    return svc.accounts.create(
        session, actor, RESIDENT_ACCOUNT, AccountRole.RESIDENT, display_name=name, person_id=person_id
    ).password
