//! License keys: 13 digits, shown `1234-5678-9012-3`.
//!
//! Twelve random digits and one Damm check digit. The Damm algorithm catches every single-digit
//! error and every swap of two adjacent digits, so a key typed wrong is refused before any network
//! call, with a message that says which kind of mistake it is.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Number of digits in a license key, check digit included.
pub const KEY_DIGITS: usize = 13;

/// The Damm quasigroup of order 10 (totally anti-symmetric, zero diagonal).
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

fn damm_interim(digits: &[u8]) -> u8 {
    digits
        .iter()
        .fold(0, |interim, &d| DAMM[usize::from(interim)][usize::from(d)])
}

/// Why a typed license key was refused. Each message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Nothing was typed.
    #[error("the license key is empty: type the 13 digits from your license letter")]
    Empty,
    /// A character that is neither a digit nor a separator.
    #[error(
        "the license key may hold only digits, dashes and spaces, but has {found:?} at position {position}"
    )]
    NonDigit {
        /// The offending character.
        found: char,
        /// 1-based position in the typed text.
        position: usize,
    },
    /// Too few or too many digits.
    #[error("a license key has 13 digits, but this one has {found}")]
    WrongLength {
        /// Digits counted.
        found: usize,
    },
    /// All 13 digits are there but the check digit does not match.
    #[error(
        "the license key's check digit does not match: a digit is mistyped or two digits are swapped"
    )]
    CheckDigit,
}

/// A well-formed license key (the check digit is correct).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LicenseKey([u8; KEY_DIGITS]);

impl LicenseKey {
    /// Builds a key from 12 random digits (each `0..=9`, taken modulo 10) by appending the check
    /// digit. The caller supplies the randomness; this crate does no I/O.
    pub fn from_random_digits(random: [u8; KEY_DIGITS - 1]) -> Self {
        let mut digits = [0u8; KEY_DIGITS];
        for (slot, r) in digits.iter_mut().zip(random) {
            *slot = r % 10;
        }
        digits[KEY_DIGITS - 1] = damm_interim(&digits[..KEY_DIGITS - 1]);
        Self(digits)
    }

    /// Parses a key typed by a person: digits, optionally grouped with dashes or spaces.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut digits = Vec::with_capacity(KEY_DIGITS);
        for (index, ch) in text.trim().chars().enumerate() {
            match ch {
                '0'..='9' => digits.push(ch as u8 - b'0'),
                '-' | ' ' | '\t' => {}
                other => {
                    return Err(KeyError::NonDigit {
                        found: other,
                        position: index + 1,
                    });
                }
            }
        }
        if digits.is_empty() {
            return Err(KeyError::Empty);
        }
        let Ok(digits) = <[u8; KEY_DIGITS]>::try_from(digits.as_slice()) else {
            return Err(KeyError::WrongLength {
                found: digits.len(),
            });
        };
        if damm_interim(&digits) != 0 {
            return Err(KeyError::CheckDigit);
        }
        Ok(Self(digits))
    }

    /// The 13 digits with no separators, as stored and sent.
    pub fn digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }
}

impl fmt::Display for LicenseKey {
    /// `1234-5678-9012-3`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.digits();
        write!(f, "{}-{}-{}-{}", &d[0..4], &d[4..8], &d[8..12], &d[12..])
    }
}

impl fmt::Debug for LicenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LicenseKey({self})")
    }
}

impl FromStr for LicenseKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for LicenseKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.digits())
    }
}

impl<'de> Deserialize<'de> for LicenseKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_damm_example() {
        // The textbook example: 572 has check digit 4.
        assert_eq!(damm_interim(&[5, 7, 2]), 4);
        assert_eq!(damm_interim(&[5, 7, 2, 4]), 0);
    }

    #[test]
    fn parses_with_dashes_and_spaces() {
        let key = LicenseKey::from_random_digits([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]);
        let shown = key.to_string();
        assert_eq!(shown.len(), 16);
        assert_eq!(LicenseKey::parse(&shown), Ok(key));
        assert_eq!(LicenseKey::parse(&shown.replace('-', " ")), Ok(key));
        assert_eq!(LicenseKey::parse(&key.digits()), Ok(key));
    }

    #[test]
    fn errors_tell_mistakes_apart() {
        let key = LicenseKey::from_random_digits([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]);
        let digits = key.digits();
        assert_eq!(LicenseKey::parse(""), Err(KeyError::Empty));
        assert_eq!(
            LicenseKey::parse(&digits[..12]),
            Err(KeyError::WrongLength { found: 12 })
        );
        assert!(matches!(
            LicenseKey::parse("1234-567x-9012-3"),
            Err(KeyError::NonDigit {
                found: 'x',
                position: 9
            })
        ));
        let mut swapped: Vec<char> = digits.chars().collect();
        swapped.swap(3, 4);
        if swapped[3] != swapped[4] {
            let swapped: String = swapped.into_iter().collect();
            assert_eq!(LicenseKey::parse(&swapped), Err(KeyError::CheckDigit));
        }
        assert!(
            KeyError::CheckDigit
                .to_string()
                .contains("two digits are swapped")
        );
    }

    proptest! {
        #[test]
        fn every_single_digit_error_is_caught(random in prop::array::uniform12(0u8..10), pos in 0usize..13, delta in 1u8..10) {
            let key = LicenseKey::from_random_digits(random);
            let mut digits = key.0;
            digits[pos] = (digits[pos] + delta) % 10;
            let typed: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert_eq!(LicenseKey::parse(&typed), Err(KeyError::CheckDigit));
        }

        #[test]
        fn every_adjacent_swap_is_caught(random in prop::array::uniform12(0u8..10), pos in 0usize..12) {
            let key = LicenseKey::from_random_digits(random);
            let mut digits = key.0;
            prop_assume!(digits[pos] != digits[pos + 1]);
            digits.swap(pos, pos + 1);
            let typed: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert_eq!(LicenseKey::parse(&typed), Err(KeyError::CheckDigit));
        }
    }
}
