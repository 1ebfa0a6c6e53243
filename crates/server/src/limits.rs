//! Per-principal limits on personal-data reads, so that a stolen session or
//! token cannot bulk-dump the register: it gets a trickle, and every
//! refusal is in the audit log for someone to notice. The limit is per
//! server process; several servers each allow their own share.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

/// Reads per minute per user or token, and how many may come at once.
#[derive(Clone, Copy, Debug)]
pub struct ReadQuota {
    /// Sustained reads per minute.
    pub per_minute: NonZeroU32,
    /// Reads allowed in a burst.
    pub burst: NonZeroU32,
}

impl Default for ReadQuota {
    fn default() -> Self {
        ReadQuota { per_minute: NonZeroU32::MIN.saturating_add(119), burst: NonZeroU32::MIN.saturating_add(29) }
    }
}

/// The limiter.
pub struct ReadLimiter {
    limiter: DefaultKeyedRateLimiter<Uuid>,
    clock: DefaultClock,
}

impl ReadLimiter {
    /// A limiter with `quota` per principal.
    pub fn new(quota: ReadQuota) -> Self {
        let q = Quota::per_minute(quota.per_minute).allow_burst(quota.burst);
        ReadLimiter { limiter: RateLimiter::keyed(q), clock: DefaultClock::default() }
    }

    /// `Ok` if `principal` may read now, else how long until it may.
    pub fn check(&self, principal: Uuid) -> Result<(), Duration> {
        self.limiter.check_key(&principal).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// `Ok` if `principal` may read `n` people now. A bulk read larger than
    /// the burst can never pass, however long the caller waits.
    pub fn check_n(&self, principal: Uuid, n: u32) -> Result<(), Refusal> {
        let Some(n) = NonZeroU32::new(n) else { return Ok(()) };
        match self.limiter.check_key_n(&principal, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(Refusal::Wait(not_until.wait_time_from(self.clock.now()))),
            Err(_) => Err(Refusal::OverBurst),
        }
    }
}

/// Why a bulk read was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Allowed after this wait.
    Wait(Duration),
    /// More than the burst: never allowed here.
    OverBurst,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusals_per_principal() {
        let quota = ReadQuota { per_minute: NonZeroU32::new(2).unwrap(), burst: NonZeroU32::new(3).unwrap() };
        let limiter = ReadLimiter::new(quota);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
        }
        let wait = limiter.check(a).unwrap_err();
        assert!(wait > Duration::from_secs(20) && wait <= Duration::from_secs(30), "{wait:?}");
        assert!(limiter.check(b).is_ok(), "limits are per principal");
        let c = Uuid::new_v4();
        assert_eq!(limiter.check_n(c, 4), Err(Refusal::OverBurst));
        assert_eq!(limiter.check_n(c, 2), Ok(()));
        assert!(matches!(limiter.check_n(c, 2), Err(Refusal::Wait(_))), "one read left of the burst");
        assert_eq!(limiter.check_n(c, 0), Ok(()));
    }
}
