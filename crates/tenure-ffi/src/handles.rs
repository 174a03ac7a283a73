//! Handles given to C are numbers dressed as pointers, never addresses: the library never
//! reads through one. Each is looked up in its table, so a handle used after close, released
//! twice, or of the wrong kind is refused with `TENURE_CODE_INVALID_HANDLE` instead of
//! touching freed memory. Numbers are never reused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use crate::errors::{Failure, TenureCode};

/// One counter for every kind of handle: a seat's number is never a workstation's.
static NEXT: AtomicUsize = AtomicUsize::new(1);

/// The open handles of one kind.
pub struct Table<T> {
    what: &'static str,
    open: LazyLock<Mutex<HashMap<usize, Arc<T>>>>,
}

impl<T> Table<T> {
    pub const fn new(what: &'static str) -> Self {
        Self {
            what,
            open: LazyLock::new(|| Mutex::new(HashMap::new())),
        }
    }

    /// Keeps `value`; the handle for it.
    pub fn insert<H>(&self, value: T) -> *mut H {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Arc::new(value));
        std::ptr::without_provenance_mut(id)
    }

    /// The value behind `handle`, if it is open.
    pub fn get<H>(&self, handle: *const H) -> Result<Arc<T>, Failure> {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&handle.addr())
            .cloned()
            .ok_or_else(|| self.not_open(handle.is_null()))
    }

    /// Takes the value behind `handle` out: the handle is closed from now on.
    pub fn remove<H>(&self, handle: *const H) -> Result<Arc<T>, Failure> {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&handle.addr())
            .ok_or_else(|| self.not_open(handle.is_null()))
    }

    fn not_open(&self, null: bool) -> Failure {
        if null {
            Failure::new(
                TenureCode::NullArgument,
                format!("the {} handle is NULL", self.what),
            )
        } else {
            Failure::new(
                TenureCode::InvalidHandle,
                format!(
                    "this {} handle is not open: it was closed or released already, or is not a {} handle",
                    self.what, self.what
                ),
            )
        }
    }
}
