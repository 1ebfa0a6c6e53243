//! Whether the key provider still answers, asked at most once per interval.
//!
//! The compartment, blind-index and row-integrity keys are unwrapped once,
//! when the register opens, and held in memory. Without this check, pulling
//! the HSM token (or an HSM going away) would stop only what calls the
//! provider directly, and reads would go on from the keys already held. The
//! register and the server ask [`Liveness::ensure`] before using those
//! keys, so they stop being used within one interval of the provider going,
//! and are used again once it answers.
//!
//! A failed check is remembered for the interval too: a provider that is
//! down is not asked again by every request.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{CryptoError, CryptoErrorKind};
use crate::provider::KeyProvider;

/// What the last check found, and when.
struct Seen {
    at: Instant,
    // The provider's reason, when it failed; it names no key material.
    failure: Option<String>,
}

/// A change in the provider's state, for the caller to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LivenessChange {
    /// The provider stopped answering, or now fails for another reason.
    Lost(String),
    /// It answers again.
    Restored,
}

/// The key provider's liveness, checked at most once per interval.
pub struct Liveness {
    provider: Arc<dyn KeyProvider>,
    every: Duration,
    seen: Mutex<Option<Seen>>,
    // Changes not yet taken by `take_change`, oldest first.
    changes: Mutex<Vec<LivenessChange>>,
}

impl std::fmt::Debug for Liveness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Liveness").field("provider", &self.provider.kind()).field("every", &self.every).finish()
    }
}

impl Liveness {
    /// The default interval: how long keys may go on being used after the
    /// provider goes, at most.
    pub const DEFAULT_EVERY: Duration = Duration::from_secs(5);

    /// Checks `provider` at most once per `every`. The provider has just
    /// released the keys, so it counts as checked now.
    pub fn new(provider: Arc<dyn KeyProvider>, every: Duration) -> Self {
        Liveness {
            provider,
            every,
            seen: Mutex::new(Some(Seen { at: Instant::now(), failure: None })),
            changes: Mutex::new(Vec::new()),
        }
    }

    /// Ok if the provider answered its last check, made within the
    /// interval (checking it now if that one is older). Otherwise
    /// [`CryptoErrorKind::ProviderUnavailable`], with its reason.
    pub fn ensure(&self) -> Result<(), CryptoError> {
        self.check(false)
    }

    /// As [`Liveness::ensure`], but always asks the provider now (a
    /// readiness probe, a periodic watch).
    pub fn check_now(&self) -> Result<(), CryptoError> {
        self.check(true)
    }

    fn check(&self, now: bool) -> Result<(), CryptoError> {
        // A poisoned lock still holds a whole `Seen`: it is only replaced.
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = seen.as_ref().filter(|s| !now && s.at.elapsed() < self.every);
        let failure = match fresh {
            Some(s) => s.failure.clone(),
            None => {
                let failure = self.provider.check().err().map(|e| e.to_string());
                let was = seen.as_ref().and_then(|s| s.failure.as_ref());
                // A new reason is a change too (the token put back, but
                // its PIN now refused): the log says what stood in the way.
                let change = match (was, &failure) {
                    (was, Some(why)) if was != Some(why) => Some(LivenessChange::Lost(why.clone())),
                    (Some(_), None) => Some(LivenessChange::Restored),
                    _ => None,
                };
                if let Some(change) = change {
                    self.changes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(change);
                }
                *seen = Some(Seen { at: Instant::now(), failure: failure.clone() });
                failure
            }
        };
        match failure {
            None => Ok(()),
            Some(why) => Err(CryptoError::new(CryptoErrorKind::ProviderUnavailable(why))),
        }
    }

    /// The changes seen since the last call, oldest first: for the log.
    pub fn take_changes(&self) -> Vec<LivenessChange> {
        std::mem::take(&mut *self.changes.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// The provider watched.
    pub fn provider(&self) -> &Arc<dyn KeyProvider> {
        &self.provider
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::provider::WrapContext;
    use crate::secret::Key32;

    /// A provider that can be switched off, and counts its checks.
    struct Switch {
        up: AtomicBool,
        checks: AtomicUsize,
        why: Mutex<&'static str>,
    }

    impl KeyProvider for Switch {
        fn kind(&self) -> &'static str {
            "switch"
        }
        fn describe(&self) -> String {
            "test switch".into()
        }
        fn wrap(&self, key: &Key32, _: &WrapContext<'_>) -> Result<Vec<u8>, CryptoError> {
            Ok(key.expose().to_vec())
        }
        fn unwrap(&self, wrapped: &[u8], _: &WrapContext<'_>) -> Result<Key32, CryptoError> {
            Key32::from_slice(wrapped)
        }
        fn check(&self) -> Result<(), CryptoError> {
            self.checks.fetch_add(1, Ordering::SeqCst);
            if self.up.load(Ordering::SeqCst) {
                Ok(())
            } else {
                let why = *self.why.lock().unwrap();
                Err(CryptoError::new(CryptoErrorKind::Pkcs11(why.into())))
            }
        }
    }

    fn switch() -> Arc<Switch> {
        Arc::new(Switch {
            up: AtomicBool::new(true),
            checks: AtomicUsize::new(0),
            why: Mutex::new("token not present"),
        })
    }

    #[test]
    fn a_lost_provider_is_refused_within_one_interval_and_restored_when_it_answers() {
        let provider = switch();
        let live = Liveness::new(provider.clone(), Duration::from_millis(40));
        assert!(live.ensure().is_ok());
        assert_eq!(provider.checks.load(Ordering::SeqCst), 0, "just opened: no need to ask");
        provider.up.store(false, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(60));
        let e = live.ensure().unwrap_err();
        assert!(e.is_provider_unavailable());
        assert!(e.to_string().contains("token not present"), "{e}");
        // Remembered for the interval: not asked again by every caller.
        let asked = provider.checks.load(Ordering::SeqCst);
        for _ in 0..10 {
            assert!(live.ensure().is_err());
        }
        assert_eq!(provider.checks.load(Ordering::SeqCst), asked);
        provider.up.store(true, Ordering::SeqCst);
        // A probe asks now, whatever the interval.
        assert!(live.check_now().is_ok());
        assert!(live.ensure().is_ok());
        assert_eq!(
            live.take_changes(),
            vec![LivenessChange::Lost("PKCS#11: token not present".into()), LivenessChange::Restored]
        );
        assert!(live.take_changes().is_empty());
    }

    #[test]
    fn a_new_reason_is_a_new_change_and_the_same_one_is_not() {
        let provider = switch();
        let live = Liveness::new(provider.clone(), Duration::from_secs(60));
        provider.up.store(false, Ordering::SeqCst);
        for _ in 0..3 {
            assert!(live.check_now().is_err());
        }
        *provider.why.lock().unwrap() = "PIN incorrect";
        assert!(live.check_now().is_err());
        assert_eq!(
            live.take_changes(),
            vec![
                LivenessChange::Lost("PKCS#11: token not present".into()),
                LivenessChange::Lost("PKCS#11: PIN incorrect".into())
            ]
        );
    }

    #[test]
    fn the_default_check_round_trips_a_throwaway_key() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = crate::keyring::KeyringProvider::create(
            &dir.path().join("keyring.json"),
            b"a passphrase for the test",
            crate::keyring::KdfParams::insecure_for_tests(),
        )
        .unwrap();
        assert!(keyring.check().is_ok());
    }
}
