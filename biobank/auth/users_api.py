"""Users API (admin): list, create, change role or state, issue one-time reset codes."""
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ..core.requests import current_actor
from ..core.schemas import error_responses
from . import accounts
from ..network.staff import site_codes_of
from .schemas import (CreatedUserSchema, ResetCodeSchema, UserCreateSchema, UserPageSchema, UserQuerySchema,
                      UserSchema, UserUpdateSchema)

blp = Blueprint("users_api", __name__, url_prefix="/api/v1/users", description="User accounts (admin)")


def reset_answer(code: str, reset) -> dict:
    return {"code": accounts.format_code(code), "expires_at": reset.expires_at,
            "url": url_for("auth_web.reset_password", code=accounts.format_code(code), _external=True)}


@blp.route("")
class Users(MethodView):
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, UserPageSchema)
    @error_responses(blp, 401, 403, 422)
    def get(self, args):
        """Users, by name; `q` searches the name"""
        return accounts.list_users(current_actor(), **args)

    @blp.arguments(UserCreateSchema)
    @blp.response(201, CreatedUserSchema)
    @error_responses(blp, 401, 403, 409, 422)
    def post(self, args):
        """Create a user; without a password the answer carries a one-time reset code (shown once)"""
        actor = current_actor()
        user, code = accounts.create_account(actor, args["username"], args["role"], args.get("password"))
        answer = {name: getattr(user, name) for name in UserSchema().fields if name != "sites"}
        answer["sites"] = site_codes_of(user.id)
        if code:
            reset = accounts.live_reset(code)
            answer["reset"] = reset_answer(code, reset)
        return answer


@blp.route("/<username>")
class OneUser(MethodView):
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @error_responses(blp, 401, 403, 404, 409, 422)
    def patch(self, args, username):
        """Change a user's role, whether they may log in, or their sites (409 last_admin for the last active admin)"""
        return accounts.update_user(current_actor(), username, **args)


@blp.route("/<username>/password-reset")
class PasswordReset(MethodView):
    @blp.response(201, ResetCodeSchema)
    @error_responses(blp, 401, 403, 404)
    def post(self, username):
        """A one-time password reset code for the user (shown once, expires, earlier codes stop working)"""
        code, reset = accounts.issue_reset(current_actor(), username)
        return reset_answer(code, reset)
