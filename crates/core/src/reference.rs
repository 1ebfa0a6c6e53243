//! Reference data of DESIGN §8: vetting levels and their ladders, ranks, card
//! types.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::compartment::Field;
use crate::error::{ValidationError, ValidationErrorKind};

/// A UK police vetting or national-security clearance level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VettingLevel {
    /// Recruitment Vetting.
    #[serde(rename = "RV")]
    Rv,
    /// Management Vetting.
    #[serde(rename = "MV")]
    Mv,
    /// Non-police personnel, premises only.
    #[serde(rename = "NPPV1")]
    Nppv1,
    /// Non-police personnel, level 2 abbreviated.
    #[serde(rename = "NPPV2A")]
    Nppv2a,
    /// Non-police personnel, level 2 full.
    #[serde(rename = "NPPV2F")]
    Nppv2f,
    /// Non-police personnel, unrestricted.
    #[serde(rename = "NPPV3")]
    Nppv3,
    /// Counter-Terrorist Check.
    #[serde(rename = "CTC")]
    Ctc,
    /// Security Check.
    #[serde(rename = "SC")]
    Sc,
    /// enhanced Security Check.
    #[serde(rename = "eSC")]
    Esc,
    /// Developed Vetting.
    #[serde(rename = "DV")]
    Dv,
}

/// The ordered families of vetting levels; "at least" only compares within one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ladder {
    /// RV < MV.
    Police,
    /// CTC < SC < eSC < DV.
    NationalSecurity,
    /// NPPV1 < NPPV2A < NPPV2F < NPPV3.
    NonPolice,
}

impl VettingLevel {
    /// Every level, in DESIGN §8's order.
    pub const ALL: [VettingLevel; 10] = [
        VettingLevel::Rv,
        VettingLevel::Mv,
        VettingLevel::Nppv1,
        VettingLevel::Nppv2a,
        VettingLevel::Nppv2f,
        VettingLevel::Nppv3,
        VettingLevel::Ctc,
        VettingLevel::Sc,
        VettingLevel::Esc,
        VettingLevel::Dv,
    ];

    /// The level's code as written in DESIGN §8 (`eSC` keeps its lower-case e).
    pub fn as_str(self) -> &'static str {
        match self {
            VettingLevel::Rv => "RV",
            VettingLevel::Mv => "MV",
            VettingLevel::Nppv1 => "NPPV1",
            VettingLevel::Nppv2a => "NPPV2A",
            VettingLevel::Nppv2f => "NPPV2F",
            VettingLevel::Nppv3 => "NPPV3",
            VettingLevel::Ctc => "CTC",
            VettingLevel::Sc => "SC",
            VettingLevel::Esc => "eSC",
            VettingLevel::Dv => "DV",
        }
    }

    /// The ladder this level sits on, and its rung (0 is the lowest).
    pub fn position(self) -> (Ladder, u8) {
        match self {
            VettingLevel::Rv => (Ladder::Police, 0),
            VettingLevel::Mv => (Ladder::Police, 1),
            VettingLevel::Nppv1 => (Ladder::NonPolice, 0),
            VettingLevel::Nppv2a => (Ladder::NonPolice, 1),
            VettingLevel::Nppv2f => (Ladder::NonPolice, 2),
            VettingLevel::Nppv3 => (Ladder::NonPolice, 3),
            VettingLevel::Ctc => (Ladder::NationalSecurity, 0),
            VettingLevel::Sc => (Ladder::NationalSecurity, 1),
            VettingLevel::Esc => (Ladder::NationalSecurity, 2),
            VettingLevel::Dv => (Ladder::NationalSecurity, 3),
        }
    }

    /// True when holding `self` meets a requirement of at least `required`.
    /// Levels on different ladders never satisfy each other.
    pub fn satisfies(self, required: VettingLevel) -> bool {
        let (have_ladder, have_rung) = self.position();
        let (need_ladder, need_rung) = required.position();
        have_ladder == need_ladder && have_rung >= need_rung
    }
}

impl fmt::Display for VettingLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VettingLevel {
    type Err = ValidationError;

    /// Accepts the codes case-insensitively (`esc` and `ESC` both mean eSC).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        VettingLevel::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ValidationError::new(Some(Field::VettingLevel), ValidationErrorKind::UnknownVettingLevel))
    }
}

/// The ranks a force accepts. DESIGN §8 gives the defaults; forces may
/// configure their own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankTable {
    ranks: Vec<String>,
    /// Lower-case, single-spaced spelling → index into `ranks`.
    lookup: std::collections::HashMap<String, usize>,
}

fn rank_key(rank: &str) -> String {
    let mut key = String::with_capacity(rank.len());
    for word in rank.split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
        }
        key.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    }
    key
}

impl RankTable {
    /// DESIGN §8's default ranks.
    pub fn default_ranks() -> Self {
        let mut ranks: Vec<String> = [
            "Police Constable",
            "Police Sergeant",
            "Inspector",
            "Chief Inspector",
            "Superintendent",
            "Chief Superintendent",
            "Detective Constable",
            "Detective Sergeant",
            "Detective Inspector",
            "Detective Chief Inspector",
            "Detective Superintendent",
            "Detective Chief Superintendent",
            "Commander",
            "Deputy Assistant Commissioner",
            "Assistant Commissioner",
            "Deputy Commissioner",
            "Commissioner",
            "Assistant Chief Constable",
            "Deputy Chief Constable",
            "Chief Constable",
            "Special Constable",
            "Police Community Support Officer",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        ranks.extend(('A'..='G').map(|band| format!("Police Staff Band {band}")));
        RankTable::new(ranks)
    }

    /// A table of the given ranks.
    pub fn new(ranks: Vec<String>) -> Self {
        let lookup = ranks.iter().enumerate().map(|(i, r)| (rank_key(r), i)).collect();
        RankTable { ranks, lookup }
    }

    /// Every rank, in order.
    pub fn ranks(&self) -> &[String] {
        &self.ranks
    }

    /// The canonical spelling of `rank`, matched ignoring case and repeated
    /// spaces.
    pub fn canonical(&self, rank: &str) -> Result<&str, ValidationError> {
        let key = rank_key(rank);
        if key.is_empty() {
            return Err(ValidationError::new(Some(Field::Rank), ValidationErrorKind::Missing));
        }
        self.lookup
            .get(&key)
            .and_then(|i| self.ranks.get(*i))
            .map(String::as_str)
            .ok_or_else(|| ValidationError::new(Some(Field::Rank), ValidationErrorKind::UnknownRank))
    }
}

/// The kinds of card lanyard issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardType {
    /// Officers.
    WarrantCard,
    /// Police staff.
    StaffPass,
    /// NPPV-vetted contractors.
    ContractorPass,
    /// Visitors.
    VisitorPass,
}

impl CardType {
    /// Every card type.
    pub const ALL: [CardType; 4] =
        [CardType::WarrantCard, CardType::StaffPass, CardType::ContractorPass, CardType::VisitorPass];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            CardType::WarrantCard => "warrant_card",
            CardType::StaffPass => "staff_pass",
            CardType::ContractorPass => "contractor_pass",
            CardType::VisitorPass => "visitor_pass",
        }
    }
}

impl FromStr for CardType {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CardType::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| ValidationError::new(None, ValidationErrorKind::UnknownCardType(s.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladders_order_within_and_never_across() {
        use VettingLevel::*;
        assert!(Mv.satisfies(Rv));
        assert!(!Rv.satisfies(Mv));
        assert!(Dv.satisfies(Ctc) && Dv.satisfies(Esc) && Esc.satisfies(Sc));
        assert!(!Sc.satisfies(Esc));
        assert!(Nppv3.satisfies(Nppv2f) && Nppv2f.satisfies(Nppv2a) && Nppv2a.satisfies(Nppv1));
        assert!(!Nppv2a.satisfies(Nppv2f));
        for a in VettingLevel::ALL {
            assert!(a.satisfies(a));
            for b in VettingLevel::ALL {
                if a.position().0 != b.position().0 {
                    assert!(!a.satisfies(b), "{a} must not satisfy {b}");
                }
            }
        }
    }

    #[test]
    fn vetting_codes_parse_case_insensitively() {
        assert_eq!("esc".parse::<VettingLevel>().unwrap(), VettingLevel::Esc);
        assert_eq!(" NPPV2a ".parse::<VettingLevel>().unwrap(), VettingLevel::Nppv2a);
        let err = "TOPSECRET".parse::<VettingLevel>().unwrap_err();
        assert!(!err.to_string().contains("TOPSECRET"));
    }

    #[test]
    fn default_ranks_match_design() {
        let t = RankTable::default_ranks();
        assert_eq!(t.ranks().len(), 29);
        assert_eq!(t.canonical("police  constable").unwrap(), "Police Constable");
        assert_eq!(t.canonical("Police Staff Band G").unwrap(), "Police Staff Band G");
        assert!(t.canonical("Police Staff Band H").is_err());
        assert!(t.canonical("Generalissimo").is_err());
    }
}
