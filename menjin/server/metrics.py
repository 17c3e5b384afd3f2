"""`/metrics`: the fleet's health in the Prometheus text format, read from the database at each scrape.

A custom collector (`FleetCollector`) runs a handful of grouped queries per scrape
(`menjin.store.reports.live`), so every worker process answers the same numbers and nothing is counted
in memory. Labels are community and gate codes, alarm kinds, ticket priorities and methods: never a
person, a name or a credential.

| metric | labels | what |
|---|---|---|
| `menjin_gate_online` | community, gate | 1 if the gate's link is up (heartbeats arriving) |
| `menjin_gate_degraded` | community, gate | 1 if its last heartbeat said degraded (face off) |
| `menjin_gate_heartbeat_age_seconds` | community, gate | since the gate was last heard from |
| `menjin_gate_outbox_depth` | community, gate | events waiting at the gate to be stored |
| `menjin_gate_temperature_celsius` | community, gate | the gate's temperature, as last reported |
| `menjin_gate_face_acquire_ratio` | community, gate | enrolled residents at a face gate whose face it found |
| `menjin_gate_face_match_ratio` | community, gate | enrolled residents' acquired faces that were recognised |
| `menjin_alarms_unresolved` | community, kind | alarms not resolved yet |
| `menjin_tickets_open` | community, priority | tickets not resolved yet |
| `menjin_tickets_overdue` | community | unresolved tickets past a deadline (`store.reports.overdue`) |
| `menjin_access_events_today` | community, method, granted | access events since local midnight |

A gate never heard from has `online` 0 and none of the other gate series; a telemetry value the gate
did not report is left out rather than shown as 0.

**Access.** A scrape from the server itself (a loopback client, with no proxy's forwarding header) is
answered. Any other must send `Authorization: Bearer <token>`, else 401. The token is the hex of the
key file `metrics.key` in the key directory (`MENJIN_KEY_DIR`, default `<data dir>/keys`), made when
the server first starts; read it on the server with

    xxd -p -c 64 "$MENJIN_KEY_DIR/metrics.key"

or `python -c "import sys; print(open(sys.argv[1], 'rb').read().hex())" KEYDIR/metrics.key`, and put
it in Prometheus' `authorization.credentials` (or `credentials_file`) for the job. To change it, delete
the file: the next scrape makes a new one.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from menjin.domain.health import ACQUIRE_RATE, MATCH_RATE, TEMPERATURE
from menjin.services import Services
from menjin.store import reports

KEY = "metrics"
FORWARDED = ("forwarded", "x-forwarded-for", "x-real-ip")  # a proxy relays someone else's request

router = APIRouter(include_in_schema=False)


class FleetCollector(Collector):
    """Reads the database when Prometheus scrapes; holds nothing between scrapes."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        svc = self.services
        with svc.db.reading() as s:
            communities = reports.live(s, svc.clock())
        gate = ["community", "gate"]
        online = GaugeMetricFamily("menjin_gate_online", "1 if the gate's link is up", labels=gate)
        degraded = GaugeMetricFamily(
            "menjin_gate_degraded", "1 if the gate's last heartbeat said degraded (face off)", labels=gate
        )
        age = GaugeMetricFamily(
            "menjin_gate_heartbeat_age_seconds", "Seconds since the gate was last heard from", labels=gate
        )
        depth = GaugeMetricFamily(
            "menjin_gate_outbox_depth", "Events waiting at the gate to be stored", labels=gate
        )
        telemetry = {
            TEMPERATURE: GaugeMetricFamily(
                "menjin_gate_temperature_celsius", "The gate's temperature, as last reported", labels=gate
            ),
            ACQUIRE_RATE: GaugeMetricFamily(
                "menjin_gate_face_acquire_ratio",
                "Share of enrolled residents at a face gate whose face the camera found",
                labels=gate,
            ),
            MATCH_RATE: GaugeMetricFamily(
                "menjin_gate_face_match_ratio",
                "Share of enrolled residents' found faces that were recognised",
                labels=gate,
            ),
        }
        alarms = GaugeMetricFamily(
            "menjin_alarms_unresolved", "Alarms not resolved yet", labels=["community", "kind"]
        )
        tickets = GaugeMetricFamily(
            "menjin_tickets_open", "Tickets not resolved yet", labels=["community", "priority"]
        )
        overdue = GaugeMetricFamily(
            "menjin_tickets_overdue", "Unresolved tickets past a deadline", labels=["community"]
        )
        access = GaugeMetricFamily(
            "menjin_access_events_today",
            "Access events since the community's local midnight",
            labels=["community", "method", "granted"],
        )
        for community in communities:
            for g in community.gates:
                where = [community.code, g.code]
                online.add_metric(where, 1.0 if g.online else 0.0)
                if not g.known:
                    continue
                degraded.add_metric(where, 1.0 if g.degraded else 0.0)
                if g.heartbeat_age is not None:
                    age.add_metric(where, max(g.heartbeat_age, 0.0))
                if g.outbox_depth is not None:
                    depth.add_metric(where, float(g.outbox_depth))
                for key, family in telemetry.items():
                    if key in g.telemetry:
                        family.add_metric(where, g.telemetry[key])
            for kind, count in community.unresolved_alarms.items():
                alarms.add_metric([community.code, kind], float(count))
            for priority, count in community.open_tickets.items():
                tickets.add_metric([community.code, priority], float(count))
            overdue.add_metric([community.code], float(community.overdue_tickets))
            for (method, granted), count in sorted(community.access_today.items()):
                access.add_metric([community.code, method, "true" if granted else "false"], float(count))
        yield from (online, degraded, age, depth, *telemetry.values(), alarms, tickets, overdue, access)


def token(services: Services) -> str:
    """The bearer token a remote scraper must send: made on first use, kept in the key ring."""
    return services.keys.get(KEY).hex()


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    if any(h in request.headers for h in FORWARDED):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 from a dual-stack listener
    return address.is_loopback


def _authorised(request: Request, services: Services) -> bool:
    expected = token(services)  # made now if it is not there yet, so the file exists to be read
    if _loopback(request):
        return True
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


@router.get("/metrics")
def metrics(request: Request) -> Response:
    services: Services = request.app.state.services
    if not _authorised(request, services):
        return Response(
            "unauthorised: scrape from the server itself, or send the bearer token\n",
            status_code=401,
            media_type="text/plain; charset=utf-8",
            headers={"WWW-Authenticate": 'Bearer realm="menjin metrics"'},
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(services))
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(registry), media_type=content_type, headers={"Cache-Control": "no-store"})
