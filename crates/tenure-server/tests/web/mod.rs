//! A browser's side of the console and the portal, over real HTTP: forms encoded as browsers
//! encode them, cookies sent back, CSRF tokens read from the pages.
use reqwest::header::{CONTENT_TYPE, COOKIE};

pub const FORM: &str = "application/x-www-form-urlencoded";

/// A form's fields as a browser sends them.
pub fn encoded(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn client() -> reqwest::Client {
    tenure_server::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn get(url: &str, path: &str, cookie: &str) -> reqwest::Response {
    client()
        .get(format!("{url}{path}"))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

pub async fn post(url: &str, path: &str, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
    client()
        .post(format!("{url}{path}"))
        .header(COOKIE, cookie)
        .header(CONTENT_TYPE, FORM)
        .body(encoded(form))
        .send()
        .await
        .unwrap()
}

/// Posts a file to `path` as an upload form does (`multipart/form-data`: `csrf`, `file`, and
/// the empty `text` box a browser sends beside it).
pub async fn upload(
    url: &str,
    path: &str,
    cookie: &str,
    csrf: &str,
    text: &str,
) -> reqwest::Response {
    const BOUNDARY: &str = "tenureTestBoundary7MA4YWxk";
    let body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload.txt\"\r\n\
         Content-Type: text/plain\r\n\r\n{text}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n\r\n--{BOUNDARY}--\r\n"
    );
    client()
        .post(format!("{url}{path}"))
        .header(COOKIE, cookie)
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The CSRF token a page's forms carry.
pub fn csrf_in(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

/// The password of every member of staff the tests add.
pub const PASSWORD: &str = "correct horse battery";

/// Adds ana (admin) and sam (support), both with [`PASSWORD`].
pub async fn ana_and_sam(vendor: &tenure_server::Vendor) {
    use tenure_server::service::Role;
    for (name, role) in [("ana", Role::Admin), ("sam", Role::Support)] {
        vendor.staff().add(name, role, PASSWORD).await.unwrap();
    }
}
