"""User administration pages (admin): the list, a new user, one user's role, state and password
reset. Each post parses its form, calls one service, flashes and redirects (the reset code is
the exception: it is shown once, on the answer to the post, and never stored in clear)."""
from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from ..core.lazy_text import lazy_gettext as _l
from ..core.errors import DomainError
from ..core.permissions import ROLES, require
from ..core.requests import current_actor
from ..core.web import choices
from . import accounts

blp = Blueprint("users_web", __name__, url_prefix="/admin/users")

# every role the matrix knows, as a select list or a heading names it
_ROLE_TITLES = {"admin": _l("Admin"), "manager": _l("Manager"), "technician": _l("Technician"),
                "researcher": _l("Researcher"), "network_manager": _l("Network manager")}
ROLE_NAMES = {role: _ROLE_TITLES.get(role, role.replace("_", " ").capitalize()) for role in ROLES}
PER_PAGE = 25


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name contains"), validators=[Optional(), Length(max=64)])
    role = SelectField(_l("Role"), choices=choices([("", _l("any role"))] + list(ROLE_NAMES.items())), default="")
    state = SelectField(_l("State"), choices=choices([("", _l("active and disabled")), ("active", _l("active")),
                                                      ("disabled", _l("disabled"))]), default="")
    page = IntegerField(validators=[Optional(), NumberRange(1, 100_000)], default=1)


class NewUserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Choose a username.")),
        Regexp(r"^[A-Za-z0-9_.\-]{2,64}$", message=_l("2..64 letters, digits, _ . or -"))])
    role = SelectField(_l("Role"), choices=choices(list(ROLE_NAMES.items())), default="technician")
    password = PasswordField(_l("Initial password (optional)"), validators=[Optional(), Length(max=256)])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices(list(ROLE_NAMES.items())))


class ConfirmForm(FlaskForm):
    confirm = BooleanField(_l("Yes, I mean it"), validators=[DataRequired(_l("Tick the box to confirm."))])


def _errors(form) -> None:
    for name, errors in form.errors.items():
        for error in errors:
            flash(_("%(field)s: %(error)s", field=getattr(form, name).label.text, error=error), "error")


def _detail(username: str):
    return redirect(url_for("users_web.detail", username=username))


def _show_code(user, code: str, reset, created: bool = False):
    """The one time the code is shown: not cached, not stored."""
    link = url_for("auth_web.reset_password", code=accounts.format_code(code), _external=True)
    response = make_response(render_template("users/reset_code.html", user=user, code=accounts.format_code(code),
                                             link=link, reset=reset, created=created))
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("")
@login_required
def index():
    actor = current_actor()
    require(actor, "users.manage")
    form = UserFilterForm(request.args)
    if not form.validate():
        _errors(form)
    active = {"active": True, "disabled": False}.get(form.state.data)
    page = accounts.list_users(actor, q=(form.q.data or "").strip() or None, role=form.role.data or None,
                               active=active, page=form.page.data or 1, per_page=PER_PAGE)
    args = {k: v for k, v in (("q", form.q.data), ("role", form.role.data), ("state", form.state.data)) if v}
    return render_template("users/index.html", form=form, page=page, args=args, role_names=ROLE_NAMES)


@blp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    actor = current_actor()
    require(actor, "users.manage")
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user, code = accounts.create_account(actor, form.username.data.strip(), form.role.data,
                                                 form.password.data or None)
        except DomainError as exc:
            flash(exc.message, "error")
            return render_template("users/new.html", form=form), exc.status
        if code:
            return _show_code(user, code, accounts.live_reset(code), created=True)
        flash(_("Created %(role)s %(user)s.", role=str(ROLE_NAMES[user.role]).lower(), user=user.username), "success")
        return _detail(user.username)
    _errors(form)
    return render_template("users/new.html", form=form), (422 if form.errors else 200)


@blp.get("/<username>")
@login_required
def detail(username):
    actor = current_actor()
    user = accounts.user_by_name(actor, username)
    return render_template("users/detail.html", user=user, role_form=RoleForm(role=user.role),
                           role_names=ROLE_NAMES, history=accounts.user_history(actor, user.username))


@blp.post("/<username>/role")
@login_required
def change_role(username):
    form = RoleForm()
    if form.validate_on_submit():
        user = accounts.update_user(current_actor(), username, role=form.role.data)
        flash(_("%(user)s is now %(role)s.", user=user.username, role=str(ROLE_NAMES[user.role]).lower()), "success")
    else:
        _errors(form)
    return _detail(username)


@blp.route("/<username>/disable", methods=["GET", "POST"])
@login_required
def disable(username):
    actor = current_actor()
    user = accounts.user_by_name(actor, username)
    form = ConfirmForm()
    if form.validate_on_submit():
        accounts.update_user(actor, username, active=False)
        flash(_("%(user)s is disabled and logged out everywhere; they cannot log in until enabled again.",
                user=username), "success")
        return _detail(username)
    _errors(form)
    return render_template("users/disable.html", user=user, form=form), (422 if form.errors else 200)


@blp.post("/<username>/enable")
@login_required
def enable(username):
    form = FlaskForm()
    if form.validate_on_submit():
        accounts.update_user(current_actor(), username, active=True)
        flash(_("%(user)s may log in again.", user=username), "success")
    return _detail(username)


@blp.post("/<username>/reset")
@login_required
def reset(username):
    actor = current_actor()
    form = FlaskForm()
    if not form.validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return _detail(username)
    code, row = accounts.issue_reset(actor, username)
    return _show_code(row.user, code, row)


ACCOUNT_ACTIONS = {"user.created": _l("Created"), "user.role_changed": _l("Role changed"),
                   "user.disabled": _l("Disabled"), "user.enabled": _l("Enabled"),
                   "user.password_reset_issued": _l("One-time reset code issued"),
                   "user.password_reset": _l("Password set with a reset code"),
                   "user.password_changed": _l("Password changed by the user")}


@blp.app_template_filter("account_action")
def account_action(action: str) -> str:
    return str(ACCOUNT_ACTIONS.get(action, action))


# role names for every template
@blp.app_template_filter("role_name")
def role_name(role: str | None) -> str:
    return str(ROLE_NAMES.get(role or "", role or ""))

