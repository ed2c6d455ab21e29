// The dashboard's words: one catalogue per language (static/i18n/<lang>.json, served at
// /i18n/<lang>.json), a flat object of dotted keys. English is the fallback for a key another
// catalogue lacks; a key missing from both shows as itself (and is reported once).
//
// The language is the agent's choice (localStorage), else the first of the browser's languages
// that is shipped (es-MX → es), else English. Changing it reloads the page.
//
// Strings may hold {name} placeholders. A plural is an object {one, other, …} picked with
// Intl.PluralRules for vars.count. t() returns a string (for textContent and attributes);
// tn() returns strings and nodes, for sentences with a name in <bdi> inside them.

import { $$ } from './dom.js';

export const LANG_KEY = 'switchboard.lang';

/** The shipped languages, each named in itself. */
export const LANGUAGES = { en: 'English', es: 'Español' };

/** The language in use: for Intl (dates, times, numbers) as well as the words. */
export let lang = 'en';

let chosen = {};
let english = {};
const warned = new Set();

function choose() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && saved in LANGUAGES) return saved;
  for (const tag of navigator.languages || [navigator.language]) {
    const primary = String(tag || '').toLowerCase().split('-')[0];
    if (primary in LANGUAGES) return primary;
  }
  return 'en';
}

async function fetchCatalogue(code) {
  try {
    const resp = await fetch(`/i18n/${code}.json`);
    return resp.ok ? await resp.json() : {};
  } catch {
    return {};
  }
}

/** Once, before the first render: picks the language, loads the catalogues, translates the page. */
export async function loadLanguage() {
  lang = choose();
  const [en, other] = await Promise.all([fetchCatalogue('en'), lang === 'en' ? null : fetchCatalogue(lang)]);
  english = en;
  chosen = other || en;
  document.documentElement.lang = lang;
  translatePage();
}

/** Saves the agent's choice and reloads the page in it. */
export function setLanguage(code) {
  if (!(code in LANGUAGES) || code === lang) return;
  localStorage.setItem(LANG_KEY, code);
  location.reload();
}

function lookup(key, vars) {
  let s = chosen[key] ?? english[key];
  if (s == null) {
    if (!warned.has(key)) {
      warned.add(key);
      console.warn(`i18n: no string for "${key}"`);
    }
    return key;
  }
  if (typeof s === 'object') {
    const n = Number(vars?.count);
    let form = 'other';
    try {
      form = new Intl.PluralRules(lang).select(Number.isFinite(n) ? n : 0);
    } catch {
      /* an unknown locale: "other" */
    }
    s = s[form] ?? s.other ?? '';
  }
  return String(s);
}

const formatVar = (v) => (typeof v === 'number' ? formatNumber(v) : v);

/** The string for `key` with its {placeholders} filled from `vars`. */
export function t(key, vars) {
  const s = lookup(key, vars);
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(formatVar(vars[name])) : m));
}

/** The same as a list of strings and nodes: a placeholder may be a node (a name in <bdi>). */
export function tn(key, vars = {}) {
  const parts = [];
  const re = /\{(\w+)\}/g;
  const s = lookup(key, vars);
  let last = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    if (!(m[1] in vars)) continue;
    if (m.index > last) parts.push(s.slice(last, m.index));
    const v = vars[m[1]];
    parts.push(v instanceof Node ? v : String(formatVar(v)));
    last = m.index + m[0].length;
  }
  if (last < s.length) parts.push(s.slice(last));
  return parts;
}

export const formatNumber = (n, options) => new Intl.NumberFormat(lang, options).format(n);

/**
 * The static markup: `data-i18n="key"` replaces an element's text; `data-i18n-attr="aria-label:key;
 * title:key"` sets attributes.
 */
export function translatePage(root = document) {
  for (const el of $$('[data-i18n]', root)) el.textContent = t(el.dataset.i18n);
  for (const el of $$('[data-i18n-attr]', root)) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((x) => x.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}
