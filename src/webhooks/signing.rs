//! The signature of a delivery: HMAC-SHA256 under the webhook's secret over `"<t>.<body>"`, where `t` is the
//! unix time of the attempt, sent as `Crewcall-Signature: t=<t>,v1=<hex>`. A receiver recomputes it over the
//! raw body it got and compares in constant time, and refuses a `t` too far from its own clock (replays).

use hmac::{Hmac, Mac};
use rand::TryRngCore;
use sha2::Sha256;

/// The header carrying the signature.
pub const HEADER: &str = "crewcall-signature";

/// A fresh signing secret: `whsec_` and 32 random bytes in hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random source");
    format!("whsec_{}", hex::encode(bytes))
}

/// The HMAC-SHA256 of `"<t>.<body>"` under `secret`, before it is finalised.
fn mac(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The hex HMAC-SHA256 of `"<t>.<body>"` under `secret`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, t, body).finalize().into_bytes())
}

/// The signature header's value.
pub fn header_value(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", sign(secret, t, body))
}

/// Whether `header` (`t=…,v1=…`) signs `body` under `secret`: the receiver's side, as the README describes it.
pub fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    v1.iter()
        .any(|sig| mac(secret, t, body).verify_slice(sig).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_time_and_body() {
        let h = header_value("whsec_a", 1_700_000_000, b"{\"seq\":1}");
        assert!(verify("whsec_a", &h, b"{\"seq\":1}"));
        assert!(!verify("whsec_b", &h, b"{\"seq\":1}"));
        assert!(!verify("whsec_a", &h, b"{\"seq\":2}"));
        let other_time = h.replace("t=1700000000", "t=1700000001");
        assert!(!verify("whsec_a", &other_time, b"{\"seq\":1}"));
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // Computed independently: python3 -c "import hmac,hashlib;
        // print(hmac.new(b'key',b'42.body',hashlib.sha256).hexdigest())"
        assert_eq!(
            sign("key", 42, b"body"),
            "b62a8bcafebc3dda9022b563e771f54e72a1eef3fd12e7bd2713899387cc26f8"
        );
    }
}
