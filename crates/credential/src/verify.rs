//! Offline verification of a card's QR text: the verdict a door, a gate or
//! an officer's phone acts on, from the trust bundle and (optionally) the
//! latest status list alone.
//!
//! Claims are read only after the signature holds, so nothing unsigned is
//! ever shown as a card's.

use serde::Serialize;

use crate::bundle::TrustBundle;
use crate::claims::CardClaims;
use crate::error::CredentialError;
use crate::status::{CardStatus, StatusListToken};
use crate::{cose, qr};

/// The outcome for a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Genuine, in date, and not revoked or suspended.
    Valid,
    /// The status list marks it invalid.
    Revoked,
    /// The status list marks it suspended.
    Suspended,
    /// Past its `exp`.
    Expired,
    /// Before its `nbf`.
    NotYetValid,
    /// The signature does not verify under the trusted key.
    BadSignature,
    /// Its key or issuer is not in the bundle.
    UnknownIssuer,
    /// Not a lanyard credential.
    Malformed,
    /// Genuine and in date, but no status list answered for it: whether it
    /// was revoked or suspended is not known, so it is not valid.
    StatusUnknown,
}

impl Verdict {
    /// The verdict's name as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Revoked => "revoked",
            Verdict::Suspended => "suspended",
            Verdict::Expired => "expired",
            Verdict::NotYetValid => "not_yet_valid",
            Verdict::BadSignature => "bad_signature",
            Verdict::UnknownIssuer => "unknown_issuer",
            Verdict::Malformed => "malformed",
            Verdict::StatusUnknown => "status_unknown",
        }
    }
}

/// A verdict with what backs it.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    /// The verdict.
    pub verdict: Verdict,
    /// Why, for verdicts other than valid (never a claim value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The claims, once the signature holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<CardClaims>,
    /// Whether a status list was consulted.
    pub status_checked: bool,
}

impl Verification {
    fn refused(verdict: Verdict, reason: impl Into<String>) -> Self {
        Verification { verdict, reason: Some(reason.into()), claims: None, status_checked: false }
    }
}

/// A trust bundle made ready for many checks: every key decoded (and its
/// curve point decompressed) once. What a door device holds between
/// refreshes.
#[derive(Clone, Debug)]
pub struct Verifier {
    issuer: String,
    keys: Vec<(Vec<u8>, ed25519_dalek::VerifyingKey)>,
}

impl Verifier {
    /// Prepares `bundle`; a key that is not a valid Ed25519 point is left
    /// out (cards signed by it then read `unknown_issuer`).
    pub fn new(bundle: &TrustBundle) -> Self {
        let keys = bundle
            .keys
            .iter()
            .filter_map(|k| {
                let (kid, x) = k.decode().ok()?;
                Some((kid, ed25519_dalek::VerifyingKey::from_bytes(&x).ok()?))
            })
            .collect();
        Verifier { issuer: bundle.issuer.clone(), keys }
    }

    /// Verifies `text` at `now` (seconds). An `Err` means the status list
    /// given cannot answer for this card (another list, or too short): a
    /// problem with the verifier's data, not a verdict on the card.
    pub fn verify(
        &self,
        text: &str,
        status: Option<&StatusListToken>,
        now: i64,
    ) -> Result<Verification, CredentialError> {
        let cose_bytes = match qr::decode_text(text) {
            Ok(b) => b,
            Err(e) => return Ok(Verification::refused(Verdict::Malformed, e.to_string())),
        };
        let signed = match cose::parse(&cose_bytes) {
            Ok(s) => s,
            Err(e) => return Ok(Verification::refused(Verdict::Malformed, e.to_string())),
        };
        let Some((_, key)) = self.keys.iter().find(|(kid, _)| *kid == signed.kid) else {
            return Ok(Verification::refused(Verdict::UnknownIssuer, "its key id is not in the trust bundle"));
        };
        if signed.verify_with(key).is_err() {
            return Ok(Verification::refused(Verdict::BadSignature, "the signature does not verify"));
        }
        let claims = match CardClaims::from_bytes(signed.payload()) {
            Ok(c) => c,
            Err(e) => return Ok(Verification::refused(Verdict::Malformed, e.to_string())),
        };
        if claims.issuer != self.issuer {
            return Ok(Verification::refused(Verdict::UnknownIssuer, "its issuer is not the bundle's"));
        }
        let mut out = Verification { verdict: Verdict::Valid, reason: None, claims: None, status_checked: false };
        if let (Some(list), Some(entry)) = (status, &claims.status) {
            if list.uri != entry.uri {
                return Err(CredentialError::StatusList("the card names a different status list".into()));
            }
            let s = list.list.get(entry.idx).ok_or_else(|| {
                CredentialError::StatusList("the list is shorter than the card's index; fetch a fresh one".into())
            })?;
            out.status_checked = true;
            match s {
                CardStatus::Valid => {}
                CardStatus::Invalid => {
                    out.verdict = Verdict::Revoked;
                    out.reason = Some("the status list marks it invalid".into());
                }
                CardStatus::Suspended => {
                    out.verdict = Verdict::Suspended;
                    out.reason = Some("the status list marks it suspended".into());
                }
            }
        }
        if out.verdict == Verdict::Valid {
            if now >= claims.expires_at {
                out.verdict = Verdict::Expired;
                out.reason = Some("past its expiry".into());
            } else if now < claims.not_before {
                out.verdict = Verdict::NotYetValid;
                out.reason = Some("before its start".into());
            }
        }
        if out.verdict == Verdict::Valid && !out.status_checked {
            out.verdict = Verdict::StatusUnknown;
            out.reason = Some("no status list answered for it: it may be revoked or suspended".into());
        }
        out.claims = Some(claims);
        Ok(out)
    }
}

/// Verifies `text` at `now` (seconds) against `bundle`, once. See
/// [`Verifier::verify`]; a device checking many cards keeps a [`Verifier`].
pub fn verify_qr(
    text: &str,
    bundle: &TrustBundle,
    status: Option<&StatusListToken>,
    now: i64,
) -> Result<Verification, CredentialError> {
    Verifier::new(bundle).verify(text, status, now)
}

/// Signs `claims` as a card credential and returns its QR text.
pub fn issue_qr(claims: &CardClaims, signer: &crate::bundle::IssuerSigner) -> Result<String, CredentialError> {
    let cose = cose::sign(claims.to_bytes()?, &signer.kid, None, signer.key.as_ref())?;
    qr::encode_text(&cose)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::IssuerSigner;
    use crate::claims::tests::sample;
    use crate::status::tests::signer;
    use crate::status::{ListTimes, StatusList};

    struct Fixture {
        key: IssuerSigner,
        bundle: TrustBundle,
    }

    fn fixture() -> Fixture {
        let key = signer(1);
        let bundle = TrustBundle {
            issuer: sample().issuer,
            keys: vec![key.jwk()],
            status_list_uri: sample().status.unwrap().uri,
        };
        Fixture { key, bundle }
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_fresh_card_is_valid_and_fits_the_qr_budget() {
        let f = fixture();
        let text = issue_qr(&sample(), &f.key).unwrap();
        // Genuine and in date, but with no status list it is not valid:
        // whether it was revoked is unknown.
        let v = verify_qr(&text, &f.bundle, None, NOW).unwrap();
        assert_eq!(v.verdict, Verdict::StatusUnknown);
        assert!(!v.status_checked && v.reason.as_deref().is_some_and(|r| r.contains("status list")));
        assert_eq!(v.claims.unwrap(), sample());
        // A card as lanyard issues it: a 10-character card id, the force's
        // host as issuer and its status list under that host, no zones.
        let card = CardClaims {
            issuer: "met.police.uk".into(),
            card_id: "C7K3M9Q2X4".into(),
            zones: vec![],
            status: Some(crate::claims::StatusRef {
                idx: 1_048_575,
                uri: "https://id.met.police.uk/v1/status-lists/1".into(),
            }),
            ..sample()
        };
        let text = issue_qr(&card, &f.key).unwrap();
        assert!(text.len() <= 400, "QR text is {} characters", text.len());
    }

    #[test]
    fn time_window_verdicts() {
        let f = fixture();
        let text = issue_qr(&sample(), &f.key).unwrap();
        assert_eq!(verify_qr(&text, &f.bundle, None, sample().expires_at).unwrap().verdict, Verdict::Expired);
        assert_eq!(verify_qr(&text, &f.bundle, None, sample().not_before - 1).unwrap().verdict, Verdict::NotYetValid);
    }

    #[test]
    fn status_list_flips_the_verdict() {
        let f = fixture();
        let text = issue_qr(&sample(), &f.key).unwrap();
        let uri = &f.bundle.status_list_uri;
        let times = ListTimes { issued_at: NOW, expires_at: NOW + 3600, ttl: 300 };
        let mut list = StatusList::new(5000);
        let check = |list: &StatusList| {
            let token = StatusListToken::sign(list, uri, &times, &f.key).unwrap();
            let token = StatusListToken::verify(&token, &f.bundle, NOW).unwrap();
            verify_qr(&text, &f.bundle, Some(&token), NOW).unwrap().verdict
        };
        assert_eq!(check(&list), Verdict::Valid);
        list.set(4711, CardStatus::Suspended);
        assert_eq!(check(&list), Verdict::Suspended);
        list.set(4711, CardStatus::Invalid);
        assert_eq!(check(&list), Verdict::Revoked);

        let short = StatusListToken::sign(&StatusList::new(8), uri, &times, &f.key).unwrap();
        let short = StatusListToken::verify(&short, &f.bundle, NOW).unwrap();
        assert!(verify_qr(&text, &f.bundle, Some(&short), NOW).is_err());
        let other = StatusListToken::sign(&list, "https://elsewhere/1", &times, &f.key).unwrap();
        let other = StatusListToken::verify(&other, &f.bundle, NOW).unwrap();
        assert!(verify_qr(&text, &f.bundle, Some(&other), NOW).unwrap_err().to_string().contains("different"));
    }

    #[test]
    fn wrong_bundle_tampering_and_garbage() {
        let f = fixture();
        let text = issue_qr(&sample(), &f.key).unwrap();
        // Another force's bundle: its keys carry other kids.
        let other_key = signer(2);
        let other = TrustBundle { keys: vec![other_key.jwk()], ..f.bundle.clone() };
        assert_eq!(verify_qr(&text, &other, None, NOW).unwrap().verdict, Verdict::UnknownIssuer);
        let wrong_iss = TrustBundle { issuer: "another.force".into(), ..f.bundle.clone() };
        assert_eq!(verify_qr(&text, &wrong_iss, None, NOW).unwrap().verdict, Verdict::UnknownIssuer);

        // Same kid, different key: a forged bundle entry or a swapped key.
        let mut swapped = f.bundle.clone();
        swapped.keys[0].x = other.keys[0].x.clone();
        assert_eq!(verify_qr(&text, &swapped, None, NOW).unwrap().verdict, Verdict::BadSignature);

        // Re-sign modified claims with a stranger's key under the real kid.
        let cose_bytes = qr::decode_text(&text).unwrap();
        let mut forged = cose_bytes.clone();
        let at = forged.windows(6).position(|w| w == b"900001").unwrap();
        forged[at] = b'8';
        let forged_text = qr::encode_text(&forged).unwrap();
        assert_eq!(verify_qr(&forged_text, &f.bundle, None, NOW).unwrap().verdict, Verdict::BadSignature);

        for junk in ["", "LY1:", "LY1:%%%%", "HC1:NCF", "LY1:0000"] {
            assert_eq!(verify_qr(junk, &f.bundle, None, NOW).unwrap().verdict, Verdict::Malformed, "{junk}");
        }
    }

    #[test]
    fn long_names_still_fit_a_qr_symbol() {
        let f = fixture();
        let long = CardClaims {
            name: "Bartholomew-Alexander Fitzwilliam-Montgomery Featherstonehaugh-Cholmondeley".into(),
            ..sample()
        };
        let text = issue_qr(&long, &f.key).unwrap();
        crate::qr::symbol(&text).unwrap();
        assert_eq!(verify_qr(&text, &f.bundle, None, NOW).unwrap().verdict, Verdict::StatusUnknown);
    }
}
