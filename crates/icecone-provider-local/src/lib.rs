//! `local`: IceCone's built-in provider. It runs inside the gateway process, needs no
//! network and no key, and is what a fresh installation generates with.
//!
//! Nothing leaves the machine, so nothing is trained on or retained by a third party: the
//! only copy of a prompt or an output is the one in IceCone's own encrypted store.
//!
//! Its outputs are deterministic functions of the request, so tests can compare them:
//! - text: an offline draft that names the prompt's words, cut to `max_tokens` words;
//! - image: a 64 × 64 (or 96 × 64, 64 × 96) 8-bit RGB PNG whose colours come from the
//!   prompt's FNV-1a hash;
//! - video: an animated PNG (APNG, `image/apng`), 64 × 64 at 4 frames per second, 1 to 4
//!   seconds long, looping — a real animation format that browsers play in an `<img>` and
//!   `ffprobe` reports as codec `apng`, chosen because it needs no video codec.
//!
//! Video runs as an asynchronous job, like the external video providers, so that the
//! gateway's job runner is exercised offline: `submit` answers a [`JobHandle`] and `poll`
//! answers the video once [`LocalProvider::video_delay`] has passed. The job is stateless —
//! its id holds a random seed, the duration and the submission time, and nothing of the
//! prompt — so it survives a restart of the gateway; the video is rendered from the seed.

use std::hash::{BuildHasher, Hasher};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use icecone_core::provider::adapter::{
    GenerationRequest, ImageSize, InvalidRequest, JobHandle, JobStatus, Output, ProviderAdapter,
    ProviderError, ProviderFuture, RemoteDeletion, Submission, TokenUsage,
};
use icecone_core::provider::policy::{
    Claim, DataCategory, OutputRetention, Processors, ProviderPolicy, Region, Retention,
    TrainingUse, ZdrArrangement,
};
use icecone_core::provider::{Capability, ModelFamily, ModelRoute, ProviderId};

mod png;

/// The id clients use to pick this provider.
pub const ID: &str = "local";

/// The day the sentences quoted below were read (from stored copies of the pages; see
/// `docs/providers.md`, "Re-verifying claims").
const READ_ON: NaiveDate = match NaiveDate::from_ymd_opt(2026, 12, 7) {
    Some(date) => date,
    None => panic!("invalid date"),
};

/// The section of IceCone's documentation every claim rests on.
const DOCS: &str = "docs/providers.md#local";

/// The data-handling policy of the local provider: everything stays in the process.
pub const POLICY: ProviderPolicy = ProviderPolicy {
    capabilities: &[Capability::Text, Capability::Image, Capability::Video],
    data_categories: &[DataCategory::UserContentPrivate],
    training_use: Claim::read(
        TrainingUse::No,
        DOCS,
        "Nothing is sent to a third party, so nothing can be trained on or kept by one",
        READ_ON,
    ),
    retention: Claim::read(
        Retention::None { exceptions: &[] },
        DOCS,
        "the only copy of a prompt or an output is the one in IceCone's own store.",
        READ_ON,
    ),
    zero_data_retention: Claim::read(
        ZdrArrangement::Inherent,
        DOCS,
        "It runs inside the gateway process, needs no network and no key",
        READ_ON,
    ),
    output_retention: Claim::read(
        OutputRetention::Inline,
        DOCS,
        "`cancel` and `delete_remote` have nothing to remove (`NOTHING_KEPT`).",
        READ_ON,
    ),
    region: Claim::read(
        Region::Disclosed("the gateway's own host"),
        DOCS,
        "It runs inside the gateway process, needs no network and no key",
        READ_ON,
    ),
    onward_processors: Claim::read(
        Processors::None,
        DOCS,
        "Nothing is sent to a third party, so nothing can be trained on or kept by one",
        READ_ON,
    ),
};

/// Frames per second of the local video.
pub const VIDEO_FPS: u16 = 4;
/// The longest local video, in seconds.
pub const MAX_VIDEO_SECONDS: u32 = 4;

static PROVIDER_ID: LazyLock<ProviderId> = LazyLock::new(|| {
    ProviderId::parse(ID).unwrap_or_else(|_| unreachable!("`local` is a valid id"))
});

/// The offline, deterministic provider adapter.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalProvider {
    video_delay: Duration,
}

/// What a local video job's id holds: never anything of the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoJob {
    /// The seed the video is rendered from.
    pub seed: u64,
    /// Its length in seconds (1 to [`MAX_VIDEO_SECONDS`]).
    pub seconds: u32,
    /// When it was submitted, in milliseconds since the Unix epoch.
    pub submitted_ms: u64,
}

/// The prefix of a local video job's id.
const VIDEO_JOB_PREFIX: &str = "local-video-v1";

impl VideoJob {
    /// The job's id: `local-video-v1:<seed, 16 hex digits>:<seconds>:<submitted ms>`.
    pub fn handle(&self) -> JobHandle {
        JobHandle::new(format!(
            "{VIDEO_JOB_PREFIX}:{:016x}:{}:{}",
            self.seed, self.seconds, self.submitted_ms
        ))
    }

    /// Reads a job id made by [`VideoJob::handle`].
    pub fn parse(handle: &JobHandle) -> Option<Self> {
        let mut parts = handle.as_str().split(':');
        if parts.next()? != VIDEO_JOB_PREFIX {
            return None;
        }
        let seed = u64::from_str_radix(parts.next()?, 16).ok()?;
        let seconds = parts.next()?.parse().ok()?;
        let submitted_ms = parts.next()?.parse().ok()?;
        if parts.next().is_some() || !(1..=MAX_VIDEO_SECONDS).contains(&seconds) {
            return None;
        }
        Some(Self {
            seed,
            seconds,
            submitted_ms,
        })
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// A random seed, from the process's randomly keyed hasher (no dependency needed: the seed
/// picks colours, it guards nothing).
fn random_seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(now_ms());
    hasher.finish()
}

impl LocalProvider {
    /// The local provider whose videos are ready `video_delay` after they were submitted.
    pub fn new(video_delay: Duration) -> Self {
        Self { video_delay }
    }

    /// How long a video job runs before `poll` answers it.
    pub fn video_delay(&self) -> Duration {
        self.video_delay
    }

    /// Generates the text or image for `request`, synchronously; video is a job
    /// ([`LocalProvider::submit_video`], [`render_video`]).
    pub fn generate(&self, request: &GenerationRequest) -> Result<Output, InvalidRequest> {
        match request {
            GenerationRequest::Text(text) => Ok(draft(text.prompt.as_str(), text.max_tokens)),
            GenerationRequest::Image(image) => Ok(Output::Media {
                bytes: png::encode_png(&picture(fnv1a(image.prompt.as_str()), image.size, 0)),
                mime_type: "image/png",
            }),
            GenerationRequest::Video(_) => Err(InvalidRequest::Unsupported(Capability::Video)),
        }
    }

    /// Starts a video job of `seconds` (clamped to 1 to [`MAX_VIDEO_SECONDS`]) at
    /// `submitted_ms`, with a fresh random seed.
    pub fn submit_video(&self, seconds: u32, submitted_ms: u64) -> VideoJob {
        VideoJob {
            seed: random_seed(),
            seconds: seconds.clamp(1, MAX_VIDEO_SECONDS),
            submitted_ms,
        }
    }

    /// The state of a video job at `now_ms`: running until the delay has passed, then done.
    pub fn video_status(&self, job: &VideoJob, now_ms: u64) -> JobStatus {
        let delay = u64::try_from(self.video_delay.as_millis()).unwrap_or(u64::MAX);
        if now_ms.saturating_sub(job.submitted_ms) < delay {
            JobStatus::Running
        } else {
            JobStatus::Done(render_video(job.seed, job.seconds))
        }
    }
}

/// The video of a job: an APNG of `seconds` (1 to [`MAX_VIDEO_SECONDS`]) whose colours come
/// from `seed`.
pub fn render_video(seed: u64, seconds: u32) -> Output {
    let seconds = seconds.clamp(1, MAX_VIDEO_SECONDS);
    let frames: Vec<png::Frame> = (0..seconds * u32::from(VIDEO_FPS))
        .map(|index| picture(seed, ImageSize::Square, index))
        .collect();
    Output::Media {
        bytes: png::encode_apng(&frames, VIDEO_FPS),
        mime_type: "image/apng",
    }
}

impl ProviderAdapter for LocalProvider {
    fn id(&self) -> &ProviderId {
        &PROVIDER_ID
    }

    fn name(&self) -> &str {
        "IceCone local (offline)"
    }

    fn policy(&self) -> &ProviderPolicy {
        &POLICY
    }

    fn is_available(&self) -> bool {
        true
    }

    fn models(&self) -> Vec<ModelRoute> {
        POLICY
            .capabilities
            .iter()
            .map(|&capability| ModelRoute {
                capability,
                model: ID.to_owned(),
                family: ModelFamily::LOCAL,
            })
            .collect()
    }

    fn submit<'a>(&'a self, request: &'a GenerationRequest) -> ProviderFuture<'a, Submission> {
        let answer = match request {
            GenerationRequest::Video(video) => Ok(Submission::Pending(
                self.submit_video(video.duration_seconds, now_ms()).handle(),
            )),
            other => self
                .generate(other)
                .map(Submission::Done)
                .map_err(Into::into),
        };
        Box::pin(std::future::ready(answer))
    }

    fn poll<'a>(&'a self, job: &'a JobHandle) -> ProviderFuture<'a, JobStatus> {
        let answer = VideoJob::parse(job)
            .map(|job| self.video_status(&job, now_ms()))
            .ok_or(ProviderError::UnknownJob);
        Box::pin(std::future::ready(answer))
    }

    fn cancel<'a>(&'a self, _job: &'a JobHandle) -> ProviderFuture<'a, ()> {
        // Nothing runs anywhere: a job is its id, which the gateway forgets.
        Box::pin(std::future::ready(Ok(())))
    }

    fn delete_remote<'a>(&'a self, _job: &'a JobHandle) -> ProviderFuture<'a, RemoteDeletion> {
        Box::pin(std::future::ready(Ok(RemoteDeletion::NothingKept)))
    }
}

fn draft(prompt: &str, max_tokens: Option<u32>) -> Output {
    let words: Vec<&str> = prompt.split_whitespace().collect();
    let mut text: Vec<String> = vec![
        "Offline".to_owned(),
        "draft".to_owned(),
        format!("({} words):", words.len()),
    ];
    text.extend(words.iter().rev().map(|word| word.to_owned().to_owned()));
    if let Some(limit) = max_tokens {
        text.truncate(usize::try_from(limit).unwrap_or(usize::MAX).max(1));
    }
    Output::Text {
        usage: TokenUsage {
            prompt_tokens: u32::try_from(words.len()).unwrap_or(u32::MAX),
            completion_tokens: u32::try_from(text.len()).unwrap_or(u32::MAX),
        },
        text: text.join(" "),
    }
}

/// FNV-1a, 64 bits: a stable hash of the prompt for the picture's colours.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A diagonal gradient between two colours taken from `seed` (an image's prompt hash, a
/// video's random seed), with a bright vertical bar at a position that moves with `frame`.
fn picture(seed: u64, size: ImageSize, frame: u32) -> png::Frame {
    let (width, height) = match size {
        ImageSize::Square => (64u32, 64u32),
        ImageSize::Landscape => (96, 64),
        ImageSize::Portrait => (64, 96),
    };
    let [r0, g0, b0, r1, g1, b1, _, _] = seed.to_be_bytes();
    let bar = (frame * 4) % width;
    let mut rgb = Vec::with_capacity(usize::try_from(width * height * 3).unwrap_or(0));
    let span = width + height - 2;
    for y in 0..height {
        for x in 0..width {
            if x >= bar && x < bar + 4 {
                rgb.extend_from_slice(&[255, 255, 255]);
                continue;
            }
            let t = x + y;
            let mix = |a: u8, b: u8| {
                let value = (u32::from(a) * (span - t) + u32::from(b) * t) / span;
                u8::try_from(value).unwrap_or(u8::MAX)
            };
            rgb.extend_from_slice(&[mix(r0, r1), mix(g0, g1), mix(b0, b1)]);
        }
    }
    png::Frame { width, height, rgb }
}

#[cfg(test)]
mod tests {
    use icecone_core::provider::adapter::{ImageRequest, Prompt, TextRequest, VideoRequest};

    use super::*;

    fn prompt(text: &str) -> Prompt {
        Prompt::parse(text).expect("valid prompt")
    }

    /// Walks a PNG's chunks, checking every CRC; returns (type, data) pairs.
    fn chunks(file: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
        assert_eq!(&file[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        let mut rest = &file[8..];
        let mut chunks = Vec::new();
        while !rest.is_empty() {
            let len = usize::try_from(u32::from_be_bytes(rest[..4].try_into().expect("4")))
                .expect("fits");
            let kind: [u8; 4] = rest[4..8].try_into().expect("4");
            let data = rest[8..8 + len].to_vec();
            let crc = u32::from_be_bytes(rest[8 + len..12 + len].try_into().expect("4"));
            assert_eq!(crc, png::crc32(&rest[4..8 + len]), "CRC of {kind:?}");
            chunks.push((kind, data));
            rest = &rest[12 + len..];
        }
        chunks
    }

    /// Inflates a zlib stream made of stored blocks, checking its Adler-32.
    fn inflate_stored(stream: &[u8]) -> Vec<u8> {
        assert_eq!(u16::from_be_bytes([stream[0], stream[1]]) % 31, 0);
        let mut out = Vec::new();
        let mut at = 2;
        loop {
            let last = stream[at] & 1 == 1;
            assert_eq!(stream[at] >> 1, 0, "stored block");
            let len = usize::from(u16::from_le_bytes([stream[at + 1], stream[at + 2]]));
            let nlen = u16::from_le_bytes([stream[at + 3], stream[at + 4]]);
            assert_eq!(nlen, !u16::try_from(len).expect("fits"));
            out.extend_from_slice(&stream[at + 5..at + 5 + len]);
            at += 5 + len;
            if last {
                break;
            }
        }
        let adler = u32::from_be_bytes(stream[at..at + 4].try_into().expect("4"));
        assert_eq!(adler, png::adler32(&out));
        assert_eq!(at + 4, stream.len());
        out
    }

    #[test]
    fn the_local_provider_promises_no_training_and_no_retention() {
        let provider = LocalProvider::default();
        assert_eq!(provider.id().as_str(), "local");
        assert_eq!(provider.policy().training_use.value(), TrainingUse::No);
        assert_eq!(
            provider.policy().retention.value(),
            Retention::None { exceptions: &[] }
        );
        assert_eq!(
            provider.policy().zero_data_retention.value(),
            ZdrArrangement::Inherent
        );
        assert_eq!(
            provider.policy().retention.source().url,
            "docs/providers.md#local"
        );
        assert!(provider.is_available());
    }

    #[test]
    fn text_is_deterministic_and_bounded_by_max_tokens() {
        let request = |max_tokens| {
            GenerationRequest::Text(TextRequest {
                prompt: prompt("a cat on a mat"),
                max_tokens,
            })
        };
        let first = LocalProvider::default()
            .generate(&request(None))
            .expect("text");
        assert_eq!(
            first,
            LocalProvider::default()
                .generate(&request(None))
                .expect("text")
        );
        let Output::Text { text, usage } = first else {
            panic!("text expected");
        };
        assert_eq!(text, "Offline draft (5 words): mat a on cat a");
        assert_eq!(usage.prompt_tokens, 5);
        assert_eq!(usage.completion_tokens, 8);
        let Output::Text { text, usage } = LocalProvider::default()
            .generate(&request(Some(2)))
            .expect("text")
        else {
            panic!("text expected");
        };
        assert_eq!(text, "Offline draft");
        assert_eq!(usage.completion_tokens, 2);
    }

    #[test]
    fn images_are_valid_pngs_of_the_requested_shape_that_depend_on_the_prompt() {
        let image = |text: &str, size| {
            let request = GenerationRequest::Image(ImageRequest {
                prompt: prompt(text),
                size,
            });
            match LocalProvider::default().generate(&request).expect("image") {
                Output::Media { bytes, mime_type } => {
                    assert_eq!(mime_type, "image/png");
                    bytes
                }
                other => panic!("media expected: {other:?}"),
            }
        };
        for (size, width, height) in [
            (ImageSize::Square, 64u32, 64u32),
            (ImageSize::Landscape, 96, 64),
            (ImageSize::Portrait, 64, 96),
        ] {
            let file = image("a red fox", size);
            let chunks = chunks(&file);
            let kinds: Vec<&[u8; 4]> = chunks.iter().map(|(kind, _)| kind).collect();
            assert_eq!(kinds, [b"IHDR", b"IDAT", b"IEND"]);
            let ihdr = &chunks[0].1;
            assert_eq!(u32::from_be_bytes(ihdr[..4].try_into().expect("4")), width);
            assert_eq!(
                u32::from_be_bytes(ihdr[4..8].try_into().expect("4")),
                height
            );
            assert_eq!(&ihdr[8..], &[8, 2, 0, 0, 0]);
            let raw = inflate_stored(&chunks[1].1);
            let row = usize::try_from(width * 3 + 1).expect("fits");
            assert_eq!(raw.len(), row * usize::try_from(height).expect("fits"));
            assert!(raw.chunks(row).all(|line| line[0] == 0), "filter type 0");
        }
        assert_eq!(
            image("a red fox", ImageSize::Square),
            image("a red fox", ImageSize::Square)
        );
        assert_ne!(
            image("a red fox", ImageSize::Square),
            image("a blue fox", ImageSize::Square)
        );
    }

    #[test]
    fn videos_are_looping_animated_pngs_of_four_frames_a_second() {
        let video = |seconds| match render_video(0x0123_4567_89ab_cdef, seconds) {
            Output::Media { bytes, mime_type } => {
                assert_eq!(mime_type, "image/apng");
                bytes
            }
            other => panic!("media expected: {other:?}"),
        };
        for (asked, frames) in [(0u32, 4u32), (2, 8), (4, 16), (60, 16)] {
            let chunks = chunks(&video(asked));
            assert_eq!(&chunks[0].0, b"IHDR");
            assert_eq!(&chunks[1].0, b"acTL", "acTL before the first IDAT");
            assert_eq!(
                u32::from_be_bytes(chunks[1].1[..4].try_into().expect("4")),
                frames
            );
            assert_eq!(
                u32::from_be_bytes(chunks[1].1[4..].try_into().expect("4")),
                0
            );
            // Sequence numbers of fcTL and fdAT run 0, 1, 2, … without gaps.
            let sequence: Vec<u32> = chunks
                .iter()
                .filter(|(kind, _)| kind == b"fcTL" || kind == b"fdAT")
                .map(|(_, data)| u32::from_be_bytes(data[..4].try_into().expect("4")))
                .collect();
            let expected: Vec<u32> = (0..frames * 2 - 1).collect();
            assert_eq!(sequence, expected);
            let controls: Vec<&Vec<u8>> = chunks
                .iter()
                .filter(|(kind, _)| kind == b"fcTL")
                .map(|(_, data)| data)
                .collect();
            assert_eq!(controls.len(), usize::try_from(frames).expect("fits"));
            for control in controls {
                assert_eq!(control.len(), 26);
                assert_eq!(&control[20..24], &[0, 1, 0, 4], "1/4 s per frame");
            }
            let idats = chunks.iter().filter(|(kind, _)| kind == b"IDAT").count();
            assert_eq!(idats, 1, "the first frame is the default image");
            for (kind, data) in &chunks {
                if kind == b"fdAT" {
                    assert_eq!(inflate_stored(&data[4..]).len(), 64 * (64 * 3 + 1));
                }
            }
            assert_eq!(&chunks.last().expect("chunks").0, b"IEND");
        }
    }

    #[test]
    fn submit_answers_at_once_and_there_is_no_remote_copy_to_delete() {
        use std::task::{Context, Poll, Waker};
        let request = GenerationRequest::Text(TextRequest {
            prompt: prompt("hello"),
            max_tokens: None,
        });
        let provider: &dyn ProviderAdapter = &LocalProvider::default();
        let mut context = Context::from_waker(Waker::noop());
        let submitted = provider.submit(&request).as_mut().poll(&mut context);
        let Poll::Ready(Ok(Submission::Done(Output::Text { text, .. }))) = submitted else {
            panic!("an immediate text answer: {submitted:?}");
        };
        assert_eq!(text, "Offline draft (1 words): hello");
        let job = icecone_core::provider::adapter::JobHandle::new("any");
        let deleted = provider.delete_remote(&job).as_mut().poll(&mut context);
        assert!(matches!(
            deleted,
            Poll::Ready(Ok(RemoteDeletion::NothingKept))
        ));
    }

    /// Runs a future that never waits (the local provider answers at once).
    fn now<T>(future: ProviderFuture<'_, T>) -> Result<T, ProviderError> {
        use std::task::{Context, Poll, Waker};
        let mut future = future;
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(answer) => answer,
            Poll::Pending => panic!("the local provider answers at once"),
        }
    }

    #[test]
    fn video_is_a_stateless_job_whose_id_holds_nothing_of_the_prompt() {
        let secret = "a very private scene with Alice";
        let request = GenerationRequest::Video(VideoRequest {
            prompt: prompt(secret),
            image: None,
            duration_seconds: 2,
        });
        let immediate = LocalProvider::default();
        let Submission::Pending(handle) = now(immediate.submit(&request)).expect("submitted")
        else {
            panic!("video runs as a job");
        };
        let job = VideoJob::parse(&handle).expect("the id parses");
        assert_eq!(job.seconds, 2);
        assert_eq!(job.handle(), handle, "the id round-trips");
        for word in secret.split_whitespace().filter(|word| word.len() > 1) {
            assert!(!handle.as_str().contains(word), "{handle:?}");
        }
        assert!(
            !handle.as_str().contains(&format!("{:016x}", fnv1a(secret))),
            "not even the prompt's hash"
        );
        let Submission::Pending(second) = now(immediate.submit(&request)).expect("submitted")
        else {
            panic!("video runs as a job");
        };
        assert_ne!(
            VideoJob::parse(&second).expect("parses").seed,
            job.seed,
            "a fresh seed"
        );

        // Without a delay the video is ready at once, rendered from the seed alone: any
        // instance (a restarted gateway) answers the same video for the same id.
        let JobStatus::Done(output) = now(immediate.poll(&handle)).expect("polled") else {
            panic!("done without a delay");
        };
        assert_eq!(output, render_video(job.seed, 2));
        assert_eq!(
            now(LocalProvider::default().poll(&handle)).expect("polled"),
            JobStatus::Done(render_video(job.seed, 2))
        );
        assert_ne!(
            render_video(job.seed, 2),
            render_video(job.seed ^ (1 << 63), 2)
        );

        // With a delay it runs until the delay has passed.
        let slow = LocalProvider::new(Duration::from_secs(5));
        assert_eq!(slow.video_delay(), Duration::from_secs(5));
        let job = slow.submit_video(9, 1_000_000);
        assert_eq!(job.seconds, MAX_VIDEO_SECONDS);
        assert_eq!(slow.video_status(&job, 1_000_000), JobStatus::Running);
        assert_eq!(slow.video_status(&job, 1_004_999), JobStatus::Running);
        assert_eq!(
            slow.video_status(&job, 1_005_000),
            JobStatus::Done(render_video(job.seed, MAX_VIDEO_SECONDS))
        );

        // Ids it did not make are unknown; cancelling and deleting keep nothing.
        for id in [
            "",
            "job-42",
            "local-video-v1:zz:2:1",
            "local-video-v1:01:9:1",
            "local-video-v1:01:2:1:x",
        ] {
            assert_eq!(
                now(immediate.poll(&JobHandle::new(id))),
                Err(ProviderError::UnknownJob),
                "{id}"
            );
        }
        assert_eq!(now(immediate.cancel(&handle)), Ok(()));
        assert_eq!(
            now(immediate.delete_remote(&handle)),
            Ok(RemoteDeletion::NothingKept)
        );
        assert_eq!(
            immediate.generate(&request),
            Err(InvalidRequest::Unsupported(Capability::Video))
        );
    }
}
