//! Skills, languages, certifications and ratings: small validated values that matching compares exactly.

use std::fmt;

use crate::error::FieldError;

/// The text of a term: inline up to [`TermText::INLINE`] bytes (every common skill, language and
/// certification), on the heap beyond. Matching compares the names of every candidate's skills and languages;
/// inline, they sit in the list that holds them instead of one heap allocation each.
#[derive(Clone)]
enum TermText {
    Inline([u8; TermText::INLINE], u8),
    Heap(Box<str>),
}

impl TermText {
    const INLINE: usize = 22;

    fn new(s: &str) -> Self {
        if s.len() <= Self::INLINE {
            let mut bytes = [0; Self::INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            TermText::Inline(bytes, s.len() as u8)
        } else {
            TermText::Heap(s.into())
        }
    }

    #[inline]
    fn as_str(&self) -> &str {
        match self {
            // SAFETY: the bytes were copied from a `&str` of exactly `len` bytes, so they are valid UTF-8.
            TermText::Inline(bytes, len) => unsafe {
                std::str::from_utf8_unchecked(&bytes[..*len as usize])
            },
            TermText::Heap(s) => s,
        }
    }
}

impl PartialEq for TermText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for TermText {}

impl PartialOrd for TermText {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TermText {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for TermText {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for TermText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

macro_rules! term_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(TermText);

        impl $name {
            /// Normalises (trim, lower case) and checks: 1 to the maximum length of `a-z`, `0-9`, `_` and `-`,
            /// starting with a letter or digit.
            pub fn new(raw: &str) -> Result<Self, FieldError> {
                let s = raw.trim().to_ascii_lowercase();
                let ok = !s.is_empty()
                    && s.len() <= $max
                    && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
                    && s.as_bytes()[0].is_ascii_alphanumeric();
                if ok {
                    Ok(Self(TermText::new(&s)))
                } else {
                    Err(FieldError::new(
                        "",
                        format!(concat!("must be a ", $what, " of 1 to {} characters: letters, digits, '_' or '-'"), $max),
                    ))
                }
            }

            /// The normalised text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0.as_str())
            }
        }
    };
}

term_type!(
    /// A skill's name (`promoter`, `forklift`).
    SkillName, "skill name", 64);
term_type!(
    /// A certification (`food_safety`).
    Certification, "certification", 64);
term_type!(
    /// A language as a BCP 47 style tag (`en`, `zh`, `zh-hant`).
    Language, "language tag", 16);

/// A skill level, 1 (beginner) to 5 (expert).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level(u8);

impl Level {
    /// The lowest level, also the default when none is given.
    pub const MIN: Level = Level(1);
    /// The highest level.
    pub const MAX: Level = Level(5);

    /// Checks and builds a level.
    pub fn new(level: i64) -> Result<Self, FieldError> {
        if (1..=5).contains(&level) {
            Ok(Level(level as u8))
        } else {
            Err(FieldError::new("level", "must be between 1 and 5"))
        }
    }

    /// The level as a number from 1 to 5.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// A skill a worker has, at a level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Skill {
    /// What the skill is.
    pub name: SkillName,
    /// How good the worker is at it.
    pub level: Level,
}

/// A skill a role requires, at a minimum level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SkillReq {
    /// The skill.
    pub name: SkillName,
    /// The lowest acceptable level.
    pub min_level: Level,
}

/// A rating of one shift, 1 to 5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stars(u8);

impl Stars {
    /// Checks and builds a rating.
    pub fn new(stars: i64) -> Result<Self, FieldError> {
        if (1..=5).contains(&stars) {
            Ok(Stars(stars as u8))
        } else {
            Err(FieldError::new("stars", "must be between 1 and 5"))
        }
    }

    /// The number of stars.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// A minimum rating average a role asks for: 0 (anyone, the unrated included) to 5.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct MinStars(f64);

impl MinStars {
    /// Checks and builds a minimum rating.
    pub fn new(v: f64) -> Result<Self, FieldError> {
        if v.is_finite() && (0.0..=5.0).contains(&v) {
            Ok(MinStars(v))
        } else {
            Err(FieldError::new("min_stars", "must be between 0 and 5"))
        }
    }

    /// The minimum as a number.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// Checks a list of raw strings into terms, collecting errors under `field[i]` and dropping duplicates. A list
/// longer than `max` is refused whole.
pub fn parse_terms<T: Ord>(
    field: &str,
    raw: &[String],
    max: usize,
    parse: impl Fn(&str) -> Result<T, FieldError>,
    errors: &mut Vec<FieldError>,
) -> Vec<T> {
    if !super::limits::within(field, raw.len(), max, errors) {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        match parse(r) {
            Ok(t) => out.push(t),
            Err(e) => errors.push(e.under(&format!("{field}[{i}]"))),
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names kept inline and names on the heap read back, compare, sort and hash as their text.
    #[test]
    fn term_text_behaves_as_its_string_inline_or_not() {
        const _: () = assert!(std::mem::size_of::<TermText>() == 24);
        let names = [
            "a",
            "promoter",
            "abcdefghijklmnopqrstuv",  // 22 bytes: the longest inline
            "abcdefghijklmnopqrstuvw", // 23 bytes: on the heap
            "abcdefghijklmnopqrstuva",
            "zz_equipment",
            "forklift-class-b-certified-operator",
        ];
        let mut texts: Vec<SkillName> = names.iter().map(|n| SkillName::new(n).unwrap()).collect();
        for (t, n) in texts.iter().zip(names) {
            assert_eq!(t.as_str(), n);
            assert_eq!(t.to_string(), n);
            assert_eq!(format!("{t:?}"), format!("SkillName({n:?})"));
        }
        texts.sort();
        let mut sorted = names.to_vec();
        sorted.sort();
        assert_eq!(
            texts.iter().map(SkillName::as_str).collect::<Vec<_>>(),
            sorted
        );
        let set: std::collections::HashSet<SkillName> = texts.iter().cloned().collect();
        assert!(set.contains(&SkillName::new("abcdefghijklmnopqrstuvw").unwrap()));
        assert!(!set.contains(&SkillName::new("abcdefghijklmnopqrstu").unwrap()));
        assert_ne!(
            SkillName::new("abcdefghijklmnopqrstuv").unwrap(),
            SkillName::new("abcdefghijklmnopqrstuvw").unwrap()
        );
    }

    #[test]
    fn terms_are_normalised_and_checked() {
        assert_eq!(SkillName::new(" Promoter ").unwrap().as_str(), "promoter");
        assert!(SkillName::new("").is_err());
        assert!(SkillName::new("fork lift").is_err());
        assert!(SkillName::new("_x").is_err());
        assert_eq!(Language::new("zh-Hant").unwrap().as_str(), "zh-hant");
        assert!(Language::new("a-very-long-language-tag").is_err());
    }

    #[test]
    fn levels_and_stars_are_one_to_five() {
        assert!(Level::new(0).is_err());
        assert!(Level::new(6).is_err());
        assert_eq!(Level::new(3).unwrap().get(), 3);
        assert!(Stars::new(0).is_err());
        assert!(Stars::new(5).is_ok());
        assert!(MinStars::new(5.5).is_err());
        assert!(MinStars::new(f64::NAN).is_err());
    }
}
