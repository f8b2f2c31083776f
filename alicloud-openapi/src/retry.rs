//! The retry policy: exponential backoff with full jitter, bounded by the operation's deadline.

use std::time::Duration;

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first retry's ceiling.
    pub base: Duration,
    /// The largest ceiling.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The ceiling before retry `attempt` (1-based): `min(cap, base · 2^(attempt-1))`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full jitter: a uniformly random delay in `[0, ceiling]`, `unit` being a random number in `[0, 1)`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        self.ceiling(attempt).mul_f64(unit.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let b = Backoff::default();
        let got: Vec<u128> = (1..=9).map(|a| b.ceiling(a).as_millis()).collect();
        assert_eq!(
            got,
            vec![200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]
        );
        assert_eq!(b.ceiling(u32::MAX), b.cap);
    }

    #[test]
    fn full_jitter_stays_within_bounds() {
        let b = Backoff::default();
        assert_eq!(b.delay(3, 0.0), Duration::ZERO);
        assert_eq!(b.delay(3, 0.5), Duration::from_millis(400));
        assert!(b.delay(3, 0.999_999) <= b.ceiling(3));
        assert_eq!(b.delay(3, 7.0), b.ceiling(3));
    }
}
