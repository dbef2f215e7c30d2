//! `icecone staff create`: the bootstrap of staff accounts from the command line.

use std::io::Write;
use std::process::Stdio;

use icecone_store::accounts::AccountKind;
use icecone_store::testing::TestDatabase;

use crate::support::binary::icecone;

fn staff_create(
    dir: &std::path::Path,
    db: &TestDatabase,
    email: &str,
    role: &str,
    password: &str,
) -> std::process::Output {
    let mut child = icecone(dir)
        .env("ICECONE_DATABASE_URL", db.url().expose())
        .args(["staff", "create", "--email", email, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("icecone runs");
    // With a bad --email or --role the command exits before it reads the password, so the
    // write may meet a closed pipe; the exit status and output are what the tests check.
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes());
    child.wait_with_output().expect("output")
}

#[tokio::test]
async fn staff_create_makes_an_account_with_its_role_and_prints_the_otpauth_uri_alone() {
    let db = TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let output = staff_create(
        dir.path(),
        &db,
        "Root@Example.com",
        "ADMIN",
        "a long admin passphrase",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the URI on standard output: {stdout}");
    assert!(
        lines[0].starts_with("otpauth://totp/IceCone:root"),
        "{stdout}"
    );
    assert!(lines[0].contains("secret="), "{stdout}");

    let page = db.store().audit_page(None, 10).await.expect("audit");
    assert_eq!(page.len(), 1);
    assert_eq!(
        (page[0].action.as_str(), page[0].actor.as_str()),
        ("staff.created", "cli")
    );
    let id = page[0]
        .target
        .as_deref()
        .and_then(|t| t.strip_prefix("account:"))
        .expect("target");
    let id = uuid::Uuid::try_parse(id).expect("account id");
    let account = db.store().account(id).await.expect("read").expect("exists");
    assert_eq!(account.kind, AccountKind::Staff);
    assert_eq!(db.store().staff_roles(id).await.expect("roles"), ["ADMIN"]);
    let factor = db
        .store()
        .totp_factor(id)
        .await
        .expect("read")
        .expect("a factor");
    assert!(
        factor.confirmed_at.is_some(),
        "staff always have an active second factor"
    );
}

#[tokio::test]
async fn staff_create_refuses_bad_input_and_creates_nothing() {
    let db = TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "not-an-email",
            "ADMIN",
            "a long admin passphrase",
            "--email",
        ),
        (
            "ops@example.com",
            "GOD",
            "a long admin passphrase",
            "--role",
        ),
        ("ops@example.com", "SUPPORT", "short", "password"),
        ("ops@example.com", "SUPPORT", "passwordpassword", "password"),
    ];
    for (email, role, password, named) in cases {
        let output = staff_create(dir.path(), &db, email, role, password);
        assert_eq!(output.status.code(), Some(2), "{email} {role}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named), "{email} {role}: {stderr}");
        assert!(output.stdout.is_empty());
    }
    assert!(
        db.store()
            .audit_page(None, 10)
            .await
            .expect("audit")
            .is_empty(),
        "nothing was created"
    );
}

fn staff_role(
    dir: &std::path::Path,
    db: &TestDatabase,
    verb: &str,
    email: &str,
    role: &str,
) -> std::process::Output {
    icecone(dir)
        .env("ICECONE_DATABASE_URL", db.url().expose())
        .args(["staff", verb, "--email", email, "--role", role])
        .stdin(Stdio::null())
        .output()
        .expect("icecone runs")
}

#[tokio::test]
async fn staff_roles_are_granted_and_revoked_from_the_command_line_and_audited() {
    let db = TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let created = staff_create(
        dir.path(),
        &db,
        "ops@example.com",
        "ADMIN",
        "a long admin passphrase",
    );
    assert!(created.status.success());

    let granted = staff_role(dir.path(), &db, "grant", "ops@example.com", "DPO");
    assert!(
        granted.status.success(),
        "{}",
        String::from_utf8_lossy(&granted.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&granted.stdout), "DPO granted\n");
    let again = staff_role(dir.path(), &db, "grant", "ops@example.com", "DPO");
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("nothing to do"));

    // The last ADMIN keeps the role.
    let last = staff_role(dir.path(), &db, "revoke", "ops@example.com", "ADMIN");
    assert!(!last.status.success());
    assert!(
        String::from_utf8_lossy(&last.stderr).contains("last ADMIN"),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    let revoked = staff_role(dir.path(), &db, "revoke", "ops@example.com", "DPO");
    assert!(revoked.status.success());

    let page = db.store().audit_page(None, 10).await.expect("audit");
    let actions: Vec<&str> = page.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["staff.created", "staff.role_granted", "staff.role_revoked"]
    );
    let target = page[0].target.clone().expect("target");
    let id = uuid::Uuid::try_parse(target.trim_start_matches("account:")).expect("id");
    assert_eq!(db.store().staff_roles(id).await.expect("roles"), ["ADMIN"]);

    // Unknown and non-staff addresses, and bad flags, are refused without a change.
    let unknown = staff_role(dir.path(), &db, "grant", "nobody@example.com", "DPO");
    assert!(!unknown.status.success());
    let bad_role = staff_role(dir.path(), &db, "grant", "ops@example.com", "ROOT");
    assert_eq!(bad_role.status.code(), Some(2));
    assert_eq!(
        db.store().audit_page(None, 10).await.expect("audit").len(),
        3
    );
}
