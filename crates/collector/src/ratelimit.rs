//! Per-address rate limiting of submissions, held in memory only: a token bucket per address,
//! forgotten once full again. The addresses here are never written anywhere.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter {
    /// Tokens added per second.
    rate: f64,
    /// Bucket size: how many reports may come at once.
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Above this many tracked addresses, full buckets are dropped before adding another.
const SWEEP_AT: usize = 100_000;

impl RateLimiter {
    /// `per_minute` reports per address, up to `burst` at once.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            rate: f64::from(per_minute) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `ip`; false when its bucket is empty.
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.allow_at(ip, Instant::now())
    }

    fn allow_at(&self, ip: IpAddr, now: Instant) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else { return true };
        let refill = |(tokens, last): (f64, Instant)| {
            (tokens + now.saturating_duration_since(last).as_secs_f64() * self.rate).min(self.burst)
        };
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, b| refill(*b) < self.burst);
        }
        let bucket = buckets.entry(ip).or_insert((self.burst, now));
        let tokens = refill(*bucket);
        if tokens >= 1.0 {
            *bucket = (tokens - 1.0, now);
            true
        } else {
            *bucket = (tokens, now);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds_per_address() {
        let limiter = RateLimiter::new(60, 3);
        let (a, b) = (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow_at(a, t0)));
        assert!(!limiter.allow_at(a, t0), "the burst is spent");
        assert!(limiter.allow_at(b, t0), "another address has its own bucket");
        assert!(!limiter.allow_at(a, t0 + Duration::from_millis(500)));
        assert!(limiter.allow_at(a, t0 + Duration::from_millis(1100)), "one per second comes back");
    }
}
