//! What to do next, in the words of the front-end the user is in. The engine's errors say what
//! went wrong; the CLI and the window each add where to go from there (a command, or a screen),
//! so that wording lives here, once, and not in the SDK.

use std::error::Error;

use tenure_client::{ApiError, ConcurrentSeatsError, EngineError, NamedSeatsError};

/// Which front-end is speaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// The command line.
    Cli,
    /// The desktop window.
    Window,
}

/// The next step for an engine error, if the front-end has one to offer.
pub fn next_step(error: &EngineError, front: Front) -> Option<&'static str> {
    use Front::{Cli, Window};
    Some(match (error, front) {
        (EngineError::NoTrustedKeys, Cli) => "run: tenure trust ROOT.pub",
        (EngineError::NoTrustedKeys, Window) => "add it under Settings → Trusted vendor keys",
        (EngineError::NoServer, Cli) => "pass --server URL or set TENURE_SERVER",
        (EngineError::NoServer, Window) => "enter it under Settings → License server",
        (EngineError::NoBinding, Cli) => {
            "give --db (or TENURE_DB), or --server-name and --database"
        }
        (EngineError::NoBinding, Window) => database_step(Window),
        (EngineError::OfflineOnly, Cli) => {
            "tenure offline request validate, then import the answer"
        }
        (EngineError::OfflineOnly, Window) => "use the Offline screen",
        (EngineError::Api(ApiError::NotSignedIn), Cli) => "run: tenure login --account NAME",
        (EngineError::Api(ApiError::NotSignedIn), Window) => "sign in under Settings → Account",
        _ => return None,
    })
}

/// Where to connect the product database from, when an answer needs it.
fn database_step(front: Front) -> &'static str {
    match front {
        Front::Cli => "give it with --db or TENURE_DB",
        Front::Window => "connect it under Settings → Product database",
    }
}

/// The next step for any error the engine's seams return (the workstation's own, named seats',
/// concurrent seats'), if the front-end has one to offer.
pub fn next_step_for(error: &(dyn Error + 'static), front: Front) -> Option<&'static str> {
    if let Some(e) = error.downcast_ref::<EngineError>() {
        return next_step(e, front);
    }
    match error.downcast_ref::<NamedSeatsError>() {
        Some(NamedSeatsError::NoDatabase) => return Some(database_step(front)),
        Some(NamedSeatsError::Workstation(e)) => return next_step(e, front),
        _ => {}
    }
    match error.downcast_ref::<ConcurrentSeatsError>() {
        Some(ConcurrentSeatsError::NoDatabase) => Some(database_step(front)),
        Some(ConcurrentSeatsError::Workstation(e)) => next_step(e, front),
        _ => None,
    }
}

/// The error as one or two sentences for this front-end: what went wrong, then what to do.
pub fn explain(error: &(dyn Error + 'static), front: Front) -> String {
    match next_step_for(error, front) {
        Some(step) => format!("{error}. To go on, {step}."),
        None => error.to_string(),
    }
}

/// As [`explain`], for an error that may have an engine error inside (the CLI's `anyhow`).
pub fn explain_any(error: &anyhow::Error, front: Front) -> String {
    let step = error.chain().find_map(|cause| next_step_for(cause, front));
    let text = chain_text(error);
    match step {
        Some(step) => format!("{text}. To go on, {step}."),
        None => text,
    }
}

/// The error and its causes, "outer: inner", each said once: many errors already print their
/// source inside their own message, and `{:#}` would repeat it ("X: X").
fn chain_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let said = cause.to_string();
        if said.is_empty() || text.contains(&said) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}

/// Why signing in failed, in words, for this front-end; nothing was kept.
pub fn sign_in_failed(account: &str, error: &EngineError, front: Front) -> String {
    let EngineError::Api(e) = error else {
        return explain(error, front);
    };
    match e {
        tenure_client::ApiError::Refused {
            status: 401 | 403, ..
        } => format!(
            "The license server did not accept account {account} with this token: check both (your vendor sent them). Nothing was saved."
        ),
        e if e.is_unreachable() => format!(
            "Could not check the account: {e}. Nothing was saved; sign in again when the server can be reached."
        ),
        e => format!("Could not sign in: {e}. Nothing was saved."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_front_end_says_where_to_go() {
        let cli = explain(&EngineError::OfflineOnly, Front::Cli);
        let window = explain(&EngineError::OfflineOnly, Front::Window);
        assert!(cli.contains("tenure offline request"), "{cli}");
        assert!(window.contains("Offline screen"), "{window}");
        assert!(!window.contains("tenure "), "{window}");
    }

    #[test]
    fn the_chain_is_searched_for_the_engine_error() {
        let e = anyhow::Error::new(EngineError::NoServer).context("cannot validate");
        let text = explain_any(&e, Front::Cli);
        assert!(
            text.starts_with("cannot validate: no license server is set"),
            "{text}"
        );
        assert!(
            text.ends_with("pass --server URL or set TENURE_SERVER."),
            "{text}"
        );
    }

    #[test]
    fn a_cause_already_in_its_error_s_message_is_said_once() {
        #[derive(Debug)]
        struct Damaged(std::io::Error);
        impl std::fmt::Display for Damaged {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "the file is damaged: {}", self.0)
            }
        }
        impl Error for Damaged {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let io = std::io::Error::other("disk image is malformed");
        let e = anyhow::Error::new(Damaged(io)).context("cannot read the license");
        assert_eq!(
            explain_any(&e, Front::Cli),
            "cannot read the license: the file is damaged: disk image is malformed"
        );
    }

    #[test]
    fn a_seat_error_gets_the_same_steps_as_the_engine() {
        let e = anyhow::Error::new(ConcurrentSeatsError::NoDatabase).context("cannot check out");
        let text = explain_any(&e, Front::Cli);
        assert!(text.ends_with("give it with --db or TENURE_DB."), "{text}");
        let named = explain(&NamedSeatsError::NoDatabase, Front::Window);
        assert!(named.ends_with("Settings → Product database."), "{named}");
        let inner = NamedSeatsError::Workstation(EngineError::NoTrustedKeys);
        let text = explain(&inner, Front::Cli);
        assert!(text.ends_with("run: tenure trust ROOT.pub."), "{text}");
    }
}
