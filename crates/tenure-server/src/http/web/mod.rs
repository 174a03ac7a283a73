//! What the console (`/console`, vendor staff) and the portal (`/portal`, customers) share:
//! the page frame and stylesheet, the headers every page carries, the session cookie, the CSRF
//! check and the same-site check on sign-in. No script anywhere: every form is plain HTML.

pub(super) mod chart;
pub(super) mod offline;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// One of the two sites: its name, where it lives, its navigation.
pub(super) struct Site {
    /// "Tenure console".
    pub name: &'static str,
    /// `/console`: its pages, cookie path and stylesheet live under it.
    pub root: &'static str,
    /// The session cookie's name.
    pub cookie: &'static str,
    /// The navigation's links, label and path.
    pub nav: &'static [(&'static str, &'static str)],
}

/// Who is signed in, as the frame shows them.
pub(super) struct Visitor<'a> {
    /// "ana (admin)", "Acme".
    pub who: String,
    /// The session's CSRF token, for the sign-out form.
    pub csrf: &'a str,
}

impl Site {
    /// A page in the site's frame: title, navigation, who is signed in and their sign-out.
    pub fn page(&self, title: &str, visitor: Option<&Visitor<'_>>, body: &Markup) -> Markup {
        let root = self.root;
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · " (self.name) }
                    link rel="stylesheet" href={ (root) "/style.css" };
                }
                body {
                    header {
                        a.brand href=(root) { (self.name) }
                        @if let Some(visitor) = visitor {
                            nav aria-label=(self.name) {
                                @for (label, path) in self.nav { a href=(path) { (label) } " " }
                            }
                            form.signout method="post" action={ (root) "/sign-out" } {
                                input type="hidden" name="csrf" value=(visitor.csrf);
                                span { (visitor.who) }
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                    main { (body) }
                }
            }
        }
    }

    /// A refusal, in a page of its own.
    pub fn refused(&self, visitor: Option<&Visitor<'_>>, sentence: &str) -> Markup {
        let body = html! {
            h1 { "Refused" }
            p.problem role="alert" { (sentence) }
            p { a href=(self.root) { "Back" } }
        };
        self.page("Refused", visitor, &body)
    }

    /// The session token the request's cookie carries.
    pub fn session_token(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.cookie)
            .map(|(_, value)| value.to_owned())
    }

    /// Sets the session cookie (or, with `None`, clears it): `HttpOnly`, `Secure`,
    /// `SameSite=Strict`, sent only to this site's pages.
    pub fn set_cookie(&self, response: &mut Response, token: Option<&str>) {
        let cookie = match token {
            Some(token) => format!(
                "{}={token}; Path={}; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
                self.cookie,
                self.root,
                crate::service::SESSION_HOURS * 3600
            ),
            None => format!(
                "{}=; Path={}; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
                self.cookie, self.root
            ),
        };
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }

    /// A form's CSRF token must be its session's: a page of another site cannot post for the
    /// signed-in visitor. The refusal when it is not.
    pub fn csrf_refused(
        &self,
        visitor: &Visitor<'_>,
        expected: &str,
        sent: &str,
    ) -> Option<Response> {
        use subtle::ConstantTimeEq as _;
        if bool::from(expected.as_bytes().ct_eq(sent.as_bytes())) {
            return None;
        }
        Some(
            (
                StatusCode::FORBIDDEN,
                self.refused(
                    Some(visitor),
                    "this form is out of date or was not sent from this site: open the page again and resend",
                ),
            )
                .into_response(),
        )
    }
}

/// What every page carries: no script, no framing, no caching, no sniffing.
pub(super) async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The stylesheet, embedded in the binary.
pub(super) async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("style.css"),
    )
}

/// A sign-in must come from the site's own page: a cross-site form cannot sign a browser in
/// to an attacker's session.
pub(super) fn same_site(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "cross-site" || site == "same-site")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    origin_host.is_some() && origin_host == host
}

/// A query's text as a URL's query part may carry it.
pub(super) fn percent_encode(text: &str) -> String {
    use std::fmt::Write as _;
    text.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}
