"""Google API errors as the emulator raises and serialises them.

Google answers every failure with ``{"error": {"code", "message", "status"}}``; the
status string is fixed by the HTTP code, so callers only pick a code and a message.
"""

from __future__ import annotations

STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# Messages Google sends for failures that carry no request-specific text.
GENERIC_MESSAGE = {
    400: "Request contains an invalid argument.",
    401: "Request is missing required authentication credential.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    409: "The operation was aborted.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "Internal error encountered.",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
    504: "The service is currently unavailable.",
}


class ApiError(Exception):
    def __init__(self, code: int, message: str | None = None, details: list | None = None):
        self.code = code
        self.message = message if message is not None else GENERIC_MESSAGE.get(code, "Error")
        self.details = details
        super().__init__(f"{code}: {self.message}")

    @property
    def status(self) -> str:
        return STATUS_BY_CODE.get(self.code, "UNKNOWN")

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid(message: str) -> ApiError:
    return ApiError(400, message)


def bad_field_mask(path: str) -> ApiError:
    """Google's answer to a `fields` parameter naming what the response has not: the generic
    message, the path in a BadRequest detail (as recorded in r-lib/gargle's test fixture
    sheets-spreadsheets-get-bad-field-mask_400, for `sheets.sheetProperties`)."""
    return ApiError(400, details=[{
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"description": f"Error expanding 'fields' parameter. Cannot find matching fields for path '{path}'."}],
    }])


def not_found() -> ApiError:
    return ApiError(404)
