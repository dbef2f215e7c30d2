//! One template per [`NotificationKind`]: a subject, a plain-text part and an HTML part.
//!
//! Plain Rust functions rather than a template engine: each message is a few sentences,
//! `format!` checks every placeholder at compile time, and the HTML part is built from the
//! same paragraphs with every inserted value escaped. No message has an image, a tracking
//! pixel, a remote resource or a script; none carries the recipient's address or name. A
//! link goes only to the deployment's own public URL.

use icecone_core::campaign::paragraphs;
use secrecy::ExposeSecret;

use crate::notify::{CampaignMessage, NotificationKind};
use crate::policy_notice::Notice;
use crate::settings::PublicUrl;

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The `text/plain` part.
    pub text: String,
    /// The `text/html` part.
    pub html: String,
}

/// The path of the page a verification link opens.
pub const VERIFY_EMAIL_PATH: &str = "/verify-email";

/// The verification link for `token`: `{public_url}/verify-email?token=<token>`.
pub fn verification_link(public_url: &PublicUrl, token: &str) -> String {
    let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    public_url.join(&format!("{VERIFY_EMAIL_PATH}?token={token}"))
}

/// The path of the page a one-click unsubscribe link opens (and mail clients `POST` to).
pub const UNSUBSCRIBE_PATH: &str = "/unsubscribe";

/// The one-click unsubscribe link for `token`: `{public_url}/unsubscribe?token=<token>`.
pub fn unsubscribe_link(public_url: &PublicUrl, token: &str) -> String {
    let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    public_url.join(&format!("{UNSUBSCRIBE_PATH}?token={token}"))
}

/// A paragraph of a message: text, a link with its label, or someone's words quoted as
/// they wrote them (line breaks kept).
enum Block {
    Text(String),
    Link { label: &'static str, url: String },
    Quote(String),
}

/// Renders the message of `kind`. `payload` is what the notification carries (see
/// [`crate::notify::Notification::token`]); `campaign`, a campaign's subject and text (the
/// delivery task hands a campaign's kinds over only with one).
pub fn render(
    kind: NotificationKind,
    payload: Option<&str>,
    campaign: Option<&CampaignMessage>,
    public_url: &PublicUrl,
) -> Rendered {
    let text = |s: &str| Block::Text(s.to_owned());
    let sign_in = Block::Link {
        label: "Open IceCone",
        url: public_url.join("/"),
    };
    let not_you =
        text("If this was not you, change your password and turn on a second factor at once.");
    let campaign_subject = campaign.map(|campaign| campaign.subject.clone());
    let campaign_text = |campaign: Option<&CampaignMessage>| -> Vec<Block> {
        campaign
            .map(|campaign| paragraphs(&campaign.text).map(text).collect())
            .unwrap_or_default()
    };
    let (subject, blocks): (&str, Vec<Block>) = match kind {
        NotificationKind::VerifyEmail => (
            "Confirm your e-mail address for IceCone",
            vec![
                text("Please confirm that this address is yours to finish signing up for IceCone."),
                Block::Link {
                    label: "Confirm my address",
                    url: verification_link(public_url, payload.unwrap_or_default()),
                },
                text(
                    "If you did not sign up, ignore this message: nothing happens without the confirmation.",
                ),
            ],
        ),
        NotificationKind::VerifyNewEmail => (
            "Confirm your new e-mail address for IceCone",
            vec![
                text(
                    "You asked to change the e-mail address of your IceCone account to this one. Please confirm it.",
                ),
                Block::Link {
                    label: "Confirm my new address",
                    url: verification_link(public_url, payload.unwrap_or_default()),
                },
                text(
                    "If you did not ask for this, ignore this message: the address is not changed without the confirmation.",
                ),
            ],
        ),
        NotificationKind::NewSignIn => (
            "New sign-in to your IceCone account",
            vec![
                text("Your IceCone account was just signed in to."),
                not_you,
                sign_in,
            ],
        ),
        NotificationKind::MfaChanged => (
            "Your IceCone second factor was changed",
            vec![
                text("A second factor was turned on or off for your IceCone account."),
                not_you,
                sign_in,
            ],
        ),
        NotificationKind::PasswordChanged => (
            "Your IceCone password was changed",
            vec![
                text("The password of your IceCone account was changed."),
                not_you,
                sign_in,
            ],
        ),
        NotificationKind::SignUpAttempt => (
            "Someone tried to sign up to IceCone with your address",
            vec![
                text(
                    "Someone tried to create an IceCone account with this address, which already has one. No new account was made.",
                ),
                text(
                    "If it was you, sign in to your existing account instead; if not, you need do nothing.",
                ),
                sign_in,
            ],
        ),
        NotificationKind::AccountSuspended => (
            "Your IceCone account was suspended",
            vec![
                text(
                    "Your IceCone account was suspended by IceCone's staff. You cannot sign in while it is suspended.",
                ),
                text(
                    "Reply to IceCone's support or write to our Data Protection Officer if you think this is a mistake.",
                ),
            ],
        ),
        NotificationKind::ProductNews => {
            let mut blocks = campaign_text(campaign);
            blocks.push(text(
                "You receive this because you agreed to hear about IceCone's products. You can withdraw that at any time: one click on the link below is enough, no sign-in needed.",
            ));
            if let Some(token) = campaign.and_then(|campaign| campaign.unsubscribe.as_ref()) {
                blocks.push(Block::Link {
                    label: "Unsubscribe from IceCone's product news",
                    url: unsubscribe_link(public_url, token.expose_secret()),
                });
            }
            (
                campaign_subject.as_deref().unwrap_or("News from IceCone"),
                blocks,
            )
        }
        NotificationKind::ServiceAnnouncement => {
            let mut blocks = campaign_text(campaign);
            blocks.push(text(
                "You receive this service announcement because you have an IceCone account: it is about the service we provide to you under our terms, so every account holder gets it and it has no unsubscribe link. We send no advertising this way.",
            ));
            blocks.push(sign_in);
            (
                campaign_subject
                    .as_deref()
                    .unwrap_or("A service announcement from IceCone"),
                blocks,
            )
        }
        NotificationKind::DataRequestExtended => (
            "We need more time for your data request",
            vec![
                text(
                    "We need more time to answer your data protection request, as the law allows for complex requests. Our reason:",
                ),
                Block::Text(payload.unwrap_or_default().to_owned()),
                text("You can follow the request in your account's privacy settings."),
                sign_in,
            ],
        ),
        NotificationKind::DataExportReady => (
            "Your IceCone data export is ready",
            vec![
                text(
                    "The copy of your data you asked for is ready. Sign in and download it from your privacy settings; the download works once and expires.",
                ),
                sign_in,
            ],
        ),
        NotificationKind::AccountDeletionRequested => (
            "Your IceCone account will be deleted",
            vec![
                text(
                    "You asked us to delete your IceCone account. It will be deleted after a short grace period; until then you can cancel the deletion in your account's privacy settings.",
                ),
                sign_in,
            ],
        ),
        NotificationKind::PrivacyTicketAnswered => {
            // The payload is `<ticket id>\n<reply>`. The ticket's own subject is not
            // repeated: it is the sender's free text, and the reference identifies it.
            let (reference, reply) = payload
                .unwrap_or_default()
                .split_once('\n')
                .unwrap_or_default();
            (
                "Our Data Protection Officer answered your message",
                vec![
                    Block::Text(format!(
                        "IceCone's Data Protection Officer answered the message you sent us (reference {reference}):"
                    )),
                    Block::Quote(reply.to_owned()),
                    text(
                        "To write again, use the contact form of our privacy page and quote the reference.",
                    ),
                ],
            )
        }
        NotificationKind::BillingRecordsKept => (
            "Your invoices are kept as tax law requires",
            vec![
                text(
                    "You asked us to delete your IceCone account. Everything will be deleted except the records of your invoices: tax and commercial law oblige us to keep accounting records for a statutory period (GDPR Art. 17(3)(b)). We keep only what that law needs: each invoice's number, amount, currency, date and status, without any link to your account. Your customer record at our payment provider, Stripe, is deleted.",
                ),
                Block::Text(format!(
                    "The invoice records are deleted {} after each invoice was issued.",
                    payload.unwrap_or_default()
                )),
                text("Our Data Protection Officer can tell you more."),
            ],
        ),
        NotificationKind::ErasureHeld => (
            "The deletion of your IceCone account is on hold",
            vec![
                text(
                    "We cannot delete your account yet: the law obliges us to keep some of your data for now. The grounds:",
                ),
                Block::Text(payload.unwrap_or_default().replace(',', ", ")),
                text(
                    "Everything else is deleted as soon as the hold ends. Our Data Protection Officer can tell you more.",
                ),
            ],
        ),
        NotificationKind::LegalDisclosure => (
            "IceCone disclosed some of your data as required by law",
            vec![
                Block::Text(format!(
                    "As the law required, IceCone disclosed some of your data to an authority (reference {}).",
                    payload.unwrap_or_default()
                )),
                text(
                    "Which authority asked, on what legal basis and for which data is listed under the disclosures of your account and in your data export.",
                ),
                text(
                    "Our Data Protection Officer can tell you more, and you may complain to a supervisory authority.",
                ),
            ],
        ),
        NotificationKind::SubprocessorsChanged => (
            "IceCone's subprocessors are changing",
            subprocessors_changed(
                payload.and_then(crate::subprocessors::Notice::parse),
                Block::Link {
                    label: "See who processes your data",
                    url: public_url.join("/privacy"),
                },
            ),
        ),
        NotificationKind::PolicyChanged => (
            "IceCone's privacy policy has changed",
            policy_changed(
                payload.and_then(Notice::parse),
                sign_in_to_review(public_url),
            ),
        ),
    };
    Rendered {
        subject: subject.to_owned(),
        text: plain(&blocks),
        html: html(subject, &blocks),
    }
}

fn sign_in_to_review(public_url: &PublicUrl) -> Block {
    Block::Link {
        label: "Review your privacy settings",
        url: public_url.join("/"),
    }
}

/// The paragraphs of a subprocessors notice: when the change takes effect and who is
/// added, removed or changed.
fn subprocessors_changed(notice: Option<crate::subprocessors::Notice>, page: Block) -> Vec<Block> {
    let text = |s: &str| Block::Text(s.to_owned());
    let Some(notice) = notice else {
        return vec![
            text("The companies that process your data on IceCone's behalf are changing."),
            page,
        ];
    };
    let mut blocks = vec![Block::Text(format!(
        "The companies that process your data on IceCone's behalf (our subprocessors) change on {} (UTC). Each is bound by a data protection agreement.",
        notice.takes_effect_on.format("%Y-%m-%d")
    ))];
    for (label, names) in [
        ("New", &notice.added),
        ("No longer used", &notice.removed),
        ("What they do or where has changed", &notice.changed),
    ] {
        if !names.is_empty() {
            blocks.push(Block::Text(format!("{label}: {}", names.join(", "))));
        }
    }
    blocks.push(text(
        "If you object to the change, you may object to processing or delete your account before that day.",
    ));
    blocks.push(page);
    blocks
}

/// The paragraphs of a policy-change notice: what each version changed, the consents to
/// give again (or that none are needed), and where to do it.
fn policy_changed(notice: Option<Notice>, review: Block) -> Vec<Block> {
    let text = |s: &str| Block::Text(s.to_owned());
    let Some(notice) = notice else {
        // A payload this version cannot read: no claim about what changed or what counts.
        return vec![
            text("We have changed IceCone's privacy policy."),
            text(
                "Please review your privacy settings: a consent you gave may need to be given again.",
            ),
            review,
        ];
    };
    let mut blocks = vec![text(
        "We have changed IceCone's privacy policy. What changed, by version (each named after the day it took effect):",
    )];
    for version in &notice.versions {
        blocks.push(Block::Text(format!(
            "Version {}: {}",
            version.version, version.summary
        )));
    }
    let renew = notice.purposes_to_renew();
    if renew.is_empty() {
        blocks.push(text(
            "The choices you made about your data still count under the new version: you need do nothing.",
        ));
    } else {
        blocks.push(text(
            "The new version changed what these purposes cover, so the consent you gave to them no longer counts. Until you give it again, we do not process your data for them:",
        ));
        for purpose in renew {
            blocks.push(Block::Text(format!(
                "{}: {}",
                purpose.as_str(),
                purpose.description()
            )));
        }
        blocks.push(text(
            "You can give them again, or leave them off, in your privacy settings.",
        ));
    }
    blocks.push(review);
    blocks.push(text(
        "We send this to every account because the law requires us to tell you how your data is processed, even if you restricted processing or asked not to receive marketing.",
    ));
    blocks
}

fn plain(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Text(text) => out.push_str(text),
            Block::Link { label, url } => {
                out.push_str(label);
                out.push_str(":\n");
                out.push_str(url);
            }
            Block::Quote(quoted) => {
                for (n, line) in quoted.lines().enumerate() {
                    if n > 0 {
                        out.push('\n');
                    }
                    out.push_str("> ");
                    out.push_str(line);
                }
            }
        }
        out.push_str("\n\n");
    }
    out.push_str("-- \nIceCone\n");
    out
}

fn html(subject: &str, blocks: &[Block]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n",
        escape(subject)
    );
    for block in blocks {
        match block {
            Block::Text(text) => out.push_str(&format!("<p>{}</p>\n", escape(text))),
            Block::Link { label, url } => out.push_str(&format!(
                "<p><a href=\"{}\">{}</a></p>\n",
                escape(url),
                escape(label)
            )),
            Block::Quote(quoted) => {
                let lines: Vec<String> = quoted.lines().map(escape).collect();
                out.push_str(&format!(
                    "<blockquote><p>{}</p></blockquote>\n",
                    lines.join("<br>\n")
                ));
            }
        }
    }
    out.push_str("<p>&#8212;<br>IceCone</p>\n</body>\n</html>\n");
    out
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PublicUrl {
        PublicUrl::parse("https://icecone.example").expect("url")
    }

    fn campaign() -> CampaignMessage {
        CampaignMessage {
            subject: "New <models> & more".to_owned(),
            text: "First paragraph,\nstill first.\n\n<b>Second</b> & last.".to_owned(),
            unsubscribe: Some(secrecy::SecretString::from("tok-en_1")),
        }
    }

    #[test]
    fn a_disclosure_notice_gives_its_reference_and_where_to_read_more() {
        let rendered = render(
            NotificationKind::LegalDisclosure,
            Some("5f0e-ref"),
            None,
            &base(),
        );
        assert_eq!(
            rendered.subject,
            "IceCone disclosed some of your data as required by law"
        );
        assert!(
            rendered
                .text
                .starts_with("As the law required, IceCone disclosed some of your data to an authority (reference 5f0e-ref).\n\n"),
            "{}",
            rendered.text
        );
        assert!(rendered.html.contains("disclosures of your account"));
    }

    #[test]
    fn every_kind_has_a_subject_both_parts_and_nothing_remote_but_its_own_links() {
        for kind in NotificationKind::ALL {
            let rendered = render(kind, Some("payload"), Some(&campaign()), &base());
            assert!(!rendered.subject.is_empty(), "{kind:?}");
            assert!(rendered.text.len() > 40, "{kind:?}");
            assert!(rendered.html.starts_with("<!DOCTYPE html>"), "{kind:?}");
            for forbidden in ["<img", "<script", "src=", "<link", "url(", "@import"] {
                assert!(!rendered.html.contains(forbidden), "{kind:?}: {forbidden}");
            }
            for href in rendered.html.split("href=\"").skip(1) {
                assert!(
                    href.starts_with("https://icecone.example/"),
                    "{kind:?}: {href}"
                );
            }
        }
    }

    #[test]
    fn a_verification_mail_carries_its_link_in_both_parts() {
        for kind in [
            NotificationKind::VerifyEmail,
            NotificationKind::VerifyNewEmail,
        ] {
            let rendered = render(kind, Some("abc+/="), None, &base());
            let link = "https://icecone.example/verify-email?token=abc%2B%2F%3D";
            assert!(rendered.text.contains(link), "{}", rendered.text);
            assert!(
                rendered.html.contains(&format!("href=\"{link}\"")),
                "{}",
                rendered.html
            );
        }
    }

    #[test]
    fn a_reply_of_the_dpo_is_quoted_line_by_line_with_its_reference_and_escaped_in_html() {
        let rendered = render(
            NotificationKind::PrivacyTicketAnswered,
            Some("0f0e-ref\nDear sender,\nwe keep <nothing> & more."),
            None,
            &base(),
        );
        assert_eq!(
            rendered.subject,
            "Our Data Protection Officer answered your message"
        );
        assert!(
            rendered.text.contains(
                "(reference 0f0e-ref):\n\n> Dear sender,\n> we keep <nothing> & more.\n\n"
            ),
            "{}",
            rendered.text
        );
        assert!(
            rendered.html.contains(
                "<blockquote><p>Dear sender,<br>\nwe keep &lt;nothing&gt; &amp; more.</p></blockquote>"
            ),
            "{}",
            rendered.html
        );
        assert!(rendered.html.contains("(reference 0f0e-ref):"));
    }

    #[test]
    fn inserted_text_is_escaped_in_the_html_part() {
        let rendered = render(
            NotificationKind::DataRequestExtended,
            Some("<b>a & b</b>"),
            None,
            &base(),
        );
        assert!(
            rendered.html.contains("&lt;b&gt;a &amp; b&lt;/b&gt;"),
            "{}",
            rendered.html
        );
        assert!(rendered.text.contains("<b>a & b</b>"));
    }

    #[test]
    fn a_policy_notice_names_each_version_and_only_the_consents_this_version_knows() {
        use crate::policy_notice::{Notice, NoticeVersion};
        let notice = Notice {
            versions: vec![
                NoticeVersion {
                    version: "2027-01-01".to_owned(),
                    summary: "<b>Partners</b> & offers".to_owned(),
                },
                NoticeVersion {
                    version: "2027-02-01".to_owned(),
                    summary: "Wording".to_owned(),
                },
            ],
            renew: vec!["ANALYTICS".to_owned(), "NOT_A_PURPOSE".to_owned()],
        };
        let rendered = render(
            NotificationKind::PolicyChanged,
            Some(&notice.to_payload()),
            None,
            &base(),
        );
        assert_eq!(Notice::parse(&notice.to_payload()), Some(notice));
        assert!(rendered.text.contains(
            "Version 2027-01-01: <b>Partners</b> & offers\n\nVersion 2027-02-01: Wording"
        ));
        assert!(
            rendered
                .html
                .contains("<p>Version 2027-01-01: &lt;b&gt;Partners&lt;/b&gt; &amp; offers</p>")
        );
        assert!(
            rendered
                .text
                .contains("ANALYTICS: To understand how the service is used")
        );
        assert!(!rendered.text.contains("NOT_A_PURPOSE"));
        // An unreadable payload still says the policy changed, and claims nothing more.
        let bare = render(NotificationKind::PolicyChanged, Some("{"), None, &base());
        assert!(
            bare.text
                .contains("We have changed IceCone's privacy policy")
        );
        assert!(bare.text.contains("may need to be given again"));
        assert!(!bare.text.contains("you need do nothing"));
    }
}

#[cfg(test)]
mod subprocessors_tests {
    use super::*;
    use crate::subprocessors::Notice;

    #[test]
    fn a_subprocessors_notice_names_the_day_and_each_change_escaped() {
        let notice = Notice {
            version: 2,
            takes_effect_on: chrono::NaiveDate::from_ymd_opt(2027, 1, 6).expect("a day"),
            added: vec!["Post<mark> & Co".to_owned()],
            removed: vec!["Old Mail".to_owned()],
            changed: vec![],
        };
        let base = PublicUrl::parse("https://icecone.example").expect("a URL");
        let rendered = render(
            NotificationKind::SubprocessorsChanged,
            Some(&notice.to_payload()),
            None,
            &base,
        );
        assert_eq!(rendered.subject, "IceCone's subprocessors are changing");
        assert!(
            rendered.text.contains("change on 2027-01-06 (UTC)"),
            "{}",
            rendered.text
        );
        assert!(rendered.text.contains("New: Post<mark> & Co"));
        assert!(rendered.text.contains("No longer used: Old Mail"));
        assert!(
            !rendered.text.contains("has changed:"),
            "no empty line for no change"
        );
        assert!(rendered.html.contains("New: Post&lt;mark&gt; &amp; Co"));
        assert!(rendered.text.contains("https://icecone.example/privacy"));
        let bare = render(
            NotificationKind::SubprocessorsChanged,
            Some("{"),
            None,
            &base,
        );
        assert!(bare.text.contains("are changing"));
        assert!(!bare.text.contains("(UTC)"));
    }
}

#[cfg(test)]
mod campaign_tests {
    use super::*;
    use secrecy::SecretString;

    fn base() -> PublicUrl {
        PublicUrl::parse("https://icecone.example").expect("url")
    }

    fn campaign(unsubscribe: Option<&str>) -> CampaignMessage {
        CampaignMessage {
            subject: "New <models> & more".to_owned(),
            text: "First paragraph,\nstill first.\n\n<b>Second</b> & last.".to_owned(),
            unsubscribe: unsubscribe.map(SecretString::from),
        }
    }

    #[test]
    fn product_news_carries_the_campaign_escaped_and_a_visible_unsubscribe_link_in_both_parts() {
        let rendered = render(
            NotificationKind::ProductNews,
            None,
            Some(&campaign(Some("tok-en_1"))),
            &base(),
        );
        assert_eq!(rendered.subject, "New <models> & more");
        assert!(
            rendered
                .text
                .starts_with("First paragraph,\nstill first.\n\n<b>Second</b> & last.\n\n"),
            "{}",
            rendered.text
        );
        assert!(
            rendered
                .html
                .contains("<title>New &lt;models&gt; &amp; more</title>"),
            "{}",
            rendered.html
        );
        assert!(
            rendered
                .html
                .contains("<p>&lt;b&gt;Second&lt;/b&gt; &amp; last.</p>"),
            "{}",
            rendered.html
        );
        assert!(!rendered.html.contains("<b>"), "{}", rendered.html);
        let link = "https://icecone.example/unsubscribe?token=tok-en_1";
        assert!(
            rendered
                .text
                .contains(&format!("Unsubscribe from IceCone's product news:\n{link}")),
            "{}",
            rendered.text
        );
        assert!(
            rendered.html.contains(&format!(
                "<a href=\"{link}\">Unsubscribe from IceCone&#39;s product news</a>"
            )),
            "{}",
            rendered.html
        );
        assert!(
            rendered
                .text
                .contains("agreed to hear about IceCone's products")
        );
    }

    #[test]
    fn a_service_announcement_says_why_it_is_sent_and_has_no_unsubscribe_link() {
        let rendered = render(
            NotificationKind::ServiceAnnouncement,
            None,
            Some(&campaign(None)),
            &base(),
        );
        assert_eq!(rendered.subject, "New <models> & more");
        assert!(
            rendered
                .text
                .contains("because you have an IceCone account"),
            "{}",
            rendered.text
        );
        assert!(!rendered.text.contains("/unsubscribe"), "{}", rendered.text);
        assert!(!rendered.html.contains("/unsubscribe"), "{}", rendered.html);
    }
}
