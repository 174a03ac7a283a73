//! Offline request files in the browser, for the portal and the console alike: upload one (a
//! file, or its text pasted), see what it asks, then download the signed answer — or, for a
//! release, see the key freed. The request's text rides in the preview's form, so nothing is
//! kept between the two steps; the server reads and checks it afresh when it answers.

use axum::extract::Multipart;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use tenure_core::DocKind;
use tenure_core::protocol::{OfflineAsk, OfflineRequest};

/// What an upload form sent: its CSRF token and the request's text.
pub(in crate::http) struct Upload {
    /// The form's CSRF token.
    pub csrf: String,
    /// The request file's text (from the file, else the pasted text), line ends made `\n`.
    pub text: String,
}

/// Reads an upload form (`multipart/form-data`: `csrf`, `file`, `text`). The sentence when
/// it cannot be read.
pub(in crate::http) async fn read_upload(mut form: Multipart) -> Result<Upload, String> {
    let unreadable = |e: &dyn std::fmt::Display| {
        format!("the upload could not be read ({e}): choose the file again and resend")
    };
    let (mut csrf, mut file, mut pasted) = (String::new(), Vec::new(), String::new());
    while let Some(field) = form.next_field().await.map_err(|e| unreadable(&e))? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|e| unreadable(&e))?,
            Some("file") => file = field.bytes().await.map_err(|e| unreadable(&e))?.to_vec(),
            Some("text") => pasted = field.text().await.map_err(|e| unreadable(&e))?,
            _ => {}
        }
    }
    let text = if file.is_empty() {
        pasted
    } else {
        tenure_core::signed::text_from_bytes(&file)
            .map_err(|e| format!("the file is not one Tenure wrote: {e}"))?
            .to_owned()
    };
    if text.trim().is_empty() {
        return Err("choose the file (or paste its text), then send".into());
    }
    Ok(Upload {
        csrf,
        text: normalized(&text),
    })
}

/// The text with its line ends as Tenure writes them (a browser sends a form's as `\r\n`).
pub(in crate::http) fn normalized(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// Reads a request file's text, unsigned (its claims are checked when it is answered).
pub(in crate::http) fn read_request(text: &str) -> Result<OfflineRequest, String> {
    tenure_core::signed::read_unsigned(text, DocKind::Request)
        .map_err(|e| format!("this is not a request file Tenure wrote: {e}"))
}

/// The upload form for an offline file, posting to `action`.
pub(in crate::http) fn upload_form(action: &str, csrf: &str) -> Markup {
    file_form(action, csrf, "Request or release file", "See what it asks")
}

/// A form that uploads one text file (or its pasted text), posting `csrf`, `file` and `text`
/// to `action` ([`read_upload`] reads it).
pub(in crate::http) fn file_form(action: &str, csrf: &str, label: &str, button: &str) -> Markup {
    html! {
        form method="post" action=(action) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(csrf);
            label for="file" { (label) }
            input id="file" name="file" type="file" accept=".txt,.cert,text/plain";
            label for="text" { "…or paste its text" }
            textarea id="text" name="text" rows="8" spellcheck="false" {}
            button type="submit" { (button) }
        }
    }
}

/// What a request asks, and the button that answers it (posting to `{root}/offline/answer`
/// or `{root}/offline/release`).
pub(in crate::http) fn preview(
    root: &str,
    csrf: &str,
    request: &OfflineRequest,
    text: &str,
) -> Markup {
    let release = matches!(request.ask, OfflineAsk::Release { .. });
    html! {
        h2 { "It asks for " (with_article(request.ask.noun())) }
        dl {
            @match &request.ask {
                OfflineAsk::Activate { key } => { dt { "Key" } dd { (crate::keyhash::masked(last4(key))) } }
                OfflineAsk::Validate { license_id } | OfflineAsk::Release { license_id } => {
                    dt { "License" } dd { (license_id) }
                }
                OfflineAsk::Rebind { license_id, reason } => {
                    dt { "License" } dd { (license_id) }
                    dt { "Reason" } dd { (reason) }
                }
                OfflineAsk::Extend { license_id, days } => {
                    dt { "License" } dd { (license_id) }
                    dt { "Grace asked" } dd { (days) " days" }
                }
            }
            dt { "Database server" } dd { (request.binding.server) }
            dt { "Database" } dd { (request.binding.database) }
            dt { "Written" } dd { (request.created_at.format("%Y-%m-%d %H:%M UTC")) " by Tenure " (request.app_version) }
        }
        @if release {
            form method="post" action={ (root) "/offline/release" } {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="request" value=(text);
                p { "The license is freed from this database, so its key can be activated elsewhere. This counts as a move." }
                button type="submit" { "Release the license" }
            }
        } @else {
            form method="post" action={ (root) "/offline/answer" } {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="request" value=(text);
                button type="submit" { "Sign and download the answer" }
            }
        }
    }
}

/// What a release did, with the way back to `back`.
pub(in crate::http) fn released(released: &crate::service::Released, back: &str) -> Markup {
    html! {
        h1 { "Released" }
        p.said role="status" {
            "License " (released.license_id) " is freed from " (released.from.to_string())
            ": its key can be activated where it is wanted now. It has " (released.moves_left)
            " moves left in the last 30 days."
        }
        p { a href=(back) { "Back" } }
    }
}

/// The upload page's body: what to upload, what went wrong last time, the form.
pub(in crate::http) fn upload(
    root: &str,
    csrf: &str,
    intro: &Markup,
    problem: Option<&str>,
) -> Markup {
    html! {
        h1 { "Offline files" }
        (intro)
        @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
        (upload_form(&format!("{root}/offline"), csrf))
    }
}

/// "an activation", "a validation".
fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}

fn last4(key: &str) -> &str {
    key.get(key.len().saturating_sub(4)..).unwrap_or_default()
}

/// The signed answer, as a file the browser saves.
pub(in crate::http) fn download(request: &OfflineRequest, answer: String) -> Response {
    let name = match &request.ask {
        OfflineAsk::Activate { .. } => "tenure-answer-activation.txt".to_owned(),
        OfflineAsk::Validate { license_id }
        | OfflineAsk::Rebind { license_id, .. }
        | OfflineAsk::Extend { license_id, .. }
        | OfflineAsk::Release { license_id } => format!("tenure-answer-{license_id}.txt"),
    };
    let mut response = (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        answer,
    )
        .into_response();
    // Ids are letters, digits and dashes: the name needs no quoting beyond the quotes.
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The form that posts a previewed request back.
#[derive(serde::Deserialize)]
pub(in crate::http) struct Previewed {
    /// The form's CSRF token.
    pub csrf: String,
    /// The request's text.
    pub request: String,
}
