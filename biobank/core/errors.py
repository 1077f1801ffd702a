"""Domain exceptions. Services raise them; they are mapped to HTTP statuses and
flash messages in one place (core/error_mapping.py)."""


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details=None, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code
        if status:
            self.status = status

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"


class InvalidBarcode(InvalidInput):
    code = "invalid_barcode"


class InvalidPosition(InvalidInput):
    code = "invalid_position"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class UnknownBarcode(NotFound):
    code = "unknown_barcode"


class NotPermitted(DomainError):
    status = 403
    code = "not_permitted"


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class SlotOccupied(Conflict):
    code = "slot_occupied"


class DuplicateBarcode(Conflict):
    code = "duplicate_barcode"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class NotAllowedHere(Conflict):
    code = "not_allowed_here"


class NoFreePosition(Conflict):
    code = "no_free_position"


class ConsentWithdrawn(Conflict):
    code = "consent_withdrawn"


class ImportRejected(InvalidInput):
    """A whole file refused; `details` lists every bad line."""
    code = "import_rejected"
