//! Partners over HTTP: ADMIN issues and revokes API keys (shown once, kept as digests); a
//! person grants a partner scopes, sees and revokes the grant; a partner reads a person's
//! data only with that person's live grant, within the scopes of both its key and the
//! grant, and only while the person's consents and restriction allow the data's purpose.

use icecone_core::identity::roles::StaffRole;
use serde_json::json;
use uuid::Uuid;

use crate::staff_console::actions;
use crate::support::app::{Admin, FRESH, Person, StaffMember, TestApp, codes};

const CREATE: &str = "mutation C($n: String!, $s: [PartnerScope!]!) { createPartner(name: $n, scopes: $s) \
    { id key hint scopes partner { id name } } }";
const ISSUE: &str = "mutation I($p: ID!, $s: [PartnerScope!]!) { issuePartnerKey(partner: $p, scopes: $s) \
    { id key scopes } }";
pub(crate) const REVOKE_KEY: &str = "mutation R($id: ID!) { revokePartnerKey(id: $id) }";
const KEYS: &str =
    "query K($p: ID!) { partnerKeys(partner: $p) { id hint scopes createdAt revokedAt } }";
const GRANT: &str = "mutation G($p: ID!, $s: [PartnerScope!]!) { grantPartnerAccess(partner: $p, scopes: $s) \
    { partner { id name } scopes grantedAt revokedAt } }";
const REVOKE_GRANT: &str = "mutation R($p: ID!) { revokePartnerAccess(partner: $p) }";
const READ: &str = "query P($id: ID!) { partnerAccount(id: $id) { id email createdAt \
    personalization { favouriteKinds suggestedPrompts preferredProviders } } }";

#[tokio::test]
async fn admin_issues_keys_shown_once_and_a_revoked_key_stops_working_at_once() {
    let app = TestApp::spawn().await;
    let Admin { fresh, stale, .. } = app.admin("root@icecone.example").await;
    let StaffMember { id: support, .. } = app
        .staff_member("help@icecone.example", StaffRole::Support)
        .await;
    let support = app.mint_token(support, FRESH).await;
    let Person {
        access_token: user, ..
    } = app.person("uma@example.com").await;

    // Only ADMIN, and only with a fresh second factor.
    let scopes = json!({ "n": "Acme", "s": ["PROFILE"] });
    assert_eq!(
        codes(&app.graphql(Some(&support), CREATE, scopes.clone()).await),
        ["FORBIDDEN"]
    );
    assert_eq!(
        codes(&app.graphql(Some(&user), CREATE, scopes.clone()).await),
        ["FORBIDDEN"]
    );
    assert_eq!(
        codes(&app.graphql(None, CREATE, scopes.clone()).await),
        ["UNAUTHENTICATED"]
    );
    assert_eq!(
        codes(&app.graphql(Some(&stale), CREATE, scopes).await),
        ["REAUTHENTICATION_REQUIRED"]
    );
    assert_eq!(actions(&app, "partner.create").await, 0);

    // Bad input loses nothing.
    for (name, scopes) in [("A", json!(["PROFILE"])), ("Acme", json!([]))] {
        let body = app
            .graphql(Some(&fresh), CREATE, json!({ "n": name, "s": scopes }))
            .await;
        assert_eq!(codes(&body), ["BAD_USER_INPUT"], "{body}");
    }

    let acme = app.create_partner(&fresh, "  Acme  ", &["PROFILE"]).await;
    assert!(acme.key.starts_with("icp_"), "{}", acme.key);
    let duplicate = app
        .graphql(
            Some(&fresh),
            CREATE,
            json!({ "n": "Acme", "s": ["PROFILE"] }),
        )
        .await;
    assert_eq!(codes(&duplicate), ["BAD_USER_INPUT"], "{duplicate}");
    let public = app
        .graphql(None, "{ partners { id name } }", json!({}))
        .await;
    assert_eq!(
        public["data"]["partners"],
        json!([{ "id": acme.partner, "name": "Acme" }])
    );

    // A second key, with both scopes; the list shows hints, never a key.
    let second = app
        .graphql(
            Some(&fresh),
            ISSUE,
            json!({ "p": acme.partner, "s": ["PROFILE", "PERSONALIZATION"] }),
        )
        .await;
    let second_key = second["data"]["issuePartnerKey"]["key"]
        .as_str()
        .unwrap_or_else(|| panic!("{second}"))
        .to_owned();
    assert_eq!(
        second["data"]["issuePartnerKey"]["scopes"],
        json!(["PROFILE", "PERSONALIZATION"])
    );
    let listed = app
        .graphql(Some(&fresh), KEYS, json!({ "p": acme.partner }))
        .await;
    let text = listed.to_string();
    assert_eq!(
        listed["data"]["partnerKeys"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    assert!(
        !text.contains(&acme.key[4..]) && !text.contains(&second_key[4..]),
        "{text}"
    );
    assert!(
        text.contains(&acme.key[..12]),
        "the hint names the key: {text}"
    );
    let unknown = app
        .graphql(
            Some(&fresh),
            KEYS,
            json!({ "p": Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(codes(&unknown), ["NOT_FOUND"], "{unknown}");

    // Both keys work; revoking one ends it at the next request, the other goes on.
    for key in [&acme.key, &second_key] {
        let (status, body) = app
            .as_partner(key, "{ partners { name } }", json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let revoked = app
        .graphql(Some(&fresh), REVOKE_KEY, json!({ "id": acme.key_id }))
        .await;
    assert_eq!(revoked["data"]["revokePartnerKey"], true, "{revoked}");
    let again = app
        .graphql(Some(&fresh), REVOKE_KEY, json!({ "id": acme.key_id }))
        .await;
    assert_eq!(again["data"]["revokePartnerKey"], false, "{again}");
    let answer = app
        .send(
            app.client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .header("authorization", format!("ApiKey {}", acme.key))
                .body(json!({ "query": "{ partners { name } }" }).to_string()),
        )
        .await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer
            .headers
            .get("www-authenticate")
            .map(|v| v.to_str().ok()),
        Some(Some("ApiKey"))
    );
    assert_eq!(answer.first_code(), "UNAUTHENTICATED");
    let (status, _) = app
        .as_partner(&second_key, "{ partners { name } }", json!({}))
        .await;
    assert_eq!(status, 200);

    // Every attempt is recorded before it is made, the refused duplicate name too.
    assert_eq!(actions(&app, "partner.create").await, 2);
    assert_eq!(actions(&app, "partner.issue_key").await, 2);
    assert_eq!(actions(&app, "partner.revoke_key").await, 2);
}

#[tokio::test]
async fn a_partner_reads_a_person_only_with_their_grant_within_both_scopes_and_their_consents() {
    let app = TestApp::spawn().await;
    let Admin { fresh: admin, .. } = app.admin("root@icecone.example").await;
    let acme = app
        .create_partner(&admin, "Acme", &["PROFILE", "PERSONALIZATION"])
        .await;
    let narrow = app.create_partner(&admin, "Globex", &["PROFILE"]).await;
    let Person {
        id: pat,
        access_token: user,
        ..
    } = app.person("pat@example.com").await;
    let Person { id: other, .. } = app.person("quinn@example.com").await;
    let read = |key: String, id: Uuid| {
        let app = &app;
        async move {
            app.as_partner(&key, READ, json!({ "id": id.to_string() }))
                .await
                .1
        }
    };

    // A partner key without the person's grant: refused, exactly as for an id nobody has,
    // through every shape of query.
    let no_grant = read(acme.key.clone(), pat).await;
    assert_eq!(codes(&no_grant), ["FORBIDDEN"], "{no_grant}");
    assert!(no_grant["data"].is_null() || no_grant["data"]["partnerAccount"].is_null());
    let nobody = read(acme.key.clone(), Uuid::new_v4()).await;
    assert_eq!(
        nobody["errors"][0]["message"],
        no_grant["errors"][0]["message"]
    );
    for document in [
        "query P($id: ID!) { a: partnerAccount(id: $id) { email } }",
        "query P($id: ID!) { ...F } fragment F on Query { partnerAccount(id: $id) { email } }",
        "query P($id: ID!) { ... on Query { partnerAccount(id: $id) { ... on PartnerAccountView { email } } } }",
    ] {
        let (_, body) = app
            .as_partner(&acme.key, document, json!({ "id": pat.to_string() }))
            .await;
        assert_eq!(codes(&body), ["FORBIDDEN"], "{document}: {body}");
        assert!(!body.to_string().contains("pat@example.com"), "{body}");
    }

    // A grant of PROFILE: the profile, but not the personalization.
    let granted = app
        .graphql(
            Some(&user),
            GRANT,
            json!({ "p": acme.partner, "s": ["PROFILE"] }),
        )
        .await;
    assert_eq!(
        granted["data"]["grantPartnerAccess"]["scopes"],
        json!(["PROFILE"]),
        "{granted}"
    );
    let body = read(acme.key.clone(), pat).await;
    assert_eq!(
        body["data"]["partnerAccount"]["email"], "pat@example.com",
        "{body}"
    );
    assert_eq!(
        codes(&body),
        ["FORBIDDEN"],
        "personalization is outside the grant: {body}"
    );
    // Quinn gave no grant: Pat's grant opens nothing of Quinn's.
    assert_eq!(codes(&read(acme.key.clone(), other).await), ["FORBIDDEN"]);

    // Both scopes granted: personalization still needs the person's consent.
    app.graphql(
        Some(&user),
        GRANT,
        json!({ "p": acme.partner, "s": ["PROFILE", "PERSONALIZATION"] }),
    )
    .await;
    let body = read(acme.key.clone(), pat).await;
    assert_eq!(codes(&body), ["CONSENT_REQUIRED"], "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["purpose"],
        "PERSONALIZATION"
    );
    app.set_consent(&user, "PERSONALIZATION", true).await;
    let body = read(acme.key.clone(), pat).await;
    assert!(codes(&body).is_empty(), "{body}");
    assert!(body["data"]["partnerAccount"]["personalization"]["favouriteKinds"].is_array());

    // A key without the scope does not get it from a broader grant.
    app.graphql(
        Some(&user),
        GRANT,
        json!({ "p": narrow.partner, "s": ["PROFILE", "PERSONALIZATION"] }),
    )
    .await;
    let body = read(narrow.key.clone(), pat).await;
    assert_eq!(codes(&body), ["FORBIDDEN"], "{body}");
    assert_eq!(body["data"]["partnerAccount"]["email"], "pat@example.com");

    // Restricted processing: nothing reaches a partner.
    app.graphql(
        Some(&user),
        "mutation { restrictProcessing(restricted: true) { id } }",
        json!({}),
    )
    .await;
    let body = read(acme.key.clone(), pat).await;
    assert_eq!(codes(&body), ["PROCESSING_RESTRICTED"; 3], "{body}");
    assert!(!body.to_string().contains("pat@example.com"), "{body}");
    app.graphql(
        Some(&user),
        "mutation { restrictProcessing(restricted: false) { id } }",
        json!({}),
    )
    .await;

    // Revoking the grant ends access at once; the person sees the history.
    let revoked = app
        .graphql(Some(&user), REVOKE_GRANT, json!({ "p": acme.partner }))
        .await;
    assert_eq!(revoked["data"]["revokePartnerAccess"], true, "{revoked}");
    assert_eq!(codes(&read(acme.key.clone(), pat).await), ["FORBIDDEN"]);
    let again = app
        .graphql(Some(&user), REVOKE_GRANT, json!({ "p": acme.partner }))
        .await;
    assert_eq!(again["data"]["revokePartnerAccess"], false);
    let me = app
        .graphql(
            Some(&user),
            "{ me { partnerGrants { partner { name } scopes revokedAt } } }",
            json!({}),
        )
        .await;
    let grants = me["data"]["me"]["partnerGrants"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(grants.len(), 3, "{me}");
    assert_eq!(grants[0]["partner"]["name"], "Globex");
    assert!(grants[0]["revokedAt"].is_null());
    assert!(
        grants[1..]
            .iter()
            .all(|g| g["partner"]["name"] == "Acme" && g["revokedAt"].is_string())
    );

    // Every read that opened an account is in the audit trail, none that did not.
    assert_eq!(actions(&app, "partner.read_account").await, 5);
    assert_eq!(actions(&app, "partner.grant").await, 3);
    assert_eq!(actions(&app, "partner.revoke_grant").await, 2);
}

#[tokio::test]
async fn partner_keys_and_access_tokens_each_open_only_their_own_fields() {
    let app = TestApp::spawn().await;
    let Admin { fresh: admin, .. } = app.admin("root@icecone.example").await;
    let acme = app.create_partner(&admin, "Acme", &["PROFILE"]).await;
    let Person {
        id: pat,
        access_token: user,
        ..
    } = app.person("pat@example.com").await;
    app.graphql(
        Some(&user),
        GRANT,
        json!({ "p": acme.partner, "s": ["PROFILE"] }),
    )
    .await;

    // Keys that are not live keys are refused before anything runs.
    let mut forged = acme.key.clone();
    forged.replace_range(10..11, if &acme.key[10..11] == "A" { "B" } else { "A" });
    for key in ["", "icp_short", &acme.key[4..], forged.as_str()] {
        let (status, body) = app
            .as_partner(key, "{ partners { name } }", json!({}))
            .await;
        assert_eq!(status, 401, "{key:?}: {body}");
    }

    // A partner key is not a sign-in: the person's own fields and the staff console refuse it.
    for document in ["{ me { id email } }", "{ auditLog { edges { cursor } } }"] {
        let (_, body) = app.as_partner(&acme.key, document, json!({})).await;
        assert_eq!(codes(&body), ["UNAUTHENTICATED"], "{document}: {body}");
    }
    let (_, body) = app
        .as_partner(
            &acme.key,
            GRANT,
            json!({ "p": acme.partner, "s": ["PROFILE"] }),
        )
        .await;
    assert_eq!(codes(&body), ["UNAUTHENTICATED"], "{body}");

    // An access token is not a partner key: people cannot read each other through it.
    let Person {
        access_token: other,
        ..
    } = app.person("quinn@example.com").await;
    let body = app
        .graphql(Some(&other), READ, json!({ "id": pat.to_string() }))
        .await;
    assert_eq!(codes(&body), ["FORBIDDEN"], "{body}");
    let body = app
        .graphql(None, READ, json!({ "id": pat.to_string() }))
        .await;
    assert_eq!(codes(&body), ["UNAUTHENTICATED"], "{body}");

    // Granting names a partner that exists and at least one scope.
    let unknown = app
        .graphql(
            Some(&user),
            GRANT,
            json!({ "p": Uuid::new_v4().to_string(), "s": ["PROFILE"] }),
        )
        .await;
    assert_eq!(codes(&unknown), ["NOT_FOUND"], "{unknown}");
    let empty = app
        .graphql(Some(&user), GRANT, json!({ "p": acme.partner, "s": [] }))
        .await;
    assert_eq!(codes(&empty), ["BAD_USER_INPUT"], "{empty}");
}
