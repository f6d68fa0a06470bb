//! Where a webhook may point. A URL is `http` or `https`, without credentials, and its host must not be or
//! resolve to an address inside the operator's network — loopback, private (RFC 1918, ULA), link-local,
//! unspecified, multicast, CGNAT and other reserved ranges — unless the operator allows it
//! (`CREWCALL_WEBHOOK_ALLOW_PRIVATE`). The check runs when a URL is set, and again at every delivery: the
//! sender's resolver refuses such addresses, so the address connected to is the address checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;

use crate::error::FieldError;

/// The longest URL accepted.
const MAX_URL: usize = 2048;
/// How long resolving a host may take at creation.
const RESOLVE_WITHIN: Duration = Duration::from_secs(5);

/// Whether an address is one a webhook must not reach: anything but a public unicast address.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) embeds an IPv4 address.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let o = v6.octets();
                return forbidden_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1)
                || s[0..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::a.b.c.d
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || o[0] == 0 // "this network" 0.0.0.0/8
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64.0.0/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments 192.0.0.0/24
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || o[0] >= 240 // reserved 240.0.0.0/4
}

/// Checks a URL's form (scheme, host, no credentials, length); the parsed URL, or what is wrong with it.
pub fn parse(raw: &str) -> Result<Url, FieldError> {
    let bad = |m: &str| FieldError::new("url", m);
    if raw.len() > MAX_URL {
        return Err(bad("must be at most 2048 characters"));
    }
    let url = Url::parse(raw).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must be an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not carry credentials; receivers check the signature instead",
        ));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    Ok(url)
}

/// The IP address a URL names literally, if it does.
pub fn literal_ip(url: &Url) -> Option<IpAddr> {
    url.host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Checks a URL for a webhook: its form, and — unless `allow_private` — that its host is, and resolves only
/// to, public addresses.
pub async fn check(raw: &str, allow_private: bool) -> Result<Url, FieldError> {
    let url = parse(raw)?;
    if allow_private {
        return Ok(url);
    }
    let bad = |m: String| FieldError::new("url", m);
    if let Some(ip) = literal_ip(&url) {
        return if forbidden(ip) {
            Err(bad(format!(
                "points to {ip}, a loopback, private, link-local or reserved address"
            )))
        } else {
            Ok(url)
        };
    }
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match tokio::time::timeout(
        RESOLVE_WITHIN,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(a)) => a.collect(),
        Ok(Err(_)) | Err(_) => return Err(bad(format!("the host {host} does not resolve"))),
    };
    if addrs.is_empty() {
        return Err(bad(format!("the host {host} does not resolve")));
    }
    if let Some(a) = addrs.iter().find(|a| forbidden(a.ip())) {
        return Err(bad(format!(
            "the host {host} resolves to {}, a loopback, private, link-local or reserved address",
            a.ip()
        )));
    }
    Ok(url)
}

/// The sender's resolver: the system's, refusing any name that resolves to a forbidden address (unless the
/// operator allows them), so a DNS answer that changed since creation cannot turn a webhook inwards.
pub struct GuardedResolver {
    /// Whether private addresses are allowed.
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && let Some(a) = addrs.iter().find(|a| forbidden(a.ip())) {
                return Err(format!(
                    "{host} resolves to {}, a loopback, private, link-local or reserved address",
                    a.ip()
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn inward_addresses_are_forbidden_and_public_ones_allowed() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(forbidden(ip(s)), "{s} should be forbidden");
        }
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!forbidden(ip(s)), "{s} should be allowed");
        }
    }

    #[test]
    fn only_http_urls_with_a_host_and_no_credentials_pass() {
        assert!(parse("https://hooks.example.com/x?y=1").is_ok());
        assert!(parse("http://example.com:8080/").is_ok());
        for bad in [
            "ftp://example.com/",
            "example.com/hook",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "file:///etc/passwd",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[tokio::test]
    async fn literal_and_resolved_private_hosts_are_refused_unless_allowed() {
        assert!(check("http://127.0.0.1:9/x", false).await.is_err());
        assert!(check("http://[::1]/x", false).await.is_err());
        assert!(check("http://localhost/x", false).await.is_err());
        assert!(check("http://127.0.0.1:9/x", true).await.is_ok());
        assert!(check("https://93.184.215.14/x", false).await.is_ok());
    }
}
