//! Pins the vendor's root public keys into the app: `TENURE_VENDOR_ROOTS=roots.pub cargo build
//! --release`. Without it the build is a development build, which says on every screen that its
//! licenses are not protected (see `tenure::vendor_roots`).

#[path = "build/pin_roots.rs"]
mod pin_roots;

fn main() {
    pin_roots::pin_roots();
}
