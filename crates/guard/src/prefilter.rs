//! The raw prefilter: one forward pass of a lazy DFA over a buffer of raw
//! CSV bytes finds the records that could hold something a detector finds,
//! so that the rest (most of a release-sized table) are passed over without
//! being split into fields.
//!
//! It must never hide a detection. Each pattern here is one that matches,
//! in a record's raw bytes, wherever a detector could match in one of its
//! cells' text; `identifiers::RAW_PATTERNS` and
//! `Fingerprints::raw_patterns` say why theirs do. A cell's text differs
//! from the raw bytes only by delimiters and quotes (no pattern matches a
//! quote or a delimiter inside what it finds, and each is a non-word byte
//! as the cell's edges are) and by lossily decoded invalid UTF-8 (no
//! pattern matches one). A record where a closing quote is followed by more
//! text (`"ab"cd` reads `abcd`) is never passed over on its raw bytes. A
//! property test compares the findings of every table with and without the
//! prefilter.

use std::sync::LazyLock;

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind};

/// A compiled prefilter: the union of its patterns.
#[derive(Debug)]
pub(crate) struct Prefilter {
    dfa: DFA,
}

/// The prefilter for scans without exact data match.
static IDENTIFIERS: LazyLock<Option<Prefilter>> =
    LazyLock::new(|| Prefilter::new(crate::identifiers::RAW_PATTERNS.iter().map(|p| (*p).to_owned())));

impl Prefilter {
    /// The union of `patterns`, matched byte by byte (ASCII classes and
    /// word boundaries, so that the lazy DFA can run over any bytes).
    /// `None` if it cannot be built: the tables are then read whole.
    pub(crate) fn new(patterns: impl IntoIterator<Item = String>) -> Option<Prefilter> {
        let patterns: Vec<String> = patterns.into_iter().collect();
        let dfa = DFA::builder()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .thompson(thompson::Config::new().utf8(false))
            // Every pattern, not the first to match: the search stops at
            // the first position where any of them ends.
            .configure(DFA::config().match_kind(MatchKind::All).cache_capacity(16 << 20))
            .build_many(&patterns)
            .ok()?;
        Some(Prefilter { dfa })
    }

    /// The prefilter for scans without exact data match (a scan with it
    /// asks its `Fingerprints` for theirs). `None` if it cannot be built.
    pub(crate) fn identifiers() -> Option<&'static Prefilter> {
        IDENTIFIERS.as_ref()
    }

    /// A gate that judges the records of one buffer after another.
    pub(crate) fn gate(&self) -> Gate<'_> {
        Gate { filter: self, cache: self.dfa.create_cache(), hit: None }
    }
}

/// Judges records in order, running the DFA once over the bytes between
/// two records that could hold something.
pub(crate) struct Gate<'p> {
    filter: &'p Prefilter,
    cache: Cache,
    /// From a search that started at or before the record being judged:
    /// where the first match ended (`None`: nowhere in the buffer).
    hit: Option<Option<usize>>,
}

impl Gate<'_> {
    /// Forgets what it found: the buffer has changed.
    pub(crate) fn reset(&mut self) {
        self.hit = None;
    }

    /// Whether the record at `start..end` of `buf` could hold a match.
    /// `false` is certain: no pattern matches inside it. Records must be
    /// judged in order, and [`Gate::reset`] called whenever `buf` changes.
    pub(crate) fn may_match(&mut self, buf: &[u8], start: usize, end: usize) -> bool {
        // A search from an earlier start found its first match ending at
        // `e`: a match inside this record would have ended no later, so if
        // `e` is past this record (or at no place), nothing is in it.
        let hit = match self.hit {
            Some(Some(e)) if e > start => Some(e),
            Some(None) => None,
            _ => {
                let input = Input::new(buf).range(start..).earliest(true);
                // A search that fails (it cannot, with these settings)
                // reads the record rather than passes it over.
                let found = match self.filter.dfa.try_search_fwd(&mut self.cache, &input) {
                    Ok(m) => m.map(|m| m.offset()),
                    Err(_) => Some(start),
                };
                self.hit = Some(found);
                found
            }
        };
        hit.is_some_and(|e| e <= end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identifier_prefilter_builds() {
        assert!(IDENTIFIERS.is_some());
    }

    #[test]
    fn a_gate_passes_over_only_records_without_a_match() {
        let Some(p) = Prefilter::new(["[0-9]{3}".to_owned(), "@".to_owned()]) else { panic!("builds") };
        let buf = b"abc\nx 123 y\nzz\nq@r\nend";
        let records = [(0, 3), (4, 11), (12, 14), (15, 18), (19, 22)];
        let mut g = p.gate();
        let judged: Vec<bool> = records.iter().map(|(s, e)| g.may_match(buf, *s, *e)).collect();
        assert_eq!(judged, [false, true, false, true, false]);
    }
}
