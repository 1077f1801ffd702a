"""Two sites with a tank each and staff at each: the smallest network."""
import os
import shutil
from types import SimpleNamespace

import pytest

from biobank.auth.service import create_user, issue_token
from biobank.core.actor import Actor
from biobank.extensions import db
from biobank.network import service as sites
from biobank.storage import service as storage

from ..factories import PASSWORD, ApiClient


@pytest.fixture
def network(app, make):
    """The default site (MAIN) with a tank, a regional centre (REG) with a tank, and a technician
    and a manager at each; `api(user)` is a bearer client for one of them."""
    regional = sites.create_site(make.admin, code="REG", name="Regional Centre", time_zone="Asia/Samarkand")
    main_tank = make.tank(racks=1, boxes_per_rack=2, rows=3, cols=3, name="Main tank")
    reg_tank = storage.build_layout(make.admin, parent_id=regional.container_id, name="Regional tank", racks=2,
                                    boxes_per_rack=2, rows=3, cols=3)
    users = {}
    for username, role, code in (("tech_main", "technician", None), ("tech_reg", "technician", "REG"),
                                 ("mgr_main", "manager", None), ("mgr_reg", "manager", "REG"),
                                 ("netmgr", "network_manager", None)):
        users[username] = create_user(make.admin, username, PASSWORD, role, sites=[code] if code else None)
    db.session.commit()
    main_site = sites.site_by_code("MAIN")

    def actor(username):
        user = users[username]
        return Actor(username=user.username, role=user.role, user_id=user.id, via="cli")

    def api(username):
        token, _ = issue_token(users[username], 1)
        db.session.commit()
        return ApiClient(app.test_client(), token)

    return SimpleNamespace(main=main_site, regional=regional, main_tank=main_tank, reg_tank=reg_tank,
                           main_boxes=make.boxes_of(main_tank), reg_boxes=make.boxes_of(reg_tank),
                           reg_racks=list(reg_tank.children), actor=actor, api=api, users=users)


# The browser fixtures of the web tests (a live server, a page, signing in), for the shipment pages.
from ..web.conftest import _test_thread_reads_lightly, browser_page, live_server, sign_in  # noqa: E402,F401
