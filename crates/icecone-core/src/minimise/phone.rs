//! Phone numbers, in the forms people write them:
//!
//! - international: `+` and a country code, 8 to 15 digits in all (E.164's longest), in
//!   groups separated by single spaces, hyphens, dots or slashes, with an optional `(0)`
//!   trunk digit (`+44 (0)20 7946 0958`); or the same after `00` (`0044 20 7946 0958`);
//! - national with a trunk `0` (most of Europe, the UK, much of Asia and Africa): 9 to 12
//!   digits grouped (the first group at least two digits, every later one at least two),
//!   or 10 to 11 digits unbroken (`07700 900123`, `030 1234567`, `0612345678`);
//! - North American: `(415) 555-0132`, `415-555-0132`, `415.555.0132`, `415 555 0132`,
//!   with an optional leading `1`.
//!
//! A run of digits that fits none of these (dates, prices, versions, ISBNs, grouped
//! thousands) is left alone; so is a national number of a country without a trunk `0` that
//! is not North American, written without its country code (see `docs/privacy-model.md`).

use super::scan::{after_isbn, closes, digits_ahead, opens};
use super::{Finding, Recogniser, RedactionKind};

/// Finds phone numbers.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhoneNumbers;

/// The most digit groups a number is read in.
const MAX_GROUPS: usize = 8;

#[derive(Debug, Clone, Copy, Default)]
struct Group {
    /// Byte where its digits start.
    start: usize,
    /// How many digits.
    digits: usize,
    /// Written in parentheses.
    paren: bool,
}

/// Reads digit groups from `start`; returns the groups and where the last one ends.
fn read(text: &str, start: usize) -> Option<([Group; MAX_GROUPS], usize, usize)> {
    let bytes = text.as_bytes();
    let mut groups = [Group::default(); MAX_GROUPS];
    let mut count = 0;
    let mut i = start;
    if bytes[i] == b'+' {
        i += 1;
    }
    let mut end = i;
    while count < MAX_GROUPS {
        let mut j = i;
        let paren = j < bytes.len() && bytes[j] == b'(';
        if paren {
            j += 1;
        }
        let digits_start = j;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        let digits = j - digits_start;
        if digits == 0 {
            break;
        }
        if paren {
            if j < bytes.len() && bytes[j] == b')' {
                j += 1;
            } else {
                break;
            }
        }
        groups[count] = Group {
            start: digits_start,
            digits,
            paren,
        };
        count += 1;
        end = j;
        i = j;
        let next = bytes.get(i).copied();
        let after = bytes.get(i + 1).copied();
        match (next, after) {
            (Some(b' ' | b'-' | b'.' | b'/'), Some(b'(' | b'0'..=b'9')) => i += 1,
            (Some(b'(' | b'0'..=b'9'), _) if paren => {}
            (Some(b'('), _) => {}
            _ => break,
        }
    }
    (count > 0).then_some((groups, count, end))
}

fn first_digit(text: &str, group: &Group) -> u8 {
    text.as_bytes()[group.start]
}

/// Whether the text before `start` ends in a group of digits and one separator: the
/// number would start in the middle of a longer one (an IBAN's or an account's groups).
fn after_group(text: &str, start: usize) -> bool {
    let before = &text.as_bytes()[..start];
    matches!(before, [.., d, b' ' | b'-' | b'.' | b'/'] if d.is_ascii_digit())
}

/// Whether the groups read form a phone number.
fn is_phone(text: &str, start: usize, groups: &[Group]) -> bool {
    let bytes = text.as_bytes();
    let total: usize = groups.iter().map(|g| g.digits).sum();
    let later_groups_ok = |from: usize| {
        groups[from..]
            .iter()
            .all(|g| g.digits >= 2 || (g.paren && g.digits == 1 && first_digit(text, g) == b'0'))
    };
    let first = &groups[0];
    if bytes[start] == b'+' {
        let trunk = groups[1..]
            .iter()
            .filter(|g| g.paren && g.digits == 1 && first_digit(text, g) == b'0')
            .count();
        let counted = total - trunk;
        // The group after the country code may be one digit (`+33 6 12 34 56 78`).
        return !first.paren
            && first_digit(text, first) != b'0'
            && (8..=15).contains(&counted)
            && later_groups_ok(2.min(groups.len()));
    }
    if after_isbn(text, start) {
        return false;
    }
    let lead = &text[first.start..first.start + first.digits];
    if !first.paren && lead.starts_with("00") {
        let counted = total - 2;
        return lead.len() > 2
            && lead.as_bytes()[2] != b'0'
            && (8..=15).contains(&counted)
            && later_groups_ok(1);
    }
    if lead.starts_with('0') {
        if groups.len() == 1 {
            return (10..=11).contains(&total);
        }
        return first.digits >= 2 && (9..=12).contains(&total) && later_groups_ok(1);
    }
    // North American: [1] AAA BBB CCCC, area and exchange codes starting 2 to 9.
    let nanp = match groups {
        [one, rest @ ..] if !one.paren && one.digits == 1 && lead == "1" => rest,
        all => all,
    };
    matches!(nanp, [a, b, c]
        if a.digits == 3 && b.digits == 3 && c.digits == 4
            && !b.paren && !c.paren
            && (b'2'..=b'9').contains(&first_digit(text, a))
            && (b'2'..=b'9').contains(&first_digit(text, b)))
}

impl Recogniser for PhoneNumbers {
    fn kind(&self) -> RedactionKind {
        RedactionKind::Phone
    }

    fn describe(&self) -> &'static str {
        "phone numbers: international (+ or 00 and a country code), national with a leading 0, \
         and North American"
    }

    fn find(&self, text: &str, findings: &mut Vec<Finding>) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let starts = (b == b'+' || b == b'(' || b.is_ascii_digit())
                && digits_ahead(bytes, i, b"+() -./", 8) == 8
                && opens(text, i)
                && !(b.is_ascii_digit() && after_group(text, i));
            if starts
                && let Some((groups, count, end)) = read(text, i)
                && closes(text, end)
                && is_phone(text, i, &groups[..count])
            {
                findings.push(Finding {
                    start: i,
                    end,
                    kind: RedactionKind::Phone,
                });
                i = end;
                continue;
            }
            // Skip the rest of a run of digits: a number never starts inside one.
            let in_run = bytes[i].is_ascii_digit();
            i += 1;
            while in_run && i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }

    fn normalise(&self, found: &str) -> String {
        let digits: String = found.chars().filter(char::is_ascii_digit).collect();
        if found.starts_with('+') {
            // `+44 (0)20 …` and `+44 20 …` are one number.
            let without_trunk = found.replace("(0)", "");
            let digits: String = without_trunk.chars().filter(char::is_ascii_digit).collect();
            format!("+{digits}")
        } else {
            digits
        }
    }
}
