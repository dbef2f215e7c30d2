//! The `[providers.bedrock]` section: defaults that follow the region, the checks that name
//! the setting at fault (never its value), the model choice among the models the adapter
//! knows, and the credentials that decide availability.

use std::any::Any;
use std::time::Duration;

use icecone_provider_bedrock::{BedrockConfig, BedrockSettings};
use icecone_provider_http::settings::{Deployment, Prepared, Section, SettingError};
use secrecy::SecretString;

const DEVELOPMENT: Deployment = Deployment {
    timeout: Duration::from_secs(5),
    plain_http_allowed: true,
};

const PRODUCTION: Deployment = Deployment {
    timeout: Duration::from_secs(5),
    plain_http_allowed: false,
};

fn configured() -> BedrockSettings {
    BedrockSettings {
        access_key_id: Some(SecretString::from("AKIDSETTINGS")),
        secret_access_key: Some(SecretString::from("secret-settings-sentinel")),
        output_bucket: Some("icecone-videos".to_owned()),
        ..BedrockSettings::default()
    }
}

fn prepare(settings: &BedrockSettings, deployment: &Deployment) -> Result<Prepared, SettingError> {
    Section::prepare(settings, deployment)
}

fn config(prepared: &Prepared) -> &BedrockConfig {
    (prepared.config.as_ref() as &dyn Any)
        .downcast_ref()
        .expect("Bedrock's configuration")
}

#[test]
fn the_endpoints_follow_the_region_unless_set() {
    let prepared = prepare(&configured(), &PRODUCTION).expect("valid");
    let default = config(&prepared);
    assert_eq!(default.region, "us-east-1");
    assert_eq!(
        default.base_url,
        "https://bedrock-runtime.us-east-1.amazonaws.com"
    );
    assert_eq!(default.s3_url, "https://s3.us-east-1.amazonaws.com");
    assert_eq!(default.image_model.id(), "amazon.nova-canvas-v1:0");
    assert_eq!(default.video_model.id(), "luma.ray-v2:0");
    assert!(prepared.contract.is_none());

    let frankfurt = BedrockSettings {
        region: " eu-central-1 ".to_owned(),
        zdr_contract: Some("data_retention_mode none, account 123456789012".to_owned()),
        ..configured()
    };
    let prepared = prepare(&frankfurt, &PRODUCTION).expect("valid");
    let config = config(&prepared);
    assert_eq!(config.region, "eu-central-1");
    assert_eq!(
        config.base_url,
        "https://bedrock-runtime.eu-central-1.amazonaws.com"
    );
    assert_eq!(config.s3_url, "https://s3.eu-central-1.amazonaws.com");
    assert_eq!(
        prepared.contract.expect("recorded").reference(),
        "data_retention_mode none, account 123456789012"
    );

    let local = BedrockSettings {
        base_url: "http://127.0.0.1:9000".to_owned(),
        s3_url: Some("http://127.0.0.1:9001/".to_owned()),
        ..configured()
    };
    let prepared = prepare(&local, &DEVELOPMENT).expect("valid");
    assert_eq!(config_of(&prepared).base_url, "http://127.0.0.1:9000");
    assert_eq!(config_of(&prepared).s3_url, "http://127.0.0.1:9001");
}

fn config_of(prepared: &Prepared) -> &BedrockConfig {
    config(prepared)
}

#[test]
fn a_wrong_setting_is_refused_by_its_name_without_its_value() {
    // (settings, deployment, key at fault)
    let cases = [
        (
            BedrockSettings {
                region: "Frankfurt!".to_owned(),
                ..configured()
            },
            PRODUCTION,
            "region",
        ),
        (
            BedrockSettings {
                image_model: "luma.ray-v2:0".to_owned(),
                ..configured()
            },
            PRODUCTION,
            "image_model",
        ),
        (
            BedrockSettings {
                video_model: "amazon.titan-video-secret".to_owned(),
                ..configured()
            },
            PRODUCTION,
            "video_model",
        ),
        (
            BedrockSettings {
                output_bucket: None,
                ..configured()
            },
            PRODUCTION,
            "output_bucket",
        ),
        (
            BedrockSettings {
                output_bucket: Some("Not_A_Bucket".to_owned()),
                ..configured()
            },
            PRODUCTION,
            "output_bucket",
        ),
        (
            BedrockSettings {
                output_prefix: Some("videos/../other".to_owned()),
                ..configured()
            },
            PRODUCTION,
            "output_prefix",
        ),
        (
            BedrockSettings {
                base_url: "http://127.0.0.1:9000".to_owned(),
                ..configured()
            },
            PRODUCTION,
            "base_url",
        ),
        (
            // Plain HTTP for S3 only where the runtime is plain HTTP too (development).
            BedrockSettings {
                s3_url: Some("http://127.0.0.1:9001".to_owned()),
                ..configured()
            },
            DEVELOPMENT,
            "s3_url",
        ),
    ];
    for (settings, deployment, key) in cases {
        let error = prepare(&settings, &deployment).expect_err(key);
        assert_eq!(error.key(), key, "{error}");
        assert!(!error.to_string().contains("secret"), "{error}");
        assert!(!error.to_string().contains("Frankfurt!"), "{error}");
    }
}

#[test]
fn every_known_model_can_be_chosen_for_its_kind() {
    for (key, id) in [
        ("image", "stability.stable-image-core-v1:1"),
        ("image", "stability.stable-image-ultra-v1:1"),
        ("image", "stability.sd3-5-large-v1:0"),
        ("image", "amazon.nova-canvas-v1:0"),
        ("video", "luma.ray-v2:0"),
        ("video", "amazon.nova-reel-v1:0"),
        ("video", "amazon.nova-reel-v1:1"),
    ] {
        let mut settings = configured();
        if key == "image" {
            settings.image_model = format!(" {id} ");
        } else {
            settings.video_model = id.to_owned();
        }
        let prepared = prepare(&settings, &PRODUCTION).expect(id);
        let adapter = prepared.config.build().expect("builds");
        assert!(
            adapter.models().iter().any(|route| route.model == id),
            "{id}"
        );
    }
}

#[test]
fn without_both_keys_bedrock_is_listed_but_unavailable() {
    let unset = BedrockSettings::default();
    let blank = BedrockSettings {
        access_key_id: Some(SecretString::from("  ")),
        ..configured()
    };
    let no_secret = BedrockSettings {
        secret_access_key: None,
        ..configured()
    };
    for settings in [unset, blank, no_secret] {
        let prepared = prepare(&settings, &PRODUCTION).expect("valid");
        let adapter = prepared.config.build().expect("builds");
        assert!(!adapter.is_available(), "{settings:?}");
        assert_eq!(adapter.id().as_str(), "bedrock");
    }
    let prepared = prepare(&configured(), &PRODUCTION).expect("valid");
    assert!(prepared.config.build().expect("builds").is_available());
}

#[test]
fn the_section_shows_its_keys_redacted() {
    let settings = BedrockSettings {
        session_token: Some(SecretString::from("token-sentinel")),
        ..configured()
    };
    let shown = Section::shown(&settings).to_string();
    for hidden in ["AKIDSETTINGS", "secret-settings-sentinel", "token-sentinel"] {
        assert!(!shown.contains(hidden), "{shown}");
        assert!(!format!("{settings:?}").contains(hidden));
    }
    assert!(shown.contains("[redacted]"));
}
