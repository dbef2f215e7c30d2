//! GraphiQL in development, entirely from the gateway: `GET /graphql` (a browser asking for
//! HTML) answers [`page`], whose scripts and styles are the vendored files of
//! `assets/graphiql/` (versions, sources and licences in its `README.md`) served from
//! `GET /graphiql/{file}`. The page's Content-Security-Policy allows only the gateway's own
//! origin (and `data:` for the fonts and icons GraphiQL's stylesheet carries inline), so
//! GraphiQL makes no request anywhere else. In production neither is served.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::AppState;
use crate::config::Environment;

/// The vendored GraphiQL release.
pub(crate) const VERSION: &str = "4.1.2";

/// The policy of the GraphiQL page: scripts, styles and requests from this origin only.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// A file the page loads: name, media type, bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The files of `/graphiql/{file}`, in the order the page loads them.
const ASSETS: &[Asset] = &[
    Asset {
        name: "graphiql.min.css",
        media_type: CSS,
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "start.css",
        media_type: CSS,
        bytes: include_bytes!("../../assets/graphiql/start.css"),
    },
    Asset {
        name: "react.production.min.js",
        media_type: JS,
        bytes: include_bytes!("../../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        media_type: JS,
        bytes: include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql.min.js",
        media_type: JS,
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "start.js",
        media_type: JS,
        bytes: include_bytes!("../../assets/graphiql/start.js"),
    },
];

/// The GraphiQL page (development only; the caller checks).
pub(crate) fn page() -> HttpResponse {
    let mut head = String::new();
    for asset in ASSETS {
        if asset.media_type == CSS {
            head.push_str(&format!(
                "<link rel=\"stylesheet\" href=\"/graphiql/{}\">\n",
                asset.name
            ));
        }
    }
    let mut scripts = String::new();
    for asset in ASSETS {
        if asset.media_type == JS {
            scripts.push_str(&format!(
                "<script src=\"/graphiql/{}\"></script>\n",
                asset.name
            ));
        }
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .body(format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"robots\" content=\"noindex\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>GraphiQL {VERSION} · IceCone</title>\n\
             <link rel=\"icon\" href=\"data:,\">\n{head}</head>\n<body>\n\
             <div id=\"graphiql\">Loading GraphiQL…</div>\n{scripts}</body>\n</html>\n"
        ))
}

/// `GET /graphiql/{file}`: one of the page's files, in development only.
pub(crate) async fn asset(file: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let found = ASSETS.iter().find(|asset| asset.name == file.as_str());
    match found {
        Some(asset) if state.environment == Environment::Development => HttpResponse::Ok()
            .content_type(asset.media_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(asset.bytes),
        _ => HttpResponse::build(StatusCode::NOT_FOUND)
            .content_type("text/plain; charset=utf-8")
            .body("not found"),
    }
}
