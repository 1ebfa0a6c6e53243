//! The card lifecycle (issue 5, DESIGN §5): its states, the moves between
//! them, and the reasons an operator may give. Pure rules, no I/O, so every
//! legal and illegal move is tested here once.
//!
//! ```text
//! requested ─approve─▶ approved ─queue─▶ queued ─print─▶ printed ─issue─▶ issued ⇄ suspended
//!     │                    │  ◀──requeue─┘        ▲                          │
//!     │                    └──────print───────────┘                          │
//!     └─reject─▶ rejected           any live state ─revoke─▶ revoked ─destroy─▶ destroyed
//!                                   issued/suspended ─expire─▶ expired ─destroy─▶ destroyed
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::reference::CardType;

/// Where a card is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    /// Asked for; waits for a second person to approve.
    Requested,
    /// Refused by the approver.
    Rejected,
    /// Approved; its credential can be signed.
    Approved,
    /// In a print batch.
    Queued,
    /// Printed, not yet handed over.
    Printed,
    /// In its holder's hands.
    Issued,
    /// Temporarily not valid.
    Suspended,
    /// Withdrawn for good (lost, stolen, replaced, left).
    Revoked,
    /// Past its expiry.
    Expired,
    /// Physically destroyed.
    Destroyed,
}

/// A move in the lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardAction {
    /// requested → approved.
    Approve,
    /// requested → rejected.
    Reject,
    /// approved → queued.
    Queue,
    /// queued → approved: spoiled in printing, or its batch expired or was
    /// withdrawn, so it waits for the next batch.
    Requeue,
    /// approved/queued → printed.
    Print,
    /// printed → issued.
    Issue,
    /// issued → suspended.
    Suspend,
    /// suspended → issued.
    Resume,
    /// any live state → revoked.
    Revoke,
    /// issued/suspended → expired.
    Expire,
    /// revoked/expired/rejected → destroyed.
    Destroy,
}

impl CardState {
    /// Every state.
    pub const ALL: [CardState; 10] = [
        CardState::Requested,
        CardState::Rejected,
        CardState::Approved,
        CardState::Queued,
        CardState::Printed,
        CardState::Issued,
        CardState::Suspended,
        CardState::Revoked,
        CardState::Expired,
        CardState::Destroyed,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            CardState::Requested => "requested",
            CardState::Rejected => "rejected",
            CardState::Approved => "approved",
            CardState::Queued => "queued",
            CardState::Printed => "printed",
            CardState::Issued => "issued",
            CardState::Suspended => "suspended",
            CardState::Revoked => "revoked",
            CardState::Expired => "expired",
            CardState::Destroyed => "destroyed",
        }
    }

    /// The state after `action`, or `None` if the move is illegal here.
    pub fn after(self, action: CardAction) -> Option<CardState> {
        use CardAction as A;
        use CardState as S;
        Some(match (self, action) {
            (S::Requested, A::Approve) => S::Approved,
            (S::Requested, A::Reject) => S::Rejected,
            (S::Approved, A::Queue) => S::Queued,
            (S::Queued, A::Requeue) => S::Approved,
            (S::Approved | S::Queued, A::Print) => S::Printed,
            (S::Printed, A::Issue) => S::Issued,
            (S::Issued, A::Suspend) => S::Suspended,
            (S::Suspended, A::Resume) => S::Issued,
            (S::Approved | S::Queued | S::Printed | S::Issued | S::Suspended, A::Revoke) => S::Revoked,
            (S::Issued | S::Suspended, A::Expire) => S::Expired,
            (S::Revoked | S::Expired | S::Rejected, A::Destroy) => S::Destroyed,
            _ => return None,
        })
    }

    /// Whether a credential signed for a card in this state may be valid:
    /// what the status list says (0 valid, 2 suspended, else invalid).
    ///
    /// A card is valid only once issued to its holder. The credential is
    /// signed at approval, because the supplier prints it; until issue it
    /// is listed as suspended (the list's one reversible status), so a
    /// card taken from a print run or a supplier's shelf does not open a
    /// door. Signing only at issue would mean printing without the QR code.
    pub fn list_status(self) -> CardStatus {
        match self {
            CardState::Issued => CardStatus::Valid,
            CardState::Approved | CardState::Queued | CardState::Printed | CardState::Suspended => {
                CardStatus::Suspended
            }
            _ => CardStatus::Invalid,
        }
    }

    /// Whether the card has a signed credential (it was approved).
    pub fn has_credential(self) -> bool {
        !matches!(self, CardState::Requested | CardState::Rejected)
    }
}

/// A card's status as the status list records it (IETF Token Status List:
/// 0 valid, 1 invalid, 2 suspended; the bits are the list's business, in
/// `lanyard-credential`). One type for the register's view of a card and
/// the list's, so no mapping between the two can drift.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    /// 0.
    Valid,
    /// 1: revoked, lost, destroyed or expired.
    Invalid,
    /// 2.
    Suspended,
}

impl fmt::Display for CardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CardState {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CardState::ALL.into_iter().find(|c| c.as_str() == s).ok_or(UnknownName("card state"))
    }
}

/// For rows that keep a state by name: an unknown name is refused.
impl TryFrom<String> for CardState {
    type Error = UnknownName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl CardAction {
    /// The stable name, also the audit action `card.<name>`.
    pub fn as_str(self) -> &'static str {
        match self {
            CardAction::Approve => "approve",
            CardAction::Reject => "reject",
            CardAction::Queue => "queue",
            CardAction::Requeue => "requeue",
            CardAction::Print => "print",
            CardAction::Issue => "issue",
            CardAction::Suspend => "suspend",
            CardAction::Resume => "resume",
            CardAction::Revoke => "revoke",
            CardAction::Expire => "expire",
            CardAction::Destroy => "destroy",
        }
    }
}

/// A name that is not one of a fixed set; says which set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {0}")]
pub struct UnknownName(pub &'static str);

/// Why a card moved. Codes, not free text: a reason is recorded in the audit
/// log, which must carry no personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Reported lost.
    Lost,
    /// Reported stolen.
    Stolen,
    /// Damaged or worn.
    Damaged,
    /// Details changed (rank, name).
    DetailsChanged,
    /// The holder left the force.
    Left,
    /// Under investigation, or on leave.
    Investigation,
    /// Replaced by a reissue.
    Replaced,
    /// Spoiled in printing.
    Spoiled,
    /// Its print batch expired unconfirmed.
    BatchExpired,
    /// Its print batch was withdrawn (supplier disabled or rekeyed).
    BatchWithdrawn,
    /// Refused at approval.
    NotJustified,
    /// Anything else the operator records elsewhere.
    Other,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 12] = [
        Reason::Lost,
        Reason::Stolen,
        Reason::Damaged,
        Reason::DetailsChanged,
        Reason::Left,
        Reason::Investigation,
        Reason::Replaced,
        Reason::Spoiled,
        Reason::BatchExpired,
        Reason::BatchWithdrawn,
        Reason::NotJustified,
        Reason::Other,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Lost => "lost",
            Reason::Stolen => "stolen",
            Reason::Damaged => "damaged",
            Reason::DetailsChanged => "details_changed",
            Reason::Left => "left",
            Reason::Investigation => "investigation",
            Reason::Replaced => "replaced",
            Reason::Spoiled => "spoiled",
            Reason::BatchExpired => "batch_expired",
            Reason::BatchWithdrawn => "batch_withdrawn",
            Reason::NotJustified => "not_justified",
            Reason::Other => "other",
        }
    }
}

impl FromStr for Reason {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s).ok_or(UnknownName("reason"))
    }
}

impl CardType {
    /// How long a card of this type is valid from approval, in days.
    pub fn validity_days(self) -> i64 {
        match self {
            CardType::WarrantCard => 5 * 365,
            CardType::StaffPass => 3 * 365,
            CardType::ContractorPass => 365,
            CardType::VisitorPass => 1,
        }
    }

    /// Whether the card prints (and its credential carries) a rank.
    pub fn shows_rank(self) -> bool {
        matches!(self, CardType::WarrantCard | CardType::StaffPass)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIONS: [CardAction; 11] = [
        CardAction::Approve,
        CardAction::Reject,
        CardAction::Queue,
        CardAction::Requeue,
        CardAction::Print,
        CardAction::Issue,
        CardAction::Suspend,
        CardAction::Resume,
        CardAction::Revoke,
        CardAction::Expire,
        CardAction::Destroy,
    ];

    #[test]
    fn the_lifecycle_of_the_issue_and_nothing_else() {
        use CardState as S;
        // Every legal move, as the issue draws the lifecycle.
        let legal: &[(S, CardAction, S)] = &[
            (S::Requested, CardAction::Approve, S::Approved),
            (S::Requested, CardAction::Reject, S::Rejected),
            (S::Approved, CardAction::Queue, S::Queued),
            (S::Queued, CardAction::Requeue, S::Approved),
            (S::Approved, CardAction::Print, S::Printed),
            (S::Queued, CardAction::Print, S::Printed),
            (S::Printed, CardAction::Issue, S::Issued),
            (S::Issued, CardAction::Suspend, S::Suspended),
            (S::Suspended, CardAction::Resume, S::Issued),
            (S::Approved, CardAction::Revoke, S::Revoked),
            (S::Queued, CardAction::Revoke, S::Revoked),
            (S::Printed, CardAction::Revoke, S::Revoked),
            (S::Issued, CardAction::Revoke, S::Revoked),
            (S::Suspended, CardAction::Revoke, S::Revoked),
            (S::Issued, CardAction::Expire, S::Expired),
            (S::Suspended, CardAction::Expire, S::Expired),
            (S::Revoked, CardAction::Destroy, S::Destroyed),
            (S::Expired, CardAction::Destroy, S::Destroyed),
            (S::Rejected, CardAction::Destroy, S::Destroyed),
        ];
        for from in CardState::ALL {
            for action in ACTIONS {
                let expected = legal.iter().find(|(f, a, _)| *f == from && *a == action).map(|(_, _, to)| *to);
                assert_eq!(from.after(action), expected, "{from} --{}-->", action.as_str());
            }
        }
        // Terminal states go nowhere.
        assert!(ACTIONS.iter().all(|a| CardState::Destroyed.after(*a).is_none()));
    }

    #[test]
    fn names_round_trip() {
        for s in CardState::ALL {
            assert_eq!(s.as_str().parse::<CardState>().unwrap(), s);
        }
        for r in Reason::ALL {
            assert_eq!(r.as_str().parse::<Reason>().unwrap(), r);
        }
        assert!("misplaced".parse::<Reason>().is_err());
    }

    #[test]
    fn status_list_values_follow_state() {
        assert_eq!(CardState::Issued.list_status(), CardStatus::Valid);
        assert_eq!(CardState::Suspended.list_status(), CardStatus::Suspended);
        for s in [CardState::Revoked, CardState::Expired, CardState::Destroyed, CardState::Requested] {
            assert_eq!(s.list_status(), CardStatus::Invalid);
        }
    }
}
