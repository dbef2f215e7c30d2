use super::*;

fn written<'a>(categories: &'a [&'a str]) -> Written<'a> {
    Written {
        name: "Hetzner Online GmbH",
        purpose: "hosting",
        data_categories: categories,
        location: "DE",
        transfer: "none_needed",
        agreement: "AV-Vertrag 2026-03",
        since: "2026-03-14",
    }
}

#[test]
fn an_entry_parses_each_field_or_names_the_field_that_does_not() {
    let all = ["user.account", "user.contact.email"];
    let none: [&str; 0] = [];
    let unknown = ["user.contact.fax"];
    let base = written(&all);
    let cases: [(&str, Written<'_>, Result<(), SubprocessorError>); 14] = [
        ("a complete entry", base, Ok(())),
        (
            "an empty name",
            Written { name: "  ", ..base },
            Err(SubprocessorError::InvalidName),
        ),
        (
            "a name with a line break",
            Written {
                name: "Hetzner\nOnline",
                ..base
            },
            Err(SubprocessorError::InvalidName),
        ),
        (
            "an unknown purpose",
            Written {
                purpose: "Hosting",
                ..base
            },
            Err(SubprocessorError::UnknownPurpose),
        ),
        (
            "no data category",
            Written {
                data_categories: &none,
                ..base
            },
            Err(SubprocessorError::NoCategory),
        ),
        (
            "a category that is not fideslang",
            Written {
                data_categories: &unknown,
                ..base
            },
            Err(SubprocessorError::UnknownCategory),
        ),
        (
            "a location in words",
            Written {
                location: "Germany",
                ..base
            },
            Err(SubprocessorError::InvalidLocation),
        ),
        (
            "a lowercase country code",
            Written {
                location: "de",
                ..base
            },
            Err(SubprocessorError::InvalidLocation),
        ),
        (
            "an unknown mechanism",
            Written {
                transfer: "contract",
                ..base
            },
            Err(SubprocessorError::UnknownTransferMechanism),
        ),
        (
            "no mechanism outside the EEA",
            Written {
                location: "US",
                ..base
            },
            Err(SubprocessorError::TransferDoesNotFit),
        ),
        (
            "adequacy for a country without a decision",
            Written {
                location: "IN",
                transfer: "adequacy",
                ..base
            },
            Err(SubprocessorError::TransferDoesNotFit),
        ),
        (
            "clauses for a country without a decision",
            Written {
                location: "IN",
                transfer: "scc",
                ..base
            },
            Ok(()),
        ),
        (
            "no agreement",
            Written {
                agreement: "",
                ..base
            },
            Err(SubprocessorError::InvalidAgreement),
        ),
        (
            "a date that is not YYYY-MM-DD",
            Written {
                since: "14.03.2026",
                ..base
            },
            Err(SubprocessorError::InvalidSince),
        ),
    ];
    for (case, written, expected) in cases {
        assert_eq!(Subprocessor::parse(written).map(|_| ()), expected, "{case}");
    }
}

#[test]
fn a_parsed_entry_keeps_its_facts() {
    let categories = ["user.contact.email", "user.account", "user.contact.email"];
    let entry = Subprocessor::parse(written(&categories)).expect("an entry");
    assert_eq!(entry.name().as_str(), "Hetzner Online GmbH");
    assert_eq!(entry.purpose(), SubprocessorPurpose::Hosting);
    let keys: Vec<&str> = entry.data_categories().iter().map(|c| c.as_str()).collect();
    assert_eq!(
        keys,
        ["user.account", "user.contact.email"],
        "sorted, once each"
    );
    assert_eq!(entry.location(), &Location::Country("DE".to_owned()));
    assert_eq!(entry.transfer(), TransferMechanism::NoneNeeded);
    assert_eq!(
        entry.agreement().map(Agreement::as_str),
        Some("AV-Vertrag 2026-03")
    );
    assert_eq!(entry.since(), NaiveDate::from_ymd_opt(2026, 3, 14));
    assert_eq!(entry.origin(), &Origin::Operator);
}

#[test]
fn a_mechanism_fits_a_location_only_where_it_makes_the_transfer_lawful() {
    let country = |code: &str| Location::Country(code.to_owned());
    let cases = [
        (Location::Eea, TransferMechanism::NoneNeeded, true),
        (country("IE"), TransferMechanism::NoneNeeded, true),
        (country("NO"), TransferMechanism::NoneNeeded, true),
        (country("US"), TransferMechanism::NoneNeeded, false),
        (country("US"), TransferMechanism::AdequacyDecision, true),
        (country("CH"), TransferMechanism::AdequacyDecision, true),
        (country("IN"), TransferMechanism::AdequacyDecision, false),
        (Location::Eea, TransferMechanism::AdequacyDecision, false),
        (
            country("IN"),
            TransferMechanism::StandardContractualClauses,
            true,
        ),
        (
            country("IN"),
            TransferMechanism::BindingCorporateRules,
            true,
        ),
        (
            Location::Declared("United States".to_owned()),
            TransferMechanism::NoneNeeded,
            false,
        ),
        (Location::Unknown, TransferMechanism::NotRecorded, false),
    ];
    for (location, mechanism, fits) in cases {
        assert_eq!(
            transfer_fits(&location, mechanism),
            fits,
            "{location:?} {mechanism:?}"
        );
    }
}

#[test]
fn names_and_mechanisms_read_back_what_they_write() {
    for purpose in SubprocessorPurpose::ALL {
        assert_eq!(SubprocessorPurpose::parse(purpose.as_str()), Ok(purpose));
    }
    for mechanism in [
        TransferMechanism::NoneNeeded,
        TransferMechanism::AdequacyDecision,
        TransferMechanism::StandardContractualClauses,
        TransferMechanism::BindingCorporateRules,
        TransferMechanism::NotRecorded,
    ] {
        assert_eq!(
            TransferMechanism::parse_published(mechanism.as_str()),
            Ok(mechanism)
        );
    }
    assert_eq!(
        TransferMechanism::parse("not_recorded"),
        Err(SubprocessorError::UnknownTransferMechanism),
        "an operator's entry always has a mechanism"
    );
    for key in Category::KNOWN {
        assert_eq!(Category::parse(key).map(Category::as_str), Ok(key));
    }
    assert_eq!(Location::parse("EU"), Ok(Location::Eea));
}

#[test]
fn a_registry_refuses_a_name_twice_and_its_digest_follows_its_entries() {
    let categories = ["user.account"];
    let hosting = Subprocessor::parse(written(&categories)).expect("an entry");
    let mail = Subprocessor::parse(Written {
        name: "Postmark",
        purpose: "email",
        location: "US",
        transfer: "scc",
        ..written(&categories)
    })
    .expect("an entry");
    assert_eq!(
        Registry::new(vec![hosting.clone(), hosting.clone()]),
        Err(SubprocessorError::DuplicateName)
    );
    let one = Registry::new(vec![hosting.clone()]).expect("a registry");
    let both = Registry::new(vec![mail.clone(), hosting.clone()]).expect("a registry");
    let same = Registry::new(vec![hosting.clone(), mail.clone()]).expect("a registry");
    assert_eq!(both.digest(), same.digest(), "order does not matter");
    assert_ne!(one.digest(), both.digest());
    assert_eq!(both.digest().len(), 64);
    let moved = Subprocessor::parse(Written {
        location: "IE",
        ..written(&categories)
    })
    .expect("an entry");
    let changed = Registry::new(vec![moved]).expect("a registry");
    assert_ne!(
        one.digest(),
        changed.digest(),
        "a changed fact is a new list"
    );

    let changes = both.changes_since(&one);
    assert_eq!(changes.added, [mail.name().clone()]);
    assert!(changes.removed.is_empty() && changes.changed.is_empty());
    let changes = changed.changes_since(&both);
    assert_eq!(changes.removed, [mail.name().clone()]);
    assert_eq!(changes.changed, [hosting.name().clone()]);
}
