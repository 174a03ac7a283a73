//! The armored text form of every Tenure file.
//!
//! ```text
//! -----BEGIN TENURE LICENSE-----
//! Format: 1
//! Key-Id: 0f3a9c1d2b4e6a80
//! Signature: <base64 of 64 bytes>
//!
//! <base64 of the payload, wrapped at 64 columns>
//! -----END TENURE LICENSE-----
//! ```
//!
//! The parser is strict on purpose: headers must be spelled exactly, base64 must be canonical,
//! and nothing may follow the END line but one line break. So no single-byte change to a file
//! yields the same document. Only the line ending (LF or CRLF, as a mail program or editor may
//! rewrite it) is tolerated. Unsigned documents (offline requests, public keys) have no
//! `Key-Id` and `Signature` headers.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::signed::{DocError, DocKind};

/// The largest file Tenure will read, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
const WRAP_COLUMNS: usize = 64;
/// An Ed25519 signature's length.
const SIGNATURE_BYTES: usize = 64;
const DASHES: &str = "-----";

/// An armored block split into its parts; nothing verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Armored {
    /// The document kind from the BEGIN line.
    pub kind: DocKind,
    /// The `Format:` header.
    pub format: u32,
    /// `Key-Id` and signature bytes, for signed documents.
    pub signature: Option<(String, Vec<u8>)>,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

impl Armored {
    /// Writes the armored text, ending with a line break.
    pub fn to_text(&self) -> String {
        let label = self.kind.label();
        let mut out = format!("{DASHES}BEGIN {label}{DASHES}\nFormat: {}\n", self.format);
        if let Some((key_id, signature)) = &self.signature {
            let _ = write!(
                out,
                "Key-Id: {key_id}\nSignature: {}\n",
                STANDARD.encode(signature)
            );
        }
        out.push('\n');
        let body = STANDARD.encode(&self.payload);
        out.reserve(body.len() + body.len() / WRAP_COLUMNS + 64);
        // Base64 is ASCII: every byte offset is a character boundary.
        let mut rest = body.as_str();
        while !rest.is_empty() {
            let (line, tail) = rest.split_at(WRAP_COLUMNS.min(rest.len()));
            out.push_str(line);
            out.push('\n');
            rest = tail;
        }
        let _ = writeln!(out, "{DASHES}END {label}{DASHES}");
        out
    }

    /// Parses armored text. Checks structure only: no version, key or signature checks.
    pub fn parse(text: &str) -> Result<Self, DocError> {
        if text.trim().is_empty() {
            return Err(DocError::Empty);
        }
        if text.len() > MAX_DOCUMENT_BYTES {
            return Err(DocError::TooLarge {
                bytes: text.len(),
                limit: MAX_DOCUMENT_BYTES,
            });
        }
        let body = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(text);
        let raw_lines: Vec<&str> = body.split('\n').collect();
        let last_index = raw_lines.len() - 1;
        // A CR is a line ending only before a LF: never on the last line, where it would be a
        // changed byte.
        let lines: Vec<&str> = raw_lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i < last_index {
                    l.strip_suffix('\r').unwrap_or(l)
                } else {
                    l
                }
            })
            .collect();

        let first = lines.first().copied().unwrap_or_default();
        let kind = first
            .strip_prefix(DASHES)
            .and_then(|s| s.strip_prefix("BEGIN "))
            .and_then(|s| s.strip_suffix(DASHES))
            .ok_or(DocError::NotArmored)?;
        let kind = DocKind::from_label(kind).ok_or_else(|| DocError::UnknownKind(kind.into()))?;
        let end = format!("{DASHES}END {}{DASHES}", kind.label());
        if lines.last() != Some(&end.as_str()) || lines.len() < 4 {
            return Err(DocError::Malformed(
                "the END line is missing or altered; the file is truncated or was edited",
            ));
        }
        let inner = &lines[1..lines.len() - 1];

        let mut rest = inner.iter();
        let format = rest
            .next()
            .and_then(|l| l.strip_prefix("Format: "))
            .ok_or(DocError::Malformed("the Format header is missing"))?;
        let format = parse_canonical_u32(format)
            .ok_or(DocError::Malformed("the Format header is not a number"))?;

        let mut signature = None;
        let mut next = rest.next().copied();
        if let Some(key_line) = next.and_then(|l| l.strip_prefix("Key-Id: ")) {
            let sig_line = rest
                .next()
                .and_then(|l| l.strip_prefix("Signature: "))
                .ok_or(DocError::Malformed("the Signature header is missing"))?;
            // A key id is 16 lowercase hex digits, a signature 64 bytes: anything else (a stray
            // CR, say) would give one document two spellings. Found by the `armor` fuzzer.
            let key_id_ok = key_line.len() == 16
                && key_line
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !key_id_ok {
                return Err(DocError::Malformed(
                    "the Key-Id header is not 16 lowercase hex digits",
                ));
            }
            let sig = STANDARD
                .decode(sig_line)
                .map_err(|_| DocError::Malformed("the Signature header is not valid base64"))?;
            if sig.len() != SIGNATURE_BYTES {
                return Err(DocError::Malformed("the Signature header is not 64 bytes"));
            }
            signature = Some((key_line.to_owned(), sig));
            next = rest.next().copied();
        }
        if next != Some("") {
            return Err(DocError::Malformed(
                "expected one blank line between the headers and the body",
            ));
        }
        let mut encoded = String::new();
        for line in rest {
            if line.is_empty() || line.len() > WRAP_COLUMNS {
                return Err(DocError::Malformed(
                    "the body lines are not wrapped as written",
                ));
            }
            encoded.push_str(line);
        }
        let payload = STANDARD
            .decode(encoded.as_bytes())
            .map_err(|_| DocError::Malformed("the body is not valid base64"))?;
        if payload.is_empty() {
            return Err(DocError::Malformed("the body is empty"));
        }
        Ok(Self {
            kind,
            format,
            signature,
            payload,
        })
    }
}

/// Digits only, no sign, no leading zero: one spelling per number.
fn parse_canonical_u32(text: &str) -> Option<u32> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Armored {
        Armored {
            kind: DocKind::License,
            format: 1,
            signature: Some(("00112233aabbccdd".into(), vec![7; 64])),
            payload: b"(hello: \"world\")".repeat(10),
        }
    }

    #[test]
    fn round_trips() {
        let a = sample();
        assert_eq!(Armored::parse(&a.to_text()), Ok(a.clone()));
        let crlf = a.to_text().replace('\n', "\r\n");
        assert_eq!(Armored::parse(&crlf), Ok(a));
    }

    #[test]
    fn tells_problems_apart() {
        assert_eq!(Armored::parse(""), Err(DocError::Empty));
        assert_eq!(Armored::parse("hello"), Err(DocError::NotArmored));
        let truncated = &sample().to_text()[..100];
        assert!(matches!(
            Armored::parse(truncated),
            Err(DocError::Malformed(_))
        ));
        // A stray CR in the key id would give the same document two spellings.
        let cr_in_key_id = sample()
            .to_text()
            .replace("Key-Id: 00112233aabbccdd", "Key-Id: 00112233aabbcc\r\r");
        assert!(matches!(
            Armored::parse(&cr_in_key_id),
            Err(DocError::Malformed(_))
        ));
        let big = "x".repeat(MAX_DOCUMENT_BYTES + 1);
        assert!(matches!(
            Armored::parse(&big),
            Err(DocError::TooLarge { .. })
        ));
    }
}
