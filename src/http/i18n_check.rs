//! The dashboard's words live in one catalogue per language (`static/i18n/<lang>.json`, see
//! `static/js/i18n.js`). These tests keep the catalogues whole and the single source: every
//! translation has exactly English's keys, placeholders and plural forms; every key the
//! dashboard asks for (`t('…')`, `tn('…')`, `data-i18n="…"`, `data-i18n-attr="attr:…"`)
//! exists; and no key is left that nothing uses.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::static_files::embedded_assets;

/// A shipped catalogue by its language: `i18n/es.json` is `es`.
fn catalogues() -> BTreeMap<String, BTreeMap<String, Value>> {
    embedded_assets()
        .filter_map(|(name, body)| {
            let lang = name.strip_prefix("i18n/")?.strip_suffix(".json")?;
            let map: BTreeMap<String, Value> = serde_json::from_str(body)
                .unwrap_or_else(|e| panic!("{name} is not a flat JSON object: {e}"));
            Some((lang.to_owned(), map))
        })
        .collect()
}

/// The `{name}` placeholders of a string.
fn placeholders(s: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && rest[name.len()..].starts_with('}') {
            found.insert(name);
        }
    }
    found
}

/// What a catalogue entry must keep in every language: a string's placeholders, or a plural's
/// placeholders (its forms may differ between languages, but `other` is always there).
fn shape(key: &str, value: &Value) -> (bool, BTreeSet<String>) {
    match value {
        Value::String(s) => (false, placeholders(s)),
        Value::Object(forms) => {
            assert!(
                forms.contains_key("other"),
                "{key}: a plural needs an `other` form"
            );
            let mut all = BTreeSet::new();
            for (form, s) in forms {
                assert!(
                    ["zero", "one", "two", "few", "many", "other"].contains(&form.as_str()),
                    "{key}: `{form}` is not a plural category"
                );
                let s = s
                    .as_str()
                    .unwrap_or_else(|| panic!("{key}.{form} is not a string"));
                all.extend(placeholders(s));
            }
            (true, all)
        }
        other => panic!("{key}: {other} is neither a string nor a plural object"),
    }
}

/// The keys a source asks for: `t('key'` and `tn('key'` (not `x.t(`), single or double quoted.
fn keys_called(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for call in ["t(", "tn("] {
        let mut from = 0;
        while let Some(at) = source[from..].find(call) {
            let start = from + at;
            from = start + call.len();
            let before = source[..start].chars().next_back();
            let ident = before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
            let member = before == Some('.') && !source[..start].ends_with("...");
            if ident || member {
                continue;
            }
            let rest = &source[from..];
            let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') else {
                continue;
            };
            if let Some(end) = rest[1..].find(quote) {
                found.push(rest[1..1 + end].to_owned());
            }
        }
    }
    found
}

/// Every quoted `'a.b'` literal that looks like a key: keys chosen by a condition
/// (`t(x ? 'a.b' : 'a.c')`) count as used.
fn key_literals(source: &str) -> BTreeSet<String> {
    let key_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.';
    let mut found = BTreeSet::new();
    for (at, quote) in source.match_indices(['\'', '"']) {
        let rest = &source[at + 1..];
        let len = rest.find(|c: char| !key_char(c)).unwrap_or(rest.len());
        let candidate = &rest[..len];
        let looks_like_key =
            candidate.contains('.') && !candidate.starts_with('.') && !candidate.ends_with('.');
        if looks_like_key && rest[len..].starts_with(quote) {
            found.insert(candidate.to_owned());
        }
    }
    found
}

/// The keys of `data-i18n="key"` and `data-i18n-attr="attr:key;attr:key"` in the markup.
fn keys_in_markup(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for part in html.split("data-i18n=\"").skip(1) {
        found.extend(part.split('"').next().map(str::to_owned));
    }
    for part in html.split("data-i18n-attr=\"").skip(1) {
        let list = part.split('"').next().unwrap_or_default();
        for pair in list.split(';') {
            let (attr, key) = pair
                .split_once(':')
                .unwrap_or_else(|| panic!("data-i18n-attr=\"{list}\": want attr:key;attr:key"));
            assert!(!attr.trim().is_empty(), "data-i18n-attr=\"{list}\"");
            found.push(key.trim().to_owned());
        }
    }
    found
}

#[test]
fn the_key_readers_read_what_the_dashboard_writes() {
    let js = "t('a.b'); tn(\"c.d\", { x }); x.t('no.no'); cat('no.no'); [...tn('e.f')]; t(ok ? 'g.h' : 'i.j')";
    assert_eq!(keys_called(js), ["a.b", "c.d", "e.f"]);
    assert!(key_literals(js).contains("g.h") && key_literals(js).contains("i.j"));
    assert!(key_literals("'./dom.js' 'Hello.' '.x' 'a.' it's 'k.l'") == ["k.l".to_owned()].into());
    let html =
        r#"<b data-i18n="k.one">x</b><i data-i18n-attr="title:k.two;aria-label:k.three"></i>"#;
    assert_eq!(keys_in_markup(html), ["k.one", "k.two", "k.three"]);
    assert_eq!(
        placeholders("{a} of {b_c}, {{name}} {not a}"),
        ["a", "b_c", "name"].map(String::from).into()
    );
}

#[test]
fn every_catalogue_has_englishs_keys_placeholders_and_plurals() {
    let all = catalogues();
    let en = all.get("en").expect("static/i18n/en.json is embedded");
    assert!(all.len() >= 2, "Spanish is shipped too: {:?}", all.keys());
    for (lang, catalogue) in &all {
        let missing: Vec<_> = en.keys().filter(|k| !catalogue.contains_key(*k)).collect();
        let extra: Vec<_> = catalogue.keys().filter(|k| !en.contains_key(*k)).collect();
        assert!(missing.is_empty(), "{lang}.json lacks {missing:?}");
        assert!(
            extra.is_empty(),
            "{lang}.json has keys English lacks: {extra:?}"
        );
        for (key, value) in catalogue {
            let (plural, names) = shape(key, value);
            let (en_plural, en_names) = shape(key, &en[key]);
            assert_eq!(
                plural, en_plural,
                "{lang}.json {key}: plural in one, not the other"
            );
            assert_eq!(
                names, en_names,
                "{lang}.json {key}: other placeholders than English"
            );
        }
    }
}

#[test]
fn the_dashboard_asks_only_for_keys_english_has_and_english_has_no_unused_ones() {
    let all = catalogues();
    let en = &all["en"];
    let mut used = BTreeSet::new();
    let mut mentioned = BTreeSet::new();
    for (name, body) in embedded_assets() {
        let keys = if name == "index.html" {
            keys_in_markup(body)
        } else if name == "app.js" || name.starts_with("js/") {
            mentioned.extend(key_literals(body));
            keys_called(body)
        } else {
            continue;
        };
        for key in keys {
            assert!(
                en.contains_key(&key),
                "{name} asks for `{key}`, which en.json lacks"
            );
            used.insert(key);
        }
    }
    let unused: Vec<_> = en
        .keys()
        .filter(|k| !used.contains(*k) && !mentioned.contains(*k))
        .collect();
    assert!(
        unused.is_empty(),
        "en.json keys nothing uses (remove them): {unused:?}"
    );
    assert!(used.len() > 100, "only {} keys found in use", used.len());
}

#[actix_rt::test]
async fn the_catalogues_are_served_as_json_by_their_names_only() {
    use actix_web::{http::header, test, App};
    let app =
        test::init_service(App::new().configure(|cfg| crate::http::configure(cfg, 1024))).await;
    for lang in catalogues().keys() {
        let uri = format!("/i18n/{lang}.json");
        let resp = test::call_service(&app, test::TestRequest::get().uri(&uri).to_request()).await;
        assert_eq!(resp.status(), 200, "{uri}");
        assert_eq!(
            resp.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{uri}"
        );
        let body: Value = test::read_body_json(resp).await;
        assert!(body.as_object().is_some_and(|o| o.len() > 100), "{uri}");
    }
    for uri in [
        "/i18n/xx.json",
        "/i18n/en.js",
        "/i18n/../app.js",
        "/js/en.json",
    ] {
        let resp = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(resp.status(), 404, "{uri}");
    }
}
