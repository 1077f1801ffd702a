"""Biobank sample inventory: storage, samples, chain of custody, requests."""
from flask import Flask

from . import config


def create_app(test_config: dict | None = None) -> Flask:
    instance = config.instance_path()
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True)
    app.config.update(config.build_config(instance))
    if test_config:
        app.config.update(test_config)
    # JSON keys in the order the answer builds them; sorting every dict of a box
    # map's 100 cells on every request bought nothing.
    app.json.sort_keys = False

    from .core import db as _db_events  # noqa: F401  (SQLite pragmas, BEGIN IMMEDIATE)
    from .core import error_mapping, i18n, replica, requests as request_hooks, security
    from .extensions import api, babel, csrf, db, login_manager, migrate
    from .network import scope

    _import_models()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.MIGRATIONS_DIR))
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.register(app, babel, home_site_settings=scope.home_site_settings)
    request_hooks.register(app)
    replica.register(app)
    security.register(app)
    security.document_errors(api)
    api.init_app(app)
    _register_api(api, csrf)
    _register_web(app)
    error_mapping.register(app)  # after api.init_app: our JSON error shape wins
    _register_cli(app)
    _auth_loaders(login_manager)
    return app


def _import_models():
    from .auth import models as _auth  # noqa: F401
    from .custody import models as _custody  # noqa: F401
    from .samples import models as _samples  # noqa: F401
    from .storage import models as _storage  # noqa: F401
    from .requests import models as _requests  # noqa: F401
    from .reports import models as _reports  # noqa: F401
    from .mail import models as _mail  # noqa: F401
    from .mail import sender as _mail_sender  # noqa: F401  (delivery after the commit)
    from .monitoring import models as _monitoring  # noqa: F401
    from .network import models as _network  # noqa: F401


def _register_api(api, csrf):
    from .auth.api import blp as auth_blp
    from .auth.users_api import blp as users_blp
    from .custody.api import blp as audit_blp
    from .samples.api import blp as samples_blp, donors_blp
    from .storage.api import blp as containers_blp
    from .labels.api import blp as labels_blp
    from .requests.api import blp as requests_blp
    from .reports.api import blp as reports_blp
    from .monitoring.api import blp as monitoring_blp
    from .network.api import blp as sites_blp
    from .network.shipments_api import blp as shipments_blp, network_blp
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blp in (auth_blp, containers_blp, samples_blp, donors_blp, audit_blp, labels_blp, requests_blp,
                reports_blp, users_blp, monitoring_blp, sites_blp, shipments_blp, network_blp):
        csrf.exempt(blp)  # checked in core.requests for cookie-authenticated calls
        api.register_blueprint(blp)


def _register_web(app):
    from .auth.web import blp as auth_web
    from .auth.users_web import blp as users_web
    from .samples.consent_web import blp as consent_web
    from .labels.print_web import blp as print_web
    from .core.docs import blp as docs_blp
    from .core.web import blp as core_web
    from .custody.web import blp as custody_web
    from .labels.web import blp as labels_web
    from .reports.web import blp as reports_web
    from .requests.web import blp as requests_web
    from .samples.web import blp as samples_web
    from .storage.web import blp as storage_web
    from .monitoring.web import blp as monitoring_web
    from .network.web import blp as network_web
    from .samples import corrections_web as _corrections_web  # noqa: F401  (its views join samples_web)
    from .storage import moves_web as _moves_web  # noqa: F401  (its views join storage_web)
    for blp in (docs_blp, auth_web, core_web, storage_web, samples_web, custody_web, labels_web, requests_web,
                reports_web, monitoring_web, network_web, users_web, consent_web, print_web):
        app.register_blueprint(blp)
    _register_fhir(app)
    _register_sso(app)


def _register_sso(app):
    """Sign-in with the hospital's OpenID provider (/login/oidc) and the login page's button for it."""
    from .sso import oidc, settings
    from .sso.web import blp as sso_web
    app.register_blueprint(sso_web)

    @app.context_processor
    def oidc_button():
        return {"oidc_label": oidc.label() if settings.oidc_configured() else None}


def _register_fhir(app):
    """The FHIR R4 base at /fhir and, for clients configured with the API's base, /api/v1/fhir."""
    from .extensions import csrf
    from .fhir.api import blp as fhir_blp
    csrf.exempt(fhir_blp)  # read-only, bearer token
    app.register_blueprint(fhir_blp, url_prefix="/fhir")
    app.register_blueprint(fhir_blp, url_prefix="/api/v1/fhir", name="fhir_api")


def _register_cli(app):
    from .auth.cli import users_cli
    from .custody.cli import audit_cli
    from .samples.cli import import_cli
    from .samples.corrections_cli import correct_cli
    from .core.cli import demo_command, serve_command
    from .labels.cli import labels_cli
    from .core.backup_cli import backup_command, restore_command
    from .mail.cli import mail_cli
    from .monitoring.cli import monitor_cli
    from .reports.cli import capacity_cli, directory_cli
    from .network.cli import set_sites_command, sites_cli
    set_sites_command(users_cli)
    for command in (users_cli, audit_cli, import_cli, demo_command, serve_command, labels_cli, backup_command,
                    restore_command, mail_cli, correct_cli, monitor_cli, directory_cli, sites_cli,
                    capacity_cli):
        app.cli.add_command(command)


def _auth_loaders(login_manager):
    from .auth.service import user_for_token
    from .auth.sessions import user_for_session

    login_manager.login_view = "auth_web.login"
    login_manager.login_message = "Please log in."

    @login_manager.user_loader
    def load_user(user_id):
        return user_for_session(user_id)

    @login_manager.request_loader
    def load_from_bearer(request):
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return user_for_token(header[7:].strip())
        return None

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import redirect, request, url_for
        from .core.errors import NotAuthenticated
        if request.path.startswith("/api/"):
            raise NotAuthenticated("Log in or send a bearer token.")
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("auth_web.login", next=target))
