//! The tamper-evident audit trail: each entry chained to the one before it by an HMAC.
//!
//! `mac(n) = HMAC-SHA256(key, mac(n-1) ‖ canonical(record n))`, with `mac(0)` = 32 zero bytes
//! ([`GENESIS_MAC`]) and sequence numbers counting from [`FIRST_SEQ`] without gaps. The key
//! comes from the system key by HKDF ([`derive_chain_key`]), so whoever can edit the table
//! but does not hold the system key cannot compute the MAC of an edited entry.
//!
//! [`verify_chain`] (or [`ChainVerifier`], page by page) names the *first* broken entry:
//!
//! - an edited field, or an edited MAC, breaks that entry's MAC ([`BrokenReason::MacMismatch`]);
//! - a deleted entry leaves a gap in the sequence ([`BrokenReason::Missing`]);
//! - an entry moved elsewhere breaks the sequence or, if its number was edited to fit, the
//!   MAC, which covers both the number and the previous MAC;
//! - an inserted entry repeats a number ([`BrokenReason::OutOfOrder`]) or breaks a MAC.
//!
//! **What a chain cannot show on its own.** Entries deleted from the end leave a shorter,
//! perfectly valid chain, and someone holding the key can rewrite the chain from any point.
//! Both are caught only against an *anchor*: a [`ChainHead`] (sequence number and MAC of the
//! latest entry, see [`Verified::head`]) copied somewhere the database's editors cannot reach
//! (an operator's notes, an external log, a later audit export). [`ChainVerifier::with_anchor`]
//! then reports [`BrokenReason::Truncated`] or [`BrokenReason::AnchorMismatch`].
//!
//! **Time.** `at` is chained at microsecond precision, what PostgreSQL keeps; PostgreSQL
//! *rounds* finer timestamps, so pass the time through [`chain_time`] before computing the MAC
//! and storing the entry, or the stored entry would no longer match its MAC.
//!
//! The record holds no personal data in clear: the target is pseudonymous (a subject id) and
//! the reason is stored, and chained, as its ciphertext.

use std::fmt;

use chrono::{DateTime, Utc};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::keys::SecretKey;

/// The sequence number of the first entry.
pub const FIRST_SEQ: u64 = 1;
/// The "previous MAC" of the first entry.
pub const GENESIS_MAC: [u8; 32] = [0; 32];

/// One audit entry, as stored (its MAC is stored beside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The position in the chain: [`FIRST_SEQ`], then one more for each entry.
    pub seq: u64,
    /// When it happened, at microsecond precision (see [`chain_time`]).
    pub at: DateTime<Utc>,
    /// Who acted: an account id, `system`, or the CLI.
    pub actor: String,
    /// What was done, a stable name such as `staff.read_account`.
    pub action: String,
    /// Whom or what it was done to, pseudonymised (a subject id, a key version).
    pub target: Option<String>,
    /// The written reason, as the ciphertext it is stored as; never clear text.
    pub reason_ciphertext: Option<Vec<u8>>,
    /// The id of the request that did it.
    pub request_id: Option<String>,
}

impl AuditRecord {
    /// The unambiguous encoding the MAC covers: a domain tag, the sequence number and time
    /// (microseconds since the epoch) as big-endian integers, then each text field prefixed
    /// by its length and each optional field by a presence byte.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + self.actor.len()
                + self.action.len()
                + self.target.as_ref().map_or(0, String::len)
                + self.reason_ciphertext.as_ref().map_or(0, Vec::len)
                + self.request_id.as_ref().map_or(0, String::len),
        );
        out.extend_from_slice(b"icecone.audit.v1");
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.at.timestamp_micros().to_be_bytes());
        put(&mut out, self.actor.as_bytes());
        put(&mut out, self.action.as_bytes());
        put_optional(&mut out, self.target.as_deref().map(str::as_bytes));
        put_optional(&mut out, self.reason_ciphertext.as_deref());
        put_optional(&mut out, self.request_id.as_deref().map(str::as_bytes));
        out
    }
}

fn put(out: &mut Vec<u8>, field: &[u8]) {
    let len = u64::try_from(field.len()).unwrap_or(u64::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
}

fn put_optional(out: &mut Vec<u8>, field: Option<&[u8]>) {
    match field {
        None => out.push(0),
        Some(field) => {
            out.push(1);
            put(out, field);
        }
    }
}

/// `at` truncated to whole microseconds: what the chain covers and what every database keeps
/// unchanged. Use it for the `at` of every new entry.
pub fn chain_time(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// The chain key, derived from the system key by HKDF-SHA256 (salt `icecone.audit-chain.v1`,
/// info `chain`).
pub fn derive_chain_key(system_key: &SecretKey) -> Zeroizing<[u8; 32]> {
    let hkdf = Hkdf::<Sha256>::new(Some(b"icecone.audit-chain.v1"), system_key.expose());
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte output limit: this cannot fail.
    if hkdf.expand(b"chain", &mut key[..]).is_err() {
        unreachable!("HKDF-SHA256 can expand to 32 bytes");
    }
    key
}

/// The MAC of `record`, chained to `previous_mac` ([`GENESIS_MAC`] for the first entry).
pub fn chain_mac(key: &[u8; 32], previous_mac: &[u8; 32], record: &AuditRecord) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length");
    };
    mac.update(previous_mac);
    mac.update(&record.canonical_bytes());
    mac.finalize().into_bytes().into()
}

/// The latest entry of a chain: what the next entry chains to, and what an anchor records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHead {
    /// The sequence number of the latest entry (0 for an empty chain).
    pub seq: u64,
    /// Its MAC ([`GENESIS_MAC`] for an empty chain).
    pub mac: [u8; 32],
}

impl ChainHead {
    /// The head of an empty chain.
    pub const GENESIS: ChainHead = ChainHead {
        seq: FIRST_SEQ - 1,
        mac: GENESIS_MAC,
    };

    /// The sequence number the next entry must have.
    pub fn next_seq(&self) -> u64 {
        self.seq.saturating_add(1)
    }

    /// The head after appending `record` (whose `seq` must be [`ChainHead::next_seq`]); its
    /// MAC is what to store with the record.
    pub fn append(&self, key: &[u8; 32], record: &AuditRecord) -> ChainHead {
        ChainHead {
            seq: record.seq,
            mac: chain_mac(key, &self.mac, record),
        }
    }
}

/// What a successful verification checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The number of entries checked.
    pub entries: u64,
    /// The latest entry checked: record it as an anchor for the next verification.
    pub head: ChainHead,
}

/// The first broken entry of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the audit chain is broken at entry {seq}: {reason}")]
pub struct ChainBroken {
    /// The sequence number the broken entry has, or should have had at its place.
    pub seq: u64,
    /// What is wrong with it.
    pub reason: BrokenReason,
}

/// Why an entry breaks the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BrokenReason {
    /// The MAC does not match the entry and its predecessor: a field or the MAC was edited,
    /// the entry was moved or forged, or the key is not the one the chain was written with.
    #[error("its MAC does not match its content and its predecessor (edited, moved or forged)")]
    MacMismatch,
    /// The entry is absent: the next entry found has this higher sequence number.
    #[error("it is missing (deleted): the next entry found is {next_found}")]
    Missing {
        /// The sequence number found in its place.
        next_found: u64,
    },
    /// An entry with this lower or equal sequence number was found in its place (an inserted,
    /// duplicated or out-of-order entry).
    #[error("entry {found} appears in its place (inserted, duplicated or out of order)")]
    OutOfOrder {
        /// The sequence number found in its place.
        found: u64,
    },
    /// The chain ends before the anchored entry: entries were deleted from the end.
    #[error("the chain ends before the anchored entry {anchor_seq} (truncated)")]
    Truncated {
        /// The sequence number of the anchor.
        anchor_seq: u64,
    },
    /// The entry's MAC differs from the anchor recorded for it: the chain was rewritten.
    #[error("its MAC differs from the anchor recorded for it (rewritten)")]
    AnchorMismatch,
}

/// Verifies a chain entry by entry, so that a long table can be read page by page.
///
/// Feed it entries in sequence order with [`ChainVerifier::push`], then call
/// [`ChainVerifier::finish`]. After the first broken entry every call returns that error.
pub struct ChainVerifier {
    key: Zeroizing<[u8; 32]>,
    head: ChainHead,
    entries: u64,
    anchor: Option<ChainHead>,
    broken: Option<ChainBroken>,
}

impl fmt::Debug for ChainVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainVerifier")
            .field("key", &"<redacted>")
            .field("head", &self.head)
            .field("entries", &self.entries)
            .field("anchor", &self.anchor)
            .field("broken", &self.broken)
            .finish()
    }
}

impl ChainVerifier {
    /// Verifies a chain from its first entry.
    pub fn new(key: &[u8; 32]) -> Self {
        Self::resume(key, ChainHead::GENESIS)
    }

    /// Verifies the entries after `from`, a head verified earlier (or taken as trusted).
    pub fn resume(key: &[u8; 32], from: ChainHead) -> Self {
        Self {
            key: Zeroizing::new(*key),
            head: from,
            entries: 0,
            anchor: None,
            broken: None,
        }
    }

    /// Also checks the chain against `anchor`, a head recorded outside the database earlier:
    /// the entry with its number must have its MAC, and the chain must reach it. An anchor at
    /// or before the starting point is not checked.
    pub fn with_anchor(mut self, anchor: ChainHead) -> Self {
        self.anchor = Some(anchor);
        self
    }

    /// Checks the next entry and its stored MAC.
    pub fn push(&mut self, record: &AuditRecord, mac: &[u8; 32]) -> Result<(), ChainBroken> {
        if let Some(broken) = self.broken {
            return Err(broken);
        }
        let expected_seq = self.head.next_seq();
        let reason = if record.seq > expected_seq {
            Some(BrokenReason::Missing {
                next_found: record.seq,
            })
        } else if record.seq < expected_seq || self.head.seq == u64::MAX {
            Some(BrokenReason::OutOfOrder { found: record.seq })
        } else if !bool::from(chain_mac(&self.key, &self.head.mac, record).ct_eq(mac)) {
            Some(BrokenReason::MacMismatch)
        } else if self
            .anchor
            .is_some_and(|anchor| anchor.seq == record.seq && anchor.mac != *mac)
        {
            Some(BrokenReason::AnchorMismatch)
        } else {
            None
        };
        if let Some(reason) = reason {
            let broken = ChainBroken {
                seq: expected_seq,
                reason,
            };
            self.broken = Some(broken);
            return Err(broken);
        }
        self.head = ChainHead {
            seq: record.seq,
            mac: *mac,
        };
        self.entries += 1;
        Ok(())
    }

    /// The latest entry verified so far.
    pub fn head(&self) -> ChainHead {
        self.head
    }

    /// The number of entries verified so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Ends verification: fails if an entry was broken or the chain stops before the anchor.
    pub fn finish(self) -> Result<Verified, ChainBroken> {
        if let Some(broken) = self.broken {
            return Err(broken);
        }
        if let Some(anchor) = self.anchor
            && anchor.seq > self.head.seq
        {
            return Err(ChainBroken {
                seq: self.head.next_seq(),
                reason: BrokenReason::Truncated {
                    anchor_seq: anchor.seq,
                },
            });
        }
        Ok(Verified {
            entries: self.entries,
            head: self.head,
        })
    }
}

/// Verifies a whole chain, from its first entry, given in sequence order with the stored MACs.
/// Without an anchor a truncated tail goes unnoticed: see the module documentation.
pub fn verify_chain(
    key: &[u8; 32],
    records_with_macs: impl IntoIterator<Item = (AuditRecord, [u8; 32])>,
) -> Result<Verified, ChainBroken> {
    let mut verifier = ChainVerifier::new(key);
    for (record, mac) in records_with_macs {
        verifier.push(&record, &mac)?;
    }
    verifier.finish()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const KEY: [u8; 32] = [42; 32];

    fn record(seq: u64) -> AuditRecord {
        AuditRecord {
            seq,
            at: DateTime::from_timestamp(1_800_000_000 + i64::try_from(seq).expect("small"), 0)
                .expect("in range"),
            actor: "staff:7f1c".to_owned(),
            action: "staff.read_account".to_owned(),
            target: Some(format!("subject:{seq}")),
            reason_ciphertext: Some(vec![1, 2, 3]),
            request_id: None,
        }
    }

    /// A valid chain of `records`, with their MACs.
    fn chain(records: Vec<AuditRecord>) -> Vec<(AuditRecord, [u8; 32])> {
        let mut head = ChainHead::GENESIS;
        records
            .into_iter()
            .map(|record| {
                head = head.append(&KEY, &record);
                (record, head.mac)
            })
            .collect()
    }

    fn chain_of(len: u64) -> Vec<(AuditRecord, [u8; 32])> {
        chain((FIRST_SEQ..FIRST_SEQ + len).map(record).collect())
    }

    fn broken(seq: u64, reason: BrokenReason) -> Result<u64, ChainBroken> {
        Err(ChainBroken { seq, reason })
    }

    #[test]
    fn tampering_is_reported_at_the_first_broken_entry() {
        type Tamper = fn(&mut Vec<(AuditRecord, [u8; 32])>);
        let table: [(&str, Tamper, Result<u64, ChainBroken>); 10] = [
            ("untouched", |_| {}, Ok(5)),
            (
                "an edited action",
                |c| c[2].0.action = "staff.nothing".to_owned(),
                broken(3, BrokenReason::MacMismatch),
            ),
            (
                "an edited MAC",
                |c| c[1].1[0] ^= 1,
                broken(2, BrokenReason::MacMismatch),
            ),
            (
                "an edited time",
                |c| c[4].0.at += chrono::TimeDelta::microseconds(1),
                broken(5, BrokenReason::MacMismatch),
            ),
            (
                "a deleted entry",
                |c| {
                    c.remove(1);
                },
                broken(2, BrokenReason::Missing { next_found: 3 }),
            ),
            (
                "a deleted first entry",
                |c| {
                    c.remove(0);
                },
                broken(1, BrokenReason::Missing { next_found: 2 }),
            ),
            (
                "two entries swapped",
                |c| c.swap(1, 2),
                broken(2, BrokenReason::Missing { next_found: 3 }),
            ),
            (
                "two entries swapped with their numbers",
                |c| {
                    c.swap(1, 2);
                    c[1].0.seq = 2;
                    c[2].0.seq = 3;
                },
                broken(2, BrokenReason::MacMismatch),
            ),
            (
                "a duplicated entry",
                |c| {
                    let copy = c[2].clone();
                    c.insert(3, copy);
                },
                broken(4, BrokenReason::OutOfOrder { found: 3 }),
            ),
            (
                "the tail deleted (undetectable without an anchor)",
                |c| c.truncate(3),
                Ok(3),
            ),
        ];
        for (name, tamper, expected) in table {
            let mut records = chain_of(5);
            tamper(&mut records);
            assert_eq!(
                verify_chain(&KEY, records).map(|v| v.entries),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn a_chain_verified_with_another_key_breaks_at_its_first_entry() {
        assert_eq!(
            verify_chain(&[1; 32], chain_of(3)).map(|v| v.entries),
            broken(1, BrokenReason::MacMismatch)
        );
    }

    #[test]
    fn an_empty_chain_verifies_to_the_genesis_head() {
        assert_eq!(
            verify_chain(&KEY, Vec::new()),
            Ok(Verified {
                entries: 0,
                head: ChainHead::GENESIS
            })
        );
    }

    #[test]
    fn anchors_reveal_truncation_and_rewriting() {
        let records = chain_of(6);
        let anchor = verify_chain(&KEY, records.clone()).expect("valid").head;
        assert_eq!(anchor.seq, 6);

        let verify_with_anchor = |records: Vec<(AuditRecord, [u8; 32])>| {
            let mut verifier = ChainVerifier::new(&KEY).with_anchor(anchor);
            for (record, mac) in &records {
                verifier.push(record, mac)?;
            }
            verifier.finish().map(|v| v.entries)
        };
        assert_eq!(verify_with_anchor(records.clone()), Ok(6));
        // More entries appended since the anchor was taken are fine.
        let mut longer = chain_of(8);
        assert_eq!(verify_with_anchor(longer.clone()), Ok(8));
        longer.truncate(4);
        assert_eq!(
            verify_with_anchor(longer),
            broken(5, BrokenReason::Truncated { anchor_seq: 6 })
        );
        // Someone with the key rewrites entry 6 and recomputes its MAC.
        let mut rewritten: Vec<AuditRecord> = records.into_iter().map(|(r, _)| r).collect();
        rewritten[5].action = "nothing.to.see".to_owned();
        assert_eq!(
            verify_with_anchor(chain(rewritten)),
            broken(6, BrokenReason::AnchorMismatch)
        );
    }

    #[test]
    fn verification_can_resume_from_a_verified_head_page_by_page() {
        let records = chain_of(7);
        let mut first_page = ChainVerifier::new(&KEY);
        for (record, mac) in &records[..4] {
            first_page.push(record, mac).expect("valid");
        }
        let head = first_page.finish().expect("valid").head;
        let mut second_page = ChainVerifier::resume(&KEY, head);
        for (record, mac) in &records[4..] {
            second_page.push(record, mac).expect("valid");
        }
        assert_eq!(second_page.entries(), 3);
        assert_eq!(second_page.head().seq, 7);
        let debug = format!("{second_page:?}");
        assert!(debug.contains("key: \"<redacted>\""), "{debug}");
        assert!(
            !debug.contains("42, 42, 42"),
            "the key is redacted: {debug}"
        );
    }

    #[test]
    fn after_the_first_break_the_verifier_keeps_reporting_it() {
        let mut records = chain_of(3);
        records[0].0.actor = "someone else".to_owned();
        let mut verifier = ChainVerifier::new(&KEY);
        let first = verifier.push(&records[0].0, &records[0].1);
        assert_eq!(
            first,
            Err(ChainBroken {
                seq: 1,
                reason: BrokenReason::MacMismatch
            })
        );
        assert_eq!(verifier.push(&records[1].0, &records[1].1), first);
        assert_eq!(verifier.finish().map(|v| v.entries), first.map(|()| 0));
    }

    #[test]
    fn the_encoding_is_unambiguous() {
        let base = record(1);
        let shifted = AuditRecord {
            actor: "staff:7f1cstaff".to_owned(),
            action: ".read_account".to_owned(),
            ..base.clone()
        };
        assert_ne!(base.canonical_bytes(), shifted.canonical_bytes());
        let none_vs_empty = [
            AuditRecord {
                target: None,
                ..base.clone()
            },
            AuditRecord {
                target: Some(String::new()),
                ..base.clone()
            },
            AuditRecord {
                reason_ciphertext: Some(Vec::new()),
                target: None,
                ..base.clone()
            },
        ];
        for (i, a) in none_vs_empty.iter().enumerate() {
            for b in &none_vs_empty[i + 1..] {
                assert_ne!(a.canonical_bytes(), b.canonical_bytes());
            }
        }
    }

    #[test]
    fn chain_time_keeps_whole_microseconds_only() {
        let at = DateTime::from_timestamp(1_800_000_000, 123_456_789).expect("in range");
        let truncated = chain_time(at);
        assert_eq!(truncated.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(chain_time(truncated), truncated);
    }

    #[test]
    fn the_chain_key_depends_on_the_system_key() {
        let a = derive_chain_key(&SecretKey::from_slice(&[1; 32]).expect("key"));
        let b = derive_chain_key(&SecretKey::from_slice(&[2; 32]).expect("key"));
        assert_ne!(*a, *b);
        assert_ne!(*a, [1; 32]);
    }

    fn any_record() -> impl Strategy<Value = AuditRecord> {
        (
            0i64..4_000_000_000_000_000,
            ".{0,12}",
            "[a-z._]{1,24}",
            proptest::option::of(".{0,16}"),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..32)),
            proptest::option::of("[a-f0-9-]{0,36}"),
        )
            .prop_map(
                |(micros, actor, action, target, reason_ciphertext, request_id)| AuditRecord {
                    seq: 0,
                    at: DateTime::from_timestamp_micros(micros).unwrap_or_default(),
                    actor,
                    action,
                    target,
                    reason_ciphertext,
                    request_id,
                },
            )
    }

    /// Changes one field (0 to 7, 7 being the stored MAC) so that it differs.
    fn edit(entry: &mut (AuditRecord, [u8; 32]), field: usize, bump: u64) {
        let (record, mac) = entry;
        match field {
            0 => record.seq = record.seq.wrapping_add(bump.max(1)),
            1 => {
                let micros = i64::try_from(bump % 1_000_000).unwrap_or(0) + 1;
                record.at += chrono::TimeDelta::microseconds(micros);
            }
            2 => record.actor.push('x'),
            3 => record.action.insert(0, 'x'),
            4 => {
                record.target = match record.target.take() {
                    None => Some(String::new()),
                    Some(_) if bump.is_multiple_of(2) => None,
                    Some(mut target) => {
                        target.push('x');
                        Some(target)
                    }
                }
            }
            5 => {
                record.reason_ciphertext = match record.reason_ciphertext.take() {
                    None => Some(Vec::new()),
                    Some(_) if bump.is_multiple_of(2) => None,
                    Some(mut reason) => {
                        reason.push(0);
                        Some(reason)
                    }
                }
            }
            6 => {
                record.request_id = match record.request_id.take() {
                    None => Some(String::new()),
                    Some(mut id) => {
                        id.push('0');
                        Some(id)
                    }
                }
            }
            _ => mac[usize::try_from(bump % 32).unwrap_or(0)] ^= 1,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn editing_any_field_of_any_entry_is_detected_at_that_entry(
            records in proptest::collection::vec(any_record(), 1..12),
            which in any::<prop::sample::Index>(),
            field in 0usize..8,
            bump in any::<u64>(),
        ) {
            let numbered: Vec<AuditRecord> = records
                .into_iter()
                .zip(FIRST_SEQ..)
                .map(|(record, seq)| AuditRecord { seq, ..record })
                .collect();
            let mut entries = chain(numbered);
            prop_assert_eq!(
                verify_chain(&KEY, entries.clone()).map(|v| v.entries),
                Ok(u64::try_from(entries.len()).unwrap_or(u64::MAX))
            );
            let index = which.index(entries.len());
            let original_seq = entries[index].0.seq;
            edit(&mut entries[index], field, bump);
            let result = verify_chain(&KEY, entries);
            prop_assert!(result.is_err(), "undetected edit of field {} at {}", field, original_seq);
            prop_assert_eq!(result.err().map(|broken| broken.seq), Some(original_seq));
        }
    }
}
