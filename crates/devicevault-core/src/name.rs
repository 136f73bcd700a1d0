//! Names people give to things (devices, locations, credentials, groups,
//! types, schedules, tokens): what a list shows and a person recognises.
//!
//! A name is NFC-normalised and trimmed, 1 to [`MAX_NAME_CHARS`]
//! characters, and free of characters that make two names look alike or
//! make text lie about itself: control characters, zero-width characters
//! and byte-order marks, and bidirectional overrides (the "Trojan Source"
//! characters). One validator for every front end.

use std::fmt;

use unicode_normalization::UnicodeNormalization as _;

/// Longest accepted name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Why a string is not an acceptable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("may not be blank")]
    Blank,
    #[error("at most {MAX_NAME_CHARS} characters")]
    TooLong,
    #[error("may not contain control characters (found U+{0:04X})")]
    Control(u32),
    #[error(
        "may not contain invisible characters (found U+{0:04X}, a zero-width or formatting character)"
    )]
    Invisible(u32),
    #[error(
        "may not contain characters that reorder text (found U+{0:04X}, a bidirectional control)"
    )]
    Bidi(u32),
}

/// A validated, normalised name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

/// Zero-width and other invisible formatting characters.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'                 // soft hyphen
            | '\u{034F}'           // combining grapheme joiner
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
            | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' // Mongolian variation selectors and vowel separator
            | '\u{200B}'..='\u{200D}' // zero-width space, non-joiner, joiner
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{206A}'..='\u{206F}' // deprecated format characters
            | '\u{FE00}'..='\u{FE0F}' // variation selectors
            | '\u{FEFF}'              // byte-order mark, zero-width no-break space
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotations
            | '\u{E0000}'..='\u{E007F}' // tags
    )
}

/// Characters that change the direction text is displayed in.
fn bidi(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

impl Name {
    /// Normalises (NFC, trimmed) and validates `s`.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let n: String = s.trim().nfc().collect();
        if n.is_empty() {
            return Err(NameError::Blank);
        }
        if n.chars().count() > MAX_NAME_CHARS {
            return Err(NameError::TooLong);
        }
        for c in n.chars() {
            if c.is_control() {
                return Err(NameError::Control(c.into()));
            }
            if bidi(c) {
                return Err(NameError::Bidi(c.into()));
            }
            if invisible(c) {
                return Err(NameError::Invisible(c.into()));
            }
        }
        Ok(Self(n))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_nfc_normalised() {
        // "é" as e + combining acute becomes the single code point.
        let n = Name::parse("  cafe\u{301}-r1 ").unwrap();
        assert_eq!(n.as_str(), "caf\u{e9}-r1");
        assert_eq!(
            Name::parse("core-sw 1 (Paris)").unwrap().as_str(),
            "core-sw 1 (Paris)"
        );
        assert_eq!(Name::parse("東京-r1").unwrap().as_str(), "東京-r1");
    }

    #[test]
    fn blank_long_control_invisible_and_bidi_names_are_refused_with_the_character() {
        assert_eq!(Name::parse(" \t "), Err(NameError::Blank));
        assert_eq!(Name::parse(&"x".repeat(201)), Err(NameError::TooLong));
        assert!(Name::parse(&"x".repeat(200)).is_ok());
        assert_eq!(Name::parse("r1\tx"), Err(NameError::Control(9)));
        assert_eq!(Name::parse("r\u{200B}1"), Err(NameError::Invisible(0x200B)));
        assert_eq!(Name::parse("r1\u{FEFF}"), Err(NameError::Invisible(0xFEFF)));
        assert_eq!(
            Name::parse("r\u{202E}1gpj.exe"),
            Err(NameError::Bidi(0x202E))
        );
        assert_eq!(Name::parse("r\u{2066}1"), Err(NameError::Bidi(0x2066)));
        assert_eq!(
            Name::parse("r\u{202E}1").unwrap_err().to_string(),
            "may not contain characters that reorder text (found U+202E, a bidirectional control)"
        );
    }
}
