//! Test support: the providers' published API descriptions, and the checks that hold the
//! adapters' wiremock suites to them.
//!
//! Each fixture in `fixtures/` is an OpenAPI document cut down to the operations an
//! adapter calls (see `fixtures/README.md` for where each comes from and how to refresh
//! it). A [`Spec`] answers three questions:
//!
//! - does this request match an operation of the document, and does its body validate
//!   against the operation's request schema ([`Spec::check_request`]; every request a
//!   [`CheckedServer`] received is checked when it is dropped);
//! - does this answer, which a mock is about to give, validate against the schema the
//!   document gives for that status ([`Spec::answer`], [`Spec::empty_answer`],
//!   [`Spec::component_answer`]);
//! - which values does the document list at a place ([`Spec::enumeration`]).
//!
//! Schemas are JSON Schema 2020-12, the dialect of OpenAPI 3.1. OpenAPI 3.0's
//! `nullable: true` (which some 3.1 documents still carry) is read as 3.0 defines it — the
//! value may also be `null` — and 3.0's boolean `exclusiveMinimum`/`exclusiveMaximum` are
//! rewritten to their 2020-12 form. A request body may carry no property its schema does not
//! declare at the top level (`unevaluatedProperties: false`), so a misspelt field fails;
//! answers may carry more than the document lists, as providers add fields. `format` is not
//! asserted and OpenAPI's `discriminator` is not evaluated (JSON Schema has neither as a
//! check): the adapters' tests assert such values exactly.
//!
//! A dev-dependency of the adapter crates only; nothing here is built into the gateway.

use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use wiremock::http::HeaderMap;
use wiremock::{MockServer, ResponseTemplate};

/// Why a request or an answer does not match the provider's document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Violation {}

/// A provider's API description (a fixture of this crate).
#[derive(Debug)]
pub struct Spec {
    name: &'static str,
    document: Value,
    /// The path of the document's first server URL (`/v1` for `https://api.openai.com/v1`),
    /// which the operations' paths follow.
    base_path: String,
}

/// OpenAI's OpenAPI document (`openai/openai-openapi`): Chat Completions and Images.
pub fn openai() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| fixture("openai", include_str!("../fixtures/openai.json")))
}

/// Luma's Dream Machine video generations, transcribed by hand from the types of Luma's
/// Python SDK (`lumalabs/lumaai-python`); Luma's own OpenAPI document is proprietary.
pub fn luma() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| fixture("luma", include_str!("../fixtures/luma.json")))
}

/// HeyGen's v3 video endpoints, as the schemas embedded in HeyGen's CLI describe them
/// (`heygen-com/heygen-cli`, `gen/video.go`).
pub fn heygen() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| fixture("heygen", include_str!("../fixtures/heygen.json")))
}

/// Runway's task endpoints, transcribed by hand from the types of Runway's Node SDK
/// (`runwayml/sdk-node`), which are generated from an OpenAPI document Runway does not
/// publish.
pub fn runway() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| fixture("runway", include_str!("../fixtures/runway.json")))
}

fn fixture(name: &'static str, text: &str) -> Spec {
    match Spec::parse(name, text) {
        Ok(spec) => spec,
        Err(violation) => panic!("the {name} fixture: {violation}"),
    }
}

impl Spec {
    /// Reads an OpenAPI 3.0 or 3.1 document (JSON).
    pub fn parse(name: &'static str, text: &str) -> Result<Self, Violation> {
        let mut document: Value =
            serde_json::from_str(text).map_err(|error| Violation(format!("not JSON: {error}")))?;
        let version = document["openapi"]
            .as_str()
            .ok_or_else(|| Violation("no `openapi` version".to_owned()))?
            .to_owned();
        let openapi_30 = version.starts_with("3.0");
        if !openapi_30 && !version.starts_with("3.1") {
            return Err(Violation(format!("OpenAPI {version} is not supported")));
        }
        normalize(&mut document, openapi_30);
        let server = document["servers"][0]["url"].as_str().unwrap_or("");
        let base_path = server
            .split_once("://")
            .map_or(server, |(_, rest)| rest)
            .split_once('/')
            .map(|(_, path)| path.trim_end_matches('/'))
            .filter(|path| !path.is_empty())
            .map_or(String::new(), |path| format!("/{path}"));
        Ok(Self {
            name,
            document,
            base_path,
        })
    }

    /// Where the document comes from (`x-icecone-source`: repository, commit, path, date,
    /// licence).
    pub fn source(&self) -> &Value {
        &self.document["x-icecone-source"]
    }

    /// The string values the document lists at `pointer` (a JSON pointer into the document,
    /// such as a schema's `enum`), gathered from every `enum` found there, however nested in
    /// `anyOf`/`oneOf`. Panics when there are none: the place is not in the document.
    pub fn enumeration(&self, pointer: &str) -> Vec<String> {
        let node = self
            .document
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{}: nothing at {pointer}", self.name));
        let mut values = Vec::new();
        collect_enums(node, &mut values);
        assert!(!values.is_empty(), "{}: no enum at {pointer}", self.name);
        values
    }

    /// Checks a request: its method and path must be an operation of the document, the
    /// header parameters the operation requires present and valid, its content type one the
    /// operation takes, and its body valid against the operation's request schema (or
    /// empty, when the operation takes none).
    pub fn check_request(
        &self,
        method: &str,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Violation> {
        let (pointer, operation) = self.operation(method, path)?;
        let at = format!("{} {method} {path}", self.name);
        self.check_headers(&pointer, headers)
            .map_err(|problem| Violation(format!("{at}: {problem}")))?;
        let content_type = headers
            .get("content-type")
            .and_then(|value| value.to_str().ok());
        let Some(request_body) = operation.get("requestBody") else {
            return if body.is_empty() {
                Ok(())
            } else {
                Err(Violation(format!("{at}: the operation takes no body")))
            };
        };
        if body.is_empty() {
            return if request_body["required"] == json!(true) {
                Err(Violation(format!("{at}: the operation requires a body")))
            } else {
                Ok(())
            };
        }
        let media = content_type
            .and_then(|value| value.split(';').next())
            .map(str::trim)
            .unwrap_or_default();
        if request_body["content"].get(media).is_none() {
            return Err(Violation(format!(
                "{at}: the operation does not take {media:?}"
            )));
        }
        if media != "application/json" {
            return Err(Violation(format!(
                "{at}: only JSON bodies are checked, not {media:?}"
            )));
        }
        let instance: Value = serde_json::from_slice(body)
            .map_err(|error| Violation(format!("{at}: the body is not JSON: {error}")))?;
        let schema = format!(
            "{pointer}/requestBody/content/{}/schema",
            escape("application/json")
        );
        self.validate(&schema, &instance, true)
            .map_err(|errors| Violation(format!("{at}: the request body {errors}")))
    }

    /// Checks an answer with a JSON body: the operation must describe `status` (exactly, by
    /// its range such as `2XX`, or as `default`) with a JSON body, and `body` must be valid
    /// against it.
    pub fn check_answer(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), Violation> {
        let (pointer, response) = self.response(method, path, status)?;
        let at = format!("{} {method} {path} → {status}", self.name);
        if response["content"].get("application/json").is_none() {
            return Err(Violation(format!(
                "{at}: the document gives this answer no JSON body"
            )));
        }
        let schema = format!("{pointer}/content/{}/schema", escape("application/json"));
        self.validate(&schema, body, false)
            .map_err(|errors| Violation(format!("{at}: the answer {errors}")))
    }

    /// A mock's answer with a JSON body, checked by [`Spec::check_answer`]; panics when it
    /// does not match the document.
    pub fn answer(&self, method: &str, path: &str, status: u16, body: Value) -> ResponseTemplate {
        if let Err(violation) = self.check_answer(method, path, status, &body) {
            panic!("{violation}");
        }
        ResponseTemplate::new(status).set_body_json(body)
    }

    /// A mock's answer without a body; panics unless the document describes `status` for
    /// this operation without content.
    pub fn empty_answer(&self, method: &str, path: &str, status: u16) -> ResponseTemplate {
        match self.response(method, path, status) {
            Ok((_, response)) if response.get("content").is_none() => {}
            Ok(_) => panic!(
                "{} {method} {path} → {status}: the document gives this answer a body",
                self.name
            ),
            Err(violation) => panic!("{violation}"),
        }
        ResponseTemplate::new(status)
    }

    /// A mock's answer whose body is valid against the document's component schema `name`
    /// (`#/components/schemas/<name>`): for an error the provider documents in general
    /// rather than per operation. Panics when it is not.
    pub fn component_answer(&self, status: u16, name: &str, body: Value) -> ResponseTemplate {
        let pointer = format!("/components/schemas/{}", escape(name));
        if self.document.pointer(&pointer).is_none() {
            panic!("{}: no component schema {name}", self.name);
        }
        if let Err(errors) = self.validate(&pointer, &body, false) {
            panic!("{}: the {name} answer {errors}", self.name);
        }
        ResponseTemplate::new(status).set_body_json(body)
    }

    /// Wraps `server`: every request it received is checked by [`Spec::check_request`]
    /// when the wrapper is dropped.
    pub fn guard(&'static self, server: MockServer) -> CheckedServer {
        CheckedServer { server, spec: self }
    }

    /// Checks the header parameters the operation (or its path) declares as required: each
    /// is present, and its value valid against the parameter's schema.
    fn check_headers(&self, operation: &str, headers: &HeaderMap) -> Result<(), String> {
        let path_item = operation
            .rsplit_once('/')
            .map_or(operation, |(item, _)| item);
        for owner in [path_item, operation] {
            let declared = self
                .document
                .pointer(&format!("{owner}/parameters"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate();
            for (index, parameter) in declared {
                if parameter["in"] != json!("header") || parameter["required"] != json!(true) {
                    continue;
                }
                let name = parameter["name"].as_str().unwrap_or_default();
                let value = headers
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .ok_or_else(|| format!("the required header {name} is missing"))?;
                self.validate(
                    &format!("{owner}/parameters/{index}/schema"),
                    &json!(value),
                    false,
                )
                .map_err(|errors| format!("the header {name} {errors}"))?;
            }
        }
        Ok(())
    }

    /// The operation `method path` names: its JSON pointer and its object.
    fn operation(&self, method: &str, path: &str) -> Result<(String, &Value), Violation> {
        let method = method.to_ascii_lowercase();
        let missing = || {
            Violation(format!(
                "{}: the document has no operation {} {path}",
                self.name,
                method.to_ascii_uppercase()
            ))
        };
        let relative = path
            .strip_prefix(self.base_path.as_str())
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .ok_or_else(missing)?;
        let paths = self.document["paths"].as_object().ok_or_else(missing)?;
        // The template that matches with the most literal segments: `/generations/video`
        // before `/generations/{id}`.
        let (template, item) = paths
            .iter()
            .filter_map(|(template, item)| {
                literal_segments(template, relative).map(|score| (score, template, item))
            })
            .filter(|(_, _, item)| item.get(&method).is_some())
            .max_by_key(|(score, _, _)| *score)
            .map(|(_, template, item)| (template, item))
            .ok_or_else(missing)?;
        Ok((
            format!("/paths/{}/{method}", escape(template)),
            &item[&method],
        ))
    }

    /// The response the operation describes for `status`: its JSON pointer and its object.
    fn response(
        &self,
        method: &str,
        path: &str,
        status: u16,
    ) -> Result<(String, &Value), Violation> {
        let (pointer, operation) = self.operation(method, path)?;
        let responses = &operation["responses"];
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let key = [exact.as_str(), range.as_str(), "default"]
            .into_iter()
            .find(|key| responses.get(key).is_some())
            .ok_or_else(|| {
                Violation(format!(
                    "{} {method} {path}: the document describes no {status} answer",
                    self.name
                ))
            })?;
        let mut pointer = format!("{pointer}/responses/{key}");
        let mut response = &responses[key];
        // A response may be a reference to `#/components/responses/…`.
        while let Some(reference) = response.get("$ref").and_then(Value::as_str) {
            pointer = reference.trim_start_matches('#').to_owned();
            response = self.document.pointer(&pointer).ok_or_else(|| {
                Violation(format!("{}: a dangling reference {reference}", self.name))
            })?;
        }
        Ok((pointer, response))
    }

    /// Validates `instance` against the schema at `pointer`, resolving references against
    /// the whole document; `closed` refuses top-level properties the schema does not declare.
    fn validate(&self, pointer: &str, instance: &Value, closed: bool) -> Result<(), String> {
        let mut root = Map::new();
        for (key, value) in self.document.as_object().into_iter().flatten() {
            if key == "paths" || key == "components" {
                root.insert(key.clone(), value.clone());
            }
        }
        root.insert(
            "allOf".to_owned(),
            json!([{ "$ref": format!("#{}", fragment(pointer)) }]),
        );
        if closed {
            root.insert("unevaluatedProperties".to_owned(), json!(false));
        }
        let validator = jsonschema::draft202012::options()
            .build(&Value::Object(root))
            .map_err(|error| format!("cannot be checked: the schema at {pointer}: {error}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|error| format!("{} at {:?}", error, error.instance_path().as_str()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("is invalid: {}", errors.join("; ")))
        }
    }
}

/// A mock server whose received requests are checked against a [`Spec`] when it is
/// dropped (as wiremock checks its `expect`ations). Dereferences to the [`MockServer`].
#[derive(Debug)]
pub struct CheckedServer {
    server: MockServer,
    spec: &'static Spec,
}

impl CheckedServer {
    /// Checks every request received so far.
    pub async fn check(&self) -> Result<(), Violation> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        for request in requests {
            self.spec.check_request(
                request.method.as_str(),
                request.url.path(),
                &request.headers,
                &request.body,
            )?;
        }
        Ok(())
    }
}

impl Deref for CheckedServer {
    type Target = MockServer;

    fn deref(&self) -> &MockServer {
        &self.server
    }
}

impl Drop for CheckedServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        if let Err(violation) = futures_executor::block_on(self.check()) {
            panic!("a request does not match the provider's document: {violation}");
        }
    }
}

/// How many literal segments of `template` match `path`, when all its segments match
/// (`{name}` matches any one non-empty segment).
fn literal_segments(template: &str, path: &str) -> Option<usize> {
    let templates: Vec<&str> = template.split('/').collect();
    let segments: Vec<&str> = path.split('/').collect();
    if templates.len() != segments.len() {
        return None;
    }
    let mut literal = 0;
    for (expected, actual) in templates.iter().zip(&segments) {
        if expected.starts_with('{') && expected.ends_with('}') {
            if actual.is_empty() {
                return None;
            }
        } else if expected == actual {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

/// `pointer` as a URI fragment: every byte a fragment may not hold (such as the braces of
/// a path template) percent-encoded (RFC 3986, 3.5).
fn fragment(pointer: &str) -> String {
    let mut encoded = String::with_capacity(pointer.len());
    for byte in pointer.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A JSON pointer segment for `text` (RFC 6901).
fn escape(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}

fn collect_enums(node: &Value, values: &mut Vec<String>) {
    match node {
        Value::Object(object) => {
            if let Some(Value::Array(items)) = object.get("enum") {
                values.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            for key in ["anyOf", "oneOf", "allOf"] {
                if let Some(Value::Array(items)) = object.get(key) {
                    for item in items {
                        collect_enums(item, values);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_enums(item, values);
            }
        }
        _ => {}
    }
}

/// Rewrites OpenAPI 3.0 schema keywords to JSON Schema 2020-12, everywhere in the document:
/// `nullable: true` admits `null`; in a 3.0 document, boolean `exclusiveMinimum` and
/// `exclusiveMaximum` become the numbers 2020-12 expects.
fn normalize(node: &mut Value, openapi_30: bool) {
    match node {
        Value::Array(items) => {
            for item in items {
                normalize(item, openapi_30);
            }
        }
        Value::Object(object) => {
            for value in object.values_mut() {
                normalize(value, openapi_30);
            }
            if openapi_30 {
                for (flag, bound) in [
                    ("exclusiveMinimum", "minimum"),
                    ("exclusiveMaximum", "maximum"),
                ] {
                    if let Some(Value::Bool(exclusive)) = object.get(flag).cloned() {
                        object.remove(flag);
                        if exclusive && let Some(limit) = object.remove(bound) {
                            object.insert(flag.to_owned(), limit);
                        }
                    }
                }
            }
            // Only the keyword: a property named `nullable` is a schema, not a boolean.
            let nullable = match object.get("nullable") {
                Some(Value::Bool(nullable)) => Some(*nullable),
                _ => None,
            };
            if nullable.is_some() {
                object.remove("nullable");
            }
            if nullable == Some(true) {
                if let Some(Value::Array(items)) = object.get_mut("enum")
                    && !items.contains(&Value::Null)
                {
                    items.push(Value::Null);
                }
                match object.get_mut("type") {
                    Some(Value::String(kind)) => {
                        let kind = std::mem::take(kind);
                        object.insert("type".to_owned(), json!([kind, "null"]));
                    }
                    Some(Value::Array(kinds)) => {
                        if !kinds.contains(&json!("null")) {
                            kinds.push(json!("null"));
                        }
                    }
                    _ => {
                        let inner = std::mem::take(object);
                        object.insert(
                            "anyOf".to_owned(),
                            json!([Value::Object(inner), { "type": "null" }]),
                        );
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(version: &str) -> Spec {
        // The same bound, as each version writes it.
        let size = if version.starts_with("3.0") {
            json!({ "type": "integer", "minimum": 1, "exclusiveMinimum": true, "nullable": true })
        } else {
            json!({ "type": "integer", "exclusiveMinimum": 1, "nullable": true })
        };
        let document = json!({
            "openapi": version,
            "info": { "title": "t", "version": "1" },
            "servers": [{ "url": "https://api.example.com/v1" }],
            "paths": {
                "/things": {
                    "post": {
                        "requestBody": { "required": true, "content": { "application/json": {
                            "schema": { "$ref": "#/components/schemas/NewThing" } } } },
                        "responses": {
                            "201": { "description": "", "content": { "application/json": {
                                "schema": { "$ref": "#/components/schemas/Thing" } } } },
                            "default": { "$ref": "#/components/responses/Error" }
                        }
                    }
                },
                "/things/{id}": {
                    "parameters": [{ "name": "X-Version", "in": "header", "required": true,
                        "schema": { "const": "2024" } }],
                    "get": { "responses": { "2XX": { "description": "", "content": {
                        "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } } } },
                    "delete": { "responses": { "204": { "description": "" } } }
                },
                "/things/special": { "get": { "responses": { "200": { "description": "" } } } }
            },
            "components": {
                "schemas": {
                    "NewThing": { "allOf": [
                        { "type": "object", "properties": { "name": { "type": "string" } }, "required": ["name"] },
                        { "type": "object", "properties": {
                            "size": size,
                            "kind": { "type": "string", "enum": ["a", "b"], "nullable": true }
                        } }
                    ] },
                    "Thing": { "type": "object", "properties": {
                        "id": { "type": "string" },
                        "note": { "$ref": "#/components/schemas/Note", "nullable": true }
                    }, "required": ["id"] },
                    "Note": { "type": "string" },
                    "Error": { "type": "object", "properties": { "detail": { "type": "string" } } }
                },
                "responses": { "Error": { "description": "", "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Error" } } } } }
            }
        });
        Spec::parse("example", &document.to_string()).expect("a valid document")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().expect("a header value"));
        }
        headers
    }

    fn json_headers() -> HeaderMap {
        headers(&[("content-type", "application/json")])
    }

    fn post(spec: &Spec, path: &str, body: Value) -> Result<(), Violation> {
        spec.check_request("POST", path, &json_headers(), body.to_string().as_bytes())
    }

    #[test]
    fn requests_must_name_an_operation_of_the_document() {
        let spec = spec("3.1.0");
        assert!(post(&spec, "/v1/things", json!({ "name": "x" })).is_ok());
        // Not an operation: the path, the method, or the base path is wrong.
        for (method, path) in [
            ("POST", "/v1/thing"),
            ("PUT", "/v1/things"),
            ("POST", "/things"),
            ("POST", "/v2/things"),
            ("GET", "/v1/things"),
            ("GET", "/v1/things/a/b"),
        ] {
            let error = spec
                .check_request(method, path, &json_headers(), b"{\"name\":\"x\"}")
                .expect_err(path);
            assert!(error.to_string().contains("no operation"), "{error}");
        }
        // A template segment matches any non-empty segment; a literal one wins over it.
        let versioned = headers(&[("x-version", "2024")]);
        spec.check_request("GET", "/v1/things/42", &versioned, b"")
            .expect("a known operation");
        assert!(
            spec.check_request("DELETE", "/v1/things/42", &versioned, b"")
                .is_ok()
        );
        assert!(
            spec.check_request("DELETE", "/v1/things/", &versioned, b"")
                .is_err()
        );
        // The literal `/things/special` takes no header: it is the operation matched.
        let none = HeaderMap::new();
        assert!(
            spec.check_request("GET", "/v1/things/special", &none, b"")
                .is_ok()
        );
        // The path's required header: missing, or not a value its schema admits.
        let missing = spec.check_request("GET", "/v1/things/42", &none, b"");
        assert!(
            missing
                .expect_err("missing")
                .to_string()
                .contains("X-Version is missing")
        );
        let wrong = headers(&[("x-version", "2023")]);
        assert!(
            spec.check_request("GET", "/v1/things/42", &wrong, b"")
                .is_err()
        );
    }

    #[test]
    fn request_bodies_are_validated_and_closed_at_the_top_level() {
        let spec = spec("3.1.0");
        // (body, valid)
        let cases = [
            (json!({ "name": "x", "size": 2, "kind": "a" }), true),
            (json!({ "name": "x" }), true),
            // nullable admits null, for a typed value and an enum alike
            (json!({ "name": "x", "size": null, "kind": null }), true),
            (json!({}), false),
            (json!({ "name": 3 }), false),
            (json!({ "name": "x", "kind": "c" }), false),
            // a property no part of the schema declares: a misspelt field
            (json!({ "name": "x", "sise": 2 }), false),
        ];
        for (body, valid) in cases {
            assert_eq!(
                post(&spec, "/v1/things", body.clone()).is_ok(),
                valid,
                "{body}"
            );
        }
        // Content types and empty bodies.
        let text = headers(&[("content-type", "text/plain")]);
        assert!(
            spec.check_request("POST", "/v1/things", &text, b"x")
                .is_err()
        );
        assert!(
            spec.check_request("POST", "/v1/things", &json_headers(), b"")
                .is_err()
        );
        assert!(
            spec.check_request("POST", "/v1/things", &json_headers(), b"{")
                .is_err()
        );
        assert!(
            spec.check_request("GET", "/v1/things/1", &json_headers(), b"{}")
                .is_err()
        );
    }

    #[test]
    fn operations_follow_the_path_of_the_first_server_url() {
        for (server, base) in [
            ("https://api.example.com", ""),
            ("https://api.example.com/", ""),
            (
                "https://api.example.com/dream-machine/v1/",
                "/dream-machine/v1",
            ),
        ] {
            let document = json!({
                "openapi": "3.1.0",
                "servers": [{ "url": server }],
                "paths": { "/ping": { "get": { "responses": { "200": { "description": "" } } } } }
            });
            let spec = Spec::parse("example", &document.to_string()).expect("valid");
            assert_eq!(spec.base_path, base, "{server}");
            let path = format!("{base}/ping");
            assert!(
                spec.check_request("GET", &path, &HeaderMap::new(), b"")
                    .is_ok()
            );
        }
    }

    #[test]
    fn openapi_30_boolean_exclusive_bounds_become_numbers() {
        for version in ["3.0.3", "3.1.0"] {
            let spec = spec(version);
            assert!(post(&spec, "/v1/things", json!({ "name": "x", "size": 2 })).is_ok());
            assert!(post(&spec, "/v1/things", json!({ "name": "x", "size": 1 })).is_err());
            assert!(post(&spec, "/v1/things", json!({ "name": "x", "size": null })).is_ok());
        }
        assert!(Spec::parse("x", r#"{"openapi": "2.0"}"#).is_err());
    }

    #[test]
    fn answers_are_validated_against_the_status_the_document_gives() {
        let spec = spec("3.1.0");
        let thing = json!({ "id": "1", "note": null, "extra": true });
        assert!(spec.check_answer("POST", "/v1/things", 201, &thing).is_ok());
        spec.check_answer("GET", "/v1/things/1", 200, &thing)
            .expect("2XX");
        assert!(
            spec.check_answer("GET", "/v1/things/1", 201, &thing)
                .is_ok()
        );
        assert!(
            spec.check_answer("POST", "/v1/things", 201, &json!({ "note": "x" }))
                .is_err()
        );
        // `default`, through a reference to a component response.
        let error = json!({ "detail": "no" });
        assert!(spec.check_answer("POST", "/v1/things", 400, &error).is_ok());
        assert!(
            spec.check_answer("POST", "/v1/things", 400, &json!({ "detail": [] }))
                .is_err()
        );
        // A status the document does not describe, or describes without a body.
        assert!(
            spec.check_answer("GET", "/v1/things/1", 404, &error)
                .is_err()
        );
        assert!(
            spec.check_answer("DELETE", "/v1/things/1", 204, &error)
                .is_err()
        );
    }

    #[test]
    #[should_panic(expected = "the document gives this answer a body")]
    fn an_empty_answer_must_be_one_the_document_gives_no_body() {
        let spec = spec("3.1.0");
        let _ = spec.empty_answer("DELETE", "/v1/things/1", 204);
        let _ = spec.empty_answer("GET", "/v1/things/1", 200);
    }

    #[test]
    fn enumerations_gather_nested_enums() {
        let spec = spec("3.1.0");
        assert_eq!(
            spec.enumeration("/components/schemas/NewThing/allOf/1/properties/kind"),
            ["a", "b"]
        );
    }

    #[test]
    fn every_fixture_parses_and_names_its_source() {
        for spec in [openai(), luma(), heygen(), runway()] {
            for key in ["repository", "commit", "path", "dated", "licence"] {
                assert!(
                    spec.source()[key]
                        .as_str()
                        .is_some_and(|value| !value.is_empty()),
                    "{}: {key}",
                    spec.name
                );
            }
        }
    }
}
