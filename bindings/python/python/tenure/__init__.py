"""Ask Tenure from Python: the license's status, whether a user may work, concurrent seats
kept by heartbeats, devices, and offline files.

>>> import tenure
>>> with tenure.Workstation(product_db="/srv/product.db") as ws:
...     ws.authorize("ana")              # raises tenure.errors.Refused when not
...     with ws.seat("ana", on_lost=print) as seat:
...         run_the_product()

Every failure raises a :class:`tenure.errors.TenureError` whose text is the sentence the
``tenure`` app shows. Calls let go of the interpreter while they wait; a workstation may be
used from several threads at once.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from typing import Callable, Optional, Union

from . import errors
from ._native import Seat as _NativeSeat
from ._native import Workstation as _NativeWorkstation
from .errors import Refused, TenureError

__all__ = ["Workstation", "Seat", "Status", "Grant", "Borrow", "errors", "Refused", "TenureError"]

SeatListener = Callable[[str, str], object]
"""Called with ``(event, sentence)`` on a heartbeat thread: ``"lost"`` when an admin ended the
session or its lease ran out, ``"trouble"`` and ``"recovered"`` around passing failures."""


def _time(seconds: Optional[int]) -> Optional[_dt.datetime]:
    return None if seconds is None else _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)


@dataclass(frozen=True)
class Status:
    """Where the license stands. ``code`` is ``tenure status``'s exit code (0: licensed)."""

    code: int
    state: str
    sentence: str
    grace_days_left: Optional[int]
    offline_until: Optional[_dt.datetime]
    expires_at: Optional[_dt.datetime]
    seat_kind: Optional[str]
    seats: int
    modules: list[str]
    development_build: bool
    database_problem: Optional[str]

    @property
    def licensed(self) -> bool:
        """The product may run."""
        return self.code == 0

    @classmethod
    def _from(cls, d: dict) -> "Status":
        return cls(
            code=d["code"],
            state=d["state"],
            sentence=d["sentence"],
            grace_days_left=d["grace_days_left"],
            offline_until=_time(d["offline_until"]),
            expires_at=_time(d["expires_at"]),
            seat_kind=d["seat_kind"],
            seats=d["seats"],
            modules=list(d["modules"]),
            development_build=d["development_build"],
            database_problem=d["database_problem"],
        )


@dataclass(frozen=True)
class Grant:
    """A user or device may work; ``sentence`` says so."""

    sentence: str


@dataclass(frozen=True)
class Borrow:
    """The seat borrowed onto this machine."""

    active: bool
    until: _dt.datetime


def _granted(answer: tuple[bool, str, str]) -> Grant:
    granted, code, sentence = answer
    if not granted:
        raise errors.refusal(code, sentence)
    return Grant(sentence)


class Seat:
    """A concurrent seat kept by heartbeats until :meth:`release` (or the ``with`` block ends)."""

    def __init__(self, native: _NativeSeat) -> None:
        self._native = native

    @property
    def session_id(self) -> str:
        return self._native.session_id()

    @property
    def lost(self) -> Optional[str]:
        """Why the seat is gone, or ``None`` while it is held."""
        return self._native.lost()

    def set_idle(self, idle: bool) -> None:
        """Reports the product idle (``True``) or in use again (``False``), from the next
        heartbeat on; under the license's idle release a seat idle long enough goes to the
        next user, and ``on_lost`` hears it."""
        self._native.set_idle(idle)

    def release(self) -> None:
        """Gives the seat back now; a second release does nothing."""
        self._native.release()

    def __enter__(self) -> "Seat":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Workstation:
    """A profile, its license cache and its product database. ``None`` takes what the
    ``tenure`` app would (``TENURE_HOME``, ``TENURE_DB``, the profile's settings)."""

    def __init__(
        self,
        profile: Union[str, os.PathLike, None] = None,
        product_db: Union[str, os.PathLike, None] = None,
        server: Optional[str] = None,
        timeout: float = 30.0,
    ) -> None:
        self._native = _NativeWorkstation(
            None if profile is None else os.fspath(profile),
            None if product_db is None else os.fspath(product_db),
            server,
            timeout,
        )

    def set_timeout(self, seconds: float) -> None:
        """The longest any later call may take."""
        self._native.set_timeout(seconds)

    def status(self) -> Status:
        return Status._from(self._native.status())

    def validate(self) -> Status:
        """Validates online: the offline grace restarts."""
        return Status._from(self._native.validate())

    def activate(self, key: str) -> Status:
        return Status._from(self._native.activate(key))

    def module_enabled(self, name: str) -> bool:
        return self._native.module_enabled(name)

    def authorize(self, user: str) -> Grant:
        """May ``user`` work now (named seats)? Raises a :class:`Refused` subclass if not."""
        return _granted(self._native.authorize(user))

    def seat(
        self, user: str, on_lost: Optional[Callable[[str], object]] = None, machine: Optional[str] = None
    ) -> Seat:
        """Takes a concurrent seat; ``on_lost(sentence)`` hears when it is lost. Raises
        :class:`tenure.errors.NoSeatFree` (or another refusal) when none is given."""
        listener = None if on_lost is None else (lambda event, sentence: event == "lost" and on_lost(sentence))
        return self.take_seat(user, listener, machine)

    def take_seat(
        self, user: str, listener: Optional[SeatListener] = None, machine: Optional[str] = None
    ) -> Seat:
        """As :meth:`seat`, with every event: ``listener(event, sentence)``."""
        native, answer = self._native.take_seat(user, machine, listener)
        _granted(answer)
        return Seat(native)

    def wait_for_seat(
        self,
        user: str,
        on_place: Optional[Callable[[str], object]] = None,
        listener: Optional[SeatListener] = None,
        machine: Optional[str] = None,
        max_wait: float = 600.0,
    ) -> Seat:
        """Takes a concurrent seat, waiting in line for one when none is free: the next seat
        freed goes to the head of the line. ``on_place(sentence)`` hears each place given
        ("You are 2nd in line for a seat; …"); ``listener(event, sentence)`` the seat's events
        once held. Raises :class:`tenure.errors.Timeout` after ``max_wait`` seconds, having
        left the line."""

        def told(event: str, sentence: str) -> object:
            if event == "in_line":
                return None if on_place is None else on_place(sentence)
            return None if listener is None else listener(event, sentence)

        native, answer = self._native.wait_for_seat(user, machine, told, max_wait)
        _granted(answer)
        return Seat(native)

    def end_session(self, session_id: str) -> bool:
        """Ends a session as an admin; False when none was open."""
        return self._native.end_session(session_id)

    def borrow_status(self) -> Optional[Borrow]:
        borrow = self._native.borrow_status()
        return None if borrow is None else Borrow(borrow[0], _time(borrow[1]))

    def register_device(self, device_id: str, device_type: str) -> Grant:
        """A device takes or keeps a license of its type; raises DevicesFull when none is free, or
        DeviceChurn when the license's cap on devices taking one in 30 days is used."""
        return _granted(self._native.register_device(device_id, device_type))

    def offline_request(self, wish: str = "validate", argument: Optional[str] = None, days: int = 0) -> str:
        """An offline request file's text: ``validate``, ``extend`` (days), ``activate`` (key),
        ``rebind`` (reason)."""
        return self._native.offline_request(wish, argument, days)

    def offline_import(self, answer: Union[bytes, str, os.PathLike]) -> Status:
        """Imports the vendor's signed answer: its bytes, or the path of its file."""
        if not isinstance(answer, bytes):
            with open(answer, "rb") as file:
                answer = file.read()
        return Status._from(self._native.offline_import(answer))

    def close(self) -> None:
        self._native.close()

    def __enter__(self) -> "Workstation":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
