//! The addon's link arguments (napi-build), and the vendor roots pinned as in the app.

#[path = "../../build/pin_roots.rs"]
mod pin_roots;

fn main() {
    napi_build::setup();
    pin_roots::pin_roots();
}
