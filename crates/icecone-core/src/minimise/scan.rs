//! What the recognisers share: where a value may begin and end.
//!
//! A value stands on its own: the character before it is the start of the text, white
//! space or opening punctuation, and the one after it the end, white space or closing
//! punctuation (a full stop or comma only when no letter or digit follows it). So the digits
//! of `v1.2.3`, `#1a2b3c`, `ISBN-13` suffixes or a UUID's groups never begin a value.

/// Whether a value may begin at byte `start` of `text` (a character boundary).
pub(super) fn opens(text: &str, start: usize) -> bool {
    let Some(&before) = text.as_bytes()[..start].last() else {
        return true;
    };
    if before.is_ascii() {
        return before.is_ascii_whitespace()
            || matches!(
                before,
                b'(' | b'['
                    | b'{'
                    | b'<'
                    | b'"'
                    | b'\''
                    | b','
                    | b';'
                    | b':'
                    | b'='
                    | b'*'
                    | b'`'
                    | b'>'
            );
    }
    text[..start]
        .chars()
        .next_back()
        .is_some_and(char::is_whitespace)
}

/// Whether a value may end at byte `end` of `text` (a character boundary).
pub(super) fn closes(text: &str, end: usize) -> bool {
    let mut rest = text[end..].chars();
    match rest.next() {
        None => true,
        Some(c) if c.is_whitespace() => true,
        Some('.' | ',' | ';' | ':' | '!' | '?') => rest.next().is_none_or(|c| !c.is_alphanumeric()),
        Some(')' | ']' | '}' | '>' | '<' | '"' | '\'' | '`' | '*') => true,
        Some(_) => false,
    }
}

/// How many digits the run of digits and `separators` from `start` holds, counting up to
/// `enough`: a cheap test that a value of at least `enough` digits may start there.
pub(super) fn digits_ahead(bytes: &[u8], start: usize, separators: &[u8], enough: usize) -> usize {
    let mut count = 0;
    for &b in &bytes[start..] {
        if b.is_ascii_digit() {
            count += 1;
            if count == enough {
                break;
            }
        } else if !separators.contains(&b) {
            break;
        }
    }
    count
}

/// The ASCII digits of `text`, in order.
pub(super) fn digits(text: &str) -> impl DoubleEndedIterator<Item = u8> + '_ {
    text.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0')
}

/// Whether the words just before byte `start` are `ISBN` (with `-10`/`-13`, a colon or
/// spaces): the number that follows is a book's, not a phone's or a card's.
pub(super) fn after_isbn(text: &str, start: usize) -> bool {
    let before = &text[..start];
    let trimmed = before.trim_end_matches([' ', ':', '-', '1', '3', '0']);
    trimmed.len() >= 4
        && trimmed.is_char_boundary(trimmed.len() - 4)
        && trimmed[trimmed.len() - 4..].eq_ignore_ascii_case("isbn")
}
