//! What to do next, in the words of the front-end the user is in. The engine's errors say what
//! went wrong; the CLI and the window each add where to go from there (a command, or a screen),
//! so that wording lives here, once, and not in the SDK.

use tenure_client::{ApiError, EngineError};

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
        (EngineError::NoBinding | EngineError::NoDatabase, Window) => {
            "connect it under Settings → Product database"
        }
        (EngineError::NoDatabase, Cli) => "give it with --db or TENURE_DB",
        (EngineError::OfflineOnly, Cli) => {
            "tenure offline request validate, then import the answer"
        }
        (EngineError::OfflineOnly, Window) => "use the Offline screen",
        (EngineError::Api(ApiError::NotSignedIn), Cli) => "run: tenure login --account NAME",
        (EngineError::Api(ApiError::NotSignedIn), Window) => "sign in under Settings → Account",
        _ => return None,
    })
}

/// The error as one or two sentences for this front-end: what went wrong, then what to do.
pub fn explain(error: &EngineError, front: Front) -> String {
    match next_step(error, front) {
        Some(step) => format!("{error}. To go on, {step}."),
        None => error.to_string(),
    }
}

/// As [`explain`], for an error that may have an engine error inside (the CLI's `anyhow`).
pub fn explain_any(error: &anyhow::Error, front: Front) -> String {
    let step = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<EngineError>())
        .and_then(|e| next_step(e, front));
    match step {
        Some(step) => format!("{error:#}. To go on, {step}."),
        None => format!("{error:#}"),
    }
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
}
