//! Mutations of valid documents for the tests of outside input: tokens that tend to break parsers spliced in,
//! runs cut out, values swapped for nasty ones. Used by the parser properties (`tests/parsers.rs`) and the HTTP
//! suite's mutation test (`tests/api/hardening.rs`).

#![allow(dead_code)]

use rand::Rng;
use rand::rngs::StdRng;

/// Tokens that tend to break parsers.
pub const NASTY: &[&str] = &[
    "\\u0000",
    "-1e309",
    "1e309",
    "null",
    "[]",
    "{}",
    "\"",
    "\\",
    "99999999999999999999",
    "-0",
    "NaN",
    "\\ud800",
    "true",
    "\"2026-02-30T25:61:00+08:00\"",
    "\"\"",
    ",",
    ":",
    "\u{feff}",
    "\"Z\"",
    "1.5",
    "-91",
    "181",
    "\"\\u0000\"",
    "{\"x\":1}",
    "[[[[[[[[[[",
    "0x10",
    "\"+99:99\"",
    "\"Mars/Olympus\"",
];

/// One edit of a document, at a position taken modulo its length: insert a nasty token, delete a run of up to
/// 16 characters, or replace the value after the next colon by a nasty token.
#[derive(Debug, Clone)]
pub enum Edit {
    /// At, token.
    Insert(usize, usize),
    /// At, length.
    Delete(usize, usize),
    /// At, token.
    Replace(usize, usize),
}

/// One to three random edits.
pub fn random_edits(rng: &mut StdRng) -> Vec<Edit> {
    (0..rng.random_range(1..4))
        .map(|_| {
            let at = rng.random_range(0..usize::MAX / 2);
            match rng.random_range(0..3) {
                0 => Edit::Insert(at, rng.random_range(0..NASTY.len())),
                1 => Edit::Delete(at, rng.random_range(0..16)),
                _ => Edit::Replace(at, rng.random_range(0..NASTY.len())),
            }
        })
        .collect()
}

/// `doc` with `edits` applied in order.
pub fn apply(doc: &str, edits: &[Edit]) -> String {
    let mut s: Vec<char> = doc.chars().collect();
    for e in edits {
        match *e {
            Edit::Insert(at, t) => {
                let at = at % (s.len() + 1);
                s.splice(at..at, NASTY[t].chars());
            }
            Edit::Delete(at, n) => {
                let at = at % (s.len() + 1);
                let end = (at + n).min(s.len());
                s.drain(at..end);
            }
            Edit::Replace(at, t) => {
                let at = at % (s.len() + 1);
                if let Some(colon) = s[at..].iter().position(|c| *c == ':') {
                    let start = at + colon + 1;
                    let len = s[start..]
                        .iter()
                        .position(|c| matches!(c, ',' | '}' | ']'))
                        .unwrap_or(s.len() - start);
                    s.splice(start..start + len, NASTY[t].chars());
                }
            }
        }
    }
    s.into_iter().collect()
}

/// `doc` with one to three random edits.
pub fn mutate(doc: &str, rng: &mut StdRng) -> String {
    apply(doc, &random_edits(rng))
}
