"""Real directory servers for the sign-in tests: OpenLDAP (slapd) and an OpenID provider
(the npm package oidc-provider under Node.js). Missing: the tests skip with the reason;
under CI=true they fail."""
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from biobank.core.ports import free_port

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


PROVIDER = Path(__file__).parent / "provider"
CLIENT_ID, CLIENT_SECRET = "biobank", "provider-test-secret"


def provider_unavailable() -> str | None:
    if not shutil.which("node"):
        return "Node.js is not installed"
    if not (PROVIDER / "node_modules" / "oidc-provider").exists():
        return "the OpenID provider is not installed (npm ci --prefix tests/auth_sso/provider)"
    return None


class OpenIdProvider:
    """oidc-provider under Node.js on a free port, with the accounts given."""

    def __init__(self, redirect_uri: str, accounts: dict):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PORT=str(self.port), CLIENT_ID=CLIENT_ID, CLIENT_SECRET=CLIENT_SECRET,
                   REDIRECT_URI=redirect_uri, ACCOUNTS=json.dumps(accounts))
        self.process = subprocess.Popen(["node", str(PROVIDER / "server.mjs")], env=env, cwd=PROVIDER,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the OpenID provider stopped: " + self.process.stdout.read().decode())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the OpenID provider did not start")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process.stdout.close()


ACCOUNTS = {
    "aziza": {"preferred_username": "aziza.k", "email": "aziza@hospital.example", "email_verified": True,
              "name": "Aziza K.", "groups": ["biobank-managers", "staff"]},
    "timur": {"preferred_username": "timur", "email": "timur@hospital.example", "groups": ["research"]},
    "guest": {"preferred_username": "guest", "groups": ["visitors"]},
}


@pytest.fixture
def openid_provider(app):
    """(provider, configure(base_url)): an OpenID provider whose client redirects to base_url."""
    need(provider_unavailable())
    started = []

    def start(base_url="http://localhost"):
        provider = OpenIdProvider(f"{base_url}/login/oidc/callback", ACCOUNTS)
        started.append(provider)
        app.config.update(BIOBANK_OIDC_ISSUER=provider.issuer, BIOBANK_OIDC_CLIENT_ID=CLIENT_ID,
                          BIOBANK_OIDC_CLIENT_SECRET=CLIENT_SECRET,
                          BIOBANK_OIDC_SCOPES="openid email profile groups", BIOBANK_SSO_ROLE_MAP=ROLE_MAP)
        return provider
    yield start
    for provider in started:
        provider.stop()
