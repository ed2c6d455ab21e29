//! The dashboard (`/`) and the website widget (`/widget.js`, `/demo`): plain files embedded in the
//! binary so the server runs from any directory. `SWITCHBOARD_STATIC_DIR` serves them from disk
//! instead, for working on them without rebuilding.

use actix_web::{http::header, web, HttpResponse};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    embedded: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        embedded: include_str!("../../static/index.html"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        embedded: include_str!("../../static/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        embedded: include_str!("../../static/app.css"),
    },
    Asset {
        name: "widget.js",
        content_type: "text/javascript; charset=utf-8",
        embedded: include_str!("../../static/widget.js"),
    },
    Asset {
        name: "widget.css",
        content_type: "text/css; charset=utf-8",
        embedded: include_str!("../../static/widget.css"),
    },
    Asset {
        name: "demo.html",
        content_type: "text/html; charset=utf-8",
        embedded: include_str!("../../static/demo.html"),
    },
];

/// The dashboard may load only its own code and talk only to its own server; customer text is
/// inserted as text, and this policy is the second line of defence if that ever slips.
const DASHBOARD_CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
     connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn asset(name: &str) -> Option<(String, &'static str)> {
    let a = ASSETS.iter().find(|a| a.name == name)?;
    let body = match std::env::var_os("SWITCHBOARD_STATIC_DIR") {
        Some(dir) => std::fs::read_to_string(std::path::Path::new(&dir).join(a.name)).ok()?,
        None => a.embedded.to_owned(),
    };
    Some((body, a.content_type))
}

fn serve(name: &str, csp: Option<&str>, cors: bool) -> HttpResponse {
    let Some((body, content_type)) = asset(name) else {
        return HttpResponse::NotFound()
            .json(serde_json::json!({"error": "not_found", "message": "asset not found"}));
    };
    let mut resp = HttpResponse::Ok();
    resp.content_type(content_type)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if let Some(csp) = csp {
        resp.insert_header((header::CONTENT_SECURITY_POLICY, csp));
    }
    if cors {
        // The widget script is embedded in customers' own sites.
        resp.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    }
    resp.body(body)
}

pub async fn dashboard() -> HttpResponse {
    serve("index.html", Some(DASHBOARD_CSP), false)
}

pub async fn file(name: web::Path<String>) -> HttpResponse {
    match name.as_str() {
        "app.js" | "app.css" => serve(&name, None, false),
        "widget.js" | "widget.css" => serve(&name, None, true),
        _ => HttpResponse::NotFound()
            .json(serde_json::json!({"error": "not_found", "message": "route not found"})),
    }
}

pub async fn demo() -> HttpResponse {
    serve("demo.html", None, false)
}
