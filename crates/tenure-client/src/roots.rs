//! The vendor roots a product trusts. A product built for customers pins its vendor's roots at
//! build time and passes them to [`crate::Workstation::open`]; nothing a licensee can edit adds
//! one. A build without pinned roots is a development build: it trusts the roots added with
//! `trust`, and says plainly that its licenses are not protected.

use tenure_core::trust::parse_roots;
use tenure_core::{DocError, TrustedKeys};

/// What this build trusts.
#[derive(Debug, Clone)]
pub enum Roots {
    /// The vendor's roots, built into the product.
    Pinned(TrustedKeys),
    /// The in-process demo server's own root, made at start.
    Demo(TrustedKeys),
    /// No roots built in: roots added with `trust` are believed. Not for customers.
    Development,
}

/// What a development build says on every screen.
pub const DEVELOPMENT_WARNING: &str = "development build — licenses not protected";

impl Roots {
    /// Pinned roots from one or more armored root public keys.
    pub fn pinned_from_text(text: &str) -> Result<Self, DocError> {
        Ok(Self::Pinned(parse_roots(text)?))
    }

    /// The demo's root from its armored public key.
    pub fn demo_from_text(text: &str) -> Result<Self, DocError> {
        Ok(Self::Demo(parse_roots(text)?))
    }

    /// The roots a build carries (`TENURE_VENDOR_ROOTS` at build time): none gives a
    /// development build.
    pub fn from_build(text: &str) -> Result<Self, DocError> {
        if text.trim().is_empty() {
            Ok(Self::Development)
        } else {
            Self::pinned_from_text(text)
        }
    }

    /// True when the roots cannot be changed by the user.
    pub fn is_pinned(&self) -> bool {
        !matches!(self, Roots::Development)
    }

    /// The banner to show, when not a customer build: "DEMO" or the development warning.
    pub fn banner(&self) -> Option<&'static str> {
        match self {
            Roots::Pinned(_) => None,
            Roots::Demo(_) => Some("DEMO"),
            Roots::Development => Some(DEVELOPMENT_WARNING),
        }
    }

    /// The fixed roots, if any.
    pub(crate) fn keys(&self) -> TrustedKeys {
        match self {
            Roots::Pinned(keys) | Roots::Demo(keys) => keys.clone(),
            Roots::Development => TrustedKeys::new(),
        }
    }
}
