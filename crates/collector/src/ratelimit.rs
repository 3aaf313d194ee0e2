//! Per-network rate limiting of submissions, held in memory only: a token bucket per IPv4
//! address or IPv6 /64 (one visitor's network gets a whole /64, so single IPv6 addresses would
//! give anyone unlimited buckets). The table is split into shards, each behind its own lock and
//! capped in size, and full buckets are swept by a background task, so a submission costs the
//! same with ten or a million networks tracked. The keys are never written anywhere.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Networks tracked at most; past this, one entry of the shard is forgotten for each new one.
pub const MAX_TRACKED: usize = 1 << 20;
const SHARDS: usize = 64;
/// How often full buckets are swept.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// An IPv4 address, or the /64 an IPv6 address is in (IPv4-mapped IPv6 counts as IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    V4(u32),
    V6(u64),
}

impl Key {
    fn of(ip: IpAddr) -> Key {
        match ip {
            IpAddr::V4(v4) => Key::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Key::V4(u32::from(v4)),
                None => Key::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

type Bucket = (f64, Instant);

pub struct RateLimiter {
    /// Tokens added per second.
    rate: f64,
    /// Bucket size: how many reports may come at once.
    burst: f64,
    shards: Vec<Mutex<HashMap<Key, Bucket>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl RateLimiter {
    /// `per_minute` reports per network, up to `burst` at once.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            rate: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Takes a token for `ip`'s network; when its bucket is empty, says how long until the
    /// next token.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now())
    }

    fn shard(&self, key: &Key) -> &Mutex<HashMap<Key, Bucket>> {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    fn refill(&self, (tokens, last): Bucket, now: Instant) -> f64 {
        (tokens + now.saturating_duration_since(last).as_secs_f64() * self.rate).min(self.burst)
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = Key::of(ip);
        let Ok(mut shard) = self.shard(&key).lock() else { return Ok(()) };
        if !shard.contains_key(&key) && shard.len() >= MAX_TRACKED / SHARDS {
            // Full: forget some network (its next submission starts with a full bucket) rather
            // than grow or scan.
            if let Some(old) = shard.keys().next().copied() {
                shard.remove(&old);
            }
        }
        let bucket = shard.entry(key).or_insert((self.burst, now));
        let tokens = self.refill(*bucket, now);
        if tokens >= 1.0 {
            *bucket = (tokens - 1.0, now);
            Ok(())
        } else {
            *bucket = (tokens, now);
            Err(Duration::from_secs_f64((1.0 - tokens) / self.rate))
        }
    }

    #[cfg(test)]
    fn allow_at(&self, ip: IpAddr, now: Instant) -> bool {
        self.check_at(ip, now).is_ok()
    }

    /// Forgets networks whose bucket is full again (they are as if never seen), one shard at a
    /// time so submissions wait at most for one shard's sweep.
    pub fn sweep(&self) {
        let now = Instant::now();
        for shard in &self.shards {
            if let Ok(mut s) = shard.lock() {
                s.retain(|_, b| self.refill(*b, now) < self.burst);
            }
        }
    }

    /// Networks tracked now.
    pub fn tracked(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map_or(0, |s| s.len())).sum()
    }
}

/// Sweeps `limiter` every [`SWEEP_EVERY`] for as long as it exists; needs a Tokio runtime.
pub fn spawn_sweeper(limiter: &std::sync::Arc<RateLimiter>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    let weak = std::sync::Arc::downgrade(limiter);
    runtime.spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            let Some(limiter) = weak.upgrade() else { break };
            let _ = tokio::task::spawn_blocking(move || limiter.sweep()).await;
        }
    });
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
        let wait = limiter.check_at(a, t0 + Duration::from_millis(1100)).unwrap_err();
        assert!(wait > Duration::from_millis(800) && wait <= Duration::from_secs(1), "{wait:?}");
    }

    #[test]
    fn ipv6_addresses_share_their_64_and_ipv4_addresses_do_not() {
        let limiter = RateLimiter::new(60, 2);
        let t0 = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:fffe".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limiter.allow_at(a, t0) && limiter.allow_at(same_64, t0));
        assert!(!limiter.allow_at(a, t0), "one /64 is one visitor's network: its burst is spent");
        assert!(!limiter.allow_at("2001:db8:1:2::99".parse().unwrap(), t0));
        assert!(limiter.allow_at(other_64, t0), "the next /64 has its own bucket");
        let v4 = |n| IpAddr::V4(Ipv4Addr::new(192, 0, 2, n));
        assert!((1..=100).all(|n| limiter.allow_at(v4(n), t0)), "IPv4 addresses each have their own");
    }

    /// Many tracked networks must not make each submission slower: the old table swept itself
    /// under its lock on every call above 100,000 entries.
    #[test]
    fn the_cost_per_submission_stays_flat_with_many_networks_tracked() {
        let limiter = RateLimiter::new(1, 1);
        let t0 = Instant::now();
        let net = |n: u32| IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, (n >> 16) as u16, n as u16, 0, 0, 0, 1));
        for n in 0..150_000 {
            limiter.allow_at(net(n), t0); // each bucket now spent, so nothing can be swept
        }
        let started = std::time::Instant::now();
        for n in 150_000..152_000 {
            limiter.allow_at(net(n), t0);
        }
        let took = started.elapsed();
        assert!(took < Duration::from_millis(200), "2,000 submissions took {took:?} with 150,000 networks tracked");
        assert!(limiter.tracked() <= MAX_TRACKED, "the table is bounded: {}", limiter.tracked());
    }

    #[test]
    fn the_table_is_bounded_and_swept() {
        let limiter = RateLimiter::new(60, 1);
        let long_ago = Instant::now().checked_sub(Duration::from_secs(5)).unwrap();
        for n in 0..1_000u32 {
            limiter.allow_at(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)), long_ago);
        }
        assert_eq!(limiter.tracked(), 1_000);
        limiter.sweep();
        assert_eq!(limiter.tracked(), 0, "buckets full again are forgotten");
        let small = RateLimiter::new(60, 1);
        for n in 0..(MAX_TRACKED as u32 + 10_000) {
            small.allow_at(IpAddr::V4(Ipv4Addr::from(n)), long_ago);
        }
        assert!(small.tracked() <= MAX_TRACKED, "{}", small.tracked());
    }
}
