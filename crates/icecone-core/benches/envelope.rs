//! Envelope encryption against the raw AEAD crates, at 1 KiB, 64 KiB and 1 MiB.
//!
//! `cargo bench -p icecone-core --bench envelope`. The envelope adds a random nonce, a
//! header and associated data built from the binding; the raw rows use a fixed nonce and
//! no associated data, which is the floor the envelope can reach.

#![allow(missing_docs, reason = "a benchmark binary")]

use aes_gcm::Aes256Gcm;
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use icecone_core::crypto::aead::Algorithm;
use icecone_core::crypto::envelope::{self, Binding};
use icecone_core::crypto::keys::SecretKey;

const SIZES: [usize; 3] = [1024, 64 * 1024, 1024 * 1024];

fn bench(c: &mut Criterion) {
    let key = SecretKey::from_slice(&[7; 32]).expect("key");
    let binding = Binding::personal(
        "generations",
        "output",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    );
    for algorithm in [Algorithm::XChaCha20Poly1305, Algorithm::Aes256Gcm] {
        let name = match algorithm {
            Algorithm::XChaCha20Poly1305 => "xchacha20poly1305",
            Algorithm::Aes256Gcm => "aes256gcm",
        };
        let mut group = c.benchmark_group(name);
        for size in SIZES {
            let plaintext = vec![0x5a; size];
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new("raw-seal", size), &plaintext, |b, p| {
                b.iter(|| raw_seal(algorithm, &key, p))
            });
            group.bench_with_input(
                BenchmarkId::new("envelope-seal", size),
                &plaintext,
                |b, p| b.iter(|| envelope::seal(algorithm, &key, 1, &binding, p).expect("seals")),
            );
            let raw = raw_seal(algorithm, &key, &plaintext);
            group.bench_with_input(BenchmarkId::new("raw-open", size), &raw, |b, c| {
                b.iter(|| raw_open(algorithm, &key, c))
            });
            let sealed = envelope::seal(algorithm, &key, 1, &binding, &plaintext).expect("seals");
            group.bench_with_input(BenchmarkId::new("envelope-open", size), &sealed, |b, c| {
                b.iter(|| envelope::open(&key, 1, &binding, c).expect("opens"))
            });
        }
        group.finish();
    }
}

fn raw_seal(algorithm: Algorithm, key: &SecretKey, plaintext: &[u8]) -> Vec<u8> {
    match algorithm {
        Algorithm::XChaCha20Poly1305 => XChaCha20Poly1305::new(key.expose().into())
            .encrypt((&[1u8; 24]).into(), plaintext)
            .expect("seals"),
        Algorithm::Aes256Gcm => Aes256Gcm::new(key.expose().into())
            .encrypt((&[1u8; 12]).into(), plaintext)
            .expect("seals"),
    }
}

fn raw_open(algorithm: Algorithm, key: &SecretKey, ciphertext: &[u8]) -> Vec<u8> {
    match algorithm {
        Algorithm::XChaCha20Poly1305 => XChaCha20Poly1305::new(key.expose().into())
            .decrypt((&[1u8; 24]).into(), ciphertext)
            .expect("opens"),
        Algorithm::Aes256Gcm => Aes256Gcm::new(key.expose().into())
            .decrypt((&[1u8; 12]).into(), ciphertext)
            .expect("opens"),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
