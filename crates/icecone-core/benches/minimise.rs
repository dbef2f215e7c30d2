//! Minimisation of a 2 KiB prompt: with no finding, and with ten findings of every kind.
//!
//! `cargo bench -p icecone-core --bench minimise`. The goal is at most 50 µs at the median
//! on the reference machine; `docs/performance.md` records the numbers.

#![allow(missing_docs, reason = "a benchmark binary")]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use icecone_core::minimise::{FORMATS, OwnIdentifiers, minimise};

const SIZE: usize = 2048;

/// Ordinary prose and code, repeated to 2 KiB, with nothing to withhold.
fn clean() -> String {
    let filler = "Bake the loaf at 220 °C for 35 minutes, then lower to 200 °C. \
                  Set the button colour to #1e90ff in v2.10.4 and retry at 09:30 on 2026-12-07. \
                  The book (ISBN 978-0-14-143951-8) costs 12.99; id 550e8400-e29b-41d4-a716-446655440000. ";
    let mut text = String::with_capacity(SIZE);
    while text.len() + filler.len() <= SIZE {
        text.push_str(filler);
    }
    while text.len() < SIZE {
        text.push('.');
    }
    text
}

/// The same 2 KiB with ten findings: e-mails, phones, a card, an IBAN, IPs and the name.
fn with_findings() -> String {
    let findings = [
        "alice@example.com",
        "+44 20 7946 0958",
        "4111 1111 1111 1111",
        "DE89 3704 0044 0532 0130 00",
        "203.0.113.9",
        "2001:db8::8a2e:370:7334",
        "(415) 555-0132",
        "bob.smith@example.org",
        "Alice Martin",
        "020 7946 0123",
    ];
    let clean = clean();
    let inserted: usize = findings.iter().map(|f| f.len() + 2).sum();
    let mut text = String::with_capacity(SIZE);
    let chunk = (SIZE - inserted) / findings.len();
    let mut rest = &clean[..SIZE - inserted];
    for finding in findings {
        let cut = rest.floor_char_boundary(chunk.min(rest.len()));
        text.push_str(&rest[..cut]);
        text.push(' ');
        text.push_str(finding);
        text.push(' ');
        rest = &rest[cut..];
    }
    text.push_str(rest);
    text
}

fn bench(c: &mut Criterion) {
    let own = OwnIdentifiers::new(Some("alice@example.com"), Some("Alice Martin"));
    let mut group = c.benchmark_group("minimise");
    for (name, prompt) in [
        ("2KiB-no-finding", clean()),
        ("2KiB-ten-findings", with_findings()),
    ] {
        let found = minimise(&prompt, &own);
        let expected = if name == "2KiB-no-finding" { 0 } else { 10 };
        assert_eq!(found.mapping.len(), expected, "{name}: {}", found.text);
        group.throughput(Throughput::Bytes(prompt.len() as u64));
        group.bench_function(name, |b| b.iter(|| minimise(&prompt, &own)));
    }
    group.finish();
    // Each recogniser alone on the clean prompt: where the time goes.
    let mut each = c.benchmark_group("minimise-recogniser");
    let prompt = clean();
    for recogniser in FORMATS {
        each.bench_function(format!("{recogniser:?}"), |b| {
            b.iter(|| {
                let mut findings = Vec::new();
                recogniser.find(&prompt, &mut findings);
                findings
            })
        });
    }
    each.bench_function("OwnIdentifiers", |b| {
        b.iter(|| minimise(&prompt, &own).mapping.len())
    });
    each.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
