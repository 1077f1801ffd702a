"""Test data with defaults any test can override."""
import itertools

from biobank.auth.service import create_user, issue_token
from biobank.core.actor import Actor, system_actor
from biobank.extensions import db
from biobank.samples import service as samples
from biobank.storage import service as storage

PASSWORD = "test-password-1"
_counter = itertools.count(1)


class ApiClient:
    """Calls /api/v1 with a bearer token for one user."""

    def __init__(self, client, token):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method, path, **kwargs):
        headers = dict(self.headers, **kwargs.pop("headers", {}))
        return getattr(self.client, method)("/api/v1" + path, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self._call("get", path, **kw)

    def post(self, path, **kw):
        return self._call("post", path, **kw)

    def patch(self, path, **kw):
        return self._call("patch", path, **kw)

    def delete(self, path, **kw):
        return self._call("delete", path, **kw)


class Factory:
    def __init__(self, app):
        self.app = app
        self.admin = system_actor("test-admin")
        self._users = {}

    def commit(self):
        db.session.commit()

    def user(self, role="technician", username=None):
        username = username or f"{role}{next(_counter)}"
        user = create_user(self.admin, username, PASSWORD, role)
        db.session.commit()
        return user

    def _user_of(self, role):
        from biobank.auth.models import User
        if role not in self._users:
            self._users[role] = self.user(role).id
        return db.session.get(User, self._users[role])

    def actor(self, role="technician") -> Actor:
        return Actor.of(self._user_of(role), via="cli")

    def api_client(self, role: str | None = "technician") -> ApiClient:
        if role is None:
            return ApiClient(self.app.test_client(), None)
        token, _ = issue_token(self._user_of(role), 1)
        db.session.commit()
        return ApiClient(self.app.test_client(), token)

    def box(self, rows=3, cols=3, parent_id=None, **kwargs):
        box = storage.create_container(self.admin, name=kwargs.pop("name", f"Box {next(_counter)}"), kind="box",
                                       parent_id=parent_id, rows=rows, cols=cols, **kwargs)
        db.session.commit()
        return box

    def tank(self, racks=1, boxes_per_rack=2, rows=3, cols=3, name=None, **kwargs):
        tank = storage.build_layout(self.admin, name=name or f"Tank {next(_counter)}", racks=racks,
                                    boxes_per_rack=boxes_per_rack, rows=rows, cols=cols, **kwargs)
        db.session.commit()
        return tank

    def boxes_of(self, container):
        found = []
        for child in container.children:
            found += [child] if child.is_grid else self.boxes_of(child)
        return found

    def sample(self, barcode=None, box=None, position=None, **fields):
        fields.setdefault("sample_type", "plasma")
        fields.setdefault("donor", "D0001")
        fields.setdefault("volume", "1.0")
        location = fields.pop("location", None)
        if location is None:
            location = {"container_id": box.id, "position": position} if box else {"strategy": "compact"}
        sample = samples.register_sample(self.admin, barcode=barcode if barcode is not None else f"S-{next(_counter):06d}",
                                         location=location, **fields)
        db.session.commit()
        return sample
