//! The signer against AWS's published known answers: the SigV4 test suite's `get-vanilla`,
//! `post-vanilla` and `post-x-www-form-urlencoded` cases (AKIDEXAMPLE, 2015-08-30T12:36:00Z,
//! us-east-1, service `service`) and the S3 documentation's `GET Object` example
//! (AKIAIOSFODNN7EXAMPLE, 2013-05-24, a `Range` header, the empty payload's hash).

use std::time::{Duration, SystemTime};

use icecone_provider_bedrock::sign::{Service, Signer};
use secrecy::SecretString;

/// 2015-08-30T12:36:00Z, the test suite's time.
fn suite_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160)
}

fn suite_signer() -> Signer {
    Signer::new(
        SecretString::from("AKIDEXAMPLE"),
        SecretString::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        None,
        "us-east-1",
    )
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// One case of the suite: its name, method, URL, headers, body, the signed headers and the
/// signature it publishes.
type SuiteCase = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [u8],
    &'static str,
    &'static str,
);

#[test]
fn the_signer_gives_the_aws_test_suites_signatures() {
    let cases: [SuiteCase; 3] = [
        (
            "get-vanilla",
            "GET",
            "https://example.amazonaws.com/",
            &[],
            b"",
            "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
        (
            "post-vanilla",
            "POST",
            "https://example.amazonaws.com/",
            &[],
            b"",
            "host;x-amz-date",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        ),
        (
            "post-x-www-form-urlencoded",
            "POST",
            "https://example.amazonaws.com/",
            &[("content-type", "application/x-www-form-urlencoded")],
            b"Param1=value1",
            "content-type;host;x-amz-date",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        ),
    ];
    for (case, method, url, headers, body, signed_headers, signature) in cases {
        let signed = suite_signer()
            .sign(
                Service::Other("service"),
                method,
                url,
                headers,
                body,
                suite_time(),
            )
            .expect("signed");
        assert_eq!(
            header(&signed, "x-amz-date"),
            Some("20150830T123600Z"),
            "{case}"
        );
        assert_eq!(
            header(&signed, "authorization"),
            Some(
                format!(
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={signed_headers}, Signature={signature}"
                )
                .as_str()
            ),
            "{case}"
        );
        assert_eq!(header(&signed, "x-amz-security-token"), None, "{case}");
    }
}

#[test]
fn the_signer_gives_the_s3_documentations_get_object_signature() {
    let signer = Signer::new(
        SecretString::from("AKIAIOSFODNN7EXAMPLE"),
        SecretString::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        None,
        "us-east-1",
    );
    // 2013-05-24T00:00:00Z.
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600);
    let signed = signer
        .sign(
            Service::S3,
            "GET",
            "https://examplebucket.s3.amazonaws.com/test.txt",
            &[("range", "bytes=0-9")],
            b"",
            time,
        )
        .expect("signed");
    assert_eq!(
        header(&signed, "x-amz-content-sha256"),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(
        header(&signed, "authorization"),
        Some(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
    );
}

#[test]
fn a_session_token_is_sent_and_signed() {
    let signer = Signer::new(
        SecretString::from("AKIDEXAMPLE"),
        SecretString::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        Some(SecretString::from("session-token-example")),
        "us-east-1",
    );
    let signed = signer
        .sign(
            Service::Bedrock,
            "GET",
            "https://bedrock-runtime.us-east-1.amazonaws.com/async-invoke/x",
            &[],
            b"",
            suite_time(),
        )
        .expect("signed");
    assert_eq!(
        header(&signed, "x-amz-security-token"),
        Some("session-token-example")
    );
    let authorization = header(&signed, "authorization").expect("authorization");
    assert!(
        authorization.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"),
        "{authorization}"
    );
    assert!(
        authorization.contains("/20150830/us-east-1/bedrock/aws4_request,"),
        "{authorization}"
    );
}
