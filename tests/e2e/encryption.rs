//! Encryption at rest: the vault over a real database, crypto-shredding, root key rotation
//! while reads continue, and a canary scan of the raw database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use icecone_app::keys::file_provider::FileKeyProvider;
use icecone_app::keys::rotation::{self, RotationOptions};
use icecone_app::keys::vault::{CacheLimits, Field, Vault, VaultError};
use icecone_core::crypto::aead::Algorithm;
use icecone_core::crypto::envelope::Binding;
use icecone_core::crypto::keys::Keyring;
use icecone_core::subject::SubjectId;
use icecone_store::testing::TestDatabase;

struct Setup {
    db: TestDatabase,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        FileKeyProvider::open_or_generate_development(dir.path(), Algorithm::default())
            .expect("keyring");
        Self {
            db: TestDatabase::new().await,
            dir,
        }
    }

    /// A provider as a separate process would open it (a gateway, or the `keys` CLI).
    fn provider(&self) -> Arc<FileKeyProvider> {
        Arc::new(
            FileKeyProvider::open(&self.dir.path().join("master.key"), Algorithm::default())
                .expect("opens"),
        )
    }

    async fn vault(&self, limits: CacheLimits) -> Vault {
        Vault::open(
            self.db.store().clone(),
            self.provider(),
            Algorithm::default(),
            limits,
        )
        .await
        .expect("vault")
    }
}

const NO_CACHE: CacheLimits = CacheLimits {
    capacity: 0,
    ttl: std::time::Duration::ZERO,
};

fn field(row: &str) -> Field<'_> {
    Field {
        table: "profiles",
        column: "display_name",
        row_id: row,
    }
}

#[tokio::test]
async fn a_sealed_field_opens_only_for_its_subject_and_place() {
    let setup = Setup::new().await;
    let vault = setup.vault(CacheLimits::default()).await;
    let (alice, bob) = (
        vault.create_subject().await.expect("alice"),
        vault.create_subject().await.expect("bob"),
    );
    let sealed = vault
        .seal(alice, field("r1"), b"Alice Liddell")
        .await
        .expect("seals");
    assert_eq!(
        vault
            .open_field(alice, field("r1"), &sealed)
            .await
            .expect("opens")
            .as_slice(),
        b"Alice Liddell"
    );
    for (who, place) in [(bob, field("r1")), (alice, field("r2"))] {
        let error = vault
            .open_field(who, place, &sealed)
            .await
            .expect_err("moved");
        assert!(matches!(error, VaultError::Crypto(_)), "{error:?}");
    }
    let unknown = vault
        .open_field(SubjectId::new_random(), field("r1"), &sealed)
        .await;
    assert!(matches!(unknown, Err(VaultError::UnknownSubject)));
    // A second gateway with an empty cache unwraps the same key from the database.
    let other = setup.vault(NO_CACHE).await;
    assert_eq!(
        other
            .open_field(alice, field("r1"), &sealed)
            .await
            .expect("opens")
            .as_slice(),
        b"Alice Liddell"
    );
}

/// A vault of this deployment, opened as a gateway configured with `algorithm` opens it.
async fn vault_under(setup: &Setup, algorithm: Algorithm) -> Vault {
    let provider = Arc::new(
        FileKeyProvider::open(&setup.dir.path().join("master.key"), algorithm).expect("opens"),
    );
    Vault::open(setup.db.store().clone(), provider, algorithm, NO_CACHE)
        .await
        .expect("vault")
}

#[tokio::test]
async fn values_sealed_under_either_algorithm_open_after_the_deployment_switches() {
    use icecone_core::crypto::envelope::Header;
    let dir = tempfile::tempdir().expect("tempdir");
    // A deployment that began under the old default, XChaCha20-Poly1305: its keyring, its
    // system key and a person's data key were all wrapped with it.
    FileKeyProvider::open_or_generate_development(dir.path(), Algorithm::XChaCha20Poly1305)
        .expect("keyring");
    let setup = Setup {
        db: TestDatabase::new().await,
        dir,
    };
    let before = vault_under(&setup, Algorithm::XChaCha20Poly1305).await;
    let alice = before.create_subject().await.expect("alice");
    let old = before
        .seal(alice, field("r1"), b"sealed before the switch")
        .await
        .expect("seals");
    assert_eq!(
        Header::parse(&old).expect("header").algorithm,
        Algorithm::XChaCha20Poly1305
    );

    // The deployment restarts with the default: AES-256-GCM for everything new.
    let after = vault_under(&setup, Algorithm::default()).await;
    assert_eq!(after.algorithm(), Algorithm::Aes256Gcm);
    assert!(after.algorithm().is_aes_256());
    assert_eq!(
        after
            .open_field(alice, field("r1"), &old)
            .await
            .expect("the old ciphertext opens")
            .as_slice(),
        b"sealed before the switch"
    );
    let bob = after.create_subject().await.expect("bob");
    let new = after
        .seal(alice, field("r2"), b"sealed after the switch")
        .await
        .expect("seals");
    let bobs = after
        .seal(bob, field("r1"), b"a new person's value")
        .await
        .expect("seals");
    for sealed in [&new, &bobs] {
        assert_eq!(
            Header::parse(sealed).expect("header").algorithm,
            Algorithm::Aes256Gcm
        );
    }

    // And back: a deployment that selects XChaCha20-Poly1305 again reads what AES-256-GCM
    // sealed, including a data key wrapped under it.
    let back = vault_under(&setup, Algorithm::XChaCha20Poly1305).await;
    assert!(!back.algorithm().is_aes_256());
    for (who, place, sealed, expected) in [
        (alice, field("r1"), &old, &b"sealed before the switch"[..]),
        (alice, field("r2"), &new, &b"sealed after the switch"[..]),
        (bob, field("r1"), &bobs, &b"a new person's value"[..]),
    ] {
        assert_eq!(
            back.open_field(who, place, sealed)
                .await
                .expect("opens")
                .as_slice(),
            expected
        );
    }
}

#[tokio::test]
async fn shredding_a_subject_makes_their_data_unreadable_and_spares_others() {
    let setup = Setup::new().await;
    let vault = setup.vault(CacheLimits::default()).await;
    let (alice, bob) = (
        vault.create_subject().await.expect("alice"),
        vault.create_subject().await.expect("bob"),
    );
    let alice_data = vault
        .seal(alice, field("a"), b"alice's prompt")
        .await
        .expect("seals");
    let bob_data = vault
        .seal(bob, field("b"), b"bob's prompt")
        .await
        .expect("seals");

    assert!(vault.shred(alice).await.expect("shreds"));
    assert!(
        !vault.shred(alice).await.expect("twice"),
        "shredding twice is harmless"
    );
    // Even a fresh process holding the root key cannot read Alice's data any more.
    let fresh = setup.vault(NO_CACHE).await;
    for vault in [&vault, &fresh] {
        assert!(matches!(
            vault.open_field(alice, field("a"), &alice_data).await,
            Err(VaultError::Shredded)
        ));
        assert!(matches!(
            vault.seal(alice, field("a"), b"new").await,
            Err(VaultError::Shredded)
        ));
        assert_eq!(
            vault
                .open_field(bob, field("b"), &bob_data)
                .await
                .expect("bob")
                .as_slice(),
            b"bob's prompt"
        );
    }
    assert_eq!(
        setup
            .db
            .store()
            .destroyed_data_key_count()
            .await
            .expect("count"),
        1
    );
}

#[tokio::test]
async fn the_data_key_cache_is_bounded() {
    let setup = Setup::new().await;
    let vault = setup
        .vault(CacheLimits {
            capacity: 3,
            ttl: std::time::Duration::from_secs(60),
        })
        .await;
    let mut sealed = Vec::new();
    for i in 0..5 {
        let subject = vault.create_subject().await.expect("subject");
        sealed.push((
            subject,
            vault
                .seal(subject, field("r"), format!("value {i}").as_bytes())
                .await
                .expect("seals"),
        ));
    }
    assert_eq!(vault.cached_keys(), 3);
    for (i, (subject, ciphertext)) in sealed.iter().enumerate() {
        let opened = vault
            .open_field(*subject, field("r"), ciphertext)
            .await
            .expect("opens");
        assert_eq!(opened.as_slice(), format!("value {i}").as_bytes());
    }
    assert_eq!(vault.cached_keys(), 3);
}

#[tokio::test]
async fn rotation_while_reads_continue_keeps_every_value_readable() {
    let setup = Setup::new().await;
    let serving = Arc::new(setup.vault(NO_CACHE).await);
    let mut values = Vec::new();
    for i in 0..25 {
        let subject = serving.create_subject().await.expect("subject");
        let plaintext = format!("canary-rotation-{i}");
        values.push((
            subject,
            serving
                .seal(subject, field("r"), plaintext.as_bytes())
                .await
                .expect("seals"),
            plaintext,
        ));
    }
    let values = Arc::new(values);
    let stop = Arc::new(AtomicBool::new(false));
    let (reads, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let reader = {
        let (serving, values, stop, reads, failures) = (
            serving.clone(),
            values.clone(),
            stop.clone(),
            reads.clone(),
            failures.clone(),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                for (subject, ciphertext, plaintext) in values.iter() {
                    match serving.open_field(*subject, field("r"), ciphertext).await {
                        Ok(opened) if opened.as_slice() == plaintext.as_bytes() => {
                            reads.fetch_add(1, Ordering::SeqCst)
                        }
                        _ => failures.fetch_add(1, Ordering::SeqCst),
                    };
                }
                tokio::task::yield_now().await;
            }
        })
    };

    let cli = setup.provider();
    let report = rotation::rotate(
        setup.db.store(),
        cli.as_ref(),
        RotationOptions {
            batch_size: 4,
            max_keys: None,
        },
    )
    .await
    .expect("rotates");
    // Keep reading a little after the rotation, through the re-wrapped keys.
    let after = reads.load(Ordering::SeqCst);
    while reads.load(Ordering::SeqCst) < after + 50 {
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::SeqCst);
    reader.await.expect("reader");

    assert_eq!(
        failures.load(Ordering::SeqCst),
        0,
        "every read during the rotation succeeded"
    );
    assert_eq!(report.created_version, Some(2));
    assert_eq!(report.target_version, 2);
    assert_eq!(report.rewrapped_data_keys, 25);
    assert_eq!(report.rewrapped_system_keys, 1);
    assert_eq!(
        report.retired,
        vec![1],
        "version 1 is unused afterwards and retired"
    );
    let status = rotation::status(setup.db.store(), cli.as_ref())
        .await
        .expect("status");
    assert_eq!(
        (
            status.current_version,
            status.versions.clone(),
            status.pending
        ),
        (2, vec![2], 0)
    );
    // The serving gateway, and a fresh one, read everything with version 1 gone.
    let fresh = setup.vault(NO_CACHE).await;
    for (subject, ciphertext, plaintext) in values.iter() {
        for vault in [serving.as_ref(), &fresh] {
            assert_eq!(
                vault
                    .open_field(*subject, field("r"), ciphertext)
                    .await
                    .expect("opens")
                    .as_slice(),
                plaintext.as_bytes()
            );
        }
    }
    // New subjects of the serving gateway are wrapped with the new version.
    serving.create_subject().await.expect("subject");
    assert_eq!(
        rotation::status(setup.db.store(), cli.as_ref())
            .await
            .expect("status")
            .pending,
        0
    );
}

#[tokio::test]
async fn an_interrupted_rotation_resumes_without_adding_a_version() {
    let setup = Setup::new().await;
    let vault = setup.vault(CacheLimits::default()).await;
    let mut values = Vec::new();
    for _ in 0..12 {
        let subject = vault.create_subject().await.expect("subject");
        values.push((
            subject,
            vault
                .seal(subject, field("r"), b"value")
                .await
                .expect("seals"),
        ));
    }
    let cli = setup.provider();
    let first = rotation::rotate(
        setup.db.store(),
        cli.as_ref(),
        RotationOptions {
            batch_size: 3,
            max_keys: Some(5),
        },
    )
    .await
    .expect("first run");
    assert!(first.interrupted);
    assert_eq!(first.created_version, Some(2));
    assert!(first.retired.is_empty(), "version 1 is still in use");
    let status = rotation::status(setup.db.store(), cli.as_ref())
        .await
        .expect("status");
    assert_eq!(
        status.pending, 8,
        "13 keys (12 subjects and the system key), 5 done: {status}"
    );
    assert!(status.to_string().contains("still to re-wrap"), "{status}");

    let second = rotation::rotate(setup.db.store(), cli.as_ref(), RotationOptions::default())
        .await
        .expect("resumes");
    assert_eq!(second.created_version, None, "resuming adds no version");
    assert_eq!(
        (
            second.target_version,
            second.rewrapped_data_keys,
            second.retired.clone()
        ),
        (2, 8, vec![1])
    );
    let fresh = setup.vault(NO_CACHE).await;
    for (subject, ciphertext) in &values {
        assert_eq!(
            fresh
                .open_field(*subject, field("r"), ciphertext)
                .await
                .expect("opens")
                .as_slice(),
            b"value"
        );
    }
}

#[tokio::test]
async fn system_secrets_and_blind_indexes_survive_rotation() {
    let setup = Setup::new().await;
    let vault = setup.vault(CacheLimits::default()).await;
    let binding = Binding::system("provider_credentials", "api_key", "openai");
    let sealed = vault
        .seal_system(&binding, b"sk-test-secret")
        .expect("seals");
    let token = vault.blind_index("accounts.email", b"alice@example.com");
    assert_ne!(
        token,
        vault.blind_index("accounts.email", b"bob@example.com")
    );

    rotation::rotate(
        setup.db.store(),
        setup.provider().as_ref(),
        RotationOptions::default(),
    )
    .await
    .expect("rotates");
    let after = setup.vault(NO_CACHE).await;
    assert_eq!(
        after
            .open_system(&binding, &sealed)
            .expect("opens")
            .as_slice(),
        b"sk-test-secret"
    );
    assert_eq!(
        after.blind_index("accounts.email", b"alice@example.com"),
        token,
        "tokens stay valid"
    );
    let elsewhere = Binding::system("provider_credentials", "api_key", "runway");
    assert!(after.open_system(&elsewhere, &sealed).is_err());
}

#[tokio::test]
async fn canaries_never_reach_the_database_in_clear() {
    let setup = Setup::new().await;
    let vault = setup.vault(CacheLimits::default()).await;
    setup
        .db
        .execute("CREATE TABLE canary_fields (id VARCHAR(64) PRIMARY KEY, value BYTEA)")
        .await;
    let canaries: Vec<String> = (0..5)
        .map(|i| format!("CANARY-{i}-{}", uuid::Uuid::new_v4().simple()))
        .collect();
    for (i, canary) in canaries.iter().enumerate() {
        let subject = vault.create_subject().await.expect("subject");
        let row = format!("row-{i}");
        let sealed = vault
            .seal(
                subject,
                Field {
                    table: "canary_fields",
                    column: "value",
                    row_id: &row,
                },
                canary.as_bytes(),
            )
            .await
            .expect("seals");
        setup.db.insert_blob("canary_fields", &row, sealed).await;
    }
    let raw = setup.db.raw_bytes().await;
    assert!(
        raw.len() > 1000,
        "the scan reads the database: {} bytes",
        raw.len()
    );
    assert!(
        contains(&raw, b"canary_fields"),
        "the scan sees the scratch table"
    );
    let keyring_text =
        std::fs::read_to_string(setup.dir.path().join("master.key")).expect("keyring");
    assert_eq!(
        Keyring::parse(&keyring_text).expect("keyring").versions(),
        vec![1]
    );
    let mut root_keys = Vec::new();
    for line in keyring_text.lines().filter(|l| !l.starts_with('#')) {
        let encoded = line.split(' ').next_back().expect("a key");
        root_keys.push(encoded.as_bytes().to_vec());
        root_keys.push(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)
                .expect("base64"),
        );
    }
    assert_eq!(root_keys.len(), 2);
    for canary in &canaries {
        assert!(
            !contains(&raw, canary.as_bytes()),
            "{canary} is in the database in clear"
        );
        assert!(
            !contains(&raw, hex(canary.as_bytes()).as_bytes()),
            "{canary} is in the dump as hex"
        );
    }
    for key in &root_keys {
        assert!(!contains(&raw, key), "a root key reached the database");
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn icecone_keys_rotate_and_status_work_on_a_deployment() {
    use crate::support::binary::{BinaryApp, free_port, icecone};
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        let output = icecone(dir.path())
            .args(args)
            .output()
            .expect("icecone runs");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let status = run(&["keys", "status"]);
    assert!(status.contains("current root key version: 1"), "{status}");
    assert!(
        status.contains("version 1: 1 wrapped key(s)"),
        "the system key: {status}"
    );
    assert!(status.contains("rotation: complete"), "{status}");

    // Rotate while a gateway serves from the same data directory.
    let port = free_port();
    let mut gateway = BinaryApp::spawn(dir.path(), port, |_| {});
    gateway.wait_until_healthy().await;
    let rotated = run(&["keys", "rotate", "--batch-size", "10"]);
    assert!(rotated.contains("created root key version 2"), "{rotated}");
    assert!(
        rotated.contains("re-wrapped 0 data key(s) and 1 system key(s) with version 2"),
        "{rotated}"
    );
    assert!(rotated.contains("retired root key version 1"), "{rotated}");
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200, "the gateway keeps serving");
    assert!(gateway.terminate().success());

    let status = run(&["keys", "status"]);
    assert!(status.contains("current root key version: 2"), "{status}");
    assert!(
        status.contains("versions held by the key provider: 2\n"),
        "{status}"
    );
    // The restarted gateway opens the system key with the new root key.
    let mut gateway = BinaryApp::spawn(dir.path(), port, |_| {});
    gateway.wait_until_healthy().await;
    assert!(gateway.terminate().success());
}
