//! Usage metering and quotas: what a generation costs, what a person's plan allows per
//! period, and the one decision of whether a request may still start.
//!
//! Periods are calendar months in UTC. Text is metered in tokens, images one by one and
//! video in seconds. Every request reserves what it may cost before it is sent — an image,
//! the video's seconds, or a text's `maxTokens` plus an estimate of its prompt — so that
//! concurrent requests cannot pass the quota together; a text is settled afterwards to the
//! tokens the provider counted.

use chrono::{Datelike, NaiveDate};

use crate::provider::adapter::{GenerationRequest, Output, TokenUsage};

/// Amounts of metered resources: what was used in a period, or what one request costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Text tokens, prompt and completion together.
    pub tokens: u64,
    /// Images generated.
    pub images: u64,
    /// Seconds of video generated.
    pub video_seconds: u64,
}

impl Usage {
    /// Component-wise sum, saturating.
    pub fn plus(self, other: Self) -> Self {
        Self {
            tokens: self.tokens.saturating_add(other.tokens),
            images: self.images.saturating_add(other.images),
            video_seconds: self.video_seconds.saturating_add(other.video_seconds),
        }
    }

    /// Component-wise difference, never below zero.
    pub fn minus(self, other: Self) -> Self {
        Self {
            tokens: self.tokens.saturating_sub(other.tokens),
            images: self.images.saturating_sub(other.images),
            video_seconds: self.video_seconds.saturating_sub(other.video_seconds),
        }
    }

    /// What a request reserves before it is sent: one image, the video's seconds, or a
    /// text's `max_tokens` (the pipeline fills in the configured default before it asks)
    /// plus [`prompt_token_estimate`] of its prompt.
    pub fn reserved_for(request: &GenerationRequest) -> Self {
        match request {
            GenerationRequest::Text(text) => Self {
                tokens: u64::from(text.max_tokens.unwrap_or(0))
                    .saturating_add(prompt_token_estimate(text.prompt.as_str())),
                ..Self::default()
            },
            GenerationRequest::Image(_) => Self {
                images: 1,
                ..Self::default()
            },
            GenerationRequest::Video(video) => Self {
                video_seconds: u64::from(video.duration_seconds),
                ..Self::default()
            },
        }
    }

    /// What a text answer used: its prompt and completion tokens as the provider counted
    /// them. Media answers count nothing here (their reservation is their cost).
    pub fn metered_from(output: &Output) -> Self {
        match output {
            Output::Text {
                usage:
                    TokenUsage {
                        prompt_tokens,
                        completion_tokens,
                    },
                ..
            } => Self {
                tokens: u64::from(*prompt_tokens) + u64::from(*completion_tokens),
                ..Self::default()
            },
            Output::Media { .. } => Self::default(),
        }
    }

    /// What `request` answered with `output` costs in the end: a text what the provider
    /// counted, media what was reserved.
    pub fn charged(request: &GenerationRequest, output: &Output) -> Self {
        match request {
            GenerationRequest::Text(_) => Self::metered_from(output),
            GenerationRequest::Image(_) | GenerationRequest::Video(_) => {
                Self::reserved_for(request)
            }
        }
    }
}

/// How many tokens a prompt is reserved as: one per four characters, rounded up (the
/// usual rate of English text). A text's reservation is settled to the provider's count,
/// so an estimate off by some tokens moves the quota by no more than that.
pub fn prompt_token_estimate(prompt: &str) -> u64 {
    u64::try_from(prompt.chars().count().div_ceil(4)).unwrap_or(u64::MAX)
}

/// The most an account whose e-mail address is not verified may use per period, whatever
/// its plan: a taste of text and images, no video. Verifying lifts it.
pub const UNVERIFIED_CEILING: Quota = Quota {
    tokens: 4_000,
    images: 2,
    video_seconds: 0,
};

/// What a plan allows per period. `0` allows nothing of that resource (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quota {
    /// Text tokens per period.
    pub tokens: u64,
    /// Images per period.
    pub images: u64,
    /// Seconds of video per period.
    pub video_seconds: u64,
}

impl Quota {
    /// Component-wise the smaller of this quota and `ceiling`.
    pub fn capped_by(self, ceiling: Self) -> Self {
        Self {
            tokens: self.tokens.min(ceiling.tokens),
            images: self.images.min(ceiling.images),
            video_seconds: self.video_seconds.min(ceiling.video_seconds),
        }
    }

    /// The quota as the most each counter may reach: the ceiling of a reservation.
    pub fn as_ceiling(self) -> Usage {
        Usage {
            tokens: self.tokens,
            images: self.images,
            video_seconds: self.video_seconds,
        }
    }
}

/// The plan an account is on, which sets its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Plan {
    /// The plan every account starts on.
    #[default]
    Free,
    /// The paid plan.
    Pro,
}

/// A stored plan name this version does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown plan")]
pub struct UnknownPlan;

impl Plan {
    /// Every plan.
    pub const ALL: [Self; 2] = [Self::Free, Self::Pro];

    /// The stored and published name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "FREE",
            Self::Pro => "PRO",
        }
    }

    /// The plan named `text`.
    pub fn parse(text: &str) -> Result<Self, UnknownPlan> {
        Self::ALL
            .into_iter()
            .find(|plan| plan.as_str() == text)
            .ok_or(UnknownPlan)
    }
}

/// Every plan's quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plans {
    /// The `FREE` plan's quota.
    pub free: Quota,
    /// The `PRO` plan's quota.
    pub pro: Quota,
}

impl Plans {
    /// The quota of `plan`.
    pub fn quota(&self, plan: Plan) -> Quota {
        match plan {
            Plan::Free => self.free,
            Plan::Pro => self.pro,
        }
    }

    /// The quota of an account on `plan`: the plan's, capped by [`UNVERIFIED_CEILING`]
    /// while its e-mail address is not verified.
    pub fn quota_for(&self, plan: Plan, verified: bool) -> Quota {
        let quota = self.quota(plan);
        if verified {
            return quota;
        }
        quota.capped_by(UNVERIFIED_CEILING)
    }
}

/// A metered resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Text tokens.
    Tokens,
    /// Images.
    Images,
    /// Seconds of video.
    VideoSeconds,
}

impl Resource {
    /// The resource a request is limited by.
    pub fn of(request: &GenerationRequest) -> Self {
        match request {
            GenerationRequest::Text(_) => Self::Tokens,
            GenerationRequest::Image(_) => Self::Images,
            GenerationRequest::Video(_) => Self::VideoSeconds,
        }
    }

    /// The resource in words, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tokens => "text tokens",
            Self::Images => "images",
            Self::VideoSeconds => "video seconds",
        }
    }
}

/// The request would go beyond the period's quota of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the quota of {} for this period is used up", .resource.as_str())]
pub struct QuotaExceeded {
    /// The resource that is used up.
    pub resource: Resource,
}

/// Whether `request` may start for a person who used `usage` of `quota` this period: what
/// it reserves must fit whole (`used + reserved <= quota`).
pub fn check(
    quota: &Quota,
    usage: &Usage,
    request: &GenerationRequest,
) -> Result<(), QuotaExceeded> {
    let cost = Usage::reserved_for(request);
    let fits = |used: u64, cost: u64, allowed: u64| used.saturating_add(cost) <= allowed;
    let resource = Resource::of(request);
    let ok = match resource {
        Resource::Tokens => fits(usage.tokens, cost.tokens, quota.tokens),
        Resource::Images => fits(usage.images, cost.images, quota.images),
        Resource::VideoSeconds => {
            fits(usage.video_seconds, cost.video_seconds, quota.video_seconds)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(QuotaExceeded { resource })
    }
}

/// A metering period: a calendar month in UTC, written `YYYY-MM`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period(String);

impl Period {
    /// The period `date` falls in.
    pub fn of(date: NaiveDate) -> Self {
        Self(format!("{:04}-{:02}", date.year(), date.month()))
    }

    /// The period as stored, `YYYY-MM`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_plan_has_its_own_quota_and_a_stable_name() {
        let quota = |n| Quota {
            tokens: n,
            images: n,
            video_seconds: n,
        };
        let plans = Plans {
            free: quota(1),
            pro: quota(9),
        };
        for (plan, name, expected) in [(Plan::Free, "FREE", 1), (Plan::Pro, "PRO", 9)] {
            assert_eq!(plan.as_str(), name);
            assert_eq!(Plan::parse(name), Ok(plan));
            assert_eq!(plans.quota(plan), quota(expected));
        }
        assert_eq!(Plan::default(), Plan::Free);
        assert_eq!(Plan::parse("free"), Err(UnknownPlan));
        // A request that the free quota refuses starts on the pro plan.
        let used = Usage {
            images: 1,
            ..Usage::default()
        };
        let image = GenerationRequest::Image(ImageRequest {
            prompt: Prompt::parse("a fox").expect("valid"),
            size: ImageSize::Square,
        });
        assert!(check(&plans.quota(Plan::Free), &used, &image).is_err());
        assert!(check(&plans.quota(Plan::Pro), &used, &image).is_ok());
    }
    use crate::provider::adapter::{ImageRequest, ImageSize, Prompt, TextRequest, VideoRequest};

    /// A text of six characters (two tokens estimated) that may answer with 20 tokens.
    fn text() -> GenerationRequest {
        GenerationRequest::Text(TextRequest {
            prompt: Prompt::parse("a poem").expect("valid"),
            max_tokens: Some(20),
        })
    }

    fn image() -> GenerationRequest {
        GenerationRequest::Image(ImageRequest {
            prompt: Prompt::parse("a fox").expect("valid"),
            size: ImageSize::Square,
        })
    }

    fn video(seconds: u32) -> GenerationRequest {
        GenerationRequest::Video(VideoRequest {
            prompt: Prompt::parse("waves").expect("valid"),
            image: None,
            duration_seconds: seconds,
        })
    }

    fn used(tokens: u64, images: u64, video_seconds: u64) -> Usage {
        Usage {
            tokens,
            images,
            video_seconds,
        }
    }

    const QUOTA: Quota = Quota {
        tokens: 100,
        images: 2,
        video_seconds: 10,
    };

    fn check_case(usage: Usage, request: GenerationRequest, expected: Option<Resource>) {
        assert_eq!(
            check(&QUOTA, &usage, &request).err().map(|e| e.resource),
            expected,
            "{usage:?} {request:?}"
        );
    }

    #[test]
    fn a_request_starts_only_while_its_resource_is_left() {
        use Resource::{Images, Tokens, VideoSeconds};
        let cases = [
            (used(0, 0, 0), text(), None),
            (used(78, 0, 0), text(), None),
            (used(79, 0, 0), text(), Some(Tokens)),
            (used(100, 0, 0), text(), Some(Tokens)),
            (used(250, 0, 0), text(), Some(Tokens)),
            // Other resources used up do not stop text.
            (used(0, 2, 10), text(), None),
            (used(0, 1, 0), image(), None),
            (used(0, 2, 0), image(), Some(Images)),
            (used(100, 0, 10), image(), None),
            (used(0, 0, 6), video(4), None),
            (used(0, 0, 7), video(4), Some(VideoSeconds)),
            (used(0, 0, 0), video(11), Some(VideoSeconds)),
            (used(u64::MAX, u64::MAX, u64::MAX), image(), Some(Images)),
        ];
        for (usage, request, expected) in cases {
            check_case(usage, request, expected);
        }
        let nothing = Quota {
            tokens: 0,
            images: 0,
            video_seconds: 0,
        };
        for request in [text(), image(), video(1)] {
            assert!(check(&nothing, &Usage::default(), &request).is_err());
        }
    }

    #[test]
    fn prompts_are_reserved_at_one_token_per_four_characters() {
        // (prompt, tokens)
        let cases = [("", 0), ("a", 1), ("four", 1), ("fives", 2), ("éééé", 1)];
        for (prompt, tokens) in cases {
            assert_eq!(prompt_token_estimate(prompt), tokens, "{prompt:?}");
        }
        assert_eq!(prompt_token_estimate(&"x".repeat(32_000)), 8_000);
    }

    #[test]
    fn an_unverified_account_gets_its_plan_capped_by_the_unverified_ceiling() {
        let plans = Plans {
            free: Quota {
                tokens: 50_000,
                images: 1,
                video_seconds: 60,
            },
            pro: Quota {
                tokens: 1_000_000,
                images: 500,
                video_seconds: 1_800,
            },
        };
        // (plan, verified, quota)
        let cases = [
            (Plan::Free, true, plans.free),
            (Plan::Pro, true, plans.pro),
            (
                Plan::Free,
                false,
                Quota {
                    tokens: 4_000,
                    images: 1,
                    video_seconds: 0,
                },
            ),
            (Plan::Pro, false, UNVERIFIED_CEILING),
        ];
        for (plan, verified, quota) in cases {
            assert_eq!(
                plans.quota_for(plan, verified),
                quota,
                "{plan:?} {verified}"
            );
        }
    }

    #[test]
    fn usage_adds_and_subtracts_component_wise_without_wrapping() {
        assert_eq!(used(5, 1, 10).plus(used(2, 3, 4)), used(7, 4, 14));
        assert_eq!(used(5, 1, 10).minus(used(2, 3, 4)), used(3, 0, 6));
        assert_eq!(
            used(u64::MAX, 0, 0).plus(used(1, 0, 0)),
            used(u64::MAX, 0, 0)
        );
    }

    #[test]
    fn reservations_and_metering_count_what_each_kind_costs() {
        assert_eq!(Usage::reserved_for(&text()), used(22, 0, 0));
        assert_eq!(Usage::reserved_for(&image()), used(0, 1, 0));
        assert_eq!(Usage::reserved_for(&video(3)), used(0, 0, 3));
        let answer = Output::Text {
            text: "words".to_owned(),
            usage: TokenUsage {
                prompt_tokens: 7,
                completion_tokens: 5,
            },
        };
        assert_eq!(Usage::metered_from(&answer), used(12, 0, 0));
        let picture = Output::Media {
            bytes: vec![1],
            mime_type: "image/png",
        };
        assert_eq!(Usage::metered_from(&picture), used(0, 0, 0));
        assert_eq!(Usage::charged(&text(), &answer), used(12, 0, 0));
        assert_eq!(Usage::charged(&image(), &picture), used(0, 1, 0));
        assert_eq!(Usage::charged(&video(3), &picture), used(0, 0, 3));
        assert_eq!(
            used(1, 2, 3).plus(used(u64::MAX, 1, 1)),
            used(u64::MAX, 3, 4)
        );
        assert_eq!(QUOTA.as_ceiling(), used(100, 2, 10));
    }

    #[test]
    fn periods_are_utc_calendar_months() {
        let cases = [
            ((2026, 11, 1), "2026-11"),
            ((2026, 11, 30), "2026-11"),
            ((2026, 12, 1), "2026-12"),
            ((2027, 1, 31), "2027-01"),
        ];
        for ((y, m, d), expected) in cases {
            let date = NaiveDate::from_ymd_opt(y, m, d).expect("a date");
            assert_eq!(Period::of(date).as_str(), expected);
        }
    }
}
