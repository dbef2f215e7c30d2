//! IBANs (ISO 13616): a country code, two check digits and the country's length of
//! letters and digits, unbroken or in the printed groups of four separated by single
//! spaces, in either letter case; the check digits must satisfy the mod-97 check (ISO 7064
//! MOD 97-10) and the length must be the country's in SWIFT's IBAN registry.

use super::scan::{closes, opens};
use super::{Finding, Recogniser, RedactionKind};

/// Finds IBANs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ibans;

/// The length of an IBAN of each country of SWIFT's IBAN registry (its countries as of 2025).
const LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// Whether `iban` (upper-case letters and digits only) passes the mod-97 check.
fn mod97(iban: &[u8]) -> bool {
    let (head, tail) = iban.split_at(4);
    let mut rest = 0u32;
    for &c in tail.iter().chain(head) {
        let value = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        rest = if value >= 10 {
            (rest * 100 + value) % 97
        } else {
            (rest * 10 + value) % 97
        };
    }
    rest == 1
}

impl Recogniser for Ibans {
    fn kind(&self) -> RedactionKind {
        RedactionKind::Iban
    }

    fn describe(&self) -> &'static str {
        "IBANs (checked with their country's length and the mod-97 check digits)"
    }

    fn find(&self, text: &str, findings: &mut Vec<Finding>) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i + 4 <= bytes.len() {
            let head = &bytes[i..i + 4];
            let shaped = head[0].is_ascii_alphabetic()
                && head[1].is_ascii_alphabetic()
                && head[2].is_ascii_digit()
                && head[3].is_ascii_digit();
            if !shaped || !opens(text, i) {
                i += 1;
                continue;
            }
            let country = [head[0].to_ascii_uppercase(), head[1].to_ascii_uppercase()];
            let Some(&(_, length)) = LENGTHS.iter().find(|(code, _)| code.as_bytes() == country)
            else {
                i += 1;
                continue;
            };
            let mut iban = [0u8; 34];
            let mut taken = 0;
            let mut j = i;
            while taken < length && j < bytes.len() {
                let c = bytes[j];
                if c.is_ascii_alphanumeric() {
                    iban[taken] = c.to_ascii_uppercase();
                    taken += 1;
                    j += 1;
                } else if c == b' '
                    && taken > 0
                    && bytes.get(j + 1).is_some_and(u8::is_ascii_alphanumeric)
                {
                    j += 1;
                } else {
                    break;
                }
            }
            if taken == length && closes(text, j) && mod97(&iban[..length]) {
                findings.push(Finding {
                    start: i,
                    end: j,
                    kind: RedactionKind::Iban,
                });
                i = j;
            } else {
                i += 1;
            }
        }
    }

    fn normalise(&self, found: &str) -> String {
        found
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect()
    }
}
