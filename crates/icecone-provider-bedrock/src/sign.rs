//! AWS Signature Version 4 for the adapter's requests, through AWS's own signer
//! (`aws-sigv4`): the canonical request, the string to sign and the signing key are its
//! work, not ours. What is ours: which service each request is signed for (`bedrock` for
//! the runtime, `s3` for the output bucket) and how S3's canonical path differs (encoded
//! once, never normalised, with the payload's SHA-256 in `x-amz-content-sha256`).

use std::fmt;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use icecone_core::provider::adapter::ProviderError;
use secrecy::{ExposeSecret as _, SecretString};

/// The AWS service a request is signed for: its name in the credential scope and the
/// canonicalisation rules that go with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The Bedrock runtime (`bedrock`): the path double-encoded and normalised, as for every
    /// AWS service but S3.
    Bedrock,
    /// Amazon S3 (`s3`): the path encoded once and never normalised; the payload's hash
    /// signed and sent in `x-amz-content-sha256`.
    S3,
    /// Any other name, with the default rules: AWS's published test suite signs for
    /// `service`.
    Other(&'static str),
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Self::Bedrock => "bedrock",
            Self::S3 => "s3",
            Self::Other(name) => name,
        }
    }

    fn settings(self) -> SigningSettings {
        let mut settings = SigningSettings::default();
        if self == Self::S3 {
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        settings
    }
}

/// The AWS credentials and region requests are signed with. Its `Debug` output shows the
/// region only.
#[derive(Clone)]
pub struct Signer {
    access_key_id: SecretString,
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
    region: String,
}

impl Signer {
    /// A signer for `region` with these credentials (a session token for temporary ones).
    pub fn new(
        access_key_id: SecretString,
        secret_access_key: SecretString,
        session_token: Option<SecretString>,
        region: &str,
    ) -> Self {
        Self {
            access_key_id,
            secret_access_key,
            session_token,
            region: region.to_owned(),
        }
    }

    /// The headers that sign `method url` with `headers` (name, value; each must be sent
    /// as given) and `body`, at `time`, for `service`: `authorization`, `x-amz-date`, and
    /// `x-amz-security-token` and `x-amz-content-sha256` where they apply. A request that
    /// cannot be signed (a URL that does not parse) is refused as
    /// [`ProviderError::Malformed`]; no request is sent then.
    pub fn sign(
        &self,
        service: Service,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        time: SystemTime,
    ) -> Result<Vec<(String, String)>, ProviderError> {
        let identity = Credentials::new(
            self.access_key_id.expose_secret(),
            self.secret_access_key.expose_secret(),
            self.session_token
                .as_ref()
                .map(|token| token.expose_secret().to_owned()),
            None,
            "icecone-settings",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(service.name())
            .time(time)
            .settings(service.settings())
            .build()
            .map_err(|_| ProviderError::Malformed)?
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|_| ProviderError::Malformed)?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|_| ProviderError::Malformed)?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// RFC 3986 percent-encoding of one path segment or label: every byte but the unreserved
/// letters, digits, `-`, `.`, `_` and `~` — what AWS's REST protocols do with a label
/// (`:` in a model id, `:` and `/` in an invocation ARN) and S3 with each segment of a key.
pub fn encode_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_except_unreserved_characters() {
        // (text, encoded)
        let cases = [
            ("amazon.nova-canvas-v1:0", "amazon.nova-canvas-v1%3A0"),
            (
                "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc123def456",
                "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aasync-invoke%2Fabc123def456",
            ),
            ("output.mp4", "output.mp4"),
            ("a b~c", "a%20b~c"),
            ("é", "%C3%A9"),
        ];
        for (text, encoded) in cases {
            assert_eq!(encode_segment(text), encoded, "{text}");
        }
    }

    #[test]
    fn a_signer_shows_its_region_only() {
        let signer = Signer::new(
            SecretString::from("AKIDSENTINEL"),
            SecretString::from("secret-sentinel"),
            Some(SecretString::from("token-sentinel")),
            "eu-west-1",
        );
        let shown = format!("{signer:?}");
        assert!(shown.contains("eu-west-1"));
        for hidden in ["AKIDSENTINEL", "secret-sentinel", "token-sentinel"] {
            assert!(!shown.contains(hidden), "{shown}");
        }
    }
}
