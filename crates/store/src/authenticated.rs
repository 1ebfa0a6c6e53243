//! Rows that carry a tag, and the canonical bytes the tag is made over.
//!
//! The store holds no key: it only says, per table, which columns a tag
//! binds and in what order, and keeps the tag in the row's `mac` column.
//! The ledger tags a row before it is written and checks the tag when it is
//! read (lanyard-audit, with `lanyard_crypto::RowAuth`), so someone who can
//! write SQL but holds no key cannot change, insert or copy a row that
//! decides who may do what.

use uuid::Uuid;

/// A row of a table whose rows are tagged.
pub trait Authenticated {
    /// The table, which also selects the tag's subkey.
    const TABLE: &'static str;
    /// The row's primary key as it is named in findings and audit events:
    /// an id, never personal data.
    fn row_id(&self) -> String;
    /// The row's name in the audit log's record of writes: unique in its
    /// table. The primary key, unless that is a secret's hash.
    fn stamp_id(&self) -> String {
        self.row_id()
    }
    /// Every column the tag binds, primary key first, in one encoding that
    /// cannot be read two ways.
    fn canonical(&self) -> Vec<u8>;
    /// The stored tag; `None` for a row written before tags existed.
    fn tag(&self) -> Option<&[u8]>;
    /// Sets the tag to be written.
    fn set_tag(&mut self, tag: Vec<u8>);
}

/// What one write did to one tagged row: wrote it with this tag, or
/// removed it. A [`crate::Tx`] keeps one for every tagged row it writes, and
/// the write's audit event carries them, so `audit verify` can tell a row
/// put back as it was before a later write (its old tag still verifies)
/// from the row the log last wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowStamp {
    /// The table.
    pub table: &'static str,
    /// The row's [`Authenticated::stamp_id`].
    pub id: String,
    /// Its tag as written; `None` when the write removed it.
    pub tag: Option<Vec<u8>>,
}

impl RowStamp {
    /// `row`, written with its tag.
    pub fn written<R: Authenticated>(row: &R) -> Self {
        RowStamp { table: R::TABLE, id: row.stamp_id(), tag: Some(row.tag().unwrap_or_default().to_vec()) }
    }
}

/// A session's name in the record of writes: the first half of its token's
/// hash, in hex. The hash of a random secret reveals nothing of it, and the
/// session's readable name (whose it is) is not unique.
pub fn session_stamp_id(token_hash: &[u8]) -> String {
    token_hash.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The two methods every tagged row has alike: its tag is its `mac` field.
macro_rules! tag_in_mac_field {
    () => {
        fn tag(&self) -> Option<&[u8]> {
            self.mac.as_deref()
        }
        fn set_tag(&mut self, tag: Vec<u8>) {
            self.mac = Some(tag);
        }
    };
}
pub(crate) use tag_in_mac_field;

/// Builds canonical bytes: each value with a type byte and, for variable
/// lengths, a length prefix, so no two rows encode alike.
#[derive(Default)]
pub struct Canon(Vec<u8>);

impl Canon {
    /// Starts an encoding; the table name is bound by the tag's subkey, the
    /// format version here.
    pub fn new() -> Self {
        Canon(vec![1])
    }

    /// Bytes.
    pub fn bytes(mut self, b: &[u8]) -> Self {
        self.0.push(b'b');
        self.0.extend_from_slice(&(b.len() as u64).to_be_bytes());
        self.0.extend_from_slice(b);
        self
    }

    /// Text.
    pub fn str(self, s: &str) -> Self {
        self.bytes(s.as_bytes())
    }

    /// A UUID.
    pub fn uuid(self, u: Uuid) -> Self {
        self.bytes(u.as_bytes())
    }

    /// An integer.
    pub fn int(mut self, n: i64) -> Self {
        self.0.push(b'i');
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }

    /// A flag.
    pub fn flag(self, b: bool) -> Self {
        self.int(i64::from(b))
    }

    /// An optional integer.
    pub fn opt_int(mut self, n: Option<i64>) -> Self {
        match n {
            Some(n) => self.int(n),
            None => {
                self.0.push(b'n');
                self
            }
        }
    }

    /// Optional bytes.
    pub fn opt_bytes(mut self, b: Option<&[u8]>) -> Self {
        match b {
            Some(b) => self.bytes(b),
            None => {
                self.0.push(b'n');
                self
            }
        }
    }

    /// Optional text.
    pub fn opt_str(self, s: Option<&str>) -> Self {
        self.opt_bytes(s.map(str::as_bytes))
    }

    /// The bytes.
    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_do_not_run_into_each_other() {
        assert_ne!(Canon::new().str("ab").str("c").finish(), Canon::new().str("a").str("bc").finish());
        assert_ne!(Canon::new().opt_int(None).finish(), Canon::new().int(0).finish());
        assert_ne!(Canon::new().opt_str(None).finish(), Canon::new().str("").finish());
        assert_ne!(Canon::new().int(1).finish(), Canon::new().flag(true).str("").finish());
    }
}
