"""A real OpenLDAP server (Debian's slapd) for the tests: a generated slapd.conf in a temporary
folder, an mdb database, a free loopback port, entries loaded with ldap3."""
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import ldap3

from biobank.core.ports import free_port

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SCHEMA = Path("/etc/ldap/schema")
BASE = "dc=hospital,dc=example"
ROOT_DN, ROOT_PASSWORD = f"cn=admin,{BASE}", "root-secret"
SERVICE_DN, SERVICE_PASSWORD = f"cn=biobank,ou=services,{BASE}", "service-secret"

CONFIG = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {schema}/nis.schema
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
access to attrs=userPassword by self write by anonymous auth by * none
access to * by dn.exact="{service}" read by self read by anonymous auth by * none
database mdb
maxsize 10485760
suffix "{base}"
rootdn "{root}"
rootpw {root_password}
directory {folder}/data
"""


def available() -> str | None:
    """Why slapd cannot run here, or None."""
    if not os.path.exists(SLAPD):
        return "slapd is not installed (apt-get install slapd)"
    if not (SCHEMA / "inetorgperson.schema").exists():
        return "the OpenLDAP schema files are missing (/etc/ldap/schema)"
    return None


class Directory:
    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        (folder / "data").mkdir(parents=True)
        (folder / "slapd.conf").write_text(CONFIG.format(schema=SCHEMA, folder=folder, base=BASE, root=ROOT_DN,
                                                         root_password=ROOT_PASSWORD, service=SERVICE_DN))
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([SLAPD, "-f", str(folder / "slapd.conf"), "-h", self.url + "/", "-d", "0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("slapd stopped: " + self.process.stdout.read().decode(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        self._load()

    def admin(self) -> ldap3.Connection:
        return ldap3.Connection(ldap3.Server(self.url), ROOT_DN, ROOT_PASSWORD, auto_bind=True)

    def _load(self):
        with self.admin() as c:
            c.add(BASE, ["top", "dcObject", "organization"], {"o": "Hospital", "dc": "hospital"})
            for ou in ("people", "groups", "services"):
                c.add(f"ou={ou},{BASE}", ["organizationalUnit"], {"ou": ou})
            c.add(SERVICE_DN, ["organizationalRole", "simpleSecurityObject"],
                  {"cn": "biobank", "userPassword": SERVICE_PASSWORD})

    def add_user(self, uid, password, mail=None, groups=()):
        dn = f"uid={uid},ou=people,{BASE}"
        attributes = {"uid": uid, "cn": uid, "sn": uid, "userPassword": password}
        if mail:
            attributes["mail"] = mail
        with self.admin() as c:
            assert c.add(dn, ["inetOrgPerson"], attributes), c.result
            for group in groups:
                group_dn = f"cn={group},ou=groups,{BASE}"
                if not c.search(group_dn, "(objectClass=*)", search_scope=ldap3.BASE):
                    assert c.add(group_dn, ["groupOfNames"], {"cn": group, "member": dn}), c.result
                else:
                    c.modify(group_dn, {"member": [(ldap3.MODIFY_ADD, [dn])]})
        return dn

    def leave_group(self, uid, group):
        with self.admin() as c:
            assert c.modify(f"cn={group},ou=groups,{BASE}",
                            {"member": [(ldap3.MODIFY_DELETE, [f"uid={uid},ou=people,{BASE}"])]}), c.result

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process.stdout.close()
