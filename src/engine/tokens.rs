//! Secret tokens: random, prefixed by their kind, stored only as SHA-256 hashes.

use rand::TryRngCore;
use sha2::{Digest, Sha256};

/// A fresh token: `prefix` + 32 random bytes in hex.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random source");
    format!("{prefix}{}", hex::encode(bytes))
}

/// The hash a token is stored and looked up by.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
