"""What Tenure raises: every failure is a :class:`TenureError` whose text is the sentence the
``tenure`` app shows; a refusal (a user, seat or device not given) is a :class:`Refused`, one
class per reason."""

from __future__ import annotations


class TenureError(Exception):
    """A call failed; ``str(error)`` says why and what to do."""


class InvalidArgument(TenureError):
    """An argument is wrong (a malformed key, device id, database URL …)."""


class NotActivated(TenureError):
    """There is no license here yet."""


class ServerError(TenureError):
    """The license server could not be reached, or refused the request."""


class DatabaseError(TenureError):
    """The product database could not be used."""


class KeyringError(TenureError):
    """The OS keyring could not be used."""


class FileRefused(TenureError):
    """A file or signed document was refused."""


class Timeout(TenureError):
    """No answer within the time limit."""


class Refused(TenureError):
    """A user, seat or device was not given; ``reason`` is the stable code."""

    reason = "refused"


def _refusal(name: str, code: str, doc: str) -> type[Refused]:
    return type(name, (Refused,), {"reason": code, "__doc__": doc, "__module__": __name__})


NoLicense = _refusal("NoLicense", "no_license", "No license on this workstation.")
LicenseExpired = _refusal("LicenseExpired", "license_expired", "The license's validity is over.")
NotYetValid = _refusal("NotYetValid", "not_yet_valid", "The license has not started.")
GraceExpired = _refusal("GraceExpired", "grace_expired", "Offline longer than the grace: validate.")
BindingMismatch = _refusal("BindingMismatch", "binding_mismatch", "The database is not the one licensed.")
Moved = _refusal("Moved", "moved", "The license's account activated it on another database.")
ClockSetBack = _refusal("ClockSetBack", "clock_set_back", "The clock was set back.")
NotNamedLicense = _refusal("NotNamedLicense", "not_named_license", "The license counts concurrent seats.")
UnknownUser = _refusal("UnknownUser", "unknown_user", "The user is not in the product database's list.")
Disabled = _refusal("Disabled", "disabled", "The user is disabled.")
NoSeat = _refusal("NoSeat", "no_seat", "The user holds no named seat.")
BeyondLimit = _refusal("BeyondLimit", "beyond_limit", "The user's seat is one too many.")
GroupFull = _refusal("GroupFull", "group_full", "The user's group has used its share.")
NoSeatFree = _refusal("NoSeatFree", "no_seat_free", "Every concurrent seat is in use.")
NotConcurrentLicense = _refusal(
    "NotConcurrentLicense", "not_concurrent_license", "The license counts named users."
)
BorrowTooLong = _refusal("BorrowTooLong", "borrow_too_long", "A borrow longer than the license allows.")
BorrowEnded = _refusal("BorrowEnded", "borrow_ended", "The borrowed seat has ended.")
DevicesFull = _refusal("DevicesFull", "devices_full", "No license of the device's type is free.")
DeviceChurn = _refusal(
    "DeviceChurn", "device_churn", "The license's cap on devices taking a license in 30 days is used."
)

REFUSALS: dict[str, type[Refused]] = {
    cls.reason: cls
    for cls in (
        NoLicense, LicenseExpired, NotYetValid, GraceExpired, BindingMismatch, Moved,
        ClockSetBack, NotNamedLicense, UnknownUser, Disabled, NoSeat, BeyondLimit, GroupFull,
        NoSeatFree, NotConcurrentLicense, BorrowTooLong, BorrowEnded, DevicesFull, DeviceChurn,
    )
}


def refusal(code: str, sentence: str) -> Refused:
    """The exception for a refusal's reason code (``Refused`` for one this version lacks)."""
    error = REFUSALS.get(code, Refused)(sentence)
    error.reason = code
    return error
