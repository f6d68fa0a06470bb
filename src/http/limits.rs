//! What one client may take from the server: request, header and body deadlines, a connection limit, and rate
//! limits per token and per address. Every limit is configurable (see the README's Configuration and Security
//! sections); rate limits are kept per node.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Deadlines and the connection limit.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long one ordinary request may take, body included (503 with `Retry-After` after it).
    pub request: Duration,
    /// How long an import may take, body included (it is one transaction: when it runs out, nothing is kept).
    pub import: Duration,
    /// How long a client may take to send a request's headers (408, then the connection is closed); also how
    /// long an idle keep-alive connection stays open.
    pub header: Duration,
    /// How long a client may take to send an ordinary request's body (408).
    pub body: Duration,
    /// Connections open at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Rate limits.
    pub rates: Rates,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request: Duration::from_secs(30),
            import: Duration::from_secs(600),
            header: Duration::from_secs(10),
            body: Duration::from_secs(15),
            max_connections: 4096,
            rates: Rates::default(),
        }
    }
}

impl Limits {
    /// The deadline of a request to `path`.
    pub fn request_deadline(&self, path: &str) -> Duration {
        if path == super::IMPORT_PATH {
            self.import
        } else {
            self.request
        }
    }

    /// How long the body of a request to `path` may take to arrive.
    pub fn body_deadline(&self, path: &str) -> Duration {
        if path == super::IMPORT_PATH {
            self.import
        } else {
            self.body
        }
    }
}

/// A token bucket: `per_second` requests sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: NonZeroU32,
    /// Requests at once.
    pub burst: NonZeroU32,
}

impl Rate {
    /// `per_second` sustained with `burst` at once.
    pub fn new(per_second: u32, burst: u32) -> Option<Rate> {
        Some(Rate {
            per_second: NonZeroU32::new(per_second)?,
            burst: NonZeroU32::new(burst.max(per_second))?,
        })
    }

    fn quota(self) -> Quota {
        Quota::per_second(self.per_second).allow_burst(self.burst)
    }
}

/// A rate setting: `off`, or `<per second>:<burst>` (`5:30`), or `<per second>` (burst equal to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSetting(pub Option<Rate>);

impl FromStr for RateSetting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") || s == "0" {
            return Ok(RateSetting(None));
        }
        let (rate, burst) = match s.split_once(':') {
            Some((r, b)) => (r.trim(), b.trim()),
            None => (s, s),
        };
        let parse = |v: &str| {
            v.parse::<u32>().map_err(|_| {
                format!("`{s}`: expected `off`, `<per second>` or `<per second>:<burst>`")
            })
        };
        let (rate, burst) = (parse(rate)?, parse(burst)?);
        Rate::new(rate, burst)
            .map(|r| RateSetting(Some(r)))
            .ok_or_else(|| format!("`{s}`: the rate must be at least 1 (or `off`)"))
    }
}

/// Rate limits; `None` turns one off.
#[derive(Debug, Clone)]
pub struct Rates {
    /// Per worker app token.
    pub worker: Option<Rate>,
    /// Per agency API key.
    pub agency: Option<Rate>,
    /// Per client address, every request.
    pub address: Option<Rate>,
    /// Per client address, requests with a token nobody holds (guessing tokens).
    pub auth_failures: Option<Rate>,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            worker: Rate::new(5, 30),
            agency: Rate::new(200, 1000),
            address: Rate::new(1000, 2000),
            auth_failures: Rate::new(1, 20),
        }
    }
}

impl Rates {
    /// No limits at all (benchmarks, and tests of other things).
    pub fn off() -> Self {
        Rates {
            worker: None,
            agency: None,
            address: None,
            auth_failures: None,
        }
    }
}

/// Who a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A worker's app token.
    Worker(u64),
    /// An agency's API key.
    Agency(u64),
}

/// The limiters of one node.
pub struct Limiters {
    worker: Option<DefaultKeyedRateLimiter<u64>>,
    agency: Option<DefaultKeyedRateLimiter<u64>>,
    address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    auth_failures: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

fn keyed<K: std::hash::Hash + Eq + Clone>(r: Option<Rate>) -> Option<DefaultKeyedRateLimiter<K>> {
    r.map(|r| DefaultKeyedRateLimiter::keyed(r.quota()))
}

fn check<K: std::hash::Hash + Eq + Clone>(
    l: &Option<DefaultKeyedRateLimiter<K>>,
    k: &K,
) -> Result<(), Duration> {
    match l {
        None => Ok(()),
        Some(l) => l
            .check_key(k)
            .map_err(|n| n.wait_time_from(DefaultClock::default().now())),
    }
}

impl Limiters {
    /// Limiters for `rates`.
    pub fn new(rates: &Rates) -> Self {
        Limiters {
            worker: keyed(rates.worker),
            agency: keyed(rates.agency),
            address: keyed(rates.address),
            auth_failures: keyed(rates.auth_failures),
        }
    }

    /// Counts a request from `ip`; `Err` holds how long to wait.
    pub fn address(&self, ip: IpAddr) -> Result<(), Duration> {
        check(&self.address, &ip)
    }

    /// Counts a request with a token nobody holds from `ip`.
    pub fn auth_failure(&self, ip: IpAddr) -> Result<(), Duration> {
        check(&self.auth_failures, &ip)
    }

    /// Counts a request of `who`.
    pub fn subject(&self, who: Subject) -> Result<(), Duration> {
        match who {
            Subject::Worker(w) => check(&self.worker, &w),
            Subject::Agency(a) => check(&self.agency, &a),
        }
    }

    /// Forgets buckets that are full again (they would allow a whole burst anyway), so the maps stay small.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.worker {
            l.retain_recent();
        }
        if let Some(l) = &self.agency {
            l.retain_recent();
        }
        if let Some(l) = &self.address {
            l.retain_recent();
        }
        if let Some(l) = &self.auth_failures {
            l.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_settings_read_off_a_rate_and_a_burst() {
        assert_eq!("off".parse::<RateSetting>().unwrap(), RateSetting(None));
        assert_eq!("0".parse::<RateSetting>().unwrap(), RateSetting(None));
        assert_eq!(
            "5:30".parse::<RateSetting>().unwrap(),
            RateSetting(Rate::new(5, 30))
        );
        assert_eq!(
            "7".parse::<RateSetting>().unwrap(),
            RateSetting(Rate::new(7, 7))
        );
        assert!("five".parse::<RateSetting>().is_err());
        assert!("0:5".parse::<RateSetting>().is_err());
    }

    #[test]
    fn a_bucket_allows_its_burst_then_asks_to_wait() {
        let l = Limiters::new(&Rates {
            worker: Rate::new(1, 3),
            ..Rates::off()
        });
        for _ in 0..3 {
            assert!(l.subject(Subject::Worker(1)).is_ok());
        }
        let wait = l.subject(Subject::Worker(1)).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        // Another worker has its own bucket; agencies are not limited here.
        assert!(l.subject(Subject::Worker(2)).is_ok());
        for _ in 0..100 {
            assert!(l.subject(Subject::Agency(1)).is_ok());
        }
    }
}
