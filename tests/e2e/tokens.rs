//! Access-token signing keys: stored sealed, published as a JWKS, kept across restarts.

use std::sync::Arc;

use icecone_app::keys::file_provider::FileKeyProvider;
use icecone_app::keys::vault::{CacheLimits, Vault};
use icecone_app::tokens::{AccessClaims, Acr, TokenSigner};
use icecone_core::crypto::aead::Algorithm;
use icecone_store::testing::TestDatabase;

use crate::support::app::TestApp;

async fn vault(db: &TestDatabase, dir: &std::path::Path) -> Vault {
    let (provider, _) =
        FileKeyProvider::open_or_generate_development(dir, Algorithm::default()).expect("keyring");
    Vault::open(
        db.store().clone(),
        Arc::new(provider),
        Algorithm::default(),
        CacheLimits::default(),
    )
    .await
    .expect("vault")
}

#[tokio::test]
async fn signing_keys_survive_a_restart_and_rotation_keeps_old_tokens_valid() {
    let db = TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = vault(&db, dir.path()).await;
    let first = TokenSigner::load_or_create(db.store(), &vault)
        .await
        .expect("signer");
    let now = chrono::Utc::now();
    let claims = AccessClaims::new("a", "s", now, vec!["pwd".to_owned()], Acr::Aal1, now);
    let token = first.issue(&claims).expect("signs");

    // Another gateway instance (or a restart) loads the same key.
    let again = TokenSigner::load_or_create(db.store(), &vault)
        .await
        .expect("signer");
    assert_eq!(again.current_kid(), first.current_kid());
    assert_eq!(again.verify(&token), Ok(claims.clone()));

    let new_kid = TokenSigner::add_key(db.store(), &vault)
        .await
        .expect("rotates");
    let rotated = TokenSigner::load(db.store(), &vault).await.expect("signer");
    assert_eq!(rotated.current_kid(), new_kid);
    assert_eq!(
        rotated.verify(&token),
        Ok(claims),
        "tokens of the old key still verify"
    );
    assert_eq!(rotated.jwks()["keys"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn instances_starting_together_on_a_fresh_database_sign_with_one_key() {
    // Three instances' first starts at once (as icecone-soak starts them): each finds no
    // key, and each must end up with the same one, so that any instance accepts the tokens
    // of any other.
    let db = TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = vault(&db, dir.path()).await;
    let (a, b, c) = tokio::join!(
        TokenSigner::load_or_create(db.store(), &vault),
        TokenSigner::load_or_create(db.store(), &vault),
        TokenSigner::load_or_create(db.store(), &vault),
    );
    let signers = [a.expect("signer"), b.expect("signer"), c.expect("signer")];
    assert_eq!(
        db.store().signing_keys(true).await.expect("keys").len(),
        1,
        "one key was added"
    );
    let now = chrono::Utc::now();
    let claims = AccessClaims::new("a", "s", now, vec!["pwd".to_owned()], Acr::Aal1, now);
    for signer in &signers {
        assert_eq!(signer.current_kid(), icecone_app::tokens::FIRST_KID);
        let token = signer.issue(&claims).expect("signs");
        for other in &signers {
            assert_eq!(other.verify(&token), Ok(claims.clone()));
        }
    }
}

#[tokio::test]
async fn the_gateway_publishes_its_token_keys_as_a_jwks() {
    let app = TestApp::spawn().await;
    let answer = app.get("/.well-known/jwks.json").await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.content_type.starts_with("application/jwk-set+json"),
        "{}",
        answer.content_type
    );
    let keys = answer.json()["keys"].as_array().cloned().expect("keys");
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str(),
            key["use"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"), Some("sig"))
    );
    assert!(
        key["kid"]
            .as_str()
            .is_some_and(|kid| kid.starts_with("ed25519-"))
    );
    assert!(
        key.get("d").is_none(),
        "no private key material is published"
    );
}
