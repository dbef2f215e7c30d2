//! The operations of the traffic mix. Adding one is a variant of [`Op`] with its weight and
//! name in [`Op::MIX`], and one async function that runs it against the [`World`] and says
//! how it went. (Subscriptions join the mix when billing lands.)

use std::time::{Duration, Instant};

use icecone_core::identity::policy::CURRENT_POLICY_VERSION;
use icecone_core::identity::totp::{self, TotpConfig, TotpSecret};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::client::{Auth, Reply};
use crate::invariants::{Amount, Answer, Credential, RevokedUse};
use crate::world::{Account, Outcome, PASSWORD, SentGeneration, Totp, World, current_step, lock};

/// One kind of request in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Op {
    SignUp,
    VerifyEmail,
    LogIn,
    LogInTotp,
    EnrolTotp,
    Refresh,
    Text,
    Image,
    Video,
    Consent,
    Export,
    Erasure,
    PartnerRead,
    RevokeSession,
    RevokePartnerKey,
    UseRevoked,
}

impl Op {
    /// Each operation with its weight in the mix.
    pub(crate) const MIX: &[(Op, u32)] = &[
        (Op::SignUp, 10),
        (Op::VerifyEmail, 6),
        (Op::LogIn, 8),
        (Op::LogInTotp, 4),
        (Op::EnrolTotp, 5),
        (Op::Refresh, 8),
        (Op::Text, 20),
        (Op::Image, 8),
        (Op::Video, 4),
        (Op::Consent, 6),
        (Op::Export, 2),
        (Op::Erasure, 2),
        (Op::PartnerRead, 8),
        (Op::RevokeSession, 3),
        (Op::RevokePartnerKey, 1),
        (Op::UseRevoked, 5),
    ];

    /// Its name in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::SignUp => "signUp",
            Op::VerifyEmail => "verifyEmail",
            Op::LogIn => "logIn (password)",
            Op::LogInTotp => "logIn + completeMfa (TOTP)",
            Op::EnrolTotp => "enrollTotp + confirmTotp",
            Op::Refresh => "refreshSession",
            Op::Text => "generateText",
            Op::Image => "generateImage",
            Op::Video => "generateVideo",
            Op::Consent => "setConsent",
            Op::Export => "requestDataExport",
            Op::Erasure => "requestAccountDeletion",
            Op::PartnerRead => "partnerAccount (partner key)",
            Op::RevokeSession => "logOut (then log in again)",
            Op::RevokePartnerKey => "issuePartnerKey + revokePartnerKey",
            Op::UseRevoked => "use of a revoked credential",
        }
    }

    /// Runs it once.
    pub(crate) async fn run(self, world: &World) -> Outcome {
        let result = match self {
            Op::SignUp => sign_up(world).await,
            Op::VerifyEmail => verify_email(world).await,
            Op::LogIn => log_in(world).await,
            Op::LogInTotp => log_in_totp(world).await,
            Op::EnrolTotp => enrol_totp(world).await,
            Op::Refresh => refresh(world).await,
            Op::Text => generate(world, Kind::Text).await,
            Op::Image => generate(world, Kind::Image).await,
            Op::Video => generate(world, Kind::Video).await,
            Op::Consent => consent(world).await,
            Op::Export => export(world).await,
            Op::Erasure => erasure(world).await,
            Op::PartnerRead => partner_read(world).await,
            Op::RevokeSession => revoke_session(world).await,
            Op::RevokePartnerKey => revoke_partner_key(world).await,
            Op::UseRevoked => use_revoked(world).await,
        };
        match result {
            Ok(true) => Outcome::Ok,
            Ok(false) => Outcome::Skipped,
            Err(class) => Outcome::Failed(class),
        }
    }
}

/// `Ok(true)`: done; `Ok(false)`: nothing to do it on; `Err`: the error class.
type Done = Result<bool, String>;

const SIGN_UP: &str =
    "mutation S($i: SignUpInput!) { signUp(input: $i) { accessToken refreshToken } }";
const ME: &str = "{ me { id } }";
const VERIFY: &str = "mutation V($t: String!) { verifyEmail(token: $t) }";
const LOG_IN: &str = "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
    __typename ... on AuthSession { accessToken refreshToken } ... on MfaChallenge { challenge } } }";
const COMPLETE: &str = "mutation C($c: String!, $k: String!) { completeMfa(challenge: $c, code: $k) \
    { accessToken refreshToken } }";
const ENROL: &str = "mutation { enrollTotp { secret } }";
const CONFIRM: &str = "mutation C($k: String!) { confirmTotp(code: $k) }";
const REFRESH: &str =
    "mutation R($r: String) { refreshSession(refreshToken: $r) { accessToken refreshToken } }";
const TEXT: &str = "mutation T($i: GenerateTextInput!) { generateText(input: $i) { id status } }";
const IMAGE: &str =
    "mutation I($i: GenerateImageInput!) { generateImage(input: $i) { id status } }";
const VIDEO: &str =
    "mutation V($i: GenerateVideoInput!) { generateVideo(input: $i) { id status } }";
const CONSENT: &str =
    "mutation C($p: Purpose!, $g: Boolean!) { setConsent(purpose: $p, granted: $g) { granted } }";
const EXPORT: &str = "mutation { requestDataExport { id status } }";
const ERASE: &str =
    "mutation E($p: String!) { requestAccountDeletion(password: $p) { id status } }";
const GRANT: &str = "mutation G($p: ID!, $s: [PartnerScope!]!) { grantPartnerAccess(partner: $p, scopes: $s) { grantedAt } }";
const PARTNER_READ: &str = "query P($id: ID!) { partnerAccount(id: $id) { id } }";
const LOG_OUT: &str = "mutation { logOut }";
pub(crate) const CREATE_PARTNER: &str = "mutation C($n: String!, $s: [PartnerScope!]!) { createPartner(name: $n, scopes: $s) \
    { id key partner { id } } }";
const ISSUE_KEY: &str = "mutation I($p: ID!, $s: [PartnerScope!]!) { issuePartnerKey(partner: $p, scopes: $s) { id key } }";
const REVOKE_KEY: &str = "mutation R($id: ID!) { revokePartnerKey(id: $id) }";
const PARTNERS: &str = "{ partners { id } }";

/// The text tokens a text request reserves: what it allows the answer, and its prompt at
/// one token per four characters.
const MAX_TOKENS: i64 = 24;
/// The seconds of every video.
const VIDEO_SECONDS: i64 = 4;

/// The client address of the admin, the partner and the probes of revoked credentials.
const ADMIN_ADDRESS: &str = "10.255.255.1";
const PARTNER_ADDRESS: &str = "10.255.255.2";
const PROBE_ADDRESS: &str = "10.255.255.3";

fn string(value: &Value, path: &[&str]) -> Result<String, String> {
    let mut at = value;
    for key in path {
        at = &at[key];
    }
    at.as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("malformed:{}", path.join(".")))
}

/// Sends `query` as `account`; an `UNAUTHENTICATED` answer drops its tokens (a log-in
/// renews them).
async fn as_person(world: &World, account: &mut Account, query: &str, variables: Value) -> Reply {
    let Some(access) = account.access.clone() else {
        return Reply::Error("NO_SESSION".to_owned());
    };
    let reply = world
        .gateway
        .call(&account.address, Auth::Bearer(&access), query, variables)
        .await;
    if matches!(&reply, Reply::Error(code) if code == "UNAUTHENTICATED") {
        account.access = None;
        account.refresh = None;
    }
    reply
}

/// Runs `body` on an account checked out with `wanted`, and puts it back.
async fn with_account<F>(world: &World, wanted: impl Fn(&Account) -> bool, body: F) -> Done
where
    F: AsyncFnOnce(&World, &mut Account) -> Result<(), String>,
{
    let Some(mut account) = world.check_out(wanted) else {
        return Ok(false);
    };
    let result = body(world, &mut account).await;
    world.give_back(account);
    result.map(|()| true)
}

fn signed_in(account: &Account) -> bool {
    account.access.is_some()
}

async fn sign_up(world: &World) -> Done {
    let n = world.next_number();
    let email = format!("soak-{}-{n}@soak.example", world.run_id);
    let address = format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
    let input = json!({ "i": {
        "email": email,
        "password": PASSWORD,
        "acceptedPolicyVersion": CURRENT_POLICY_VERSION,
    } });
    let data = world
        .gateway
        .call(&address, Auth::None, SIGN_UP, input)
        .await
        .data()?;
    let access = string(&data, &["signUp", "accessToken"])?;
    let refresh = string(&data, &["signUp", "refreshToken"]).ok();
    let me = world
        .gateway
        .call(&address, Auth::Bearer(&access), ME, json!({}))
        .await
        .data()?;
    let id = Uuid::try_parse(&string(&me, &["me", "id"])?).map_err(|_| "malformed:me.id")?;
    world.give_back(Account {
        id,
        email,
        address,
        access: Some(access),
        refresh,
        verified: false,
        totp: None,
        granted_partner: false,
        exported: false,
    });
    Ok(true)
}

async fn verify_email(world: &World) -> Done {
    let smtp = world.smtp.clone();
    with_account(
        world,
        move |a| !a.verified && signed_in(a) && smtp.verification_token(&a.email).is_some(),
        async |world, account| {
            let token = world
                .smtp
                .verification_token(&account.email)
                .ok_or("no-token")?;
            let data = as_person(world, account, VERIFY, json!({ "t": token }))
                .await
                .data()?;
            if data["verifyEmail"] == json!(true) {
                account.verified = true;
                Ok(())
            } else {
                Err("verifyEmail:false".to_owned())
            }
        },
    )
    .await
}

/// Logs `account` in with its password (and a TOTP code when it has a factor).
async fn log_in_account(world: &World, account: &mut Account) -> Result<(), String> {
    let data = world
        .gateway
        .call(
            &account.address,
            Auth::None,
            LOG_IN,
            json!({ "e": account.email, "p": PASSWORD }),
        )
        .await
        .data()?;
    let result = &data["logIn"];
    let session = match (result["__typename"].as_str(), account.totp.as_mut()) {
        (Some("AuthSession"), None) => result.clone(),
        (Some("MfaChallenge"), Some(factor)) => {
            let challenge = string(result, &["challenge"])?;
            let step = current_step().max(factor.last_step + 1);
            // The next step's code is accepted (one step of skew), a later one not yet.
            while step > current_step() + 1 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            factor.last_step = step;
            let code = code_at(&factor.secret, step);
            let data = world
                .gateway
                .call(
                    &account.address,
                    Auth::None,
                    COMPLETE,
                    json!({ "c": challenge, "k": code }),
                )
                .await
                .data()?;
            data["completeMfa"].clone()
        }
        (Some("AuthSession"), Some(_)) => return Err("mfa:not-asked".to_owned()),
        (Some("MfaChallenge"), None) => return Err("mfa:asked-without-factor".to_owned()),
        _ => return Err("malformed:logIn".to_owned()),
    };
    account.access = Some(string(&session, &["accessToken"])?);
    account.refresh = string(&session, &["refreshToken"]).ok();
    Ok(())
}

/// The TOTP code of `step`.
pub(crate) fn code_at(secret: &TotpSecret, step: u64) -> String {
    totp::generate(&TotpConfig::PRODUCTION, secret, step * 30).to_string()
}

/// Only a verified address logs in: until then the account's e-mail index is a placeholder
/// (sign-up answers the same whether or not the address is taken).
async fn log_in(world: &World) -> Done {
    with_account(world, |a| a.verified && a.totp.is_none(), log_in_account).await
}

async fn log_in_totp(world: &World) -> Done {
    // A code is accepted once: only a factor whose last code is from an earlier step (the
    // next step is within the accepted skew).
    let step = current_step();
    with_account(
        world,
        move |a| a.verified && a.totp.as_ref().is_some_and(|t| t.last_step < step + 1),
        log_in_account,
    )
    .await
}

async fn enrol_totp(world: &World) -> Done {
    with_account(
        world,
        |a| a.verified && a.totp.is_none() && signed_in(a),
        async |world, account| {
            let data = as_person(world, account, ENROL, json!({})).await.data()?;
            let text = string(&data, &["enrollTotp", "secret"])?;
            let secret = TotpSecret::from_bytes(&base32_decode(&text).ok_or("malformed:secret")?)
                .map_err(|_| "malformed:secret")?;
            let step = current_step();
            let confirmed = as_person(
                world,
                account,
                CONFIRM,
                json!({ "k": code_at(&secret, step) }),
            )
            .await
            .data()?;
            if confirmed["confirmTotp"]
                .as_array()
                .is_none_or(Vec::is_empty)
            {
                return Err("malformed:confirmTotp".to_owned());
            }
            account.totp = Some(Totp {
                secret,
                last_step: step,
            });
            Ok(())
        },
    )
    .await
}

/// Decodes base32 (RFC 4648, padding optional), as TOTP secrets are shown.
pub(crate) fn base32_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let index = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())?;
        value = (value << 5) | u32::try_from(index).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((value >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

async fn refresh(world: &World) -> Done {
    with_account(
        world,
        |a| a.refresh.is_some(),
        async |world, account| {
            let token = account.refresh.take().ok_or("no-refresh-token")?;
            let reply = world
                .gateway
                .call(&account.address, Auth::None, REFRESH, json!({ "r": token }))
                .await;
            let data = match reply {
                Reply::Data(data) => data,
                other => {
                    // The token may be spent: the session ends here for the harness.
                    account.access = None;
                    return Err(other.class());
                }
            };
            account.access = Some(string(&data, &["refreshSession", "accessToken"])?);
            account.refresh = string(&data, &["refreshSession", "refreshToken"]).ok();
            Ok(())
        },
    )
    .await
}

/// A generation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Image,
    Video,
}

async fn generate(world: &World, kind: Kind) -> Done {
    let provider = match world.below(3) {
        0 => json!("openai"),
        1 => json!("local"),
        _ => Value::Null,
    };
    with_account(
        world,
        move |a| signed_in(a) && (kind != Kind::Video || a.verified),
        async move |world, account| {
            let n = world.next_number();
            // Words of four letters or more: the provider never counts more prompt tokens
            // than the gateway reserves (one per four characters).
            let prompt = format!("soak request {n} about mountains rivers and forests");
            let prompt_tokens = i64::try_from(prompt.chars().count().div_ceil(4)).unwrap_or(0);
            let (query, input, reserved, field) = match kind {
                Kind::Text => (
                    TEXT,
                    json!({ "prompt": prompt, "maxTokens": MAX_TOKENS, "provider": provider }),
                    Amount {
                        tokens: MAX_TOKENS + prompt_tokens,
                        ..Amount::default()
                    },
                    "generateText",
                ),
                Kind::Image => (
                    IMAGE,
                    json!({ "prompt": prompt, "provider": provider }),
                    Amount {
                        images: 1,
                        ..Amount::default()
                    },
                    "generateImage",
                ),
                Kind::Video => (
                    VIDEO,
                    json!({ "prompt": prompt, "durationSeconds": VIDEO_SECONDS, "provider": "local" }),
                    Amount {
                        video_seconds: VIDEO_SECONDS,
                        ..Amount::default()
                    },
                    "generateVideo",
                ),
            };
            let started = Instant::now();
            let reply = as_person(world, account, query, json!({ "i": input })).await;
            let ended = Instant::now();
            let (answer, result) = match &reply {
                Reply::Data(data) => match string(data, &[field, "id"]).map(|id| Uuid::try_parse(&id)) {
                    Ok(Ok(id)) => (Answer::Acknowledged(id), Ok(())),
                    _ => (Answer::Unanswered, Err(format!("malformed:{field}"))),
                },
                other if other.is_unanswered() => (Answer::Unanswered, Err(other.class())),
                other => (Answer::Refused, Err(other.class())),
            };
            lock(&world.ledger).generations.push(SentGeneration {
                account: account.id,
                reserved,
                answer,
                video: kind == Kind::Video,
                started,
                ended,
            });
            result
        },
    )
    .await
}

async fn consent(world: &World) -> Done {
    let purpose = ["ANALYTICS", "MARKETING", "IMPROVEMENT"][world.below(3)];
    let granted = world.below(2) == 0;
    with_account(world, signed_in, async move |world, account| {
        let data = as_person(
            world,
            account,
            CONSENT,
            json!({ "p": purpose, "g": granted }),
        )
        .await
        .data()?;
        if data["setConsent"]["granted"] == json!(granted) {
            Ok(())
        } else {
            Err("setConsent:not-applied".to_owned())
        }
    })
    .await
}

async fn export(world: &World) -> Done {
    with_account(
        world,
        |a| signed_in(a) && !a.exported,
        async |world, account| {
            let data = as_person(world, account, EXPORT, json!({})).await.data()?;
            let id = Uuid::try_parse(&string(&data, &["requestDataExport", "id"])?)
                .map_err(|_| "malformed:id")?;
            account.exported = true;
            lock(&world.ledger).rights.push((id, "EXPORT"));
            Ok(())
        },
    )
    .await
}

async fn erasure(world: &World) -> Done {
    // The account leaves the pool for good: whatever the answer, it may be erased.
    let Some(mut account) = world.check_out(|a| signed_in(a) && !a.exported && a.totp.is_none())
    else {
        return Ok(false);
    };
    lock(&world.ledger).erased.insert(account.id);
    let data = as_person(world, &mut account, ERASE, json!({ "p": PASSWORD }))
        .await
        .data()?;
    let id = Uuid::try_parse(&string(&data, &["requestAccountDeletion", "id"])?)
        .map_err(|_| "malformed:id")?;
    lock(&world.ledger).rights.push((id, "ERASURE"));
    Ok(true)
}

async fn partner_read(world: &World) -> Done {
    let Some(partner) = lock(&world.partner).clone() else {
        return Ok(false);
    };
    with_account(world, signed_in, async move |world, account| {
        if !account.granted_partner {
            as_person(
                world,
                account,
                GRANT,
                json!({ "p": partner.id, "s": ["PROFILE"] }),
            )
            .await
            .data()?;
            account.granted_partner = true;
        }
        let data = world
            .gateway
            .call(
                PARTNER_ADDRESS,
                Auth::ApiKey(&partner.key),
                PARTNER_READ,
                json!({ "id": account.id.to_string() }),
            )
            .await
            .data()?;
        if data["partnerAccount"]["id"] == json!(account.id.to_string()) {
            Ok(())
        } else {
            Err("partnerAccount:another-person".to_owned())
        }
    })
    .await
}

async fn revoke_session(world: &World) -> Done {
    with_account(
        world,
        |a| a.verified && signed_in(a) && a.refresh.is_some(),
        async |world, account| {
            let access = account.access.clone().ok_or("no-session")?;
            let refresh = account.refresh.clone().ok_or("no-session")?;
            let data = as_person(world, account, LOG_OUT, json!({})).await.data()?;
            if data["logOut"] != json!(true) {
                return Err("logOut:false".to_owned());
            }
            world.revoked(Credential::AccessToken, access);
            world.revoked(Credential::RefreshToken, refresh);
            account.access = None;
            account.refresh = None;
            log_in_account(world, account).await
        },
    )
    .await
}

/// The admin's access token, logging in again (password, then a TOTP code of a step not
/// used before) when the session is no longer freshly authenticated.
pub(crate) async fn admin_token(world: &World) -> Result<String, String> {
    let mut admin = world.admin.lock().await;
    if let Some(token) = admin.access.clone()
        && Instant::now() < admin.fresh_until
    {
        return Ok(token);
    }
    let data = world
        .gateway
        .call(
            ADMIN_ADDRESS,
            Auth::None,
            LOG_IN,
            json!({ "e": admin.email, "p": PASSWORD }),
        )
        .await
        .data()?;
    let challenge = string(&data, &["logIn", "challenge"])?;
    let step = current_step().max(admin.totp.last_step + 1);
    if step > current_step() + 1 {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    admin.totp.last_step = step;
    let code = code_at(&admin.totp.secret, step);
    let data = world
        .gateway
        .call(
            ADMIN_ADDRESS,
            Auth::None,
            COMPLETE,
            json!({ "c": challenge, "k": code }),
        )
        .await
        .data()?;
    let token = string(&data, &["completeMfa", "accessToken"])?;
    admin.access = Some(token.clone());
    // Staff mutations want a second factor within five minutes; four to be safe.
    admin.fresh_until = Instant::now() + Duration::from_secs(240);
    Ok(token)
}

/// Sends an admin mutation; the session is renewed once if it is no longer fresh.
pub(crate) async fn as_admin(
    world: &World,
    query: &str,
    variables: Value,
) -> Result<Value, String> {
    for _ in 0..2 {
        let token = admin_token(world).await?;
        let reply = world
            .gateway
            .call(
                ADMIN_ADDRESS,
                Auth::Bearer(&token),
                query,
                variables.clone(),
            )
            .await;
        match reply {
            Reply::Error(code)
                if code == "REAUTHENTICATION_REQUIRED" || code == "UNAUTHENTICATED" =>
            {
                world.admin.lock().await.access = None;
            }
            other => return other.data(),
        }
    }
    Err("admin:not-fresh".to_owned())
}

async fn revoke_partner_key(world: &World) -> Done {
    // One rotation at a time: two would both revoke the key they both replaced.
    let _rotating = world.rotation.lock().await;
    let Some(partner) = lock(&world.partner).clone() else {
        return Ok(false);
    };
    let issued = as_admin(
        world,
        ISSUE_KEY,
        json!({ "p": partner.id, "s": ["PROFILE"] }),
    )
    .await?;
    let next = crate::world::Partner {
        id: partner.id.clone(),
        key: string(&issued, &["issuePartnerKey", "key"])?,
        key_id: string(&issued, &["issuePartnerKey", "id"])?,
    };
    *lock(&world.partner) = Some(next);
    let revoked = as_admin(world, REVOKE_KEY, json!({ "id": partner.key_id })).await?;
    if revoked["revokePartnerKey"] != json!(true) {
        return Err("revokePartnerKey:false".to_owned());
    }
    world.revoked(Credential::PartnerKey, partner.key);
    Ok(true)
}

async fn use_revoked(world: &World) -> Done {
    let Some(revoked) = world.some_revoked() else {
        return Ok(false);
    };
    let (auth, query, variables) = match revoked.credential {
        Credential::AccessToken => (Auth::Bearer(&revoked.secret), ME, json!({})),
        Credential::RefreshToken => (Auth::None, REFRESH, json!({ "r": revoked.secret })),
        Credential::PartnerKey => (Auth::ApiKey(&revoked.secret), PARTNERS, json!({})),
    };
    let reply = world
        .gateway
        .call(PROBE_ADDRESS, auth, query, variables)
        .await;
    let honoured = match &reply {
        Reply::Data(_) => true,
        Reply::Error(code) if code == "UNAUTHENTICATED" => false,
        // No answer, or refused for another reason: neither honoured nor shown refused.
        other => return Err(other.class()),
    };
    lock(&world.ledger).revoked_uses.push(RevokedUse {
        credential: revoked.credential,
        honoured,
    });
    if honoured {
        Err(format!("revoked-{:?}-honoured", revoked.credential))
    } else {
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_in_the_mix_once_with_a_name() {
        let mut seen = std::collections::HashSet::new();
        for (op, weight) in Op::MIX {
            assert!(seen.insert(*op), "{op:?} twice");
            assert!(*weight > 0, "{op:?}");
            assert!(!op.name().is_empty());
        }
        assert_eq!(seen.len(), 16);
    }

    #[test]
    fn totp_secrets_are_decoded_from_base32() {
        assert_eq!(
            base32_decode("MZXW6YTBOI======").as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(base32_decode("mzxw6ytboi").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(base32_decode("MZ1W"), None);
    }
}
