from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..core import i18n
from ..core.lazy_text import lazy_gettext as _l
from ..core.errors import DomainError, NotAuthenticated
from ..core.languages import LANGUAGES, checked_language
from ..core.permissions import allowed
from ..core.redirects import local_path
from ..core.requests import current_actor
from ..core.web import scan_page
from ..reports import dashboard
from . import accounts, service, sessions
from .passwords import MIN_LENGTH

blp = Blueprint("auth_web", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(message=_l("Enter your username.")),
                                                       Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(message=_l("Enter your password."))])


PASSWORD_HINT = _l("At least %(num)d characters and not a common password; a few unrelated words work well.",
                   num=MIN_LENGTH)


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(_l("Enter your current password."))])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(_l("Choose a new password.")),
                                                                 Length(max=256)])
    repeat = PasswordField(_l("New password again"), validators=[
        DataRequired(_l("Type the new password again.")), EqualTo("new_password", _l("The two new passwords differ."))])


class ResetForm(FlaskForm):
    code = StringField(_l("One-time code"), validators=[DataRequired(_l("Enter the code from the admin.")),
                                                        Length(max=64)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(_l("Choose a new password.")),
                                                                 Length(max=256)])
    repeat = PasswordField(_l("New password again"), validators=[
        DataRequired(_l("Type the new password again.")), EqualTo("new_password", _l("The two new passwords differ."))])


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language of your pages"),
                           choices=[("", _l("As my browser asks"))] + list(LANGUAGES.items()))


def _safe_next(target: str | None) -> str:
    return local_path(target) or url_for("auth_web.home")


@blp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("auth_web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.username.data.strip(), form.password.data)
        except NotAuthenticated as exc:
            return render_template("auth/login.html", form=form, error=exc.message), 401
        language = session.get(i18n.SESSION_KEY)
        session.clear()  # nothing from before the login carries over into the new session...
        if language:
            session[i18n.SESSION_KEY] = language  # ...but the language chosen on the login page
        sessions.start(user)
        login_user(user)
        flash(_("Welcome, %(user)s.", user=user.username), "info")
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), (422 if form.errors else 200)


@blp.post("/logout")
@login_required
def logout():
    """Log out: the session ends on the server too, so a copy of the cookie no longer works."""
    language = current_user.language or session.get(i18n.SESSION_KEY)
    sessions.end_current()
    logout_user()
    session.clear()
    if language:
        session[i18n.SESSION_KEY] = language  # the login page stays in the language they read
    flash(_("Logged out."), "info")
    return redirect(url_for("auth_web.login"))


@blp.post("/language")
def set_language():
    """The language switcher: the choice is kept in the session, and a logged-in user's setting
    changes with it (the account page's form posts here too; "" clears the setting)."""
    try:
        language = checked_language(request.form.get("language"))
        if current_user.is_authenticated:
            accounts.set_own_language(current_actor(), language)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(_safe_next(request.form.get("next")))
    if language:
        session[i18n.SESSION_KEY] = language
    else:
        session.pop(i18n.SESSION_KEY, None)
    return redirect(_safe_next(request.form.get("next")))


@blp.get("/")
@login_required
def home():
    """A home per role: managers (and admins) see what needs them today, technicians the scan
    page, researchers the catalogue."""
    actor = current_actor()
    if allowed(actor, "requests.decide"):
        return render_template("home/manager.html", sections=dashboard.sections(actor))
    if allowed(actor, "samples.identified"):
        return scan_page()
    if allowed(actor, "catalogue.search") and "requests_web.catalogue" in current_app.view_functions:
        return redirect(url_for("requests_web.catalogue"))
    return render_template("home.html")


@blp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Your account: who you are, and changing your password."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            accounts.change_own_password(current_actor(), form.current_password.data, form.new_password.data,
                                         keep_session_id=sessions.current_id())
        except DomainError as exc:
            form.new_password.errors = list(form.new_password.errors) + [exc.message] \
                if exc.code == "weak_password" else form.new_password.errors
            if exc.code != "weak_password":
                form.current_password.errors = list(form.current_password.errors) + [exc.message]
            return _account_page(form, exc.status)
        flash(_("Password changed. You are logged out on every other workstation."), "success")
        return redirect(url_for("auth_web.account"))
    return _account_page(form, 422 if form.errors else 200)


def _account_page(form, status):
    language_form = LanguageForm(formdata=None, language=current_user.language or "")
    return render_template("auth/account.html", form=form, hint=PASSWORD_HINT, language_form=language_form), status


@blp.route("/reset-password", methods=["GET", "POST"])
@blp.route("/reset-password/<code>", methods=["GET", "POST"])
def reset_password(code=None):
    """Set a password with the one-time code an admin handed over (no login needed)."""
    form = ResetForm(code=code) if request.method == "GET" else ResetForm()
    if form.validate_on_submit():
        try:
            user = accounts.use_reset(form.code.data, form.new_password.data)
        except DomainError as exc:
            target = form.new_password if exc.code == "weak_password" else form.code
            target.errors = list(target.errors) + [exc.message]
            return render_template("auth/reset.html", form=form, hint=PASSWORD_HINT), exc.status
        if current_user.is_authenticated:
            sessions.end_current()
            logout_user()
        flash(_("Password set for %(user)s. Log in with it now.", user=user.username), "success")
        return redirect(url_for("auth_web.login"))
    response = render_template("auth/reset.html", form=form, hint=PASSWORD_HINT), (422 if form.errors else 200)
    return response
