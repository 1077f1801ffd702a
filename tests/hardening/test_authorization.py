"""Every API operation × {anonymous, researcher, technician, manager, admin}, against the role
table of DESIGN.md.

The operations come from the app's own OpenAPI document, so a new endpoint without a row in
EXPECTED fails this test until someone decides who may use it.
"""
import io


from biobank.auth.service import create_user, issue_token
from biobank.extensions import db
from biobank.network import scope, service as network_service, shipments
from biobank.requests import service as requests_service
from biobank.storage.models import Container

from .conftest import idle

ROLES = ("researcher", "technician", "manager", "network_manager", "admin")
ALL = set(ROLES)
STAFF = {"admin", "network_manager", "manager", "technician"}
MANAGERS = {"admin", "network_manager", "manager"}
NETWORK = {"admin", "network_manager"}
ADMIN = {"admin"}
REQUESTERS = {"admin", "network_manager", "manager", "researcher"}   # create, submit, cancel requests (researchers: own)
PUBLIC = "public"

# (method, path) -> roles allowed. Everyone else: 401 when anonymous, 403 not_permitted otherwise.
EXPECTED = {
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("DELETE", "/api/v1/auth/token"): ALL,
    ("POST", "/api/v1/auth/password"): ALL,            # one's own password
    ("POST", "/api/v1/auth/password-reset"): PUBLIC,   # with a one-time code from an admin
    ("GET", "/api/v1/auth/me"): ALL,                   # one's own account and language
    ("PATCH", "/api/v1/auth/me"): ALL,
    # users and roles (admin)
    ("GET", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
    ("PATCH", "/api/v1/users/{username}"): ADMIN,
    ("POST", "/api/v1/users/{username}/password-reset"): ADMIN,
    # storage (DESIGN: storage layout = admin, manager; locations are for staff)
    ("GET", "/api/v1/containers"): STAFF,
    ("POST", "/api/v1/containers"): MANAGERS,
    ("POST", "/api/v1/containers/layout"): MANAGERS,
    ("GET", "/api/v1/containers/{container_id}"): STAFF,
    ("GET", "/api/v1/containers/by-barcode/{barcode}"): STAFF,
    ("GET", "/api/v1/containers/{container_id}/map"): STAFF,
    ("POST", "/api/v1/containers/{container_id}/move"): STAFF,
    # samples (catalogue search for all, de-identified for researchers; handling for staff)
    ("GET", "/api/v1/samples"): ALL,
    ("POST", "/api/v1/samples"): STAFF,
    ("POST", "/api/v1/samples/import"): STAFF,
    ("GET", "/api/v1/samples/{barcode}"): ALL,
    ("PATCH", "/api/v1/samples/{barcode}"): STAFF,     # per field: identity and clinical fields managers only
    ("POST", "/api/v1/samples/corrections"): STAFF,    # per column, as PATCH
    ("POST", "/api/v1/samples/{barcode}/move"): STAFF,
    ("POST", "/api/v1/samples/{barcode}/checkout"): STAFF,
    ("POST", "/api/v1/samples/{barcode}/return"): STAFF,
    ("POST", "/api/v1/samples/{barcode}/aliquot"): STAFF,
    ("POST", "/api/v1/samples/{barcode}/discard"): STAFF,
    ("POST", "/api/v1/samples/{barcode}/release-home"): STAFF,
    ("GET", "/api/v1/samples/{barcode}/history"): STAFF,
    ("POST", "/api/v1/donors/{donor}/withdraw-consent"): MANAGERS,
    # custody and reports (technicians: read)
    ("GET", "/api/v1/audit"): STAFF,
    ("GET", "/api/v1/audit/verify"): STAFF,
    ("GET", "/api/v1/audit/export"): STAFF,
    ("GET", "/api/v1/audit/verifications"): STAFF,
    ("POST", "/api/v1/audit/verifications"): STAFF,
    ("GET", "/api/v1/capacity"): STAFF,
    ("POST", "/api/v1/containers/{container_id}/reconcile"): STAFF,
    ("POST", "/api/v1/containers/{container_id}/reconcile/apply"): MANAGERS,
    ("GET", "/api/v1/samples/{barcode}/fhir"): STAFF,
    ("GET", "/api/v1/directory"): STAFF,
    # requests
    ("GET", "/api/v1/catalogue"): ALL,
    ("GET", "/api/v1/requests"): ALL,            # researchers: their own
    ("POST", "/api/v1/requests"): REQUESTERS,
    ("GET", "/api/v1/requests/{request_id}"): ALL,   # researchers: their own
    ("POST", "/api/v1/requests/{request_id}/submit"): REQUESTERS,
    ("POST", "/api/v1/requests/{request_id}/approve"): MANAGERS,
    ("POST", "/api/v1/requests/{request_id}/reject"): MANAGERS,
    ("POST", "/api/v1/requests/{request_id}/cancel"): REQUESTERS,
    ("POST", "/api/v1/requests/{request_id}/items/{barcode}/remove"): MANAGERS,
    ("POST", "/api/v1/requests/{request_id}/complete"): ALL,   # the requester, or staff on their behalf
    ("GET", "/api/v1/requests/{request_id}/picklist"): STAFF,
    ("GET", "/api/v1/requests/{request_id}/criteria/{criterion_id}/proposal"): MANAGERS,
    ("POST", "/api/v1/requests/{request_id}/criteria/{criterion_id}/fill"): MANAGERS,
    ("POST", "/api/v1/requests/{request_id}/pick"): STAFF,
    ("POST", "/api/v1/requests/{request_id}/ship"): STAFF,
    ("GET", "/api/v1/requests/{request_id}/manifest"): ALL,   # staff, or the requester
    # labels (print labels: staff)
    ("GET", "/api/v1/samples/{barcode}/label"): STAFF,
    ("GET", "/api/v1/containers/{container_id}/labels"): STAFF,
    ("GET", "/api/v1/containers/{container_id}/label"): STAFF,
    ("POST", "/api/v1/samples/{barcode}/label"): STAFF,
    ("POST", "/api/v1/containers/{container_id}/labels"): STAFF,
    ("POST", "/api/v1/containers/{container_id}/label"): STAFF,
    ("POST", "/api/v1/labels"): STAFF,
    # monitoring (readings and alarms: staff; limits: managers)
    ("GET", "/api/v1/containers/{container_id}/readings"): STAFF,
    ("POST", "/api/v1/containers/{container_id}/readings"): STAFF,
    ("POST", "/api/v1/containers/{container_id}/readings/import"): STAFF,
    ("GET", "/api/v1/containers/{container_id}/limits"): STAFF,
    ("PATCH", "/api/v1/containers/{container_id}/limits"): MANAGERS,
    ("GET", "/api/v1/containers/{container_id}/tank-log"): STAFF,
    ("POST", "/api/v1/containers/{container_id}/tank-log"): STAFF,
    ("GET", "/api/v1/containers/{container_id}/evacuation-plan"): STAFF,
    ("POST", "/api/v1/containers/{container_id}/evacuation-plan/moves"): STAFF,
    ("GET", "/api/v1/alarms"): STAFF,
    ("POST", "/api/v1/alarms/check"): STAFF,
    ("GET", "/api/v1/alarms/{alarm_id}"): STAFF,
    ("POST", "/api/v1/alarms/{alarm_id}/acknowledge"): STAFF,
    # the network: sites, staff by site, shipments between sites
    ("GET", "/api/v1/sites"): ALL,
    ("POST", "/api/v1/sites"): NETWORK,
    ("PATCH", "/api/v1/users/{username}"): ADMIN,
    ("GET", "/api/v1/network"): STAFF,
    ("GET", "/api/v1/shipments"): STAFF,
    ("POST", "/api/v1/shipments"): STAFF,
    ("GET", "/api/v1/shipments/{shipment_id}"): STAFF,
    ("POST", "/api/v1/shipments/{shipment_id}/items"): STAFF,
    ("DELETE", "/api/v1/shipments/{shipment_id}/items/{barcode}"): STAFF,
    ("POST", "/api/v1/shipments/{shipment_id}/dispatch"): STAFF,
    ("POST", "/api/v1/shipments/{shipment_id}/cancel"): STAFF,
    ("POST", "/api/v1/shipments/{shipment_id}/receive"): STAFF,
    ("POST", "/api/v1/shipments/{shipment_id}/close"): STAFF,
    ("GET", "/api/v1/shipments/{shipment_id}/manifest"): STAFF,
}


def _operations(spec):
    for path, item in spec["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path


def test_every_documented_operation_has_a_row_in_the_role_table(app):
    spec = app.test_client().get("/api/v1/openapi.json").json
    documented = set(_operations(spec))
    missing = sorted(documented - set(EXPECTED))
    stale = sorted(set(EXPECTED) - documented)
    assert not missing, f"operations without a row in EXPECTED (decide who may use them): {missing}"
    assert not stale, f"rows in EXPECTED for operations that no longer exist: {stale}"


def _world(make):
    tank = make.tank(racks=1, boxes_per_rack=2, rows=4, cols=4, name="Authz tank")
    box, other = make.boxes_of(tank)
    make.sample("AZ-1", box=box, position="A1", volume="4.0", donor="DZ1")
    make.sample("AZ-2", box=box, position="A2", volume="4.0", donor="DZ2")
    researcher = make._user_of("researcher")
    request = requests_service.create_request(make.actor("researcher"), title="Authz", purpose="tests",
                                              ethics_reference="EC-1", samples=["AZ-2"],
                                              criteria=[{"count": 1, "sample_type": "plasma"}])
    far = network_service.create_site(make.admin, code="AZR", name="Authz regional")
    shipment = shipments.create_shipment(make.admin, from_site=scope.default_site().id, to_site=far.id,
                                         condition="dry_ice")
    db.session.commit()
    make.user("technician", username="authz-tech")
    return {"container_id": box.id, "other_id": other.id, "barcode": "AZ-1", "donor": "DZ1", "username": "authz-tech",
            "request_id": request.id, "criterion_id": request.criteria[0].id, "specimen_id": 1, "box_barcode": box.barcode,
            "researcher": researcher.id, "rack_id": box.parent_id, "alarm_id": _alarm(tank),
            "shipment_id": shipment.id, "username": researcher.username,
            "main_site": scope.default_site().id, "far_site": far.id}


def _alarm(tank) -> int:
    from datetime import timedelta
    from biobank.core.time import utcnow
    from biobank.monitoring import service as monitoring
    when = (utcnow() - timedelta(minutes=5)).isoformat()
    monitoring.set_limits(monitoring.MONITOR, tank.id, max_temperature_c=-150)
    result = monitoring.record_readings(monitoring.MONITOR, tank.id, [{"at": when, "sensor": "p", "temperature_c": 20}])
    db.session.commit()
    return result.alarms_opened[0].id


def _call(client, method, path, world, token):
    url = path
    for name in ("container_id", "barcode", "donor", "request_id", "criterion_id", "specimen_id", "alarm_id",
                 "shipment_id", "username"):
        url = url.replace("{%s}" % name, str(world[name]))
    url = url.replace("/by-barcode/{barcode}", f"/by-barcode/{world['box_barcode']}")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {"headers": headers}
    bodies = {
        "/api/v1/auth/token": {"username": "nobody-here", "password": "wrong-password"},
        "/api/v1/containers": {"name": "Authz box", "kind": "box", "rows": 2, "cols": 2},
        "/api/v1/containers/layout": {"name": "Authz layout", "kind": "tank", "racks": 1, "boxes_per_rack": 1,
                                      "rows": 2, "cols": 2},
        "/api/v1/samples": {"barcode": "AZ-NEW", "sample_type": "plasma",
                            "location": {"container_id": world["other_id"], "position": "D4"}},
        "/api/v1/samples/{barcode}/move": {"container_id": world["other_id"], "position": "C3", "reason": "r"},
        "/api/v1/samples/{barcode}/checkout": {"reason": "assay"},
        "/api/v1/samples/{barcode}/return": {"thawed": False},
        "/api/v1/samples/{barcode}/aliquot": {"count": 1, "volume": "0.1", "strategy": "compact"},
        "/api/v1/samples/{barcode}/discard": {"reason": "authz probe"},
        "/api/v1/samples/{barcode}/release-home": {"reason": "authz probe"},
        "/api/v1/requests/{request_id}/items/{barcode}/remove": {"reason": "authz probe"},
        "/api/v1/donors/{donor}/withdraw-consent": {"reason": "letter"},
        "/api/v1/containers/{container_id}/reconcile/apply": {
            "corrections": [{"barcode": "AZ-1", "position": "A1"}]},
        "/api/v1/requests": {"title": "t", "purpose": "p", "ethics_reference": "e", "samples": ["AZ-1"]},
        "/api/v1/requests/{request_id}/approve": {},
        "/api/v1/requests/{request_id}/criteria/{criterion_id}/fill": {"samples": ["AZ-1"]},
        "/api/v1/requests/{request_id}/reject": {"reason": "no"},
        "/api/v1/requests/{request_id}/cancel": {"reason": "no"},
        "/api/v1/requests/{request_id}/pick": {"barcode": "AZ-2"},
        "/api/v1/requests/{request_id}/ship": {"recipient": "Lab", "courier": "C"},
        "/api/v1/labels": {"barcodes": ["AZ-1"]},
        "/api/v1/containers/{container_id}/move": {"parent_id": world["rack_id"], "reason": "authz probe"},
        "/api/v1/containers/{container_id}/readings": [{"at": "2026-01-01T00:00:00Z", "sensor": "p",
                                                        "temperature_c": -190}],
        "/api/v1/containers/{container_id}/limits": {"max_silence_minutes": 20},
        "/api/v1/containers/{container_id}/tank-log": {"kind": "refill", "litres": 10},
        "/api/v1/containers/{container_id}/evacuation-plan/moves": {"barcode": "AZ-1"},
        "/api/v1/alarms/{alarm_id}/acknowledge": {"note": "seen"},
        "/api/v1/sites": {"code": "AZS", "name": "Authz site"},
        "/api/v1/users/{username}": {"active": True, "sites": ["MAIN"]},
        "/api/v1/shipments": {"from_site": world["main_site"], "to_site": world["far_site"], "condition": "2to8"},
        "/api/v1/shipments/{shipment_id}/items": {"barcode": "AZ-1"},
        "/api/v1/shipments/{shipment_id}/receive": {"barcode": "AZ-1"},
        "/api/v1/shipments/{shipment_id}/close": {"missing": [], "unexpected": []},
        "/api/v1/auth/password": {"current_password": "not-the-password", "new_password": "fresh-larch-2040"},
        "/api/v1/auth/password-reset": {"code": "NOT-A-REAL-CODE", "new_password": "fresh-larch-2040"},
        "/api/v1/auth/me": {"language": "ru"},
        "/api/v1/users": {"username": "authz-new", "role": "researcher"},
    }
    if path == "/api/v1/containers/{container_id}/readings/import":
        kwargs.update(data="at,temperature_c,sensor\n2026-01-02T00:00:00Z,-190,p\n", content_type="text/csv")
    elif path == "/api/v1/samples/import":
        kwargs.update(data="barcode,sample_type,donor\nAZ-IMP,plasma,DZ9\n", content_type="text/csv")
    elif path == "/api/v1/containers/{container_id}/reconcile":
        kwargs.update(data={"file": (io.BytesIO(b"A1,AZ-1\n"), "scan.csv")}, content_type="multipart/form-data")
    elif path == "/api/v1/samples/corrections":
        kwargs.update(data="barcode,notes,reason\nAZ-1,authz csv,probe\n", content_type="text/csv")
    elif method == "PATCH" and path not in bodies:
        kwargs["json"] = {"notes": f"authz {token}", "reason": "probe"}
    elif method in ("POST", "PATCH"):
        kwargs["json"] = bodies.get(path, {})
    response = client.open(url, method=method, **kwargs)
    response.get_data()  # streamed exports run to the end
    response.close()
    return response


def test_each_role_gets_exactly_what_the_role_table_allows(app, make):
    world = _world(make)
    spec = app.test_client().get("/api/v1/openapi.json").json
    users = {role: make._user_of(role) for role in ROLES}
    for user in users.values():  # staff of both ends of the shipment (site scope: the test below)
        network_service.set_user_sites(make.admin, user.username, ["MAIN", "AZR"])
    idle()
    client = app.test_client()
    wrong = []
    checked = 0
    for method, path in sorted(_operations(spec), key=lambda op: (op[1], op[0])):
        allowed_roles = EXPECTED.get((method, path))
        if allowed_roles is None:
            continue  # reported by the test above
        for role in (None,) + ROLES:
            token = issue_token(users[role], 1)[0] if role else None
            idle()
            response = _call(client, method, path, world, token)
            body = response.get_json(silent=True)
            status, code = response.status_code, body.get("code") if isinstance(body, dict) else None
            checked += 1
            if allowed_roles == PUBLIC:
                ok = status not in (403,) and status < 500
            elif role is None:
                ok = status == 401 and code in ("not_authenticated", "invalid_credentials")
            elif role in allowed_roles:
                ok = status not in (401, 403) and status < 500
            else:
                ok = status == 403 and code == "not_permitted"
            if not ok:
                wrong.append(f"{method} {path} as {role or 'anonymous'}: {status} {code}")
            db.session.rollback()
    assert not wrong, "\n".join(wrong)
    assert checked >= 6 * 55


# -- site scope: outside the network roles every row holds only at the user's own sites ----------
# (method, path, body, permission) acted on a box at the default site; staff of another site get
# 403 other_site, the default site's own staff and the network roles do not.
SITE_SCOPED = [
    ("POST", "/api/v1/containers", lambda w: {"name": "Scoped box", "kind": "box", "rows": 2, "cols": 2,
                                               "parent_id": w["rack_id"]}, MANAGERS),
    ("POST", "/api/v1/containers/layout", lambda w: {"name": "Scoped", "kind": "tank", "racks": 1,
                                                      "boxes_per_rack": 1, "rows": 2, "cols": 2,
                                                      "parent_id": w["site_container"]}, MANAGERS),
    ("POST", "/api/v1/samples", lambda w: {"barcode": "SC-NEW", "sample_type": "plasma",
                                           "location": {"container_id": w["other_id"], "position": "D4"}}, STAFF),
    ("POST", "/api/v1/samples", lambda w: {"barcode": "SC-NEW2", "sample_type": "plasma",
                                           "location": {"strategy": "compact", "within": w["site_container"]}},
     STAFF),
    ("POST", "/api/v1/samples/AZ-1/move", lambda w: {"container_id": w["other_id"], "position": "C3"}, STAFF),
    ("POST", "/api/v1/samples/AZ-1/checkout", lambda w: {"reason": "assay"}, STAFF),
    ("POST", "/api/v1/samples/AZ-1/aliquot", lambda w: {"count": 1, "volume": "0.1"}, STAFF),
    ("POST", "/api/v1/samples/AZ-1/discard", lambda w: {"reason": "probe"}, STAFF),
    ("POST", "/api/v1/donors/DZ1/withdraw-consent", lambda w: {"reason": "letter"}, MANAGERS),
    ("POST", "/api/v1/containers/{container_id}/reconcile/apply",
     lambda w: {"corrections": [{"barcode": "AZ-1", "position": "A1"}]}, MANAGERS),
    ("POST", "/api/v1/requests/{request_id}/approve", lambda w: {}, MANAGERS),
    ("GET", "/api/v1/capacity?within={site_container}", None, STAFF),
    ("POST", "/api/v1/shipments", lambda w: {"from_site": w["main_site"], "to_site": w["far_site"],
                                             "condition": "ambient"}, STAFF),
    ("POST", "/api/v1/shipments/{shipment_id}/items", lambda w: {"barcode": "AZ-1"}, STAFF),
]


def test_staff_of_another_site_may_not_act_here(app, make):
    world = _world(make)
    requests_service.submit_request(make.actor("researcher"), world["request_id"])
    box = db.session.get(Container, world["container_id"])
    world.update(rack_id=box.parent_id, site_container=scope.default_site().container_id)
    outsiders = {role: create_user(make.admin, f"far-{role}", "test-password-1", role, sites=["AZR"])
                 for role in ("technician", "manager")}
    insiders = {role: make._user_of(role) for role in ("technician", "manager", "network_manager")}
    idle()
    client = app.test_client()
    wrong = []
    for method, path, body, roles in SITE_SCOPED:
        url = path.format(**world) if "{" in path else path
        for role, user in list(outsiders.items()) + list(insiders.items()):
            if role not in roles:
                continue
            token = issue_token(user, 1)[0]
            idle()
            response = client.open(url, method=method, headers={"Authorization": f"Bearer {token}"},
                                   json=body(world) if body else None)
            code = (response.get_json(silent=True) or {}).get("code")
            outsider = user in outsiders.values()
            ok = (response.status_code == 403 and code == "other_site") if outsider else \
                (response.status_code != 403 and response.status_code < 500)
            if not ok:
                wrong.append(f"{method} {url} as {'far ' if outsider else ''}{role}: {response.status_code} {code}")
            db.session.rollback()
    assert not wrong, "\n".join(wrong)
