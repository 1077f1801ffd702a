from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..core.errors import NotAuthenticated
from ..core.permissions import allowed
from ..core.redirects import local_path
from ..core.requests import current_actor
from ..core.web import scan_page
from ..reports import dashboard
from . import service

blp = Blueprint("auth_web", __name__)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(message="Enter your username."), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")])


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
        login_user(user)
        flash(f"Welcome, {user.username}.", "info")
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), (422 if form.errors else 200)


@blp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("Logged out.", "info")
    return redirect(url_for("auth_web.login"))


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
