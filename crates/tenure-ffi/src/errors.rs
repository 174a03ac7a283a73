//! Every call returns a [`TenureCode`]; the sentence behind the last failure on a thread is
//! kept for that thread (`tenure_last_error_message`). No panic crosses into C: each call runs
//! inside [`guarded`].

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use tenure_client::embedded::{EmbeddedError, ErrorKind};

/// What a call returns: `TENURE_CODE_OK`, or what kind of trouble it met (the sentence is
/// `tenure_last_error_message()`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenureCode {
    /// It worked (a refusal to authorize is an answer, not an error).
    Ok = 0,
    /// A pointer that must not be NULL was NULL.
    NullArgument = 1,
    /// A string was not UTF-8.
    InvalidUtf8 = 2,
    /// The handle is not open (closed already, released, or never one).
    InvalidHandle = 3,
    /// An argument is wrong (a malformed key, device id, database URL …).
    InvalidArgument = 4,
    /// There is no license here yet.
    NotActivated = 5,
    /// The license server could not be reached, or refused the request.
    Server = 6,
    /// The product database could not be used.
    Database = 7,
    /// The OS keyring could not be used.
    Keyring = 8,
    /// A file or signed document was refused.
    Refused = 9,
    /// No answer within the time limit (`tenure_workstation_set_timeout`).
    Timeout = 10,
    /// A file could not be read or written.
    Io = 11,
    /// An internal error was caught before it reached the caller; please report it.
    Internal = 12,
    /// Anything else.
    Other = 13,
}

/// A failure on its way to C.
#[derive(Debug)]
pub struct Failure {
    pub code: TenureCode,
    pub message: String,
}

impl Failure {
    pub fn new(code: TenureCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<EmbeddedError> for Failure {
    fn from(e: EmbeddedError) -> Self {
        let code = match e.kind {
            ErrorKind::InvalidArgument => TenureCode::InvalidArgument,
            ErrorKind::NotActivated => TenureCode::NotActivated,
            ErrorKind::Server => TenureCode::Server,
            ErrorKind::Database => TenureCode::Database,
            ErrorKind::Keyring => TenureCode::Keyring,
            ErrorKind::Refused => TenureCode::Refused,
            ErrorKind::Timeout => TenureCode::Timeout,
            ErrorKind::Io => TenureCode::Io,
            ErrorKind::Other => TenureCode::Other,
        };
        Self::new(code, e.message)
    }
}

thread_local! {
    static LAST_ERROR: RefCell<(TenureCode, CString)> = RefCell::new((TenureCode::Ok, CString::default()));
}

fn remember(code: TenureCode, message: &str) {
    // A sentence never holds NUL; if one did, it is cut there rather than lost.
    let text = message.split('\0').next().unwrap_or_default();
    let text = CString::new(text).unwrap_or_default();
    LAST_ERROR.with(|last| *last.borrow_mut() = (code, text));
}

/// Runs a call: its failure is remembered for this thread, a panic becomes
/// `TENURE_CODE_INTERNAL`.
pub fn guarded(call: impl FnOnce() -> Result<(), Failure>) -> TenureCode {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(())) => {
            remember(TenureCode::Ok, "");
            TenureCode::Ok
        }
        Ok(Err(failure)) => {
            remember(failure.code, &failure.message);
            failure.code
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            remember(
                TenureCode::Internal,
                &format!("an internal error in libtenure was caught ({what}); please report it"),
            );
            TenureCode::Internal
        }
    }
}

/// The sentence behind the last failed call on this thread (empty after a call that worked).
/// Owned by the library: valid until the next call on this thread; never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn tenure_last_error_message() -> *const c_char {
    LAST_ERROR.with(|last| last.borrow().1.as_ptr())
}

/// The code the last call on this thread returned.
#[unsafe(no_mangle)]
pub extern "C" fn tenure_last_error_code() -> TenureCode {
    LAST_ERROR.with(|last| last.borrow().0)
}
