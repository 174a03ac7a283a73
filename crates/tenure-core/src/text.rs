//! The one rule for text a caller sends — identifiers, names, nonces, reasons.
//!
//! No field may hold a control character (C0, DEL, C1: NUL, tab, line breaks…) nor an
//! invisible formatting character an admin reading a name would not see: bidi overrides and
//! isolates, line and paragraph separators, zero-width spaces and joiners' invisible cousins,
//! the byte-order mark (zero-width joiners and non-joiners, which some scripts need, are
//! allowed). Names and identifiers may not start or end with a space, and are never trimmed
//! silently: such text is refused, so what is stored is what was sent.

/// True for a character no field may hold.
pub fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// The characters no field may hold, as the inside of a regular expression's class.
const FORBIDDEN_CLASS: &str = r"\u0000-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B\u200E\u200F\u2028-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB";

/// The spaces a name may not start or end with (Unicode's white space that is not forbidden
/// already), likewise.
const SPACE_CLASS: &str = r" \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000";

/// Any text without a forbidden character (may be empty), as a regular expression (the
/// syntax JSON Schema and Python share).
pub fn free_text_pattern() -> String {
    format!("^[^{FORBIDDEN_CLASS}]*$")
}

/// A name or identifier — no forbidden character, not empty, no space at either end — that
/// also holds none of `also_forbidden`, as a regular expression.
pub fn name_pattern(also_forbidden: &str) -> String {
    let inner = format!("{FORBIDDEN_CLASS}{also_forbidden}");
    let edge = format!("{inner}{SPACE_CLASS}");
    format!("^[^{edge}](?:[^{inner}]*[^{edge}])?$")
}

/// What is wrong with a field's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextProblem {
    /// A character no field may hold.
    #[error(
        "the {field} holds {} (U+{:04X}), which no name or identifier may hold: send plain text",
        describe(*found),
        u32::from(*found)
    )]
    Forbidden {
        /// Which field.
        field: &'static str,
        /// The character.
        found: char,
    },
    /// Empty.
    #[error("the {field} is empty")]
    Empty {
        /// Which field.
        field: &'static str,
    },
    /// A space at the start or the end (names are not trimmed silently).
    #[error("the {field} starts or ends with a space: send it without")]
    Spaces {
        /// Which field.
        field: &'static str,
    },
    /// Longer than allowed.
    #[error("the {field} is longer than {max} characters")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// The most characters allowed.
        max: usize,
    },
}

fn describe(c: char) -> &'static str {
    match c {
        '\0' => "a NUL",
        '\t' => "a tab",
        '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' => "a line break",
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => "a text-direction override",
        '\u{FEFF}' => "a byte-order mark",
        c if c.is_control() => "a control character",
        _ => "an invisible formatting character",
    }
}

fn check_chars(field: &'static str, value: &str, max: usize) -> Result<(), TextProblem> {
    if let Some(found) = value.chars().find(|c| is_forbidden(*c)) {
        return Err(TextProblem::Forbidden { field, found });
    }
    if value.chars().count() > max {
        return Err(TextProblem::TooLong { field, max });
    }
    Ok(())
}

/// Checks a name or identifier: at most `max` characters, none forbidden, not empty, no space
/// at either end ([`NAME_PATTERN`]).
pub fn check_name(field: &'static str, value: &str, max: usize) -> Result<(), TextProblem> {
    check_chars(field, value, max)?;
    if value.is_empty() {
        return Err(TextProblem::Empty { field });
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Err(TextProblem::Spaces { field });
    }
    Ok(())
}

/// Checks free text (a reason, a nonce): at most `max` characters, none forbidden
/// ([`FREE_TEXT_PATTERN`]); empty unless `min` is 1.
pub fn check_free_text(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), TextProblem> {
    check_chars(field, value, max)?;
    if value.chars().count() < min {
        return Err(TextProblem::Empty { field });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule in Rust and the patterns the OpenAPI document states agree, character by
    /// character over the Basic Multilingual Plane and at both ends of a name.
    #[test]
    fn the_rule_and_the_schema_patterns_agree() {
        let free = regex::Regex::new(&free_text_pattern()).unwrap();
        let name = regex::Regex::new(&name_pattern("")).unwrap();
        let quantity = regex::Regex::new(&name_pattern(":")).unwrap();
        for code in 0..=0xFFFF_u32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let alone = c.to_string();
            assert_eq!(
                free.is_match(&alone),
                check_free_text("f", &alone, 0, 10).is_ok(),
                "U+{code:04X} alone"
            );
            for text in [
                alone.clone(),
                format!("a{c}b"),
                format!("{c}ab"),
                format!("ab{c}"),
            ] {
                assert_eq!(
                    name.is_match(&text),
                    check_name("n", &text, 10).is_ok(),
                    "U+{code:04X} in {text:?}"
                );
                assert_eq!(
                    quantity.is_match(&text),
                    crate::allocation::name_problem(&text).is_none(),
                    "U+{code:04X} in the quantity name {text:?}"
                );
            }
        }
    }

    #[test]
    fn names_say_what_is_wrong() {
        assert_eq!(check_name("account name", "acme", 64), Ok(()));
        assert_eq!(check_name("account name", "Zürich 工場 الرياض", 64), Ok(()));
        let rlo = check_name("account name", "acme\u{202E}gnp.exe", 64).unwrap_err();
        assert!(rlo.to_string().contains("text-direction override"), "{rlo}");
        assert!(matches!(
            check_name("account name", "\tacme", 64),
            Err(TextProblem::Forbidden { found: '\t', .. })
        ));
        assert_eq!(
            check_name("account name", " acme", 64),
            Err(TextProblem::Spaces {
                field: "account name"
            })
        );
        assert!(check_name("x", &"a".repeat(65), 64).is_err());
        assert!(check_name("x", "", 64).is_err());
        assert!(check_free_text("nonce", "", 1, 128).is_err());
        assert_eq!(check_free_text("reason", "", 0, 500), Ok(()));
        assert!(check_free_text("reason", "line\u{2028}break", 0, 500).is_err());
    }
}
