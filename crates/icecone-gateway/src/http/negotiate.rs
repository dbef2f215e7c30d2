//! Content negotiation for GraphQL over HTTP: which response media type an `Accept` header
//! asks for, and whether a request body is JSON.

/// The response media types the gateway can answer GraphQL requests with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseType {
    /// `application/graphql-response+json`: status codes reflect request errors.
    GraphqlResponseJson,
    /// `application/json`: every well-formed request is answered with 200.
    Json,
}

impl ResponseType {
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response type from an `Accept` header. A missing header means
/// `application/json` (the spec's legacy default); `None` means nothing acceptable (406).
///
/// The higher quality value wins; on a tie an exact mention beats a wildcard, and
/// `application/graphql-response+json` beats `application/json`; wildcards alone give
/// `application/json`.
pub(crate) fn response_type(accept: Option<&str>) -> Option<ResponseType> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(ResponseType::Json);
    };
    // (quality, exact) per candidate; the most specific matching range sets the quality.
    let mut graphql: Option<(u16, u8)> = None;
    let mut json: Option<(u16, u8)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .find_map(parse_quality)
            .unwrap_or(1000);
        let specificity = match media.as_str() {
            "application/graphql-response+json" | "application/json" => 2,
            "application/*" => 1,
            "*/*" => 0,
            _ => continue,
        };
        let offer = |slot: &mut Option<(u16, u8)>| {
            if slot.is_none_or(|(_, s)| specificity > s) {
                *slot = Some((quality, specificity));
            }
        };
        match media.as_str() {
            "application/graphql-response+json" => offer(&mut graphql),
            "application/json" => offer(&mut json),
            _ => {
                offer(&mut graphql);
                offer(&mut json);
            }
        }
    }
    let graphql = graphql.filter(|(q, _)| *q > 0);
    let json = json.filter(|(q, _)| *q > 0);
    match (graphql, json) {
        (None, None) => None,
        (Some(_), None) => Some(ResponseType::GraphqlResponseJson),
        (None, Some(_)) => Some(ResponseType::Json),
        (Some((gq, gs)), Some((jq, js))) => {
            if gq > jq || (gq == jq && gs == 2 && gs >= js) {
                Some(ResponseType::GraphqlResponseJson)
            } else {
                Some(ResponseType::Json)
            }
        }
    }
}

/// A quality value in thousandths (`q=0.5` → 500); `None` when malformed.
fn parse_quality(text: &str) -> Option<u16> {
    let value: f32 = text.trim().parse().ok()?;
    if (0.0..=1.0).contains(&value) {
        // In range 0..=1000, so the conversion cannot truncate.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some((value * 1000.0).round() as u16)
    } else {
        None
    }
}

/// Whether a `Content-Type` header names JSON in UTF-8 (the only request body accepted).
pub(crate) fn is_json_body(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|param| match param.trim().split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    })
}

/// Whether a browser asks for a page (GraphiQL) rather than a GraphQL response.
pub(crate) fn wants_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|r| {
            r.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("text/html")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::ResponseType::{GraphqlResponseJson, Json};
    use super::*;

    #[test]
    fn the_response_type_follows_the_accept_header() {
        let cases: &[(Option<&str>, Option<ResponseType>)] = &[
            (None, Some(Json)),
            (Some(""), Some(Json)),
            (Some("application/json"), Some(Json)),
            (
                Some("application/graphql-response+json"),
                Some(GraphqlResponseJson),
            ),
            (
                Some("application/graphql-response+json, application/json;q=0.9"),
                Some(GraphqlResponseJson),
            ),
            (
                Some("application/json, application/graphql-response+json"),
                Some(GraphqlResponseJson),
            ),
            (
                Some("application/json, application/graphql-response+json;q=0.5"),
                Some(Json),
            ),
            (Some("*/*"), Some(Json)),
            (Some("application/*"), Some(Json)),
            (Some("text/html, */*;q=0.8"), Some(Json)),
            (
                Some("application/graphql-response+json, */*"),
                Some(GraphqlResponseJson),
            ),
            (Some("text/html"), None),
            (Some("application/xml"), None),
            (Some("application/json;q=0"), None),
            (Some("application/json;q=0, */*"), Some(GraphqlResponseJson)),
            (Some("APPLICATION/JSON"), Some(Json)),
            (Some("application/json; charset=utf-8"), Some(Json)),
            (Some("application/json;q=banana"), Some(Json)),
        ];
        for (accept, expected) in cases {
            assert_eq!(response_type(*accept), *expected, "Accept: {accept:?}");
        }
    }

    #[test]
    fn only_json_in_utf8_is_accepted_as_a_request_body() {
        let cases: &[(Option<&str>, bool)] = &[
            (Some("application/json"), true),
            (Some("application/json; charset=utf-8"), true),
            (Some("application/json;charset=\"UTF-8\""), true),
            (Some("Application/JSON"), true),
            (Some("application/json; charset=latin1"), false),
            (Some("application/graphql"), false),
            (Some("text/plain"), false),
            (Some("application/x-www-form-urlencoded"), false),
            (None, false),
        ];
        for (content_type, expected) in cases {
            assert_eq!(
                is_json_body(*content_type),
                *expected,
                "Content-Type: {content_type:?}"
            );
        }
    }
}
