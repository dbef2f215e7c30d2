//! How an external provider is configured, written once. Each adapter crate declares its
//! section of the settings (`[providers.<id>]` in `icecone.toml`, `ICECONE_<ID>_<KEY>` in
//! the environment): a serde struct with `api_key`, `base_url`, `zdr_contract` and the
//! provider's own settings, the [`SettingDoc`] of every key, and how the checked section
//! becomes its adapter's configuration ([`ProviderSettings`]); it exports a [`Registered`]
//! for the application's registry. Everything the providers share is here: reading a
//! section without ever putting a value into an error (a value may be a key), refusing an
//! unknown key by its name, a blank key being no key, the base URL's scheme, and the
//! deployment's zero-data-retention contract.

use std::any::Any;
use std::collections::BTreeMap;
use std::collections::btree_map;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use icecone_core::provider::ProviderId;
use icecone_core::provider::adapter::ProviderAdapter;
use icecone_core::provider::agreement::Agreement;
use icecone_core::settings::SettingDoc;
use secrecy::{ExposeSecret as _, SecretString};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer as _, MapAccess, Visitor,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::BuildError;

/// A provider setting that cannot be used. It names the setting — relative to the
/// provider's section — and never its value, which may be a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct SettingError {
    key: String,
    problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    /// The section has a key that is none of its provider's settings.
    Unknown,
    /// What the value must be (`must be an https:// URL`).
    Invalid(String),
}

impl SettingError {
    /// `key`'s value cannot be used: `problem` says what it must be.
    pub fn invalid(key: &str, problem: &str) -> Self {
        Self {
            key: key.to_owned(),
            problem: Problem::Invalid(problem.to_owned()),
        }
    }

    /// The setting, within its provider's section (`base_url`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether the key is none of the provider's settings.
    pub fn is_unknown(&self) -> bool {
        self.problem == Problem::Unknown
    }

    /// What the value must be; empty for an unknown key.
    pub fn problem(&self) -> &str {
        match &self.problem {
            Problem::Unknown => "",
            Problem::Invalid(problem) => problem,
        }
    }

    fn describe(&self) -> String {
        match &self.problem {
            Problem::Unknown => format!("unknown setting `{}`", self.key),
            Problem::Invalid(problem) => format!("`{}` {problem}", self.key),
        }
    }

    /// The error with the key it happened at, unless it names one already.
    fn at(mut self, key: &str) -> Self {
        if self.key.is_empty() {
            key.clone_into(&mut self.key);
        }
        self
    }
}

/// serde's errors, with the offending value left out: the derived code of a section hands
/// it over (`invalid_type(Unexpected::Str(value), ..)`), and it may be a key.
impl de::Error for SettingError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self::invalid("", &message.to_string())
    }

    fn invalid_type(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::invalid("", &format!("must be {expected}"))
    }

    fn invalid_value(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::invalid("", &format!("must be {expected}"))
    }

    fn invalid_length(_: usize, expected: &dyn de::Expected) -> Self {
        Self::invalid("", &format!("must be {expected}"))
    }

    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        Self::invalid("", &format!("must be one of {}", expected.join(", ")))
    }

    fn unknown_field(field: &str, _: &'static [&'static str]) -> Self {
        Self {
            key: field.to_owned(),
            problem: Problem::Unknown,
        }
    }

    fn missing_field(field: &'static str) -> Self {
        Self::invalid(field, "must be set")
    }
}

/// One value of a section as the configuration read it: a text, a number or true/false.
#[derive(Clone)]
enum RawValue {
    Bool(bool),
    Signed(i64),
    Unsigned(u64),
    Float(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;

        impl Visitor<'_> for ValueVisitor {
            type Value = RawValue;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a text, a number or true/false")
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<RawValue, E> {
                Ok(RawValue::Bool(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawValue, E> {
                Ok(RawValue::Signed(value))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawValue, E> {
                Ok(RawValue::Unsigned(value))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawValue, E> {
                Ok(RawValue::Float(value))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawValue, E> {
                Ok(RawValue::Text(value.to_owned()))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<RawValue, E> {
                Ok(RawValue::Text(value))
            }
        }

        deserializer.deserialize_any(ValueVisitor)
    }
}

/// A value read into a section's field; a value is always "some" for an `Option` field.
impl<'de> Deserializer<'de> for RawValue {
    type Error = SettingError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SettingError> {
        match self {
            Self::Bool(value) => visitor.visit_bool(value),
            Self::Signed(value) => visitor.visit_i64(value),
            Self::Unsigned(value) => visitor.visit_u64(value),
            Self::Float(value) => visitor.visit_f64(value),
            Self::Text(value) => visitor.visit_string(value),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SettingError> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// A provider's section as the configuration read it (`[providers.<id>]` and its
/// `ICECONE_<ID>_<KEY>` variables), before its provider reads it: each key with its value.
/// Its `Debug` shows the keys only.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct RawSection(BTreeMap<String, RawValue>);

impl fmt::Debug for RawSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl RawSection {
    /// The section read into the provider's settings type: a key that is not one of its
    /// fields, or a value of the wrong type, is refused by the setting's name.
    fn read<S: DeserializeOwned>(self) -> Result<S, SettingError> {
        S::deserialize(SectionDeserializer {
            entries: self.0.into_iter(),
            current: None,
        })
    }
}

/// A section's entries as a serde map, each error attributed to the key it happened at.
struct SectionDeserializer {
    entries: btree_map::IntoIter<String, RawValue>,
    current: Option<(String, RawValue)>,
}

impl<'de> Deserializer<'de> for SectionDeserializer {
    type Error = SettingError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SettingError> {
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for SectionDeserializer {
    type Error = SettingError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, SettingError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let field = seed
            .deserialize(key.clone().into_deserializer())
            .map_err(|error: SettingError| error.at(&key))?;
        self.current = Some((key, value));
        Ok(Some(field))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, SettingError> {
        let (key, value) = self
            .current
            .take()
            .ok_or_else(|| SettingError::invalid("", "a value without its key"))?;
        seed.deserialize(value).map_err(|error| error.at(&key))
    }
}

/// What every external provider's configuration takes from the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    /// The longest one request to the provider may take.
    pub timeout: Duration,
    /// Whether a base URL may be plain `http://` (development, for local mocks).
    pub plain_http_allowed: bool,
}

/// The settings every external provider's section has, as set.
#[derive(Debug, Clone, Copy)]
pub struct AccessSettings<'a> {
    /// The API key.
    pub api_key: Option<&'a SecretString>,
    /// The API's base URL.
    pub base_url: &'a str,
    /// The reference of this deployment's zero-data-retention contract with the provider.
    pub zdr_contract: Option<&'a str>,
}

/// The key, base URL and timeout an adapter is built with, checked: a blank key is no key,
/// the base URL is `https://` (or `http://` where the deployment allows it), trimmed.
#[derive(Debug)]
pub struct Access {
    /// The API key; `None` leaves the adapter listed but unavailable.
    pub api_key: Option<SecretString>,
    /// The API's base URL.
    pub base_url: String,
    /// The longest one request may take.
    pub timeout: Duration,
}

/// The configuration an external adapter is built from, checked.
pub trait AdapterConfig: Any + fmt::Debug + Send + Sync {
    /// The provider's id.
    fn id(&self) -> &'static str;

    /// A new adapter (its own client and key slot); no request is sent.
    fn build(&self) -> Result<Arc<dyn ProviderAdapter>, BuildError>;
}

/// A provider's section of the settings, as its adapter crate declares it: a serde struct
/// whose fields are the section's keys, with `api_key` (a [`SecretString`], serialised
/// with [`redacted`]), `base_url` and `zdr_contract` among them, and whose `Default` holds
/// the documented defaults. Its `Deserialize` must not put a value into a custom error.
pub trait ProviderSettings:
    DeserializeOwned + Serialize + Default + fmt::Debug + Send + Sync + 'static
{
    /// The provider's id, which names its section.
    const ID: &'static str;
    /// Every key of the section, documented, in the order `--help` shows them.
    const SETTINGS: &'static [SettingDoc];
    /// The adapter's configuration.
    type Config: AdapterConfig;

    /// The key, base URL and contract as set.
    fn access(&self) -> AccessSettings<'_>;

    /// The adapter's configuration from the checked key and base URL and the provider's
    /// own settings, which it checks (naming the setting that is wrong).
    fn config(&self, access: Access) -> Result<Self::Config, SettingError>;
}

/// A provider's checked settings: its adapter's configuration and the deployment's
/// zero-data-retention contract with it, if one is recorded (an [`Agreement`] with that one
/// clause).
#[derive(Debug)]
pub struct Prepared {
    /// What the adapter is built from.
    pub config: Arc<dyn AdapterConfig>,
    /// The contract recorded in `zdr_contract`.
    pub contract: Option<Agreement>,
}

/// One provider's section as read, whatever the provider ([`ProviderSettings`] made
/// object-safe).
pub trait Section: fmt::Debug + Send + Sync {
    /// The provider's id.
    fn id(&self) -> &'static str;

    /// The section as it would be written, the key redacted.
    fn shown(&self) -> serde_json::Value;

    /// Checks the section and prepares the adapter's configuration.
    fn prepare(&self, deployment: &Deployment) -> Result<Prepared, SettingError>;
}

impl<S: ProviderSettings> Section for S {
    fn id(&self) -> &'static str {
        S::ID
    }

    fn shown(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn prepare(&self, deployment: &Deployment) -> Result<Prepared, SettingError> {
        let set = self.access();
        let api_key = set
            .api_key
            .filter(|key| !key.expose_secret().trim().is_empty())
            .cloned();
        let base_url = set.base_url.trim();
        let plain_http_allowed = deployment.plain_http_allowed && base_url.starts_with("http://");
        if !base_url.starts_with("https://") && !plain_http_allowed {
            return Err(SettingError::invalid(
                "base_url",
                "must be an https:// URL (http:// only in development)",
            ));
        }
        let contract = match non_blank(set.zdr_contract) {
            None => None,
            Some(reference) => {
                let invalid = || {
                    SettingError::invalid("zdr_contract", "must be 1 to 200 printable characters")
                };
                let provider = ProviderId::parse(S::ID).map_err(|_| invalid())?;
                Some(Agreement::zero_data_retention(provider, &reference).map_err(|_| invalid())?)
            }
        };
        let config = self.config(Access {
            api_key,
            base_url: base_url.to_owned(),
            timeout: deployment.timeout,
        })?;
        Ok(Prepared {
            config: Arc::new(config),
            contract,
        })
    }
}

/// A provider the gateway can be configured with: what the application's registry lists.
pub trait Registration: Sync {
    /// The provider's id, which names its section.
    fn id(&self) -> &'static str;

    /// Every key of its section, documented.
    fn settings(&self) -> &'static [SettingDoc];

    /// Its section with every setting at its default.
    fn default_section(&self) -> Box<dyn Section>;

    /// Its section from what the configuration read: unset keys keep their default, a key
    /// that is none of its settings or a value of the wrong type is refused by name.
    fn read(&self, raw: RawSection) -> Result<Box<dyn Section>, SettingError>;
}

/// The [`Registration`] of the provider whose section is `S`; each adapter crate exports
/// one.
pub struct Registered<S>(PhantomData<fn() -> S>);

impl<S> Registered<S> {
    /// The registration.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<S> Default for Registered<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: ProviderSettings> fmt::Debug for Registered<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Registered").field(&S::ID).finish()
    }
}

impl<S: ProviderSettings> Registration for Registered<S> {
    fn id(&self) -> &'static str {
        S::ID
    }

    fn settings(&self) -> &'static [SettingDoc] {
        S::SETTINGS
    }

    fn default_section(&self) -> Box<dyn Section> {
        Box::new(S::default())
    }

    fn read(&self, raw: RawSection) -> Result<Box<dyn Section>, SettingError> {
        Ok(Box::new(raw.read::<S>()?))
    }
}

/// Serialises a key as `[redacted]` when set (`#[serde(serialize_with = "redacted")]`).
pub fn redacted<S: Serializer>(
    value: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => serializer.serialize_some("[redacted]"),
        None => serializer.serialize_none(),
    }
}

/// A text setting that is set and not blank, trimmed.
pub fn non_blank(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// The longest model id a model setting accepts.
pub const MAX_MODEL_ID_LEN: usize = 100;

/// A model setting (`text_model`, `image_model`, `video_model`) checked as a model id:
/// trimmed, not blank, at most [`MAX_MODEL_ID_LEN`] characters, printable ASCII without
/// blanks (the providers' ids are such as `gpt-5.6-luna`, `ray-flash-2`, `veo3.1_fast`).
/// Whether the provider offers it is the provider's answer: a retired or unknown model
/// becomes `ProviderError::ModelUnavailable` when it is used.
pub fn model_id(key: &str, value: &str) -> Result<String, SettingError> {
    let id = value.trim();
    if id.is_empty() || id.len() > MAX_MODEL_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SettingError::invalid(
            key,
            &format!(
                "must be a model id: 1 to {MAX_MODEL_ID_LEN} printable characters without blanks"
            ),
        ));
    }
    Ok(id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A section with the shared settings and one of its own.
    #[derive(Debug, Deserialize, Serialize)]
    #[serde(default, deny_unknown_fields)]
    struct ExampleSettings {
        #[serde(serialize_with = "redacted")]
        api_key: Option<SecretString>,
        base_url: String,
        zdr_contract: Option<String>,
        rounds: u32,
    }

    impl Default for ExampleSettings {
        fn default() -> Self {
            Self {
                api_key: None,
                base_url: "https://api.example".to_owned(),
                zdr_contract: None,
                rounds: 3,
            }
        }
    }

    #[derive(Debug)]
    struct ExampleConfig {
        has_key: bool,
        base_url: String,
        rounds: u32,
    }

    impl AdapterConfig for ExampleConfig {
        fn id(&self) -> &'static str {
            "example"
        }

        fn build(&self) -> Result<Arc<dyn ProviderAdapter>, BuildError> {
            Err(BuildError::Id)
        }
    }

    impl ProviderSettings for ExampleSettings {
        const ID: &'static str = "example";
        const SETTINGS: &'static [SettingDoc] = &[];
        type Config = ExampleConfig;

        fn access(&self) -> AccessSettings<'_> {
            AccessSettings {
                api_key: self.api_key.as_ref(),
                base_url: &self.base_url,
                zdr_contract: self.zdr_contract.as_deref(),
            }
        }

        fn config(&self, access: Access) -> Result<ExampleConfig, SettingError> {
            if self.rounds == 0 {
                return Err(SettingError::invalid("rounds", "must be at least 1"));
            }
            Ok(ExampleConfig {
                has_key: access.api_key.is_some(),
                base_url: access.base_url,
                rounds: self.rounds,
            })
        }
    }

    fn raw(entries: &[(&str, RawValue)]) -> RawSection {
        RawSection(
            entries
                .iter()
                .map(|(key, value)| ((*key).to_owned(), value.clone()))
                .collect(),
        )
    }

    fn text(value: &str) -> RawValue {
        RawValue::Text(value.to_owned())
    }

    const DEVELOPMENT: Deployment = Deployment {
        timeout: Duration::from_secs(5),
        plain_http_allowed: true,
    };

    const PRODUCTION: Deployment = Deployment {
        timeout: Duration::from_secs(5),
        plain_http_allowed: false,
    };

    fn prepared(section: &RawSection, deployment: &Deployment) -> Result<Prepared, SettingError> {
        Registered::<ExampleSettings>::new()
            .read(section.clone())?
            .prepare(deployment)
    }

    fn config(prepared: &Prepared) -> &ExampleConfig {
        (prepared.config.as_ref() as &dyn Any)
            .downcast_ref()
            .expect("the example's configuration")
    }

    #[test]
    fn a_section_is_read_into_its_settings_with_defaults_for_what_is_unset() {
        let section = raw(&[
            ("api_key", text("sk-example")),
            ("rounds", RawValue::Unsigned(7)),
        ]);
        let prepared = prepared(&section, &PRODUCTION).expect("valid");
        let config = config(&prepared);
        assert!(config.has_key);
        assert_eq!(config.base_url, "https://api.example");
        assert_eq!(config.rounds, 7);
        assert!(prepared.contract.is_none());
    }

    #[test]
    fn an_unknown_key_or_a_wrong_type_is_refused_by_name_without_its_value() {
        let unknown =
            prepared(&raw(&[("rouds", RawValue::Unsigned(7))]), &DEVELOPMENT).expect_err("unknown");
        assert!(unknown.is_unknown());
        assert_eq!(unknown.to_string(), "unknown setting `rouds`");
        let wrong = prepared(
            &raw(&[("rounds", text("secret-looking-value"))]),
            &DEVELOPMENT,
        )
        .expect_err("not a number");
        assert_eq!(wrong.key(), "rounds");
        assert!(!wrong.to_string().contains("secret-looking"), "{wrong}");
        let key = prepared(&raw(&[("api_key", RawValue::Signed(-4242))]), &DEVELOPMENT)
            .expect_err("not a text");
        assert_eq!(key.key(), "api_key");
        assert!(!key.to_string().contains("4242"), "{key}");
    }

    #[test]
    fn blank_keys_and_contracts_are_unset_and_the_base_url_is_https_outside_development() {
        let blank = raw(&[("api_key", text("  ")), ("zdr_contract", text(" "))]);
        let prepared_blank = prepared(&blank, &PRODUCTION).expect("valid");
        assert!(!config(&prepared_blank).has_key);
        assert!(prepared_blank.contract.is_none());

        let contract = raw(&[("zdr_contract", text(" ZDR-7 "))]);
        let with_contract = prepared(&contract, &PRODUCTION).expect("valid");
        let recorded = with_contract.contract.expect("recorded");
        assert_eq!(recorded.reference(), "ZDR-7");
        assert_eq!(recorded.provider().as_str(), "example");
        let error = prepared(&raw(&[("zdr_contract", text("a\nb"))]), &PRODUCTION)
            .expect_err("not printable");
        assert_eq!(error.key(), "zdr_contract");

        // (base URL, deployment, accepted)
        for (url, deployment, accepted) in [
            (" https://api.example/v1 ", PRODUCTION, true),
            ("http://127.0.0.1:9/v1", DEVELOPMENT, true),
            ("http://127.0.0.1:9/v1", PRODUCTION, false),
            ("ftp://api.example", DEVELOPMENT, false),
        ] {
            let result = prepared(&raw(&[("base_url", text(url))]), &deployment);
            match (result, accepted) {
                (Ok(prepared), true) => assert_eq!(config(&prepared).base_url, url.trim()),
                (Err(error), false) => assert_eq!(error.key(), "base_url", "{url}"),
                (other, _) => panic!("{url}: unexpected {other:?}"),
            }
        }
        let error = prepared(&raw(&[("rounds", RawValue::Unsigned(0))]), &DEVELOPMENT)
            .expect_err("the provider's own check");
        assert_eq!(error.to_string(), "`rounds` must be at least 1");
    }

    #[test]
    fn a_model_setting_is_a_printable_bounded_model_id() {
        // (value, accepted as)
        let longest = "m".repeat(MAX_MODEL_ID_LEN);
        let too_long = format!("{longest}m");
        let cases = [
            ("gpt-5.6-luna", Some("gpt-5.6-luna")),
            (" ray-flash-2 ", Some("ray-flash-2")),
            ("veo3.1_fast", Some("veo3.1_fast")),
            (longest.as_str(), Some(longest.as_str())),
            ("", None),
            ("   ", None),
            ("gpt 5", None),
            ("gpt\n5", None),
            ("gpt-5\u{7}", None),
            ("modèle", None),
            (too_long.as_str(), None),
        ];
        for (value, accepted) in cases {
            match (model_id("text_model", value), accepted) {
                (Ok(id), Some(expected)) => assert_eq!(id, expected),
                (Err(error), None) => assert_eq!(error.key(), "text_model"),
                (other, _) => panic!("{value:?}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn a_section_shows_its_key_redacted_in_debug_and_serialized() {
        let section = Registered::<ExampleSettings>::new()
            .read(raw(&[("api_key", text("sk-sentinel-example"))]))
            .expect("valid");
        assert!(!format!("{section:?}").contains("sk-sentinel"));
        assert_eq!(section.shown()["api_key"], "[redacted]");
        let raw = raw(&[("api_key", text("sk-sentinel-example"))]);
        assert_eq!(format!("{raw:?}"), "{\"api_key\"}");
    }
}
