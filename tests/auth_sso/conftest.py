"""Real directory servers for the sign-in tests: OpenLDAP (slapd) and an OpenID provider
(the npm package oidc-provider under Node.js). Missing: the tests skip with the reason;
under CI=true they fail."""
import os

import pytest

from . import directory

IN_CI = os.environ.get("CI", "").lower() == "true"
ROLE_MAP = "biobank-admins=admin; biobank-managers=manager; lab-staff=technician; research=researcher"


def need(reason: str | None):
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true requires it: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    need(directory.available())
    server = directory.Directory(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


@pytest.fixture
def ldap_app(app, slapd):
    app.config.update(BIOBANK_LDAP_URL=slapd.url, BIOBANK_LDAP_BASE_DN=f"ou=people,{directory.BASE}",
                      BIOBANK_LDAP_GROUP_BASE_DN=f"ou=groups,{directory.BASE}",
                      BIOBANK_LDAP_BIND_DN=directory.SERVICE_DN, BIOBANK_LDAP_BIND_PASSWORD=directory.SERVICE_PASSWORD,
                      BIOBANK_SSO_ROLE_MAP=ROLE_MAP)
    return app
