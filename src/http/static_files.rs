//! The dashboard (`/`, its entry module `/app.js` and the modules it imports from `/js/`) and the
//! website widget (`/widget.js`, `/demo`): plain files embedded in the binary so the server runs
//! from any directory. `SWITCHBOARD_STATIC_DIR` serves them from disk instead, for working on
//! them without rebuilding (only the files listed here, under the same names).

use actix_web::{http::header, web, HttpResponse};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    embedded: &'static str,
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const JSON: &str = "application/json";

/// One of the dashboard's catalogues of words: `static/i18n/<lang>.json`, served at
/// `/i18n/<lang>.json` (js/i18n.js loads English and the chosen language).
macro_rules! catalogue {
    ($file:literal) => {
        Asset {
            name: concat!("i18n/", $file),
            content_type: JSON,
            embedded: include_str!(concat!("../../static/i18n/", $file)),
        }
    };
}

/// One of the dashboard's ES modules: `static/js/<file>`, served at `/js/<file>`.
macro_rules! module {
    ($file:literal) => {
        Asset {
            name: concat!("js/", $file),
            content_type: JAVASCRIPT,
            embedded: include_str!(concat!("../../static/js/", $file)),
        }
    };
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        embedded: include_str!("../../static/index.html"),
    },
    Asset {
        name: "app.js",
        content_type: JAVASCRIPT,
        embedded: include_str!("../../static/app.js"),
    },
    module!("account.js"),
    module!("activity.js"),
    module!("agents.js"),
    module!("answer-basis.js"),
    module!("api.js"),
    module!("attach.js"),
    module!("broadcast-detail.js"),
    module!("broadcast-words.js"),
    module!("broadcasts.js"),
    module!("bulk.js"),
    module!("keys.js"),
    module!("canned.js"),
    module!("canned-picker.js"),
    module!("canned-vars.js"),
    module!("knowledge.js"),
    module!("degraded.js"),
    module!("reports.js"),
    module!("composer.js"),
    module!("contact.js"),
    module!("contact-broadcasts.js"),
    module!("contact-segments.js"),
    module!("csat.js"),
    module!("dom.js"),
    module!("emoji.js"),
    module!("files.js"),
    module!("format.js"),
    module!("list.js"),
    module!("memories.js"),
    module!("new-conversation.js"),
    module!("message.js"),
    module!("messages.js"),
    module!("notify.js"),
    module!("profile.js"),
    module!("realtime.js"),
    module!("referral.js"),
    module!("review.js"),
    module!("segments.js"),
    module!("snooze.js"),
    module!("session.js"),
    module!("store.js"),
    module!("template-picker.js"),
    module!("thread.js"),
    module!("topbar.js"),
    module!("ui.js"),
    module!("voice.js"),
    module!("i18n.js"),
    catalogue!("en.json"),
    catalogue!("es.json"),
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        embedded: include_str!("../../static/app.css"),
    },
    Asset {
        name: "widget.js",
        content_type: JAVASCRIPT,
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

/// Every embedded file by its name, for the checks of the dashboard's words (i18n_check.rs).
#[cfg(test)]
pub(super) fn embedded_assets() -> impl Iterator<Item = (&'static str, &'static str)> {
    ASSETS.iter().map(|a| (a.name, a.embedded))
}

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

/// `/app.js`, `/app.css`, `/widget.js`, `/widget.css`, `/js/<module>.js` and `/i18n/<lang>.json`
/// for exactly the embedded modules and catalogues; any other name is 404 like an unknown route.
pub async fn file(name: web::Path<String>) -> HttpResponse {
    match name.as_str() {
        "app.js" | "app.css" => serve(&name, None, false),
        "widget.js" | "widget.css" => serve(&name, None, true),
        module if module.starts_with("js/") && ASSETS.iter().any(|a| a.name == module) => {
            serve(module, None, false)
        }
        catalogue
            if catalogue.starts_with("i18n/") && ASSETS.iter().any(|a| a.name == catalogue) =>
        {
            serve(catalogue, None, false)
        }
        _ => HttpResponse::NotFound()
            .json(serde_json::json!({"error": "not_found", "message": "route not found"})),
    }
}

pub async fn demo() -> HttpResponse {
    serve("demo.html", None, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dashboard's own scripts: the entry module and what it imports (the widget is a
    /// classic script for other people's pages, not one of them).
    fn dashboard_scripts() -> impl Iterator<Item = &'static Asset> {
        ASSETS
            .iter()
            .filter(|a| a.name == "app.js" || a.name.starts_with("js/"))
    }

    /// The module specifiers of a module's static `import … from '…'`, `import '…'` and
    /// `export … from '…'` statements (which may span lines).
    fn imports(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut statement: Option<String> = None;
        for line in source.lines() {
            let t = line.trim();
            let starts = [
                "import ", "import{", "import'", "import\"", "export {", "export *",
            ]
            .iter()
            .any(|p| t.starts_with(p));
            if statement.is_none() && starts {
                statement = Some(String::new());
            }
            let Some(s) = statement.as_mut() else {
                continue;
            };
            s.push_str(t);
            s.push(' ');
            if t.ends_with(';') {
                let s = statement.take().unwrap_or_default();
                let body = s.trim_end().trim_end_matches(';').trim_end();
                if let Some(quote) = body.chars().last().filter(|c| *c == '\'' || *c == '"') {
                    let inner = &body[..body.len() - 1];
                    if let Some(open) = inner.rfind(quote) {
                        found.push(inner[open + 1..].to_owned());
                    }
                }
            }
        }
        found
    }

    /// `spec` as imported by the asset `from` ("js/list.js" importing "./api.js" is "js/api.js").
    fn resolve(from: &str, spec: &str) -> Option<String> {
        if !spec.starts_with("./") && !spec.starts_with("../") {
            return None;
        }
        let mut parts: Vec<&str> = from.split('/').collect();
        parts.pop();
        for part in spec.split('/') {
            match part {
                "." => {}
                ".." => {
                    parts.pop()?;
                }
                p => parts.push(p),
            }
        }
        Some(parts.join("/"))
    }

    #[test]
    fn the_import_reader_reads_what_the_modules_write() {
        let src = "import { a } from './a.js';\nimport {\n  b,\n  c,\n} from \"../b.js\";\nimport './side.js';\nexport { d } from './d.js';\n// import nothing from './comment.js'\nconst from = 'x';\nexport function f() {}\n";
        assert_eq!(
            imports(src),
            ["./a.js", "../b.js", "./side.js", "./d.js"].map(String::from)
        );
        assert_eq!(
            resolve("js/list.js", "./api.js").as_deref(),
            Some("js/api.js")
        );
        assert_eq!(
            resolve("app.js", "./js/dom.js").as_deref(),
            Some("js/dom.js")
        );
        assert_eq!(resolve("js/a.js", "../app.js").as_deref(), Some("app.js"));
        assert_eq!(resolve("js/a.js", "/js/b.js"), None);
    }

    /// A module imported but not listed in ASSETS (no `include_str!`) would be a 404 in the
    /// browser and a dashboard that never starts.
    #[test]
    fn every_import_names_an_embedded_module() {
        let mut reached = std::collections::BTreeSet::from(["app.js".to_owned()]);
        for asset in ASSETS.iter().filter(|a| a.content_type == JAVASCRIPT) {
            assert!(
                !asset.embedded.contains("import("),
                "{}: dynamic import() is not checked here",
                asset.name
            );
            for spec in imports(asset.embedded) {
                let target = resolve(asset.name, &spec).unwrap_or_else(|| {
                    panic!(
                        "{}: import '{spec}' must be a relative path to an embedded module",
                        asset.name
                    )
                });
                assert!(
                    ASSETS
                        .iter()
                        .any(|a| a.name == target && a.content_type == JAVASCRIPT),
                    "{} imports '{spec}', but {target} is not embedded (add it to ASSETS)",
                    asset.name
                );
                reached.insert(target);
            }
        }
        for asset in dashboard_scripts() {
            assert!(
                reached.contains(asset.name),
                "{} is embedded but no module imports it",
                asset.name
            );
        }
    }

    /// Every module in static/js is embedded: a new file not listed in ASSETS is caught even
    /// before anything imports it.
    #[test]
    fn every_module_on_disk_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static/js");
        for entry in std::fs::read_dir(&dir).expect("static/js") {
            let name = entry.expect("entry").file_name();
            let name = format!("js/{}", name.to_string_lossy());
            if name.ends_with(".js") {
                assert!(
                    ASSETS.iter().any(|a| a.name == name),
                    "static/{name} is not embedded (add module!(…) to ASSETS)"
                );
            }
        }
    }

    /// index.html preloads exactly the embedded modules (a stale entry would be a 404).
    #[test]
    fn the_dashboard_preloads_every_module() {
        let index = ASSETS
            .iter()
            .find(|a| a.name == "index.html")
            .expect("index.html");
        let preloaded: std::collections::BTreeSet<&str> = index
            .embedded
            .split("<link rel=\"modulepreload\" href=\"/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        let modules: std::collections::BTreeSet<&str> = dashboard_scripts()
            .map(|a| a.name)
            .filter(|n| n.starts_with("js/"))
            .collect();
        assert_eq!(preloaded, modules);
    }

    /// The dashboard stays in modules one can read whole.
    #[test]
    fn no_dashboard_module_is_over_500_lines() {
        for asset in dashboard_scripts() {
            let lines = asset.embedded.lines().count();
            assert!(lines <= 500, "{} has {lines} lines: split it", asset.name);
        }
    }

    #[actix_rt::test]
    async fn modules_are_served_by_their_names_only() {
        use actix_web::{http::Method, test, App};
        let app =
            test::init_service(App::new().configure(|cfg| crate::http::configure(cfg, 1024))).await;
        for asset in dashboard_scripts() {
            let resp = test::call_service(
                &app,
                test::TestRequest::get()
                    .uri(&format!("/{}", asset.name))
                    .to_request(),
            )
            .await;
            assert_eq!(resp.status(), 200, "{}", asset.name);
            let h = |name| resp.headers().get(name).and_then(|v| v.to_str().ok());
            assert_eq!(h(header::CONTENT_TYPE), Some(JAVASCRIPT), "{}", asset.name);
            assert_eq!(h(header::X_CONTENT_TYPE_OPTIONS), Some("nosniff"));
            assert_eq!(h(header::CACHE_CONTROL), Some("no-cache"));
            assert_eq!(h(header::ACCESS_CONTROL_ALLOW_ORIGIN), None);
        }
        let head = test::call_service(
            &app,
            test::TestRequest::default()
                .method(Method::HEAD)
                .uri("/js/store.js")
                .to_request(),
        )
        .await;
        assert_eq!(head.status(), 200);
        for uri in [
            "/js/nope.js",
            "/js/app.js",
            "/js/../app.js",
            "/js/index.html",
        ] {
            let resp =
                test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
            assert_eq!(resp.status(), 404, "{uri}");
            let body: serde_json::Value = test::read_body_json(resp).await;
            assert_eq!(body["error"], "not_found", "{uri}");
        }
        let post = test::call_service(
            &app,
            test::TestRequest::post().uri("/js/api.js").to_request(),
        )
        .await;
        assert_eq!(post.status(), 405);
        assert_eq!(
            post.headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok()),
            Some("GET, HEAD")
        );
    }
}
