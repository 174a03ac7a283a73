//! What comes from C and goes back to it: strings (UTF-8, NUL-terminated), byte buffers and
//! out-parameters. Every pointer is checked for NULL here, and nowhere else is one read.

use std::ffi::{CStr, CString, c_char};

use tenure_client::embedded::ProductStatus;

use crate::errors::{Failure, TenureCode};
use crate::types::TenureStatus;

/// The string `ptr` points at, which must not be NULL.
///
/// # Safety
/// `ptr` is NULL or points at a NUL-terminated string that stays valid during the call.
pub unsafe fn text<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Failure> {
    // SAFETY: the caller's promise above; the NULL case is answered first.
    unsafe { optional_text(ptr, what) }?.ok_or_else(|| {
        Failure::new(
            TenureCode::NullArgument,
            format!("{what} is NULL: give a string"),
        )
    })
}

/// The string `ptr` points at, or `None` for NULL.
///
/// # Safety
/// As [`text`].
pub unsafe fn optional_text<'a>(
    ptr: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: not NULL, and NUL-terminated and valid for the call (the caller's promise).
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map(Some).map_err(|e| {
        Failure::new(
            TenureCode::InvalidUtf8,
            format!(
                "{what} is not UTF-8 (byte {} is not): pass text as UTF-8",
                e.valid_up_to()
            ),
        )
    })
}

/// The `len` bytes at `ptr`.
///
/// # Safety
/// `ptr` is NULL or points at `len` readable bytes that stay valid during the call.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::new(
            TenureCode::NullArgument,
            format!("{what} is NULL: give the file's bytes"),
        ));
    }
    // SAFETY: not NULL, `len` bytes readable (the caller's promise).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Writes `value` where `out` points.
///
/// # Safety
/// `out` is NULL or points at writable memory for a `T`.
pub unsafe fn put<T>(out: *mut T, value: T, what: &str) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::new(
            TenureCode::NullArgument,
            format!("{what} is NULL: give where to put the answer"),
        ));
    }
    // SAFETY: not NULL and writable (the caller's promise); `write` drops nothing old, as the
    // memory may hold garbage.
    unsafe { out.write(value) };
    Ok(())
}

/// Writes a status where `out` points, when it is not NULL (the calls whose status is optional).
///
/// # Safety
/// `out` is NULL or points at writable memory for a `TenureStatus`.
pub unsafe fn put_status_if_asked(
    out: *mut TenureStatus,
    status: &ProductStatus,
) -> Result<(), Failure> {
    if out.is_null() {
        return Ok(());
    }
    // SAFETY: not NULL; writable (the caller's promise).
    unsafe { put(out, TenureStatus::from(status), "out") }
}

/// Checks an out-parameter before any work is done, so a NULL one costs nothing.
pub fn require<T>(out: *mut T, what: &str) -> Result<(), Failure> {
    if out.is_null() {
        Err(Failure::new(
            TenureCode::NullArgument,
            format!("{what} is NULL: give where to put the answer"),
        ))
    } else {
        Ok(())
    }
}

/// A string for C to free with `tenure_string_free`.
pub fn owned(text: &str) -> *mut c_char {
    let text = text.split('\0').next().unwrap_or_default();
    CString::new(text).unwrap_or_default().into_raw()
}

/// Frees a string the library gave (`char **out` parameters). NULL is ignored.
///
/// # Safety
/// `text` is NULL or a string this library returned, not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tenure_string_free(text: *mut c_char) {
    if !text.is_null() {
        // SAFETY: made by `CString::into_raw` in `owned` and not freed yet (the caller's promise).
        drop(unsafe { CString::from_raw(text) });
    }
}
