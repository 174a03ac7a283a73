//! Seats and devices: may this user work (named seats), take and keep a concurrent seat with
//! a callback when it is lost, a borrowed seat, a device's license.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tenure_client::embedded::HeldSeat;
use tenure_client::embedded::Verdict;
use tenure_client::{SeatAnswer, SeatEvent, SeatListener};

use crate::args::{optional_text, owned, put, require, tenure_string_free, text};
use crate::errors::{Failure, TenureCode, guarded};
use crate::handles::Table;
use crate::types::{TenureAnswer, TenureBorrow, TenureSeatEvent};
use crate::{TenureWorkstation, WORKSTATIONS};

/// A concurrent seat kept by heartbeats on the library's own threads.
pub struct TenureSeat {
    _opaque: [u8; 0],
}

static SEATS: Table<Mutex<Option<HeldSeat>>> = Table::new("seat");

/// Told on a heartbeat thread when a held seat is lost, or its heartbeats falter and recover.
/// `sentence` is valid during the call only. Do not call libtenure from it: note the event
/// and act on your own thread.
pub type TenureSeatCallback = Option<
    unsafe extern "C" fn(context: *mut c_void, event: TenureSeatEvent, sentence: *const c_char),
>;

/// The caller's callback and its context, carried to the heartbeat threads.
struct Callback {
    call: unsafe extern "C" fn(*mut c_void, TenureSeatEvent, *const c_char),
    context: *mut c_void,
}

// SAFETY: the header tells the caller the callback runs on a library thread with `context`;
// giving a callback is the caller's promise that both may be used from any thread.
unsafe impl Send for Callback {}
// SAFETY: as above; the library only passes `context` back, never reads it.
unsafe impl Sync for Callback {}

impl Callback {
    fn tell(&self, event: &SeatEvent) {
        let (kind, sentence) = match event {
            SeatEvent::Lost(s) => (TenureSeatEvent::Lost, s.as_str()),
            SeatEvent::Trouble(s) => (TenureSeatEvent::Trouble, s.as_str()),
            SeatEvent::Recovered => (
                TenureSeatEvent::Recovered,
                "The seat's heartbeats go through again.",
            ),
        };
        self.say(kind, sentence);
    }

    fn say(&self, kind: TenureSeatEvent, sentence: &str) {
        let sentence = owned(sentence);
        // SAFETY: a function the caller gave for this, with the context it gave; the sentence
        // is a valid string for the call.
        unsafe { (self.call)(self.context, kind, sentence) };
        // SAFETY: made by `owned` just above.
        unsafe { tenure_string_free(sentence) };
    }
}

/// May `user` work now? Named-user seats: `out->granted`, or the reason and the sentence to
/// show. Free `out` with `tenure_answer_free`.
///
/// # Safety
/// `user` is NUL-terminated; `out` points at writable memory for a `TenureAnswer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tenure_authorize(
    workstation: *mut TenureWorkstation,
    user: *const c_char,
    out: *mut TenureAnswer,
) -> TenureCode {
    guarded(|| {
        require(out, "out")?;
        // SAFETY: the caller's promise.
        let user = unsafe { text(user, "user") }?;
        let answer = Verdict::from(WORKSTATIONS.get(workstation)?.authorize(user)?);
        // SAFETY: checked above; writable (the caller's promise).
        unsafe { put(out, TenureAnswer::from(answer), "out") }
    })
}

/// Frees an answer's sentence (the struct itself is the caller's). NULL is ignored.
///
/// # Safety
/// `answer` is NULL or an answer the library filled, not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tenure_answer_free(answer: *mut TenureAnswer) {
    if answer.is_null() {
        return;
    }
    // SAFETY: an answer the library filled (the caller's promise).
    let answer = unsafe { &mut *answer };
    // SAFETY: the sentence came from `owned`; it is set to NULL so a second free does nothing.
    unsafe { tenure_string_free(answer.sentence) };
    answer.sentence = std::ptr::null_mut();
}

/// Takes a concurrent seat for `user` on `machine` (NULL: this computer) and keeps it with
/// heartbeats until `tenure_seat_release`. Granted: `*seat` is set. Refused: `*seat` is NULL
/// and `answer` says why. `callback` (may be NULL) hears when the seat is lost (an admin ended
/// the session), with `context`. Free `answer` with `tenure_answer_free`.
///
/// # Safety
/// Strings are NUL-terminated (`machine` may be NULL); `seat` and `answer` point at writable
/// memory; `callback` and `context` may be used from any thread until the seat is released.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tenure_seat_take(
    workstation: *mut TenureWorkstation,
    user: *const c_char,
    machine: *const c_char,
    callback: TenureSeatCallback,
    context: *mut c_void,
    seat: *mut *mut TenureSeat,
    answer: *mut TenureAnswer,
) -> TenureCode {
    guarded(|| {
        let out = SeatOut { seat, answer };
        // SAFETY: the caller's promise on each pointer.
        unsafe {
            seat_call(
                user,
                machine,
                callback,
                context,
                out,
                |user, machine, callback| {
                    let ws = WORKSTATIONS.get(workstation)?;
                    Ok(ws.take_seat(user, machine, listener_of(callback))?)
                },
            )
        }
    })
}

/// As `tenure_seat_take`, but when no seat is free `user` waits in line for one, at most
/// `max_wait_ms`: the next seat freed goes to the head of the line. While it waits, `callback`
/// hears `TENURE_SEAT_EVENT_IN_LINE` with each place given ("You are 2nd in line for a seat;
/// …"), on the calling thread; once granted, it hears the seat's events as for
/// `tenure_seat_take`. Time up: it leaves the line and returns `TENURE_CODE_TIMEOUT`.
///
/// # Safety
/// As `tenure_seat_take`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tenure_seat_wait(
    workstation: *mut TenureWorkstation,
    user: *const c_char,
    machine: *const c_char,
    max_wait_ms: u32,
    callback: TenureSeatCallback,
    context: *mut c_void,
    seat: *mut *mut TenureSeat,
    answer: *mut TenureAnswer,
) -> TenureCode {
    guarded(|| {
        let out = SeatOut { seat, answer };
        // SAFETY: the caller's promise on each pointer.
        unsafe {
            seat_call(
                user,
                machine,
                callback,
                context,
                out,
                |user, machine, callback| {
                    let on_place = |place: &tenure_client::SeatRefusal| {
                        if let Some(callback) = &callback {
                            callback.say(TenureSeatEvent::InLine, &place.to_string());
                        }
                    };
                    let ws = WORKSTATIONS.get(workstation)?;
                    Ok(ws.wait_for_seat(
                        user,
                        machine,
                        listener_of(callback.clone()),
                        Duration::from_millis(u64::from(max_wait_ms)),
                        on_place,
                    )?)
                },
            )
        }
    })
}

/// Where a seat call writes its handle and its answer.
#[derive(Clone, Copy)]
struct SeatOut {
    seat: *mut *mut TenureSeat,
    answer: *mut TenureAnswer,
}

/// What `tenure_seat_take` and `tenure_seat_wait` share: the arguments checked, the seat
/// asked for by `ask` (with the user, the machine and the product's callback), and the handle
/// and the answer written.
///
/// # Safety
/// As `tenure_seat_take`.
unsafe fn seat_call(
    user: *const c_char,
    machine: *const c_char,
    callback: TenureSeatCallback,
    context: *mut c_void,
    out: SeatOut,
    ask: impl FnOnce(
        &str,
        Option<&str>,
        Option<Arc<Callback>>,
    ) -> Result<Result<HeldSeat, SeatAnswer>, Failure>,
) -> Result<(), Failure> {
    require(out.seat, "seat")?;
    require(out.answer, "answer")?;
    // SAFETY: the caller's promise.
    let (user, machine) = unsafe { (text(user, "user")?, optional_text(machine, "machine")?) };
    let callback = callback.map(|call| Arc::new(Callback { call, context }));
    let (handle, told) = held_or_refused(user, ask(user, machine, callback)?)?;
    // SAFETY: checked above; writable (the caller's promise).
    unsafe {
        put(out.seat, handle, "seat")?;
        put(out.answer, told, "answer")
    }
}

/// The seat listener that tells the product's callback, if it gave one.
fn listener_of(callback: Option<Arc<Callback>>) -> Option<SeatListener> {
    callback.map(|callback| Arc::new(move |event: &SeatEvent| callback.tell(event)) as SeatListener)
}

/// A seat handle and "granted", or no handle and the refusal.
fn held_or_refused(
    user: &str,
    taken: Result<HeldSeat, SeatAnswer>,
) -> Result<(*mut TenureSeat, TenureAnswer), Failure> {
    Ok(match taken {
        Ok(held) => {
            let sentence = format!("Seat taken for {user} (session {}).", held.session_id());
            (
                SEATS.insert(Mutex::new(Some(held))),
                TenureAnswer::from(Verdict::granted(sentence)),
            )
        }
        Err(SeatAnswer::Refused(refusal)) => (
            std::ptr::null_mut(),
            TenureAnswer::from(Verdict::refused(refusal.code(), refusal.to_string())),
        ),
        Err(granted @ SeatAnswer::Granted(_)) => {
            return Err(Failure::new(TenureCode::Internal, granted.to_string()));
        }
    })
}

/// The session id holding the seat (as `tenure sessions` lists it); free with
/// `tenure_string_free`.
///
/// # Safety
/// `out` points at writable memory for a string pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tenure_seat_session_id(
    seat: *mut TenureSeat,
    out: *mut *mut c_char,
) -> TenureCode {
    guarded(|| {
        require(out, "out")?;
        let id = with_seat(seat, |held| Ok(owned(held.session_id())))?;
        // SAFETY: checked above; writable (the caller's promise).
        unsafe { put(out, id, "out") }
    })
}

/// True in `*out` when the seat is gone (its callback was told `TENURE_SEAT_EVENT_LOST`).
///
/// # Safety
/// `out` points at a writable `bool`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tenure_seat_lost(seat: *mut TenureSeat, out: *mut bool) -> TenureCode {
    guarded(|| {
        require(out, "out")?;
        let lost = with_seat(seat, |held| Ok(held.lost().is_some()))?;
        // SAFETY: checked above; writable (the caller's promise).
        unsafe { put(out, lost, "out") }
    })
}

/// Reports the product idle (`true`: no input, nothing running) or in use again (`false`),
/// from the seat's next heartbeat on. Under the license's idle release, a seat idle long
/// enough is freed for the next user who asks, and its callback hears
/// `TENURE_SEAT_EVENT_LOST`.
#[unsafe(no_mangle)]
pub extern "C" fn tenure_seat_set_idle(seat: *mut TenureSeat, idle: bool) -> TenureCode {
    guarded(|| {
        with_seat(seat, |held| {
            held.set_idle(idle);
            Ok(())
        })
    })
}

fn with_seat<T>(
    seat: *mut TenureSeat,
    f: impl FnOnce(&HeldSeat) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let held = SEATS.get(seat)?;
    let held = held.lock().unwrap_or_else(PoisonError::into_inner);
    match held.as_ref() {
        Some(held) => f(held),
        None => Err(Failure::new(
            TenureCode::InvalidHandle,
            "this seat handle is not open: it was released already",
        )),
    }
}

/// Stops the heartbeats and gives the seat back now; the handle is refused from then on.
/// Its callback is not called again.
#[unsafe(no_mangle)]
pub extern "C" fn tenure_seat_release(seat: *mut TenureSeat) -> TenureCode {
    guarded(|| {
        let held = SEATS.remove(seat)?;
        let held = held.lock().unwrap_or_else(PoisonError::into_inner).take();
        match held {
            Some(held) => {
                held.release()?;
                Ok(())
            }
            None => Err(Failure::new(
                TenureCode::InvalidHandle,
                "this seat handle is not open: it was released already",
            )),
        }
    })
}

/// Ends a concurrent session as an admin (`tenure sessions end ID`): the seat is free at once
/// and its holder's callback hears it at its next heartbeat. `*ended` is false when no such
/// session was open (`ended` may be NULL).
///
/// # Safety
/// `session_id` is NUL-terminated; `ended` is NULL or points at a writable `bool`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tenure_session_end(
    workstation: *mut TenureWorkstation,
    session_id: *const c_char,
    ended: *mut bool,
) -> TenureCode {
    guarded(|| {
        // SAFETY: the caller's promise.
        let id = unsafe { text(session_id, "session_id") }?;
        let was_open = WORKSTATIONS.get(workstation)?.end_session(id)?;
        if ended.is_null() {
            return Ok(());
        }
        // SAFETY: not NULL; writable (the caller's promise).
        unsafe { put(ended, was_open, "ended") }
    })
}

/// The seat borrowed onto this machine (`tenure borrow`), if any.
///
/// # Safety
/// `out` points at writable memory for a `TenureBorrow`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tenure_borrow_status(
    workstation: *mut TenureWorkstation,
    out: *mut TenureBorrow,
) -> TenureCode {
    guarded(|| {
        require(out, "out")?;
        let borrow = WORKSTATIONS.get(workstation)?.borrow_status()?;
        let borrow = borrow.map_or(
            TenureBorrow {
                held: false,
                active: false,
                until: 0,
            },
            |b| TenureBorrow {
                held: true,
                active: b.active,
                until: b.record.until.timestamp(),
            },
        );
        // SAFETY: checked above; writable (the caller's promise).
        unsafe { put(out, borrow, "out") }
    })
}

/// A device (endpoint license) says its id and type: it keeps or takes a license of its
/// type, or is refused with its group named. Free `out` with `tenure_answer_free`.
///
/// # Safety
/// Strings are NUL-terminated; `out` points at writable memory for a `TenureAnswer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tenure_device_register(
    workstation: *mut TenureWorkstation,
    device_id: *const c_char,
    device_type: *const c_char,
    out: *mut TenureAnswer,
) -> TenureCode {
    guarded(|| {
        require(out, "out")?;
        // SAFETY: the caller's promise.
        let (id, kind) = unsafe {
            (
                text(device_id, "device_id")?,
                text(device_type, "device_type")?,
            )
        };
        let answer = WORKSTATIONS.get(workstation)?.register_device(id, kind)?;
        let told = TenureAnswer::from(Verdict::from(&answer));
        // SAFETY: checked above; writable (the caller's promise).
        unsafe { put(out, told, "out") }
    })
}
