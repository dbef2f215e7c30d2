//! Minimisation at the prompt: personal data a person types is replaced by typed
//! placeholders before a prompt leaves the process, and put back into a text answer.
//!
//! Each kind of personal data has a [`Recogniser`]: a small type that finds spans of a
//! text in one format (e-mail addresses, phone numbers, payment cards with their Luhn
//! digit, IBANs with their mod-97 check, IPv4 and IPv6 addresses) and the person's own
//! identifiers ([`OwnIdentifiers`]: their e-mail address and display name, as whole words,
//! case-insensitively). [`minimise`] runs them all, keeps the longest of overlapping
//! findings, and replaces each with `[EMAIL_1]`, `[PHONE_2]`, …: the same value always gets
//! the same placeholder. What it returns ([`Minimised`]) carries the [`Mapping`] from
//! placeholders back to values — in memory only; its `Debug` shows a count, never a value,
//! and its values are wiped when it is dropped — and the [`Redactions`] (kind and count,
//! never a value) that the generation records.
//!
//! What is not recognised, and why, is in `docs/privacy-model.md`; the adversarial table
//! of spacings and formats is the test `adversarial_forms_are_caught_or_not_as_documented`.
//!
//! Pure functions, no IO: the application decides when to minimise (every provider that
//! is not in-process, unless the person chose otherwise) and what to do with the mapping.

use std::fmt;

use zeroize::Zeroizing;

mod card;
mod email;
mod iban;
mod ip;
mod own;
mod phone;
mod scan;

pub use card::PaymentCards;
pub use email::EmailAddresses;
pub use iban::Ibans;
pub use ip::{Ipv4Addresses, Ipv6Addresses};
pub use own::OwnIdentifiers;
pub use phone::PhoneNumbers;

/// A kind of personal data that minimisation withholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RedactionKind {
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A payment card number.
    PaymentCard,
    /// An IBAN.
    Iban,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// The person's own display name.
    Name,
}

impl RedactionKind {
    /// Every kind, in the order redactions are listed.
    pub const ALL: [Self; 6] = [
        Self::Email,
        Self::Phone,
        Self::PaymentCard,
        Self::Iban,
        Self::IpAddress,
        Self::Name,
    ];

    /// The kind's name in the API and in storage (`PAYMENT_CARD`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "EMAIL",
            Self::Phone => "PHONE",
            Self::PaymentCard => "PAYMENT_CARD",
            Self::Iban => "IBAN",
            Self::IpAddress => "IP_ADDRESS",
            Self::Name => "NAME",
        }
    }

    /// The kind named `name` ([`RedactionKind::as_str`]).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The word in its placeholders (`CARD` in `[CARD_1]`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Email => "EMAIL",
            Self::Phone => "PHONE",
            Self::PaymentCard => "CARD",
            Self::Iban => "IBAN",
            Self::IpAddress => "IP",
            Self::Name => "NAME",
        }
    }
}

/// A span of a text that a recogniser found: bytes `start..end`, always on character
/// boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    /// Where it starts.
    pub start: usize,
    /// Where it ends (exclusive).
    pub end: usize,
    /// What it is.
    pub kind: RedactionKind,
}

/// Finds one kind of personal data in a text.
///
/// A recogniser only finds: it never allocates the replacement, and a value is the same
/// value for [`minimise`] when its [`Recogniser::normalise`] forms are equal.
pub trait Recogniser: fmt::Debug + Send + Sync {
    /// The kind of what it finds.
    fn kind(&self) -> RedactionKind;

    /// What it recognises, for the privacy page: one sentence.
    fn describe(&self) -> &'static str;

    /// Appends every finding in `text` to `findings`.
    fn find(&self, text: &str, findings: &mut Vec<Finding>);

    /// The form in which two spellings of one value compare equal (`alice@Example.com` and
    /// `ALICE@example.com`; a card with or without spaces).
    fn normalise(&self, found: &str) -> String {
        found.to_lowercase()
    }
}

/// The recognisers of formats, in the order their findings win a tie.
pub const FORMATS: [&dyn Recogniser; 6] = [
    &EmailAddresses,
    &Ibans,
    &PaymentCards,
    &Ipv6Addresses,
    &Ipv4Addresses,
    &PhoneNumbers,
];

/// What [`OwnIdentifiers`] recognises, for the privacy page.
pub const OWN_IDENTIFIERS: &str = "your own e-mail address and display name, as whole words, \
     in any letter case";

/// Every recogniser's kind and description, for the privacy page: the formats, then the
/// person's own identifiers.
pub fn catalogue() -> Vec<(RedactionKind, &'static str)> {
    FORMATS
        .iter()
        .map(|recogniser| (recogniser.kind(), recogniser.describe()))
        .chain(std::iter::once((RedactionKind::Name, OWN_IDENTIFIERS)))
        .collect()
}

/// How many different values of one kind were withheld.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Redaction {
    /// The kind.
    pub kind: RedactionKind,
    /// How many different values of it (one address written twice counts once).
    pub count: u32,
}

/// What a minimisation withheld: per kind, how many values; never a value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Redactions(Vec<Redaction>);

/// A stored list of redactions that does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a list of redactions is `KIND:COUNT` pairs separated by commas, each kind once")]
pub struct InvalidRedactions;

impl Redactions {
    /// The redactions, one per kind withheld, in [`RedactionKind::ALL`] order.
    pub fn as_slice(&self) -> &[Redaction] {
        &self.0
    }

    /// Whether nothing was withheld.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The stored form: `EMAIL:2,PHONE:1`; empty when nothing was withheld.
    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|redaction| format!("{}:{}", redaction.kind.as_str(), redaction.count))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses [`Redactions::to_text`]'s form.
    pub fn parse(text: &str) -> Result<Self, InvalidRedactions> {
        if text.is_empty() {
            return Ok(Self::default());
        }
        let mut list = Vec::new();
        for pair in text.split(',') {
            let (kind, count) = pair.split_once(':').ok_or(InvalidRedactions)?;
            let kind = RedactionKind::parse(kind).ok_or(InvalidRedactions)?;
            let count: u32 = count.parse().map_err(|_| InvalidRedactions)?;
            if count == 0 || list.iter().any(|r: &Redaction| r.kind == kind) {
                return Err(InvalidRedactions);
            }
            list.push(Redaction { kind, count });
        }
        list.sort_by_key(|redaction| redaction.kind);
        Ok(Self(list))
    }
}

/// The placeholders of one minimisation and the values they stand for.
///
/// Held in memory for as long as a request needs it; its `Debug` output shows how many
/// values it holds, and its values are overwritten with zeros when it is dropped.
#[derive(Default)]
pub struct Mapping {
    entries: Vec<(String, Zeroizing<String>)>,
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mapping({} values)", self.entries.len())
    }
}

impl Mapping {
    /// How many values it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `text` with every placeholder of this mapping replaced by its value; anything else,
    /// including a bracketed word that is no placeholder of it, is left as it is.
    pub fn restore(&self, text: &str) -> String {
        if self.entries.is_empty() {
            return text.to_owned();
        }
        let mut restored = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('[') {
            restored.push_str(&rest[..open]);
            let candidate = &rest[open..];
            match self
                .entries
                .iter()
                .find(|(placeholder, _)| candidate.starts_with(placeholder.as_str()))
            {
                Some((placeholder, value)) => {
                    restored.push_str(value);
                    rest = &candidate[placeholder.len()..];
                }
                None => {
                    restored.push('[');
                    rest = &candidate[1..];
                }
            }
        }
        restored.push_str(rest);
        restored
    }
}

/// A minimised text, its mapping back and what was withheld.
pub struct Minimised {
    /// The text with placeholders in place of the findings.
    pub text: String,
    /// From placeholders back to values.
    pub mapping: Mapping,
    /// Per kind, how many values were withheld.
    pub redactions: Redactions,
}

impl fmt::Debug for Minimised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minimised")
            .field("chars", &self.text.chars().count())
            .field("mapping", &self.mapping)
            .field("redactions", &self.redactions)
            .finish()
    }
}

/// `text` with every e-mail address, phone number, payment card, IBAN, IP address and
/// identifier of the person (`own`) replaced by a typed placeholder.
pub fn minimise(text: &str, own: &OwnIdentifiers) -> Minimised {
    let mut findings = Vec::new();
    // Ties (same start, same length) go to the recogniser that ran first: the person's
    // own identifiers, then `FORMATS` in order.
    own.find(text, &mut findings);
    let mut normalisers: Vec<(RedactionKind, &dyn Recogniser)> = vec![];
    for recogniser in FORMATS {
        recogniser.find(text, &mut findings);
        normalisers.push((recogniser.kind(), recogniser));
    }
    if findings.is_empty() {
        return Minimised {
            text: text.to_owned(),
            mapping: Mapping::default(),
            redactions: Redactions::default(),
        };
    }
    // Earliest first, the longest of those starting together; a stable sort keeps the
    // recogniser order for exact ties.
    findings.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out = String::with_capacity(text.len());
    let mut mapping = Mapping::default();
    // (kind, normalised value, placeholder index into `mapping`)
    let mut seen: Vec<(RedactionKind, String, usize)> = Vec::new();
    let mut next_number = [1u32; RedactionKind::ALL.len()];
    let mut at = 0;
    let brackets = text.contains('[');
    for finding in findings {
        if finding.start < at {
            continue; // overlaps a longer or earlier finding
        }
        let found = &text[finding.start..finding.end];
        let normal = match finding.kind {
            // The person's name and e-mail compare as the formats would.
            RedactionKind::Name => found
                .split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join(" "),
            kind => normalisers
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or_else(|| found.to_lowercase(), |(_, r)| r.normalise(found)),
        };
        let index = match seen
            .iter()
            .find(|(kind, value, _)| *kind == finding.kind && *value == normal)
        {
            Some((_, _, index)) => *index,
            None => {
                let slot = kind_slot(finding.kind);
                let placeholder = loop {
                    let candidate = format!("[{}_{}]", finding.kind.label(), next_number[slot]);
                    next_number[slot] += 1;
                    // A placeholder already written in the text would restore wrongly.
                    if !brackets || !text.contains(&candidate) {
                        break candidate;
                    }
                };
                mapping
                    .entries
                    .push((placeholder, Zeroizing::new(found.to_owned())));
                seen.push((finding.kind, normal, mapping.entries.len() - 1));
                mapping.entries.len() - 1
            }
        };
        out.push_str(&text[at..finding.start]);
        out.push_str(&mapping.entries[index].0);
        at = finding.end;
    }
    out.push_str(&text[at..]);
    let mut counts = [0u32; RedactionKind::ALL.len()];
    for (kind, _, _) in &seen {
        counts[kind_slot(*kind)] += 1;
    }
    let redactions = RedactionKind::ALL
        .into_iter()
        .zip(counts)
        .filter(|(_, count)| *count > 0)
        .map(|(kind, count)| Redaction { kind, count })
        .collect();
    Minimised {
        text: out,
        mapping,
        redactions: Redactions(redactions),
    }
}

fn kind_slot(kind: RedactionKind) -> usize {
    RedactionKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
