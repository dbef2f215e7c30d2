//! Payment card numbers: 13 to 19 digits (ISO/IEC 7812), unbroken or in groups separated by
//! single spaces or hyphens, whose first digit is an issuer's (2 to 6: Mastercard, Amex,
//! Diners, JCB, Visa, Discover, UnionPay, Maestro) and whose last digit is the Luhn check
//! digit of the others.

use super::scan::{after_isbn, closes, digits, digits_ahead, opens};
use super::{Finding, Recogniser, RedactionKind};

/// Finds payment card numbers.
#[derive(Debug, Clone, Copy, Default)]
pub struct PaymentCards;

/// Whether `digits` (0 to 9 each) end in their Luhn check digit.
pub(super) fn luhn(digits: impl DoubleEndedIterator<Item = u8>) -> bool {
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl Recogniser for PaymentCards {
    fn kind(&self) -> RedactionKind {
        RedactionKind::PaymentCard
    }

    fn describe(&self) -> &'static str {
        "payment card numbers (13 to 19 digits, checked with the Luhn algorithm)"
    }

    fn find(&self, text: &str, findings: &mut Vec<Finding>) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if !bytes[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            if digits_ahead(bytes, i, b" -", 13) < 13 || !opens(text, i) {
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                continue;
            }
            // The run: digit groups with single spaces or hyphens between them; each group
            // end is a possible end of a number.
            let mut ends = [0usize; 20];
            let mut count = 0;
            let mut total = 0;
            let mut j = i;
            loop {
                while j < bytes.len() && bytes[j].is_ascii_digit() && total < 20 {
                    j += 1;
                    total += 1;
                }
                if total > 19 {
                    break;
                }
                if total >= 13 && count < ends.len() {
                    ends[count] = j;
                    count += 1;
                }
                match (bytes.get(j), bytes.get(j + 1)) {
                    (Some(b' ' | b'-'), Some(next)) if next.is_ascii_digit() => j += 1,
                    _ => break,
                }
            }
            let found = count > 0 && (b'2'..=b'6').contains(&bytes[i]) && !after_isbn(text, i);
            let end = ends[..count]
                .iter()
                .rev()
                .copied()
                .find(|&end| found && closes(text, end) && luhn(digits(&text[i..end])));
            match end {
                Some(end) => {
                    findings.push(Finding {
                        start: i,
                        end,
                        kind: RedactionKind::PaymentCard,
                    });
                    i = end;
                }
                None => {
                    // Past the run's first group: a number never starts inside a group.
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
        }
    }

    fn normalise(&self, found: &str) -> String {
        found.chars().filter(char::is_ascii_digit).collect()
    }
}
