//! What is asked of the OS keyring and how an attempt can fail: the words shared by the
//! keyring thread and the platform backends.

/// The keyring service name of every Tenure entry.
pub(super) const KEYRING_SERVICE: &str = "tenure";

/// One operation on the entry named by a user string (`<namespace>/<name>`).
#[derive(Debug)]
pub(super) enum Op {
    /// Read the value; `None` when there is no entry.
    Get,
    /// Create or replace the value.
    Set(String),
    /// Delete the entry (nothing to do when there is none).
    Delete,
}

/// What an operation gave back.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The value read.
    Value(Option<String>),
    /// A write or delete that took effect.
    Done,
}

/// Why one attempt failed.
#[derive(Debug)]
pub(super) enum Attempt {
    /// The platform dropped the call (a D-Bus hiccup, an answer lost under load): worth one
    /// more try on a fresh connection.
    Retry(String),
    /// The keyring is there but locked, or its user refused access.
    Locked(String),
    /// No keyring service can be reached, or it answered with something unusable.
    Unavailable(String),
}
