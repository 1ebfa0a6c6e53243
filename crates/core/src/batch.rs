//! Where a print batch is in its life, and what became of each card in it.
//! Names, not free text: the store keeps these by name and refuses a name it
//! does not know, so a state written outside lanyard is never taken for one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::card::UnknownName;

/// A print batch's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Made, downloadable, not yet confirmed.
    Pending,
    /// Confirmed by the supplier; file destroyed.
    Confirmed,
    /// Not confirmed in time; file destroyed, cards back in the queue.
    Expired,
    /// Withdrawn (supplier disabled or rekeyed); file destroyed.
    Destroyed,
}

impl BatchState {
    /// Every state.
    pub const ALL: [BatchState; 4] =
        [BatchState::Pending, BatchState::Confirmed, BatchState::Expired, BatchState::Destroyed];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Pending => "pending",
            BatchState::Confirmed => "confirmed",
            BatchState::Expired => "expired",
            BatchState::Destroyed => "destroyed",
        }
    }
}

/// What became of one card of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintOutcome {
    /// The supplier printed it.
    Printed,
    /// The supplier spoiled it; it goes back to the queue.
    Spoiled,
    /// The batch expired or was withdrawn before it was confirmed.
    Returned,
    /// The confirmation named neither outcome for it.
    Skipped,
}

impl PrintOutcome {
    /// Every outcome.
    pub const ALL: [PrintOutcome; 4] =
        [PrintOutcome::Printed, PrintOutcome::Spoiled, PrintOutcome::Returned, PrintOutcome::Skipped];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            PrintOutcome::Printed => "printed",
            PrintOutcome::Spoiled => "spoiled",
            PrintOutcome::Returned => "returned",
            PrintOutcome::Skipped => "skipped",
        }
    }
}

macro_rules! named {
    ($t:ty, $what:literal) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::ALL.into_iter().find(|c| c.as_str() == s).ok_or(UnknownName($what))
            }
        }

        impl TryFrom<String> for $t {
            type Error = UnknownName;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
    };
}

named!(BatchState, "batch state");
named!(PrintOutcome, "print outcome");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for s in BatchState::ALL {
            assert_eq!(s.as_str().parse::<BatchState>(), Ok(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::json!(s.as_str())));
        }
        for o in PrintOutcome::ALL {
            assert_eq!(PrintOutcome::try_from(o.as_str().to_owned()), Ok(o));
        }
        assert_eq!("Pending".parse::<BatchState>(), Err(UnknownName("batch state")));
        assert!(PrintOutcome::try_from(String::new()).is_err());
    }
}
