from flask import current_app, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..core.error_mapping import handle_domain_error
from ..core.errors import DomainError, NotAuthenticated
from ..core.requests import current_actor
from ..core.schemas import ApiErrorSchema
from . import accounts, service
from .schemas import OwnAccountSchema, OwnAccountUpdateSchema, PasswordChangeSchema, PasswordResetUseSchema

blp = Blueprint("auth_api", __name__, url_prefix="/api/v1/auth", description="Bearer tokens")


class Credentials(Schema):
    username = fields.String(required=True)
    password = fields.String(required=True)


class TokenSchema(Schema):
    token = fields.String()
    token_type = fields.String()
    expires_at = fields.DateTime()
    username = fields.String()
    role = fields.String()


@blp.route("/token")
class Token(MethodView):
    @blp.arguments(Credentials)
    @blp.response(200, TokenSchema)
    @blp.alt_response(401, schema=ApiErrorSchema)
    @blp.alt_response(429, schema=ApiErrorSchema, description="too many failed logins (code too_many_attempts)")
    def post(self, args):
        """A bearer token for a username and password"""
        user = service.authenticate(args["username"], args["password"])
        token, row = service.issue_token(user, current_app.config["TOKEN_LIFETIME_HOURS"])
        return {"token": token, "token_type": "Bearer", "expires_at": row.expires_at,
                "username": user.username, "role": user.role}

    @blp.response(204)
    @blp.alt_response(400, schema=ApiErrorSchema, description="no bearer token in the request")
    @blp.alt_response(401, schema=ApiErrorSchema)
    def delete(self):
        """Revoke the bearer token this request carries; it answers 401 from then on"""
        current_actor()
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise DomainError(_("Send the token to revoke as 'Authorization: Bearer TOKEN'."), code="no_token")
        if not service.revoke_token(header[7:].strip()):
            raise NotAuthenticated(_("The token is unknown or already revoked."))
        return None


@blp.route("/me")
class OwnAccount(MethodView):
    @blp.response(200, OwnAccountSchema)
    @blp.alt_response(401, schema=ApiErrorSchema)
    def get(self):
        """Your own account: who you are and the language you chose"""
        return accounts.own_user(current_actor())

    @blp.arguments(OwnAccountUpdateSchema)
    @blp.response(200, OwnAccountSchema)
    @blp.alt_response(401, schema=ApiErrorSchema)
    @blp.alt_response(422, schema=ApiErrorSchema, description="a language we do not ship (code invalid_language)")
    def patch(self, args):
        """Choose the language of your pages and of the API's messages"""
        return accounts.set_own_language(current_actor(), args["language"])


@blp.route("/password")
class OwnPassword(MethodView):
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @blp.alt_response(401, schema=ApiErrorSchema)
    @blp.alt_response(422, schema=ApiErrorSchema, description="wrong current password or a weak new one")
    def post(self, args):
        """Change your own password; every session and bearer token of yours ends, this one too"""
        accounts.change_own_password(current_actor(), args["current_password"], args["new_password"])
        return None


@blp.route("/password-reset")
class UseReset(MethodView):
    @blp.arguments(PasswordResetUseSchema)
    @blp.response(204)
    @blp.alt_response(404, schema=ApiErrorSchema, description="unknown, used or expired code")
    @blp.alt_response(422, schema=ApiErrorSchema)
    def post(self, args):
        """Set a new password with a one-time reset code from an admin"""
        accounts.use_reset(args["code"], args["new_password"])
        return None


@blp.app_errorhandler(service.TooManyAttempts)
def _too_many_attempts(error):
    """429 with a Retry-After of the actual wait."""
    response = handle_domain_error(error)
    response.headers["Retry-After"] = str(error.retry_after)
    return response
