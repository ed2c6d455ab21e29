// The composer's canned-response picker: typing `/` at the start of the message lists the
// saved replies whose short code starts with (then whose text contains) what follows; the
// arrows move, Enter or Tab inserts the expanded text in place of `/query`, Escape closes.
// An ARIA listbox driven from the textarea (aria-activedescendant), so focus stays in the
// message. Short codes and texts are rendered as text only.

import { api } from './api.js';
import { $, h } from './dom.js';
import { expandCanned } from './canned-vars.js';
import { activeConv, state } from './store.js';

const MAX_SHOWN = 8;
const FRESH_MS = 30_000;

let all = null; // every canned response, as last loaded
let loadedAt = 0;
let loading = null;
let matches = [];
let active = 0;

const input = () => $('#composer-input');
const box = () => $('#canned-picker');
const isOpen = () => !box().hidden;

/** The `/query` at the start of the message, or null when the picker does not apply. */
function slashQuery() {
  const m = input().value.match(/^\/([^\s/]*)$/);
  return m ? m[1].toLowerCase() : null;
}

async function ensureLoaded() {
  if (all && Date.now() - loadedAt < FRESH_MS) return;
  loading ??= api('GET', '/api/canned-responses')
    .then((r) => { all = r.items || []; loadedAt = Date.now(); })
    .catch(() => { all ??= []; })
    .finally(() => { loading = null; });
  await loading;
}

/** Short code prefix first, then text substring; within each, the server's order. */
function filtered(q) {
  const inbox = activeConv()?.inbox_id;
  const mine = (all || []).filter((c) => c.inbox == null || c.inbox === inbox);
  const byCode = mine.filter((c) => c.short_code.toLowerCase().startsWith(q));
  const byText = mine.filter((c) => !byCode.includes(c) && c.text.toLowerCase().includes(q));
  return [...byCode, ...byText].slice(0, MAX_SHOWN);
}

function close() {
  box().hidden = true;
  box().replaceChildren();
  matches = [];
  input().removeAttribute('aria-activedescendant');
}

function render() {
  if (!matches.length) return close();
  box().replaceChildren(...matches.map((c, i) =>
    h('li', {
      id: `canned-option-${i}`,
      class: `canned-option${i === active ? ' active' : ''}`,
      role: 'option',
      'aria-selected': String(i === active),
      onmousedown: (e) => { e.preventDefault(); insert(i); },
    },
    h('span', { class: 'canned-code', text: `/${c.short_code}` }),
    h('span', { class: 'canned-text', dir: 'auto', text: c.text }))));
  box().hidden = false;
  input().setAttribute('aria-activedescendant', `canned-option-${active}`);
}

/** After each keystroke in the composer. */
export async function updateCannedPicker() {
  if (slashQuery() === null) return close();
  await ensureLoaded();
  const q = slashQuery(); // the text may have changed while loading
  if (q === null) return close();
  matches = filtered(q);
  active = 0;
  render();
}

function insert(i) {
  const c = matches[i];
  if (!c) return;
  const conv = activeConv();
  const el = input();
  el.value = expandCanned(c.text, conv?.contact, state.me);
  close();
  el.focus();
  el.setSelectionRange(el.value.length, el.value.length);
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

/** Keys while the picker is open; true when it used the key (the composer must not). */
export function cannedPickerKeydown(e) {
  if (!isOpen() || e.isComposing) return false;
  switch (e.key) {
    case 'ArrowDown': active = (active + 1) % matches.length; break;
    case 'ArrowUp': active = (active - 1 + matches.length) % matches.length; break;
    case 'Enter':
    case 'Tab': insert(active); break;
    case 'Escape': close(); break;
    default: return false;
  }
  e.preventDefault();
  if (isOpen()) render();
  return true;
}

/** Forgets the cached list (after the Canned responses page changed it). */
export function forgetCanned() {
  all = null;
}

export function bindCannedPicker() {
  const el = input();
  el.setAttribute('aria-controls', 'canned-picker');
  el.setAttribute('aria-autocomplete', 'list');
  el.addEventListener('blur', () => setTimeout(close, 150));
}
