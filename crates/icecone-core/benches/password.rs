//! Argon2id cost on this machine: `cargo bench -p icecone-core --bench password`.
//!
//! Log-in verifies one hash and must stay under 250 ms with OWASP-recommended parameters
//! (issue #4); sign-up hashes one.

#![allow(missing_docs, reason = "a benchmark binary")]

use criterion::{Criterion, criterion_group, criterion_main};
use icecone_core::identity::password::Password;
use icecone_core::identity::password_hash;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("argon2id-m19456-t2-p1");
    group.sample_size(20);
    let password = Password::parse("correct horse battery staple".to_owned()).expect("valid");
    group.bench_function("hash (sign-up)", |b| {
        b.iter(|| password_hash::hash(&password).expect("hashes"))
    });
    let stored = password_hash::hash(&password).expect("hashes");
    group.bench_function("verify (log-in)", |b| {
        b.iter(|| password_hash::verify(&stored, "correct horse battery staple"))
    });
    group.bench_function("verify an unknown account", |b| {
        b.iter(|| password_hash::verify_unknown_account("correct horse battery staple"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
