"""API shapes of users, password changes and one-time reset codes."""
from marshmallow import Schema, fields, validate

from ..core.lazy_text import lazy_gettext as _l
from ..core.permissions import ROLES
from ..core.schemas import PageSchema
from ..network.staff import site_codes_of

_USERNAME = validate.Regexp(r"\A[A-Za-z0-9_.\-]{2,64}\Z", error=_l("A username is 2..64 characters of letters, "
                                                                   "digits, _ . -"))


class UserSchema(Schema):
    username = fields.String()
    role = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()
    password_changed_at = fields.DateTime(allow_none=True)
    sites = fields.Function(lambda user: user["sites"] if isinstance(user, dict) else site_codes_of(user.id),
                            metadata={"description": "site codes where the role holds"})


class UserPageSchema(PageSchema):
    items = fields.List(fields.Nested(UserSchema))


class UserQuerySchema(Schema):
    q = fields.String(validate=validate.Length(max=64), metadata={"description": "part of the username"})
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class UserCreateSchema(Schema):
    username = fields.String(required=True, validate=_USERNAME)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    password = fields.String(validate=validate.Length(max=256), metadata={
        "description": "at least 12 characters, not a common one; without it the answer carries a one-time "
                       "reset code for the user"})


class UserUpdateSchema(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    sites = fields.List(fields.String(validate=validate.Length(1, 32)), validate=validate.Length(1, 100),
                        metadata={"description": "site codes where the role holds from now on"})


class ResetCodeSchema(Schema):
    code = fields.String(metadata={"description": "shown once; the user sets a password with it"})
    url = fields.String(metadata={"description": "the reset page with the code filled in"})
    expires_at = fields.DateTime()


class CreatedUserSchema(UserSchema):
    reset = fields.Nested(ResetCodeSchema, allow_none=True)


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(max=256))
    new_password = fields.String(required=True, validate=validate.Length(max=256))


class PasswordResetUseSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(max=64))
    new_password = fields.String(required=True, validate=validate.Length(max=256))


class OwnAccountSchema(Schema):
    username = fields.String()
    role = fields.String()
    language = fields.String(allow_none=True, metadata={
        "description": "en, uz, ru or ko; none: the browser's Accept-Language, then the site's default"})


class OwnAccountUpdateSchema(Schema):
    language = fields.String(required=True, allow_none=True, validate=validate.Length(0, 8), metadata={
        "description": "en, uz, ru or ko; null or empty: no setting of your own"})
