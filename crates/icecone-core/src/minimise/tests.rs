//! Table tests from real formats, the false-positive corpus and the adversarial table.

use super::*;

/// `input` minimised without own identifiers gives `expected`.
#[track_caller]
fn check(input: &str, expected: &str) {
    let minimised = minimise(input, &OwnIdentifiers::none());
    assert_eq!(minimised.text, expected, "input: {input}");
    // Whatever was replaced comes back: in the spelling it first had, so a value written
    // twice in two spellings comes back in the first one twice.
    let restored = minimised.mapping.restore(&minimised.text);
    assert_eq!(minimise(&restored, &OwnIdentifiers::none()).text, expected);
    if !expected.contains("_1] = [") && !expected.contains("_1] and [IBAN_1]") {
        assert!(restored.len() <= input.len() + 8, "{restored}");
    }
}

#[test]
fn email_addresses_in_the_forms_rfc_5322_allows_are_replaced() {
    let table = [
        (
            "write to alice@example.com today",
            "write to [EMAIL_1] today",
        ),
        ("Alice.Martin+news@mail.example.co.uk.", "[EMAIL_1]."),
        ("<bob_o'neil@example.org>", "<[EMAIL_1]>"),
        (
            "mailto:first-last@sub.example.io?subject=x",
            "mailto:[EMAIL_1]?subject=x",
        ),
        ("josé@exämple.de, zoë@example.fr", "[EMAIL_1], [EMAIL_2]"),
        ("a@b.co and A@B.CO", "[EMAIL_1] and [EMAIL_1]"),
        // Not addresses: a decorator, a handle, a scoped package, no top-level label.
        ("@Component and @alice", "@Component and @alice"),
        ("npm i @scope/pkg@1.2.3", "npm i @scope/pkg@1.2.3"),
        ("user@localhost", "user@localhost"),
        ("a..b@example.com", "a..b@example.com"),
    ];
    for (input, expected) in table {
        check(input, expected);
    }
}

#[test]
fn phone_numbers_in_international_and_national_forms_are_replaced() {
    let table = [
        // Ofcom's numbers for drama, international and national.
        ("+44 20 7946 0958", "[PHONE_1]"),
        ("call +44 (0)20 7946 0958 now", "call [PHONE_1] now"),
        ("0044 20 7946 0958", "[PHONE_1]"),
        ("(020) 7946 0958", "[PHONE_1]"),
        ("020 7946 0958 or 07700 900123", "[PHONE_1] or [PHONE_2]"),
        ("07700900123", "[PHONE_1]"),
        // Germany, France, Netherlands, Switzerland.
        ("Tel.: 030 12345678", "Tel.: [PHONE_1]"),
        ("+49 30 12345678", "[PHONE_1]"),
        ("06 12 34 56 78", "[PHONE_1]"),
        ("+33 6 12 34 56 78", "[PHONE_1]"),
        ("+31-20-1234567", "[PHONE_1]"),
        ("044 668 18 00", "[PHONE_1]"),
        // North American, the 555-01xx numbers reserved for fiction.
        ("(415) 555-0132", "[PHONE_1]"),
        ("415-555-0132 and 415.555.0132", "[PHONE_1] and [PHONE_1]"),
        ("1-212-555-0147", "[PHONE_1]"),
        ("+1 212 555 0147", "[PHONE_1]"),
        ("tel:+14155550132", "tel:[PHONE_1]"),
        // Same number, two spellings: one placeholder.
        (
            "+44 20 7946 0958 = +44 (0)20 7946 0958",
            "[PHONE_1] = [PHONE_1]",
        ),
    ];
    for (input, expected) in table {
        check(input, expected);
    }
}

#[test]
fn payment_cards_are_replaced_only_with_a_valid_luhn_digit() {
    let table = [
        // The networks' published test numbers.
        ("4111 1111 1111 1111", "[CARD_1]"),
        ("4111-1111-1111-1111", "[CARD_1]"),
        (
            "card 4111111111111111, exp 12/29",
            "card [CARD_1], exp 12/29",
        ),
        ("5555 5555 5555 4444", "[CARD_1]"),
        ("Amex 3782 822463 10005", "Amex [CARD_1]"),
        ("6011 1111 1111 1117", "[CARD_1]"),
        ("3530111333300000", "[CARD_1]"),
        ("30569309025904", "[CARD_1]"),
        ("6200000000000005", "[CARD_1]"),
        ("2223003122003222", "[CARD_1]"),
        // One digit off: no check digit, no card.
        ("4111 1111 1111 1112", "4111 1111 1111 1112"),
        // Luhn-valid but no issuer starts with 1, 7, 8, 9 or 0.
        ("1234 5678 9012 3452", "1234 5678 9012 3452"),
    ];
    for (input, expected) in table {
        check(input, expected);
    }
}

#[test]
fn ibans_are_replaced_only_with_their_country_length_and_mod_97_check() {
    let table = [
        // Examples of SWIFT's IBAN registry.
        ("DE89 3704 0044 0532 0130 00", "[IBAN_1]"),
        ("pay to GB82WEST12345698765432.", "pay to [IBAN_1]."),
        ("FR14 2004 1010 0505 0001 3M02 606", "[IBAN_1]"),
        ("nl91abna0417164300", "[IBAN_1]"),
        (
            "BE68 5390 0754 7034 and CH93 0076 2011 6238 5295 7",
            "[IBAN_1] and [IBAN_2]",
        ),
        ("NO93 8601 1117 947", "[IBAN_1]"),
        (
            "DE89370400440532013000 = de89 3704 0044 0532 0130 00",
            "[IBAN_1] = [IBAN_1]",
        ),
        // A wrong check digit, a wrong length, an unknown country.
        ("DE88 3704 0044 0532 0130 00", "DE88 3704 0044 0532 0130 00"),
        ("DE89 3704 0044 0532 0130", "DE89 3704 0044 0532 0130"),
        ("ZZ89 3704 0044 0532 0130 00", "ZZ89 3704 0044 0532 0130 00"),
    ];
    for (input, expected) in table {
        check(input, expected);
    }
}

#[test]
fn ip_addresses_are_replaced_but_not_those_that_identify_no_one() {
    let table = [
        // RFC 5737 and RFC 3849 documentation addresses.
        ("from 192.0.2.1 and 198.51.100.7", "from [IP_1] and [IP_2]"),
        ("ssh 203.0.113.9:2222", "ssh [IP_1]:2222"),
        ("my router is 192.168.1.20.", "my router is [IP_1]."),
        ("2001:db8::8a2e:370:7334", "[IP_1]"),
        ("[2001:db8:85a3::8a2e:370:7334]:443", "[[IP_1]]:443"),
        (
            "fe80::1ff:fe23:4567:890a and ::ffff:192.0.2.128",
            "[IP_1] and [IP_2]",
        ),
        ("2001:DB8::1 is 2001:db8:0:0:0:0:0:1", "[IP_1] is [IP_1]"),
        // Not personal, or not addresses.
        (
            "127.0.0.1, 0.0.0.0, ::1, 255.255.255.0",
            "127.0.0.1, 0.0.0.0, ::1, 255.255.255.0",
        ),
        (
            "version 1.2.3.4.5 and v10.0.0.1",
            "version 1.2.3.4.5 and v10.0.0.1",
        ),
        ("256.1.1.1 and 01.2.3.4", "256.1.1.1 and 01.2.3.4"),
        (
            "at 12:30:45, std::vec, a::b, f64::EPSILON",
            "at 12:30:45, std::vec, a::b, f64::EPSILON",
        ),
        ("MAC 00:1A:2B:3C:4D:5E", "MAC 00:1A:2B:3C:4D:5E"),
    ];
    for (input, expected) in table {
        check(input, expected);
    }
}

#[test]
fn the_persons_own_email_and_display_name_are_replaced_as_whole_words_in_any_case() {
    let own = OwnIdentifiers::new(Some("alice@example.com"), Some("Alice  Martin"));
    let table = [
        ("I am Alice Martin.", "I am [NAME_1]."),
        ("ALICE MARTIN and alice\nmartin", "[NAME_1] and [NAME_1]"),
        ("sign it Alice Martinez", "sign it Alice Martinez"),
        ("Malice Martin", "Malice Martin"),
        ("mail ALICE@EXAMPLE.COM", "mail [EMAIL_1]"),
        ("Zoë Ångström", "Zoë Ångström"),
    ];
    for (input, expected) in table {
        let minimised = minimise(input, &own);
        assert_eq!(minimised.text, expected, "input: {input}");
        let restored = minimised.mapping.restore(&minimised.text);
        assert_eq!(minimise(&restored, &own).text, expected);
    }
    let accents = OwnIdentifiers::new(None, Some("Zoë Ångström"));
    assert_eq!(
        minimise("from ZOË ÅNGSTRÖM", &accents).text,
        "from [NAME_1]"
    );
    // A one-letter name would match every such word: it is not looked for.
    assert_eq!(
        minimise("a b c", &OwnIdentifiers::new(None, Some("A"))).text,
        "a b c"
    );
}

#[test]
fn placeholders_are_numbered_per_kind_and_counted_per_distinct_value() {
    let input = "alice@example.com, bob@example.com, alice@example.com, \
                 +44 20 7946 0958, 4111 1111 1111 1111";
    let minimised = minimise(input, &OwnIdentifiers::none());
    assert_eq!(
        minimised.text,
        "[EMAIL_1], [EMAIL_2], [EMAIL_1], [PHONE_1], [CARD_1]"
    );
    assert_eq!(
        minimised.redactions.as_slice(),
        [
            Redaction {
                kind: RedactionKind::Email,
                count: 2
            },
            Redaction {
                kind: RedactionKind::Phone,
                count: 1
            },
            Redaction {
                kind: RedactionKind::PaymentCard,
                count: 1
            },
        ]
    );
    assert_eq!(
        minimised.redactions.to_text(),
        "EMAIL:2,PHONE:1,PAYMENT_CARD:1"
    );
    assert_eq!(
        Redactions::parse(&minimised.redactions.to_text()),
        Ok(minimised.redactions.clone())
    );
}

#[test]
fn a_placeholder_the_person_wrote_themselves_is_never_reused() {
    let input = "replace [EMAIL_1] with alice@example.com";
    let minimised = minimise(input, &OwnIdentifiers::none());
    assert_eq!(minimised.text, "replace [EMAIL_1] with [EMAIL_2]");
    assert_eq!(minimised.mapping.restore(&minimised.text), input);
}

#[test]
fn restoring_replaces_only_the_mappings_placeholders() {
    let minimised = minimise("write to alice@example.com", &OwnIdentifiers::none());
    assert_eq!(
        minimised
            .mapping
            .restore("Dear [EMAIL_1], [PHONE_1] and [EMAIL_1] [ x"),
        "Dear alice@example.com, [PHONE_1] and alice@example.com [ x"
    );
}

#[test]
fn nothing_holding_a_value_shows_it_in_debug_output() {
    let own = OwnIdentifiers::new(Some("alice@example.com"), Some("Alice Martin"));
    let minimised = minimise("Alice Martin, alice@example.com, 4111 1111 1111 1111", &own);
    for shown in [
        format!("{own:?}"),
        format!("{minimised:?}"),
        format!("{:?}", minimised.mapping),
    ] {
        for secret in ["alice", "Alice", "Martin", "4111", "example"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}

#[test]
fn stored_redactions_parse_back_and_bad_ones_are_refused() {
    let table = [
        ("", Ok(vec![])),
        ("EMAIL:1", Ok(vec![(RedactionKind::Email, 1)])),
        (
            "NAME:1,IBAN:2",
            Ok(vec![(RedactionKind::Iban, 2), (RedactionKind::Name, 1)]),
        ),
        ("EMAIL:0", Err(InvalidRedactions)),
        ("EMAIL:1,EMAIL:2", Err(InvalidRedactions)),
        ("ADDRESS:1", Err(InvalidRedactions)),
        ("EMAIL", Err(InvalidRedactions)),
        ("EMAIL:-1", Err(InvalidRedactions)),
    ];
    for (text, expected) in table {
        let parsed = Redactions::parse(text).map(|r| {
            r.as_slice()
                .iter()
                .map(|r| (r.kind, r.count))
                .collect::<Vec<_>>()
        });
        assert_eq!(parsed, expected, "{text}");
    }
}

#[test]
fn the_catalogue_describes_every_kind() {
    let catalogue = catalogue();
    for kind in RedactionKind::ALL {
        assert!(catalogue.iter().any(|(k, _)| *k == kind), "{kind:?}");
    }
    for kind in RedactionKind::ALL {
        assert_eq!(RedactionKind::parse(kind.as_str()), Some(kind));
    }
}

/// The bundled corpus of ordinary prompts: written for this test (see its header).
const CORPUS: &str = include_str!("corpus.txt");

fn corpus() -> Vec<&'static str> {
    CORPUS
        .split("\n%%\n")
        .skip(1) // the header
        .map(str::trim)
        .filter(|prompt| !prompt.is_empty())
        .collect()
}

#[test]
fn at_most_one_percent_of_ordinary_prompts_are_altered() {
    let prompts = corpus();
    assert!(prompts.len() >= 200, "{} prompts", prompts.len());
    let altered: Vec<(&str, String)> = prompts
        .iter()
        .map(|prompt| (*prompt, minimise(prompt, &OwnIdentifiers::none()).text))
        .filter(|(prompt, minimised)| prompt != minimised)
        .collect();
    // At most 1 %: with 200 prompts or more, at most two.
    assert!(
        altered.len() * 100 <= prompts.len(),
        "{} of {} altered: {altered:#?}",
        altered.len(),
        prompts.len()
    );
}

/// Spacing and formatting tricks: whether each is caught. `docs/privacy-model.md` prints
/// this table; a change here is a change there.
const ADVERSARIAL: &[(&str, &str, bool)] = &[
    ("e-mail, plain", "alice@example.com", true),
    ("e-mail, upper case", "ALICE@EXAMPLE.COM", true),
    (
        "e-mail, spaces between letters",
        "a l i c e @ example . com",
        false,
    ),
    (
        "e-mail, spaces around @ and dot",
        "alice @ example . com",
        false,
    ),
    (
        "e-mail, [at] and [dot]",
        "alice [at] example [dot] com",
        false,
    ),
    ("e-mail, in angle brackets", "<alice@example.com>", true),
    ("phone, international with (0)", "+44 (0)20 7946 0958", true),
    ("phone, international, dots", "+44.20.7946.0958", true),
    ("phone, 00 prefix", "0044 20 7946 0958", true),
    ("phone, national, spaces", "020 7946 0958", true),
    ("phone, national, unbroken", "02079460958", true),
    (
        "phone, North American in parentheses",
        "(415) 555-0132",
        true,
    ),
    (
        "phone, digits spaced one by one",
        "0 2 0 7 9 4 6 0 9 5 8",
        false,
    ),
    (
        "phone, in words",
        "oh two oh seven nine four six oh nine five eight",
        false,
    ),
    (
        "phone, national without trunk 0 (Spain)",
        "912 345 678",
        false,
    ),
    ("card, spaces", "4111 1111 1111 1111", true),
    ("card, dashes", "4111-1111-1111-1111", true),
    ("card, unbroken", "4111111111111111", true),
    (
        "card, digits spaced one by one",
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
        true,
    ),
    ("card, dots", "4111.1111.1111.1111", false),
    ("card, split over two lines", "4111 1111\n1111 1111", false),
    ("card, double spaces", "4111  1111  1111  1111", false),
    ("IBAN, printed groups", "DE89 3704 0044 0532 0130 00", true),
    ("IBAN, lower case", "de89370400440532013000", true),
    ("IBAN, dashes", "DE89-3704-0044-0532-0130-00", false),
    ("IPv4, with port", "203.0.113.9:8080", true),
    ("IPv4, spaces around dots", "203 . 0 . 113 . 9", false),
    ("IPv6, compressed", "2001:db8::1", true),
    ("IPv6, bracketed with port", "[2001:db8::1]:443", true),
    (
        "full-width digits",
        "４１１１ １１１１ １１１１ １１１１",
        false,
    ),
    (
        "zero-width space inside an address",
        "alice\u{200b}@example.com",
        false,
    ),
];

#[test]
fn adversarial_forms_are_caught_or_not_as_documented() {
    for (name, form, caught) in ADVERSARIAL {
        let minimised = minimise(form, &OwnIdentifiers::none());
        assert_eq!(
            minimised.text != *form,
            *caught,
            "{name}: {form:?} became {:?}",
            minimised.text
        );
    }
}

/// The adversarial table as the markdown `docs/privacy-model.md` shows.
#[test]
fn the_privacy_model_document_shows_the_adversarial_table() {
    let doc = include_str!("../../../../docs/privacy-model.md");
    for (name, form, caught) in ADVERSARIAL {
        let shown = form.replace('\n', "⏎").replace('\u{200b}', "(ZWSP)");
        let row = format!(
            "| {name} | `{shown}` | {} |",
            if *caught { "caught" } else { "not caught" }
        );
        assert!(
            doc.contains(&row),
            "docs/privacy-model.md lacks the row:\n{row}"
        );
    }
}
