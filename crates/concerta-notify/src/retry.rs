//! The retry policy: exponential backoff with jitter, and which failures are permanent.

use std::time::Duration;

use rand::Rng;

/// When and how often to try again.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// The delay after the first failed attempt (before jitter).
    pub base: Duration,
    /// The longest delay.
    pub cap: Duration,
    /// After this many attempts a transient failure becomes `failed`.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 30 s, doubling, at most one hour apart, 12 attempts (about seven hours in all).
    fn default() -> Self {
        Self { base: Duration::from_secs(30), cap: Duration::from_secs(3600), max_attempts: 12 }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempts + 1`, after `attempts` failed ones (≥ 1):
    /// `base · 2^(attempts-1)`, capped, then a random point between half of it and all of
    /// it ("equal jitter"), so workers that failed together do not retry together.
    pub fn delay(&self, attempts: u32, rng: &mut impl Rng) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1u32 << exp).min(self.cap);
        let half = full / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rng.random_range(0..=jitter_ms))
    }

    /// Whether a transient failure after `attempts` attempts should give up.
    pub fn exhausted(&self, attempts: u32) -> bool {
        attempts >= self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn doubles_with_jitter_and_stops_at_the_cap() {
        let policy = RetryPolicy { base: Duration::from_secs(10), cap: Duration::from_secs(100), max_attempts: 5 };
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for (attempts, full) in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (20, 100)] {
            let mut seen = Vec::new();
            for _ in 0..200 {
                let d = policy.delay(attempts, &mut rng);
                assert!(d >= Duration::from_secs(full) / 2 && d <= Duration::from_secs(full), "attempt {attempts}: {d:?}");
                seen.push(d);
            }
            seen.sort();
            seen.dedup();
            assert!(seen.len() > 50, "attempt {attempts}: the delays must be spread, got {}", seen.len());
        }
        assert!(!policy.exhausted(4));
        assert!(policy.exhausted(5));
    }
}
