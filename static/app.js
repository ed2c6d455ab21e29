// Switchboard agent dashboard.
//
// A plain ES module with no build step and no external resources: the server embeds this file.
// Rule that everything below follows: text that comes from the server (customer messages, names,
// tags, reasons…) reaches the DOM only through textContent or text nodes, via h(). No markup is
// ever built from strings, so a customer writing `<img onerror=…>` just sees those characters.

// ---------------------------------------------------------------------------------------------
// Constants

const TOKEN_KEY = 'sb-token';
const HANDOFFS_KEY = 'sb-handoffs';
const LIST_PAGE = 50;
const THREAD_PAGE = 50;
const TYPING_SEND_EVERY_MS = 2000;
const TYPING_SHOW_MS = 4000;
const MAX_HANDOFFS = 30;

const LEAD_STAGES = [
  ['in_progress', 'In progress'],
  ['opportunity', 'Opportunity'],
  ['potential_customer', 'Potential customer'],
  ['quote_request', 'Quote request'],
  ['follow_up', 'Follow-up'],
  ['contacted', 'Contacted'],
  ['waiting_response', 'Waiting response'],
  ['info_only', 'Info only'],
  ['not_interested', 'Not interested'],
  ['spam', 'Spam'],
];

const TICKS = {
  queued: ['◷', 'Queued'],
  sent: ['✓', 'Sent'],
  delivered: ['✓✓', 'Delivered'],
  read: ['✓✓', 'Read'],
  failed: ['⚠', 'Failed'],
};

// Stroke icons (24×24), drawn here so no file or font has to be fetched.
const ICONS = {
  back: 'M15 18l-6-6 6-6',
  more: 'M12 5h.01M12 12h.01M12 19h.01',
  bell: 'M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9M13.73 21a2 2 0 0 1-3.46 0',
  user: 'M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2M16 7a4 4 0 1 1-8 0a4 4 0 1 1 8 0z',
  send: 'M22 2L11 13M22 2l-7 20-4-9-9-4 20-7z',
  search: 'M21 21l-4.35-4.35M19 11a8 8 0 1 1-16 0a8 8 0 1 1 16 0z',
  inbox: 'M22 12h-6l-2 3h-4l-2-3H2M5.45 5.11L2 12v6a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2v-6l-3.45-6.89A2 2 0 0 0 16.76 4H7.24a2 2 0 0 0-1.79 1.11z',
  clock: 'M22 12a10 10 0 1 1-20 0a10 10 0 1 1 20 0zM12 6v6l4 2',
  lock: 'M5 11h14v10H5zM8 11V7a4 4 0 0 1 8 0v4',
  logout: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9',
  chat: 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z',
  x: 'M18 6L6 18M6 6l12 12',
  download: 'M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3',
  // Channels.
  api: 'M16 18l6-6-6-6M8 6l-6 6 6 6',
  widget: 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2zM8 10h.01M12 10h.01M16 10h.01',
  whatsapp: 'M21 11.5a8.38 8.38 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.38 8.38 0 0 1-3.8-.9L3 21l1.9-5.7a8.38 8.38 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.38 8.38 0 0 1 3.8-.9h.5a8.48 8.48 0 0 1 8 8v.5zM9 9.5c0 3 2.5 5.5 5.5 5.5',
  sms: 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2zM7 8h10M7 12h6',
  meta: 'M21 11.5a8.5 8.5 0 0 1-12.3 7.6L3 21l1.9-5.7A8.5 8.5 0 1 1 21 11.5zM7.5 13.5l3-3 2.5 2 3.5-3.5',
};

// ---------------------------------------------------------------------------------------------
// DOM helpers

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/**
 * Builds an element. Children that are strings become text nodes; `text` sets textContent.
 * Attribute values go through setAttribute, which never parses markup. Null/false are skipped.
 */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) if (v != null) el.dataset[k] = v;
    }
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  appendChildren(el, children);
  return el;
}

function appendChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function icon(name, cls = 'icon') {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', ICONS[name] || ICONS.chat);
  svg.append(path);
  return svg;
}

/** Fills the `data-icon` placeholders of the static page. */
function hydrateIcons(root = document) {
  for (const el of $$('[data-icon]', root)) {
    if (!el.firstChild) el.append(icon(el.dataset.icon));
  }
}

function show(el, visible) {
  el.hidden = !visible;
}

function debounce(fn, ms) {
  let timer = 0;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** A client id for a send. crypto.randomUUID exists only in secure contexts (not plain http on a LAN). */
function uuid() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// ---------------------------------------------------------------------------------------------
// Time. The server sends UTC times without a zone ("2026-11-21T05:50:29.113335").

function parseTime(s) {
  if (!s) return null;
  let t = String(s).replace(/(\.\d{3})\d+/, '$1');
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(t)) t += 'Z';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Orders two server times exactly (to the microsecond), which Date cannot. */
function timeKey(s) {
  if (!s) return '';
  const [whole, frac = ''] = String(s).replace(/Z$/i, '').split('.');
  return `${whole}.${frac.padEnd(9, '0')}`;
}

const sameDay = (a, b) => a.toDateString() === b.toDateString();

/** "now", "5m", "3h", "Mon", "12 Mar", "12 Mar 2024": list timestamps. */
function relTime(d) {
  if (!d) return '';
  const now = new Date();
  const secs = (now - d) / 1000;
  if (secs < 60) return 'now';
  if (secs < 3600) return `${Math.floor(secs / 60)}m`;
  if (secs < 86400) return `${Math.floor(secs / 3600)}h`;
  if (secs < 6 * 86400) return d.toLocaleDateString(undefined, { weekday: 'short' });
  if (d.getFullYear() === now.getFullYear()) return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
  return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
}

const clockTime = (d) => (d ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) : '');
const fullTime = (d) => (d ? d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '');

function dayLabel(d) {
  const today = new Date();
  const yesterday = new Date(today.getTime() - 86400000);
  if (sameDay(d, today)) return 'Today';
  if (sameDay(d, yesterday)) return 'Yesterday';
  return d.toLocaleDateString(undefined, {
    weekday: 'long', day: 'numeric', month: 'long',
    year: d.getFullYear() === today.getFullYear() ? undefined : 'numeric',
  });
}

/** "in 3h", "in 25m", "2h ago": for follow-ups. */
function untilLabel(d) {
  const mins = Math.round((d - new Date()) / 60000);
  const abs = Math.abs(mins);
  const span = abs < 60 ? `${abs}m` : abs < 48 * 60 ? `${Math.round(abs / 60)}h` : `${Math.round(abs / 1440)}d`;
  return mins >= 0 ? `in ${span}` : `${span} ago`;
}

// ---------------------------------------------------------------------------------------------
// State. One plain object; render functions read it, event handlers change it.

const S = {
  token: null,
  me: null,
  seesAll: false,
  agents: new Map(), // id → agent
  convs: new Map(), // id → conversation, everything we know about
  listIds: new Set(), // the ones the list shows
  listCursor: null,
  listReq: 0,
  listLoading: false,
  listRenderVersion: 0, // bumped when something every item shows changes (agent names)
  filter: 'all',
  q: '',
  from: '',
  to: '',
  activeId: null,
  threadReq: 0,
  messages: [], // of the active conversation, oldest first
  lateUpdates: new Map(), // message id → message.updated that came while the thread loaded
  hasMore: false,
  loadingOlder: false,
  viewers: new Map(), // conversation id → [agent ids]
  typers: new Map(), // conversation id → Map(agent id → {name, until})
  handoffs: [],
  badge: 0,
  inboxes: undefined, // Map inbox id → inbox (templates); null when the server has no /api/inboxes
  segmentsSupported: true,
  noteMode: false,
  drafts: new Map(),
  historyFor: null,
  ws: null,
  lastSeq: null,
  resuming: null, // {since, seen, max} between a resume request and its answer
  wsAttempts: 0,
  wsTimer: 0,
  lastHeard: 0,
  lastTypingSent: 0,
};

const displayName = (c) =>
  c?.contact?.name || c?.contact?.phone || c?.contact?.email || (c?.contact?.external_id ? `Visitor ${c.contact.external_id.slice(-6)}` : 'Unknown');

function initials(name) {
  const parts = String(name).replace(/[^\p{L}\p{N}\s]/gu, '').trim().split(/\s+/).filter(Boolean);
  if (!parts.length) return '#';
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}

function agentName(id) {
  if (!id) return '';
  if (S.me && id === S.me.id) return 'You';
  return S.agents.get(id)?.name || 'Agent';
}

// Bidi isolation: a name may hold right-to-left overrides (U+202E) or other bidi controls.
// Shown inline, it is isolated (<bdi>, or dir=auto with `unicode-bidi: isolate` in app.css)
// so it cannot reorder the text around it. Where only a string fits (placeholders, <option>),
// FSI…PDI do the same.

/** A person's name (or other customer/agent text) inside a sentence. */
const bdi = (text) => h('bdi', { text: String(text ?? '') });

/** The same for plain strings: U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE. */
const isolate = (text) => `\u2068${String(text ?? '')}\u2069`;

/** Channel kind as the agent thinks of it: Twilio carries both SMS and WhatsApp. */
function channelInfo(c) {
  const ext = c?.contact?.external_id || '';
  switch (c?.network) {
    case 'sms': return { icon: 'sms', label: c.channel === 'twilio' ? 'SMS (Twilio)' : 'SMS', cls: 'ch-sms' };
    case 'whatsapp': return { icon: 'whatsapp', label: c.channel === 'twilio' ? 'WhatsApp (Twilio)' : 'WhatsApp', cls: 'ch-whatsapp' };
    case 'messenger': return { icon: 'meta', label: 'Messenger', cls: 'ch-meta' };
    case 'instagram': return { icon: 'meta', label: 'Instagram', cls: 'ch-instagram' };
    default: break;
  }
  // Older servers send no network: tell it from the channel and the address.
  switch (c?.channel) {
    case 'whatsapp': return { icon: 'whatsapp', label: 'WhatsApp', cls: 'ch-whatsapp' };
    case 'twilio':
      return /^whatsapp:/i.test(ext)
        ? { icon: 'whatsapp', label: 'WhatsApp (Twilio)', cls: 'ch-whatsapp' }
        : { icon: 'sms', label: 'SMS', cls: 'ch-sms' };
    case 'meta':
      return /instagram|^ig:/i.test(ext)
        ? { icon: 'meta', label: 'Instagram', cls: 'ch-instagram' }
        : { icon: 'meta', label: 'Messenger', cls: 'ch-meta' };
    case 'widget': return { icon: 'widget', label: 'Website chat', cls: 'ch-widget' };
    default: return { icon: 'api', label: 'API', cls: 'ch-api' };
  }
}

const isSms = (c) => channelInfo(c).cls === 'ch-sms';

function avatar(c, cls = 'avatar') {
  const name = displayName(c);
  // Initials come from a name only: a phone number's first digit says nothing ("1").
  const text = c?.contact?.name ? initials(c.contact.name) : '#';
  const el = h('div', { class: cls, 'aria-hidden': 'true', text });
  el.style.backgroundColor = `hsl(${hue(c?.contact?.id || name)} 55% 45%)`;
  return el;
}

function hue(s) {
  let n = 0;
  for (const ch of String(s)) n = (n * 31 + ch.codePointAt(0)) >>> 0;
  return n % 360;
}

// ---------------------------------------------------------------------------------------------
// API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

/** JSON call to the server; a 401 anywhere means the session is over: back to the login page. */
async function api(method, path, body) {
  const headers = {};
  if (S.token) headers.Authorization = `Bearer ${S.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection.');
  }
  if (res.status === 401 && path !== '/api/auth/login') {
    endSession('Your session has ended. Please sign in again.');
    throw new ApiError(401, 'unauthorized', 'Signed out');
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    /* an empty or non-JSON body */
  }
  if (!res.ok) throw new ApiError(res.status, data?.error || `http_${res.status}`, data?.message || res.statusText);
  return data;
}

const convPath = (id, rest = '') => `/api/conversations/${encodeURIComponent(id)}${rest}`;

// ---------------------------------------------------------------------------------------------
// Toasts and confirmation

/** `content`: a string, or text and nodes (names in <bdi>). */
function toast(content, kind = 'info') {
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, content);
  $('#toasts').append(el);
  setTimeout(() => el.classList.add('toast-out'), 3800);
  setTimeout(() => el.remove(), 4200);
}

function showError(e, prefix) {
  if (e?.status === 401) return;
  toast(prefix ? `${prefix}: ${e.message}` : e.message, 'error');
}

/** A modal yes/no; resolves true only on #confirm-ok. */
function confirmDialog({ title, text, ok = 'Delete' }) {
  const dialog = $('#confirm-dialog');
  $('#confirm-title').textContent = title;
  $('#confirm-text').replaceChildren(...[text].flat());
  $('#confirm-ok').textContent = ok;
  return new Promise((resolve) => {
    const done = (answer) => {
      dialog.removeEventListener('close', onClose);
      $('#confirm-ok').onclick = null;
      $('#confirm-cancel').onclick = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onClose = () => done(false);
    $('#confirm-ok').onclick = () => done(true);
    $('#confirm-cancel').onclick = () => done(false);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    $('#confirm-cancel').focus();
  });
}

// ---------------------------------------------------------------------------------------------
// Session: login, logout, boot

function readTokenFromUrl() {
  // `/?token=…` signs in directly (handy for tests and links from an admin tool); the token is
  // removed from the address bar at once so it does not linger in history or get shared.
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (!token) return;
  localStorage.setItem(TOKEN_KEY, token);
  url.searchParams.delete('token');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
}

function showLogin(message) {
  show($('#app-view'), false);
  show($('#login-view'), true);
  document.title = 'Switchboard';
  const err = $('#login-error');
  err.textContent = message || '';
  show(err, !!message);
  $('#login-email').focus();
}

async function onLoginSubmit(e) {
  e.preventDefault();
  const email = $('#login-email').value.trim();
  const password = $('#login-password').value;
  const err = $('#login-error');
  if (!email || !password) {
    err.textContent = 'Enter your email and password.';
    show(err, true);
    return;
  }
  const button = $('#login-submit');
  button.disabled = true;
  button.textContent = 'Signing in…';
  try {
    const res = await api('POST', '/api/auth/login', { email, password });
    localStorage.setItem(TOKEN_KEY, res.token);
    S.token = res.token;
    S.me = res.agent;
    show(err, false);
    $('#login-password').value = '';
    await startApp();
  } catch (ex) {
    err.textContent = ex.status === 401 ? 'Wrong email or password.' : ex.message;
    show(err, true);
  } finally {
    button.disabled = false;
    button.textContent = 'Sign in';
  }
}

/** Clears everything of this session and reloads, which is the surest way to drop all state. */
function endSession(message) {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(HANDOFFS_KEY);
  if (message) sessionStorage.setItem('sb-login-message', message);
  if (S.ws) {
    const ws = S.ws;
    S.ws = null;
    ws.close();
  }
  location.replace('/');
}

async function logout() {
  try {
    await api('POST', '/api/auth/logout');
  } catch {
    /* the token may already be gone; we log out locally anyway */
  }
  endSession();
}

async function startApp() {
  show($('#login-view'), false);
  show($('#app-view'), true);
  if (!S.me) S.me = (await api('GET', '/api/auth/me')).agent;
  $('#me-name').textContent = S.me.name;
  loadHandoffs();
  connectWs();
  await Promise.all([loadAgents(), reloadList(), refreshBadge(), loadInboxes()]);
  route();
}

// ---------------------------------------------------------------------------------------------
// Agents, inboxes (templates), badge, title

async function loadAgents() {
  try {
    const res = await api('GET', '/api/agents');
    S.agents = new Map(res.items.map((a) => [a.id, a]));
    const mine = S.agents.get(S.me.id);
    if (mine && mine.availability !== 'offline') $('#availability').value = mine.availability;
    S.listRenderVersion++;
    renderList();
    if (activeConv()) {
      renderThreadHeader(activeConv());
      renderNamedMessages();
    }
  } catch (e) {
    showError(e, 'Could not load agents');
  }
}

/** Templates come with the channels work; without the route the template picker stays hidden. */
async function loadInboxes() {
  try {
    const res = await api('GET', '/api/inboxes');
    const list = Array.isArray(res) ? res : res?.items || [];
    S.inboxes = new Map(list.map((i) => [i.id, i]));
  } catch (e) {
    S.inboxes = null;
    if (e.status !== 404) console.warn('inboxes unavailable', e);
  }
  if (activeConv()) renderComposer(activeConv());
}

async function refreshBadge() {
  try {
    setBadge((await api('GET', '/api/badge')).count);
  } catch {
    /* the websocket will send the next count */
  }
}

function setBadge(n) {
  S.badge = Math.max(0, Number(n) || 0);
  const el = $('#badge');
  el.textContent = String(S.badge);
  show(el, S.badge > 0);
  document.title = S.badge > 0 ? `(${S.badge}) Switchboard` : 'Switchboard';
}

/** My number from a badge event: everything if I see everything, else unassigned + mine. */
function badgeFor(counts) {
  if (!counts) return 0;
  if (S.seesAll) return counts.total || 0;
  return (counts.unassigned || 0) + (counts.by_agent?.[S.me.id] || 0);
}

async function setAvailability() {
  const value = $('#availability').value;
  try {
    await api('POST', '/api/agents/me/availability', { availability: value });
  } catch (e) {
    showError(e, 'Could not change availability');
  }
}

// ---------------------------------------------------------------------------------------------
// Handoff bell: recent handoff.requested events, kept across reloads of this tab.

function loadHandoffs() {
  try {
    S.handoffs = JSON.parse(localStorage.getItem(HANDOFFS_KEY) || '[]').filter((x) => x && x.conversation_id);
  } catch {
    S.handoffs = [];
  }
  renderBell();
}

function saveHandoffs() {
  localStorage.setItem(HANDOFFS_KEY, JSON.stringify(S.handoffs.slice(0, MAX_HANDOFFS)));
}

function handoffReason(reason) {
  // The customer's words are isolated (FSI…PDI): the text is kept as a string across reloads.
  if (reason?.kind === 'customer_asked') return reason.phrase ? `Asked for a person: “${isolate(reason.phrase)}”` : 'Asked for a person';
  if (reason?.kind === 'complaint') return reason.phrase ? `Has a complaint: “${isolate(reason.phrase)}”` : 'Has a complaint';
  if (reason?.kind === 'assistant_could_not_help') return 'The assistant could not help';
  if (reason?.kind === 'assistant_unavailable') return 'The assistant could not answer';
  if (typeof reason === 'string') return reason;
  return 'Needs a person';
}

function addHandoff(ev) {
  const c = ev.conversation;
  S.handoffs = S.handoffs.filter((x) => x.conversation_id !== ev.conversation_id);
  S.handoffs.unshift({
    conversation_id: ev.conversation_id,
    name: displayName(c),
    reason: handoffReason(ev.reason),
    at: new Date().toISOString(),
    seen: false,
  });
  S.handoffs.length = Math.min(S.handoffs.length, MAX_HANDOFFS);
  saveHandoffs();
  renderBell();
  toast([bdi(displayName(c)), ' wants to talk to a person'], 'warn');
}

function renderBell() {
  const unseen = S.handoffs.filter((x) => !x.seen).length;
  const count = $('#bell-count');
  count.textContent = String(unseen);
  show(count, unseen > 0);
  const list = $('#bell-list');
  if (!S.handoffs.length) {
    list.replaceChildren(h('p', { class: 'bell-empty', text: 'No handoffs yet. When a customer asks for a person, it shows here.' }));
    return;
  }
  list.replaceChildren(
    ...S.handoffs.map((x) =>
      h('a', { class: `bell-item${x.seen ? '' : ' unseen'}`, href: `#/c/${encodeURIComponent(x.conversation_id)}`, dataset: { id: x.conversation_id }, onclick: () => toggleBell(false) },
        h('div', { class: 'bell-item-top' }, h('strong', { dir: 'auto', text: x.name }), h('time', { text: relTime(new Date(x.at)), title: fullTime(new Date(x.at)) })),
        h('div', { class: 'bell-item-reason', dir: 'auto', text: x.reason })),
    ),
  );
}

function toggleBell(open) {
  const panel = $('#bell-panel');
  const willOpen = open ?? panel.hidden;
  show(panel, willOpen);
  $('#bell').setAttribute('aria-expanded', String(willOpen));
  if (willOpen) {
    renderBell();
    // Opening the panel is seeing them: the count resets, the highlight stays until next time.
    S.handoffs.forEach((x) => { x.seen = true; });
    saveHandoffs();
    const count = $('#bell-count');
    count.textContent = '0';
    show(count, false);
  }
}

// ---------------------------------------------------------------------------------------------
// Conversation store: every change, fetched or pushed, goes through upsertConversation.

const activeConv = () => (S.activeId ? S.convs.get(S.activeId) : null);

/** Whether I may see a conversation: restricted agents lose it once someone else holds it. */
function visibleToMe(c) {
  return S.seesAll || !c.assignee_id || c.assignee_id === S.me?.id;
}

function upsertConversation(c, { live = false } = {}) {
  if (!c?.id) return;
  const old = S.convs.get(c.id);
  // Events and fetches can cross: never let an older copy overwrite a newer one.
  if (old && timeKey(c.updated_at) < timeKey(old.updated_at)) return;
  if (!visibleToMe(c)) {
    loseSight(c.id, S.agents.get(c.assignee_id)?.name);
    return;
  }
  S.convs.set(c.id, c);
  if (S.listIds.has(c.id)) {
    // The open conversation stays put when it stops matching (reading it clears "unread"),
    // unless it was archived or unarchived, which is meant to move it away.
    const sticky = c.id === S.activeId && !!c.archived === (S.filter === 'archived');
    if (!matchesFilter(c) && !sticky) S.listIds.delete(c.id);
  } else if (live && matchesFilter(c) && matchesQuery(c)) {
    S.listIds.add(c.id);
  }
  renderListSoon();
  if (c.id === S.activeId) renderActive(c, old);
}

function removeConversation(id, why) {
  S.convs.delete(id);
  S.listIds.delete(id);
  renderListSoon();
  if (id === S.activeId) {
    if (why) toast(why);
    closeThread();
    navigate('#/');
  }
}

/**
 * The conversation went to someone else and I may no longer see it (`conversation.hidden`,
 * or a copy that shows it so). It leaves the list; if it is open, the thread pane says so in
 * its place (no composer) until I pick another conversation, rather than vanishing under me.
 */
function loseSight(id, assigneeName) {
  const open = id === S.activeId;
  S.convs.delete(id);
  S.listIds.delete(id);
  S.typers.delete(id);
  S.viewers.delete(id);
  renderListSoon();
  if (!open) return;
  closeThread();
  show($('#thread-empty'), false);
  $('#thread-gone-text').replaceChildren(
    'This conversation was assigned to ',
    assigneeName ? bdi(assigneeName) : 'another agent',
    '. You can no longer see it.',
  );
  show($('#thread-gone'), true);
  // The address no longer names it (a reload would only say it is not found); the pane stays.
  if (location.hash !== '#/') history.replaceState(null, '', `${location.pathname}${location.search}#/`);
}

function matchesFilter(c) {
  if (!!c.archived !== (S.filter === 'archived')) return false;
  switch (S.filter) {
    case 'unread': if (!(c.unread_count > 0)) return false; break;
    case 'bot': case 'human': case 'closed': if (c.status !== S.filter) return false; break;
    case 'mine': if (c.assignee_id !== S.me?.id) return false; break;
    case 'unassigned': if (c.assignee_id) return false; break;
    default: break;
  }
  const day = (c.last_message_at || c.created_at || '').slice(0, 10);
  if (S.from && day < S.from) return false;
  if (S.to && day > S.to) return false;
  return true;
}

/** The server also searches message text; for live arrivals name, phone and preview are what we have. */
function matchesQuery(c) {
  const q = S.q.trim().toLowerCase();
  if (!q) return true;
  return [c.contact?.name, c.contact?.phone, c.contact?.email, c.last_message_preview]
    .some((v) => v && String(v).toLowerCase().includes(q));
}

// ---------------------------------------------------------------------------------------------
// Conversation list

function listParams(cursor) {
  const p = new URLSearchParams({ limit: String(LIST_PAGE) });
  switch (S.filter) {
    case 'unread': p.set('unread', 'true'); break;
    case 'bot': case 'human': case 'closed': p.set('status', S.filter); break;
    case 'mine': p.set('mine', 'true'); break;
    case 'unassigned': p.set('unassigned', 'true'); break;
    case 'archived': p.set('archived', 'true'); break;
    default: break;
  }
  if (S.q.trim()) p.set('q', S.q.trim());
  if (S.from) p.set('from', S.from);
  if (S.to) p.set('to', S.to);
  if (cursor) p.set('cursor', cursor);
  return p;
}

/** First page for the current filter; answers to older requests are dropped. */
async function reloadList() {
  const req = ++S.listReq;
  S.listLoading = true;
  renderListFooter();
  try {
    const res = await api('GET', `/api/conversations?${listParams()}`);
    if (req !== S.listReq) return;
    S.listIds = new Set();
    for (const c of res.items) {
      upsertConversation(c);
      if (S.convs.has(c.id)) S.listIds.add(c.id);
    }
    S.listCursor = res.next_cursor || null;
    $('#conv-list').scrollTop = 0;
    setTimeout(maybeLoadMore, 100);
  } catch (e) {
    if (req === S.listReq) showError(e, 'Could not load conversations');
  } finally {
    if (req === S.listReq) {
      S.listLoading = false;
      renderList();
    }
  }
}

/** The observer fires only on changes; a page too short to scroll needs a nudge. */
function maybeLoadMore() {
  if (!S.listCursor || S.listLoading) return;
  const list = $('#conv-list');
  if (listFooter().getBoundingClientRect().top < list.getBoundingClientRect().bottom + 200) loadMoreList();
}

async function loadMoreList() {
  if (S.listLoading || !S.listCursor) return;
  const req = S.listReq;
  S.listLoading = true;
  renderListFooter();
  try {
    const res = await api('GET', `/api/conversations?${listParams(S.listCursor)}`);
    if (req !== S.listReq) return;
    for (const c of res.items) {
      upsertConversation(c);
      if (S.convs.has(c.id)) S.listIds.add(c.id);
    }
    S.listCursor = res.next_cursor || null;
    setTimeout(maybeLoadMore, 100);
  } catch (e) {
    showError(e, 'Could not load more');
  } finally {
    if (req === S.listReq) {
      S.listLoading = false;
      renderList();
    }
  }
}

const sortKey = (c) => timeKey(c.last_message_at || c.created_at);

function sortedListConvs() {
  return [...S.listIds]
    .map((id) => S.convs.get(id))
    .filter(Boolean)
    .sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : sortKey(a) > sortKey(b) ? -1 : a.id < b.id ? 1 : -1));
}

const itemCache = new Map(); // id → {conv, version, el}
let listFrame = 0;

function renderListSoon() {
  if (listFrame) return;
  listFrame = requestAnimationFrame(() => {
    listFrame = 0;
    renderList();
  });
}

/**
 * Brings the list in line with state, rebuilding only items whose conversation changed and
 * moving nodes into place rather than replacing them, so scrolling and focus survive updates.
 */
function renderList() {
  if (listFrame) {
    cancelAnimationFrame(listFrame);
    listFrame = 0;
  }
  const list = $('#conv-list');
  const convs = sortedListConvs();
  const els = convs.map((c) => {
    const cached = itemCache.get(c.id);
    if (cached && cached.conv === c && cached.version === S.listRenderVersion) return cached.el;
    const el = convItem(c);
    itemCache.set(c.id, { conv: c, version: S.listRenderVersion, el });
    return el;
  });
  for (const id of itemCache.keys()) if (!S.listIds.has(id)) itemCache.delete(id);
  const footer = listFooter();
  let cursor = list.firstChild;
  for (const el of [...els, footer]) {
    if (el === cursor) {
      cursor = cursor.nextSibling;
      continue;
    }
    list.insertBefore(el, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
  for (const el of els) el.classList.toggle('active', el.dataset.id === S.activeId);
  renderListFooter();
}

function convItem(c) {
  const ch = channelInfo(c);
  const time = parseTime(c.last_message_at || c.created_at);
  const unread = c.unread_count > 0;
  const authorPrefix = { assistant: 'Assistant: ', agent: 'Agent: ', system: '' }[c.last_message_author] || '';
  return h('a', {
    class: `conv-item${unread ? ' unread' : ''}${c.id === S.activeId ? ' active' : ''}`,
    href: `#/c/${encodeURIComponent(c.id)}`,
    role: 'listitem',
    dataset: { id: c.id },
  },
  h('div', { class: 'conv-avatar' }, avatar(c), h('span', { class: `chan-badge ${ch.cls}`, title: ch.label }, icon(ch.icon))),
  h('div', { class: 'conv-main' },
    h('div', { class: 'conv-row' },
      h('span', { class: 'conv-name', dir: 'auto', text: displayName(c) }),
      h('time', { class: 'conv-time', dataset: { at: c.last_message_at || c.created_at || '' }, title: fullTime(time), text: relTime(time) })),
    h('div', { class: 'conv-row' },
      h('span', { class: 'conv-snippet' },
        authorPrefix && h('span', { class: 'conv-preview-author', text: authorPrefix }),
        h('span', { class: 'conv-preview', dir: 'auto', text: c.last_message_preview || '' })),
      unread && h('span', { class: 'conv-unread', title: `${c.unread_count} unread`, text: String(c.unread_count) })),
    h('div', { class: 'conv-row conv-meta' },
      h('span', { class: `conv-status status-${c.status}`, text: c.status }),
      c.needs_reply && h('span', { class: 'conv-needs-reply', text: 'Needs reply' }),
      c.follow_up && h('span', { class: 'conv-followup', title: `Follow-up ${fullTime(parseTime(c.follow_up.at))}` }, icon('clock', 'icon icon-xs')),
      h('span', { class: 'conv-assignee', dir: 'auto', text: c.assignee_id ? agentName(c.assignee_id) : '' }))));
}

let footerEl = null;

function listFooter() {
  if (!footerEl) {
    footerEl = h('div', { class: 'list-footer' });
    // Keyset paging: the next page loads when the end of the list scrolls into view.
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadMoreList();
    }, { root: $('#conv-list'), rootMargin: '200px' }).observe(footerEl);
  }
  return footerEl;
}

function renderListFooter() {
  const footer = listFooter();
  if (S.listLoading) {
    footer.replaceChildren(h('span', { class: 'muted', text: 'Loading…' }));
  } else if (S.listCursor) {
    footer.replaceChildren(h('button', { class: 'link-btn', type: 'button', text: 'Load more', onclick: loadMoreList }));
  } else if (!S.listIds.size) {
    const filtered = S.q || S.from || S.to || S.filter !== 'all';
    footer.replaceChildren(h('div', { class: 'list-empty' },
      h('strong', { text: filtered ? 'No conversations match' : 'No conversations yet' }),
      h('span', { class: 'muted', text: filtered ? 'Try another filter or search.' : 'New customer messages appear here live.' })));
  } else {
    footer.replaceChildren();
  }
}

/** Relative times age: refresh their text in place every half minute. */
function refreshTimes() {
  for (const el of $$('.conv-time[data-at]')) el.textContent = relTime(parseTime(el.dataset.at));
  if (activeConv()) renderFollowUp(activeConv());
}

function setFilter(filter) {
  if (S.filter === filter) return;
  S.filter = filter;
  for (const b of $$('button[data-filter]')) {
    b.classList.toggle('active', b.dataset.filter === filter);
    b.setAttribute('aria-selected', String(b.dataset.filter === filter));
  }
  reloadList();
}

const onSearchInput = debounce(() => {
  const q = $('#search').value;
  if (q === S.q) return;
  S.q = q;
  reloadList();
}, 300);

function onDateChange() {
  S.from = $('#date-from').value;
  S.to = $('#date-to').value;
  show($('#date-clear'), !!(S.from || S.to));
  reloadList();
}

function clearDates() {
  $('#date-from').value = '';
  $('#date-to').value = '';
  onDateChange();
}

// ---------------------------------------------------------------------------------------------
// Routing and responsive panes. `#/c/<id>` is the open conversation, so back/forward work and
// links to a conversation can be shared. On a phone one pane shows at a time (body[data-view]).

function navigate(hash) {
  if (location.hash !== hash) location.hash = hash;
  else route();
}

function route() {
  if (!S.me) return;
  const m = location.hash.match(/^#\/c\/([^/?#]+)/);
  if (m) {
    openConversation(decodeURIComponent(m[1]));
  } else {
    closeThread();
    setView('list');
  }
}

function setView(view) {
  document.body.dataset.view = view;
}

const narrow = () => matchMedia('(max-width: 767px)').matches;

function toggleContact() {
  if (narrow()) setView(document.body.dataset.view === 'contact' ? 'thread' : 'contact');
  else document.body.classList.toggle('contact-open');
}

function closeContact() {
  if (narrow()) setView('thread');
  else document.body.classList.remove('contact-open');
}

// ---------------------------------------------------------------------------------------------
// Thread: opening, closing, rendering messages

async function openConversation(id) {
  setView('thread');
  if (S.activeId === id) return;
  saveDraft();
  closeThread();
  S.activeId = id;
  const req = ++S.threadReq;
  renderList();
  show($('#thread-empty'), false);
  show($('#thread-view'), true);
  $('#thread').replaceChildren(h('div', { class: 'thread-loading muted', text: 'Loading conversation…' }));
  const known = S.convs.get(id);
  if (known) renderActive(known);
  sendWs({ type: 'viewing', conversation_id: id });
  try {
    const [conv, page] = await Promise.all([
      api('GET', convPath(id)),
      api('GET', `${convPath(id, '/messages')}?limit=${THREAD_PAGE}`),
    ]);
    if (req !== S.threadReq) return;
    upsertConversation(conv);
    if (S.activeId !== id) return; // upsert may have found it is no longer mine
    if (!S.convs.has(id)) return;
    if (!known) renderActive(S.convs.get(id));
    // Messages pushed while the page loaded are merged, not lost.
    const pushed = S.messages;
    S.messages = [];
    S.hasMore = page.has_more;
    for (const m of [...page.items, ...pushed]) insertMessageData(m);
    for (const m of S.lateUpdates.values()) {
      const i = S.messages.findIndex((x) => x.id === m.id);
      if (i >= 0) S.messages[i] = m;
    }
    S.lateUpdates.clear();
    renderAllMessages();
    scrollToBottom();
    fillViewport();
    loadContactHistory(S.convs.get(id));
    if (conv.unread_count > 0) markRead(id);
  } catch (e) {
    if (req !== S.threadReq) return;
    if (e.status === 404) {
      toast('That conversation no longer exists or is not visible to you.', 'error');
      S.convs.delete(id);
      S.listIds.delete(id);
      renderList();
      navigate('#/');
    } else {
      showError(e, 'Could not open the conversation');
      $('#thread').replaceChildren(h('div', { class: 'thread-loading muted', text: 'Could not load the messages.' }));
    }
  }
}

function closeThread() {
  show($('#thread-gone'), false);
  if (!S.activeId) {
    show($('#thread-view'), false);
    show($('#thread-empty'), true);
    renderContactEmpty();
    return;
  }
  saveDraft();
  S.activeId = null;
  S.threadReq++;
  S.messages = [];
  S.lateUpdates.clear();
  S.hasMore = false;
  S.loadingOlder = false;
  S.historyFor = null;
  msgEls.clear();
  toggleMenu(false);
  sendWs({ type: 'viewing', conversation_id: null });
  show($('#thread-view'), false);
  show($('#thread-empty'), true);
  document.body.classList.remove('contact-open');
  renderContactEmpty();
  renderList();
}

/** Re-renders everything around the messages of the open conversation after it changed. */
function renderActive(c, old) {
  renderThreadHeader(c);
  renderComposer(c);
  renderContact(c, old);
  renderTyping();
}

function renderThreadHeader(c) {
  const ch = channelInfo(c);
  $('#thread-avatar').replaceWith(Object.assign(avatar(c, 'avatar'), { id: 'thread-avatar' }));
  $('#thread-name').textContent = displayName(c);
  const sub = [ch.label, c.contact?.phone, c.archived ? 'Archived' : null].filter(Boolean).join(' · ');
  $('#thread-channel').textContent = sub;
  for (const b of $$('.status-switch button[data-status]')) {
    const on = b.dataset.status === c.status;
    b.classList.toggle('active', on);
    b.setAttribute('aria-pressed', String(on));
  }
  renderAssignee(c);
  $('#menu [data-action="archive"]').textContent = c.archived ? 'Unarchive' : 'Archive';
  // Deleting is for admins only (the server refuses it to everyone else).
  show($('#menu [data-action="delete"]'), S.me?.role === 'admin');
  renderViewers();
}

function renderAssignee(c) {
  const select = $('#assignee');
  const agents = [...S.agents.values()].sort((a, b) => (a.id === S.me.id ? -1 : b.id === S.me.id ? 1 : a.name.localeCompare(b.name)));
  if (c.assignee_id && !S.agents.has(c.assignee_id)) agents.push({ id: c.assignee_id, name: 'Agent', availability: 'offline' });
  const options = [h('option', { value: '', text: 'Unassigned' })];
  for (const a of agents) {
    const away = a.id !== S.me.id && a.availability && a.availability !== 'online' ? ` · ${a.availability}` : '';
    const label = `${isolate(a.name)}${a.id === S.me.id ? ' (you)' : ''}${away}`;
    // Agents who do not see everything may only take a conversation or let it go.
    options.push(h('option', { value: a.id, text: label, disabled: !S.seesAll && a.id !== S.me.id }));
  }
  select.replaceChildren(...options);
  select.value = c.assignee_id || '';
}

function renderViewers() {
  const el = $('#viewers');
  const ids = (S.viewers.get(S.activeId) || []).filter((id) => id !== S.me?.id);
  const names = ids.map((id) => S.agents.get(id)?.name || 'another agent');
  el.replaceChildren(...(names.length ? ['Also viewing: ', ...names.flatMap((n, i) => (i ? [', ', bdi(n)] : [bdi(n)]))] : []));
  show(el, names.length > 0);
}

// --- messages

const msgEls = new Map(); // message id → element

/** Adds a message to S.messages in provider-time order; returns false for a duplicate. */
function insertMessageData(m) {
  if (S.messages.some((x) => x.id === m.id)) return false;
  // My own message can come back (201 or websocket) while its optimistic copy is shown.
  if (m.client_id) {
    const i = S.messages.findIndex((x) => x._pending && x.client_id === m.client_id);
    if (i >= 0) {
      S.messages[i] = m;
      return 'replaced';
    }
  }
  const k = timeKey(m.sent_at);
  let i = S.messages.length;
  while (i > 0 && !S.messages[i - 1]._pending && timeKey(S.messages[i - 1].sent_at) > k) i--;
  S.messages.splice(i, 0, m);
  return i === S.messages.length - 1 ? 'appended' : 'inserted';
}

/** Who wrote a message, for its bubble: text and nodes (an agent's name isolated). */
function authorLabel(m) {
  // Said on the business's behalf when a person is asked for, not by the assistant.
  if (m.payload?.automatic === 'handoff_ack') return 'Automatic reply';
  if (m.author === 'assistant') return 'Assistant';
  if (m.author === 'agent') return m.agent_id === S.me?.id ? 'You' : bdi(agentName(m.agent_id) || 'Agent');
  return '';
}

// --- system events ("Alice assigned this to Bob"), said from their payload in the reader's
// words and time zone. The stored text (names as they were, times in UTC) is the fallback.

/** Who did it: an agent's name (isolated), "you", or the system. */
function actor(id, { start = false } = {}) {
  if (!id) return 'Switchboard';
  if (id === S.me?.id) return start ? 'You' : 'you';
  const name = S.agents.get(id)?.name;
  return name ? bdi(name) : start ? 'An agent' : 'an agent';
}

/** "today, 14:30", "tomorrow, 09:00", else the date and time, in the reader's time zone. */
function whenLabel(d) {
  const day = 86400000;
  const now = new Date();
  if (sameDay(d, now)) return `today, ${clockTime(d)}`;
  if (sameDay(d, new Date(now.getTime() + day))) return `tomorrow, ${clockTime(d)}`;
  if (sameDay(d, new Date(now.getTime() - day))) return `yesterday, ${clockTime(d)}`;
  return fullTime(d);
}

const withReason = (parts, reason) => (reason ? [...parts, ': ', bdi(reason)] : parts);

/** The event as text and nodes, or null when the payload is not one we know. */
function systemEvent(p) {
  if (!p || typeof p !== 'object' || typeof p.event !== 'string') return null;
  const by = p.by || null;
  switch (p.event) {
    case 'reopened':
      return [`Conversation reopened by the customer${p.to ? ` (${p.to})` : ''}`];
    case 'took_over':
      return [actor(by, { start: true }), ' took over the conversation'];
    case 'handed_back':
      return [actor(by, { start: true }), ' handed the conversation back to the assistant'];
    case 'closed':
      return by ? ['Resolved by ', actor(by)] : ['Resolved automatically'];
    case 'reply_took_over':
      return [actor(by, { start: true }), ' replied and took over from the assistant'];
    case 'assigned':
      if (!p.to) return null;
      if (!by) return ['Assigned to ', actor(p.to), ' automatically'];
      if (by === p.to) return [actor(by, { start: true }), by === S.me?.id ? ' assigned this to yourself' : ' assigned this to themselves'];
      return [actor(by, { start: true }), ' assigned this to ', actor(p.to)];
    case 'unassigned':
      return [actor(by, { start: true }), ' unassigned this'];
    case 'claimed':
      return [actor(by, { start: true }), ' took the conversation'];
    case 'follow_up_scheduled': {
      const at = parseTime(p.at);
      if (!at) return null;
      const what = by ? [actor(by, { start: true }), ' scheduled a follow-up for '] : ['Follow-up scheduled for '];
      return withReason([...what, whenLabel(at)], p.reason);
    }
    case 'follow_up_cancelled':
      return by ? [actor(by, { start: true }), ' cancelled the follow-up'] : ['The follow-up was cancelled'];
    case 'follow_up_due':
      return withReason(['Follow-up due'], p.reason);
    default:
      return null;
  }
}

/** The thread's line for a system event. Handoffs keep their stored text: it quotes the
 * customer's words (or counts the misses), which the payload does not carry. */
function systemText(m) {
  const p = m.payload;
  if (p?.event === 'handed_off' && m.text) return [m.text];
  return systemEvent(p) || [m.text ?? ''];
}

function msgElement(m) {
  const d = parseTime(m.sent_at);
  if (m.author === 'system') {
    return h('div', { class: 'msg msg-system', dataset: { id: m.id, event: m.payload?.event } },
      h('div', { class: 'msg-system-inner' },
        h('span', { class: 'msg-text' }, systemText(m)),
        h('time', { class: 'msg-time', title: fullTime(d), text: clockTime(d) })));
  }
  const classes = ['msg', `msg-${m.author}`];
  if (m.private) classes.push('msg-note');
  if (m._pending) classes.push('msg-pending');
  if (m._failed) classes.push('msg-failed');
  const undelivered = m.delivery_status === 'failed' && !m._pending;
  if (undelivered) classes.push('msg-undelivered');
  let label = authorLabel(m);
  if (m.private) label = ['Private note · ', label];
  return h('div', { class: classes.join(' '), dataset: { id: m.id, clientId: m.client_id || undefined } },
    h('div', { class: 'msg-bubble' },
      label && h('div', { class: 'msg-author' }, label),
      attachment(m),
      messageText(m.text),
      h('div', { class: 'msg-meta' },
        m.segments > 1 && h('span', { class: 'msg-segments', title: 'Sent as several SMS parts', text: `${m.segments} SMS` }),
        h('time', { class: 'msg-time', title: fullTime(d), text: clockTime(d) }),
        statusTick(m))),
    undelivered && h('div', { class: 'msg-retry', text: `Not delivered: ${m.failure_reason || 'unknown error'}` }),
    m._failed && h('div', { class: 'msg-retry' },
      h('span', { text: m._error || 'Not sent' }),
      m._retry && h('button', { class: 'link-btn', type: 'button', text: 'Retry', onclick: () => retrySend(m.client_id) })));
}

// --- attachments. Files need the Authorization header, so they are fetched and shown from
// blob: URLs (which the page's CSP allows for images), never linked directly.

const blobCache = new Map(); // media url → Promise<object URL>

function mediaBlob(url) {
  if (!blobCache.has(url)) {
    const p = fetch(url, { headers: { Authorization: `Bearer ${S.token}` } }).then((res) => {
      if (!res.ok) throw new ApiError(res.status, 'file', `HTTP ${res.status}`);
      return res.blob();
    }).then((blob) => URL.createObjectURL(blob));
    p.catch(() => blobCache.delete(url));
    blobCache.set(url, p);
  }
  return blobCache.get(url);
}

function isImage(m) {
  return ['image', 'sticker'].includes(m.kind) || /^image\//.test(m.media_mime || '');
}

function attachment(m) {
  // The provider's file could not be fetched; the reason says whether it is tried again.
  if (m.media_error) return h('div', { class: 'msg-file msg-file-error', role: 'note', text: `Attachment not downloaded: ${m.media_error}` });
  if (m.media_pending) return h('div', { class: 'msg-file muted', text: 'Attachment downloading…' });
  if (m.kind === 'location' && m.payload && Number.isFinite(+m.payload.latitude) && Number.isFinite(+m.payload.longitude)) {
    const lat = +m.payload.latitude;
    const lon = +m.payload.longitude;
    return h('a', { class: 'msg-file', href: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`, target: '_blank', rel: 'noopener noreferrer', text: `Location ${lat.toFixed(5)}, ${lon.toFixed(5)}${m.payload.name ? ` · ${m.payload.name}` : ''}` });
  }
  if (!m.media_url || !/^\/api\/files\//.test(m.media_url)) return null;
  const name = m.media_filename || (isImage(m) ? 'Image' : `${m.kind || 'File'} attachment`);
  if (isImage(m)) {
    const img = h('img', { class: 'msg-image', alt: name });
    const box = h('button', { class: 'msg-image-box', type: 'button', title: 'Open full size', onclick: () => openFile(m) }, img);
    mediaBlob(m.media_url).then((src) => { img.src = src; }, () => box.replaceWith(h('div', { class: 'msg-file muted', text: 'Image unavailable' })));
    return box;
  }
  // Audio, video and documents open in a new tab from a blob (the CSP allows no media sources).
  return h('button', { class: 'msg-file', type: 'button', title: m.media_mime || '', onclick: () => openFile(m) }, icon('download', 'icon icon-xs'), h('span', { text: name }));
}

async function openFile(m) {
  try {
    const url = await mediaBlob(m.media_url);
    const a = h('a', { href: url, target: '_blank', rel: 'noopener' });
    if (!isImage(m) && !/^(audio|video)\//.test(m.media_mime || '')) a.download = m.media_filename || 'attachment';
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    toast(`Could not open the file: ${e.message}`, 'error');
  }
}

/** The text, with http(s) links made clickable; every piece is still a text node. */
function messageText(text) {
  const el = h('div', { class: 'msg-text', dir: 'auto' });
  const source = String(text ?? '');
  let last = 0;
  for (const match of source.matchAll(/\bhttps?:\/\/[^\s<>"']+/gi)) {
    const url = match[0].replace(/[.,;:!?)\]]+$/, '');
    el.append(source.slice(last, match.index));
    el.append(h('a', { href: url, target: '_blank', rel: 'noopener noreferrer nofollow', text: url }));
    last = match.index + url.length;
  }
  el.append(source.slice(last));
  return el;
}

function statusTick(m) {
  if (m._pending && !m._failed) return h('span', { class: 'msg-sending', text: 'Sending…' });
  const status = m.delivery_status;
  if (!status || m.private || m.author === 'customer') return null;
  const [glyph, label] = TICKS[status] || ['', status];
  const title = status === 'failed' ? `Failed: ${m.failure_reason || 'unknown error'}` : label;
  return h('span', { class: `msg-status tick-${status}`, dataset: { status }, title, 'aria-label': title, text: glyph });
}

function daySeparator(d) {
  return h('div', { class: 'day-sep', role: 'separator' }, h('span', { text: dayLabel(d) }));
}

function threadTop() {
  if (S.loadingOlder) return h('div', { class: 'thread-top muted', text: 'Loading earlier messages…' });
  if (S.hasMore) return h('div', { class: 'thread-top' }, h('button', { class: 'link-btn', type: 'button', text: 'Load earlier messages', onclick: loadOlder }));
  return h('div', { class: 'thread-top muted', text: S.messages.length ? 'Start of the conversation' : 'No messages yet' });
}

function elementFor(m) {
  let el = msgEls.get(m.id);
  if (!el || el._msg !== m) {
    el = msgElement(m);
    el._msg = m;
    msgEls.set(m.id, el);
  }
  return el;
}

/** Rebuilds the thread from S.messages (reusing message nodes), with day separators. */
function renderAllMessages() {
  const nodes = [threadTop()];
  let prevDay = null;
  for (const m of S.messages) {
    const d = parseTime(m.sent_at) || new Date();
    if (!prevDay || !sameDay(prevDay, d)) nodes.push(daySeparator(d));
    prevDay = d;
    nodes.push(elementFor(m));
  }
  const live = new Set(S.messages.map((m) => m.id));
  for (const id of msgEls.keys()) if (!live.has(id)) msgEls.delete(id);
  $('#thread').replaceChildren(...nodes);
}

function appendMessageNode(m) {
  const thread = $('#thread');
  const prev = S.messages[S.messages.length - 2];
  const d = parseTime(m.sent_at) || new Date();
  const prevDay = prev && (parseTime(prev.sent_at) || new Date());
  if (!prevDay || !sameDay(prevDay, d)) thread.append(daySeparator(d));
  if (S.messages.length === 1) $('.thread-top', thread)?.replaceWith(threadTop());
  thread.append(elementFor(m));
}

function nearBottom() {
  const t = $('#thread');
  return t.scrollHeight - t.scrollTop - t.clientHeight < 150;
}

function scrollToBottom() {
  const t = $('#thread');
  t.scrollTop = t.scrollHeight;
  show($('#jump-latest'), false);
}

/** Adds or updates one message in the open thread, keeping the reader's place. */
function addMessage(m, { mine = false } = {}) {
  const stick = mine || nearBottom();
  const result = insertMessageData(m);
  if (!result) return;
  if (result === 'appended') {
    appendMessageNode(m);
  } else if (result === 'replaced') {
    const old = $(`.msg[data-client-id="${CSS.escape(m.client_id)}"]`, $('#thread'));
    const el = elementFor(m);
    if (old) old.replaceWith(el);
    else renderAllMessages();
  } else {
    renderAllMessages();
  }
  if (stick) scrollToBottom();
  else if (result !== 'replaced') show($('#jump-latest'), true);
}

function removeMessage(id) {
  const i = S.messages.findIndex((x) => x.id === id);
  if (i < 0) return;
  S.messages.splice(i, 1);
  const old = msgEls.get(id);
  if (old && old.isConnected) old.remove();
  msgEls.delete(id);
}

/** Messages that name agents (system events, agents' replies), rebuilt after names changed. */
function renderNamedMessages() {
  for (const m of S.messages) {
    if (m.author !== 'system' && m.author !== 'agent') continue;
    const old = msgEls.get(m.id);
    msgEls.delete(m.id);
    const el = elementFor(m);
    if (old && old.isConnected) old.replaceWith(el);
  }
}

function replaceMessage(id, patch) {
  const i = S.messages.findIndex((x) => x.id === id);
  if (i < 0) return;
  const m = { ...S.messages[i], ...patch };
  S.messages[i] = m;
  const old = msgEls.get(id);
  const el = elementFor(m);
  if (old && old.isConnected) old.replaceWith(el);
}

/** Infinite scroll upwards: prepend the page before the oldest message, keeping the view still. */
async function loadOlder() {
  if (S.loadingOlder || !S.hasMore || !S.messages.length) return;
  const id = S.activeId;
  const req = S.threadReq;
  const oldest = S.messages.find((m) => !m._pending);
  if (!oldest) return;
  S.loadingOlder = true;
  $('.thread-top', $('#thread'))?.replaceWith(threadTop());
  try {
    const page = await api('GET', `${convPath(id, '/messages')}?limit=${THREAD_PAGE}&before=${encodeURIComponent(oldest.id)}`);
    if (req !== S.threadReq) return;
    const thread = $('#thread');
    const fromBottom = thread.scrollHeight - thread.scrollTop;
    for (const m of page.items) insertMessageData(m);
    S.hasMore = page.has_more;
    S.loadingOlder = false;
    renderAllMessages();
    thread.scrollTop = thread.scrollHeight - fromBottom;
  } catch (e) {
    showError(e, 'Could not load earlier messages');
  } finally {
    if (req === S.threadReq) {
      S.loadingOlder = false;
      $('.thread-top', $('#thread'))?.replaceWith(threadTop());
      fillViewport();
    }
  }
}

/** A short first page leaves nothing to scroll: keep loading until the thread can scroll. */
function fillViewport() {
  const t = $('#thread');
  if (S.hasMore && !S.loadingOlder && t.scrollHeight <= t.clientHeight + 40) loadOlder();
}

function onThreadScroll() {
  const t = $('#thread');
  if (t.scrollTop < 120) loadOlder();
  if (nearBottom()) show($('#jump-latest'), false);
}

// --- read state

const markReadSoon = debounce((id) => markRead(id), 400);

async function markRead(id) {
  if (id !== S.activeId || document.visibilityState !== 'visible') return;
  try {
    upsertConversation(await api('POST', convPath(id, '/read')));
  } catch (e) {
    if (e.status !== 404) console.warn('mark read failed', e);
  }
}

function onVisibilityChange() {
  const c = activeConv();
  if (document.visibilityState === 'visible' && c && c.unread_count > 0) markReadSoon(c.id);
}

// ---------------------------------------------------------------------------------------------
// Header actions: status, assignee, menu

async function setStatus(status) {
  const c = activeConv();
  if (!c || c.status === status) return;
  const buttons = $$('.status-switch button');
  buttons.forEach((b) => { b.disabled = true; });
  try {
    upsertConversation(await api('POST', convPath(c.id, '/status'), { status }));
    const verb = { human: 'You took over; the bot stays quiet.', bot: 'Handed back to the bot.', closed: 'Conversation closed.' }[status];
    toast(verb);
  } catch (e) {
    showError(e, 'Could not change the status');
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

async function setAssignee() {
  const c = activeConv();
  if (!c) return;
  const value = $('#assignee').value || null;
  if (value === (c.assignee_id || null)) return;
  try {
    // An unassigned conversation is taken with /take, which refuses if someone was quicker.
    const path = value === S.me.id && !c.assignee_id ? convPath(c.id, '/take') : convPath(c.id, '/assign');
    const body = path.endsWith('/take') ? undefined : { agent_id: value };
    upsertConversation(await api('POST', path, body));
  } catch (e) {
    showError(e, e.code === 'already_assigned' ? 'Someone else took it first' : 'Could not assign');
    $('#assignee').value = activeConv()?.assignee_id || '';
    if (e.code === 'already_assigned' && activeConv()) refreshConversation(activeConv().id);
  }
}

async function refreshConversation(id) {
  try {
    upsertConversation(await api('GET', convPath(id)));
  } catch (e) {
    if (e.status === 404) removeConversation(id, 'This conversation is no longer visible to you.');
  }
}

function toggleMenu(open) {
  const menu = $('#menu');
  const willOpen = open ?? menu.hidden;
  show(menu, willOpen);
  $('#menu-button').setAttribute('aria-expanded', String(willOpen));
  if (willOpen) $('button', menu)?.focus();
}

async function onMenuAction(action) {
  toggleMenu(false);
  const c = activeConv();
  if (!c) return;
  try {
    if (action === 'mark-unread') {
      upsertConversation(await api('POST', convPath(c.id, '/unread')));
      // Staying in the thread would mark it read again: go back to the list, like a mail client.
      closeThread();
      navigate('#/');
    } else if (action === 'archive') {
      const archived = !c.archived;
      upsertConversation(await api('POST', convPath(c.id, '/archive'), { archived }));
      toast(archived ? 'Archived.' : 'Moved back to the inbox.');
    } else if (action === 'delete') {
      const ok = await confirmDialog({
        title: 'Delete this conversation?',
        text: ['All messages with ', bdi(displayName(c)), ' will be permanently erased. This cannot be undone.'],
        ok: 'Delete',
      });
      if (!ok) return;
      await api('DELETE', convPath(c.id));
      removeConversation(c.id);
      toast('Conversation deleted.');
    }
  } catch (e) {
    showError(e, 'Action failed');
  }
}

// ---------------------------------------------------------------------------------------------
// Composer

function saveDraft() {
  if (S.activeId) S.drafts.set(S.activeId, $('#composer-input').value);
}

function renderComposer(c) {
  const input = $('#composer-input');
  // Only a different conversation brings its own draft; updates of this one keep what is typed.
  if (input.dataset.conv !== c.id) {
    input.dataset.conv = c.id;
    input.value = S.drafts.get(c.id) || '';
    S.noteMode = false;
    autosize();
  }
  const windowClosed = c.window_open === false;
  const blocked = windowClosed && !S.noteMode;
  $('#composer').classList.toggle('note-mode', S.noteMode);
  const note = $('#composer-note');
  note.setAttribute('aria-pressed', String(S.noteMode));
  note.classList.toggle('active', S.noteMode);
  input.disabled = blocked;
  $('#composer-send').disabled = blocked;
  $('.send-label', $('#composer-send')).textContent = S.noteMode ? 'Add note' : 'Send';
  input.placeholder = S.noteMode
    ? 'Private note: only agents see this'
    : blocked ? '24-hour window closed — use a template' : `Reply to ${isolate(displayName(c))}…`;
  show($('#window-closed'), blocked);
  renderTemplatePicker(c, blocked);
  renderSegments(c);
}

function autosize() {
  const input = $('#composer-input');
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight, 180)}px`;
}

function onComposerKeydown(e) {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    sendFromComposer();
  }
}

function onComposerInput() {
  autosize();
  const c = activeConv();
  if (!c) return;
  const now = Date.now();
  if ($('#composer-input').value.trim() && now - S.lastTypingSent > TYPING_SEND_EVERY_MS) {
    S.lastTypingSent = now;
    sendWs({ type: 'typing', conversation_id: c.id });
  }
  if (isSms(c) && !S.noteMode) updateSegmentsSoon();
}

function toggleNote() {
  S.noteMode = !S.noteMode;
  const c = activeConv();
  if (c) renderComposer(c);
  $('#composer-input').focus();
}

function sendFromComposer() {
  const c = activeConv();
  const input = $('#composer-input');
  const text = input.value.trim();
  if (!c || !text || input.disabled) return;
  const pending = {
    id: `pending:${uuid()}`,
    client_id: uuid(),
    conversation_id: c.id,
    author: 'agent',
    agent_id: S.me.id,
    direction: S.noteMode ? 'internal' : 'outbound',
    private: S.noteMode,
    text,
    sent_at: new Date().toISOString(),
    _pending: true,
  };
  input.value = '';
  S.drafts.delete(c.id);
  autosize();
  if (isSms(c)) renderSegments(c);
  addMessage(pending, { mine: true });
  postMessage(pending);
}

/**
 * Sends (or re-sends) a reply. The client_id stays the same across retries, so the server
 * stores it once however many times the request reaches it.
 */
async function postMessage(pending) {
  const convId = pending.conversation_id;
  try {
    const msg = await api('POST', convPath(convId, '/messages'), {
      text: pending.text,
      client_id: pending.client_id,
      private: pending.private,
    });
    if (S.activeId === convId) addMessage(msg, { mine: true });
  } catch (e) {
    if (S.activeId !== convId) {
      showError(e, 'Your message was not sent');
      return;
    }
    const reasons = {
      window_closed: 'Not sent: the 24-hour window is closed. Use a template.',
      not_assignee: 'Not sent: only the assignee may reply. Take the conversation first.',
    };
    const retry = !reasons[e.code] && (e.status === 0 || e.status >= 500);
    replaceMessage(pending.id, { _failed: true, _retry: retry, _error: reasons[e.code] || `Not sent: ${e.message}` });
    if (e.code === 'window_closed') refreshConversation(convId);
  }
}

function retrySend(clientId) {
  const m = S.messages.find((x) => x._pending && x.client_id === clientId);
  if (!m) return;
  replaceMessage(m.id, { _failed: false, _retry: false, _error: null });
  postMessage(S.messages.find((x) => x.id === m.id));
}

// --- SMS segments (channel twilio over SMS), counted by the server so the rules live in one place

const updateSegmentsSoon = debounce(() => updateSegments(), 250);

function renderSegments(c) {
  const el = $('#segments');
  const on = isSms(c) && S.segmentsSupported && !S.noteMode;
  show(el, on);
  if (on) updateSegmentsSoon();
}

async function updateSegments() {
  const c = activeConv();
  const el = $('#segments');
  if (!c || !isSms(c) || !S.segmentsSupported) return;
  const text = $('#composer-input').value;
  if (!text) {
    el.textContent = '0 characters · 0 SMS';
    return;
  }
  try {
    // With the inbox, the server counts the text as it will be sent (its smart encoding).
    const r = await api('POST', '/api/sms/segments', c.inbox_id ? { text, inbox: c.inbox_id } : { text });
    const per = r.segments > 1 ? (r.encoding === 'UCS-2' ? 67 : 153) : r.encoding === 'UCS-2' ? 70 : 160;
    el.textContent = `${r.units}/${per * Math.max(1, r.segments)} · ${r.segments} SMS · ${r.encoding}`;
    el.title = r.segments > 1 ? `Sent as ${r.segments} parts: ${(r.per_segment || []).join(' + ')} ${r.encoding === 'UCS-2' ? 'UTF-16 units' : 'characters'}` : 'Fits in one SMS';
    el.classList.toggle('segments-warn', r.segments > 1 || r.encoding === 'UCS-2');
  } catch (e) {
    if (e.status === 404) {
      S.segmentsSupported = false;
      show(el, false);
    }
  }
}

// --- templates (when the service window is closed)

function templatesFor(c) {
  const inbox = S.inboxes?.get(c.inbox_id);
  return Array.isArray(inbox?.templates) ? inbox.templates : [];
}

/** Positional parameters of a template: a count, a list of names, or its {{n}} placeholders. */
function templateParams(t) {
  if (Array.isArray(t.parameters)) return t.parameters.map((p, i) => (typeof p === 'string' ? p : p?.name || `Parameter ${i + 1}`));
  const n = typeof t.parameters === 'number' ? t.parameters
    : Math.max(0, ...[...String(t.body || '').matchAll(/\{\{\s*(\d+)\s*\}\}/g)].map((m) => Number(m[1])));
  return Array.from({ length: n }, (_, i) => `Parameter ${i + 1}`);
}

function renderTemplatePicker(c, blocked) {
  const picker = $('#template-picker');
  const templates = blocked ? templatesFor(c) : [];
  show(picker, templates.length > 0);
  if (!templates.length) return;
  const select = $('#template-select');
  const key = `${c.inbox_id}:${templates.map((t) => `${t.name}/${t.language}`).join(',')}`;
  if (select.dataset.key !== key) {
    select.dataset.key = key;
    select.replaceChildren(...templates.map((t, i) => h('option', { value: String(i), text: `${t.name} (${t.language})` })));
    renderTemplateParams();
  }
}

function selectedTemplate() {
  const c = activeConv();
  return c ? templatesFor(c)[Number($('#template-select').value) || 0] : null;
}

function renderTemplateParams() {
  const t = selectedTemplate();
  const box = $('#template-params');
  if (!t) return box.replaceChildren();
  box.replaceChildren(...templateParams(t).map((label, i) =>
    h('input', { class: 'input-sm', type: 'text', placeholder: label, 'aria-label': label, dataset: { index: String(i) }, oninput: renderTemplatePreview })));
  renderTemplatePreview();
}

function renderTemplatePreview() {
  const t = selectedTemplate();
  if (!t) return;
  const values = $$('#template-params input').map((i) => i.value);
  const text = String(t.body || '').replace(/\{\{\s*(\d+)\s*\}\}/g, (all, n) => values[Number(n) - 1] || all);
  $('#template-preview').textContent = text;
}

async function sendTemplate() {
  const c = activeConv();
  const t = selectedTemplate();
  if (!c || !t) return;
  const parameters = $$('#template-params input').map((i) => i.value.trim());
  if (parameters.some((p) => !p)) {
    toast('Fill in every template parameter.', 'error');
    return;
  }
  const button = $('#template-send');
  button.disabled = true;
  try {
    const msg = await api('POST', convPath(c.id, '/template'), { name: t.name, language: t.language, parameters, client_id: uuid() });
    if (msg?.id && S.activeId === c.id) addMessage(msg, { mine: true });
    $$('#template-params input').forEach((i) => { i.value = ''; });
    renderTemplatePreview();
    toast('Template sent.');
  } catch (e) {
    showError(e, e.status === 404 ? 'Templates are not available on this server' : 'Template not sent');
  } finally {
    button.disabled = false;
  }
}

// --- typing indicator (others typing in the open conversation)

function onTyping(ev) {
  if (ev.agent_id === S.me?.id) return;
  let map = S.typers.get(ev.conversation_id);
  if (!map) S.typers.set(ev.conversation_id, (map = new Map()));
  map.set(ev.agent_id, { name: ev.name || agentName(ev.agent_id), until: Date.now() + TYPING_SHOW_MS });
  if (ev.conversation_id === S.activeId) renderTyping();
  setTimeout(renderTyping, TYPING_SHOW_MS + 50);
}

function renderTyping() {
  const el = $('#typing');
  const map = S.typers.get(S.activeId);
  const now = Date.now();
  const names = map ? [...map.values()].filter((t) => t.until > now).map((t) => t.name) : [];
  if (!names.length) {
    el.textContent = '';
    show(el, false);
    return;
  }
  const who = names.map((n) => bdi(n));
  el.replaceChildren(...(who.length === 1
    ? [who[0], ' is typing…']
    : [...who.slice(0, -1).flatMap((n, i) => (i ? [', ', n] : [n])), ' and ', who[who.length - 1], ' are typing…']));
  show(el, true);
}

// ---------------------------------------------------------------------------------------------
// Contact panel

function renderContactEmpty() {
  show($('#contact-body'), false);
  show($('#contact-empty'), true);
}

function renderContact(c, old) {
  show($('#contact-empty'), false);
  show($('#contact-body'), true);
  const ch = channelInfo(c);
  $('#contact-avatar').replaceWith(Object.assign(avatar(c, 'avatar avatar-lg'), { id: 'contact-avatar' }));
  $('#contact-name').textContent = displayName(c);
  setFact('#contact-phone', c.contact?.phone);
  setFact('#contact-email', c.contact?.email);
  const inboxName = S.inboxes?.get(c.inbox_id)?.name;
  $('#contact-channel').textContent = inboxName && inboxName !== ch.label ? `${ch.label} · ${inboxName}` : ch.label;
  $('#contact-created').textContent = fullTime(parseTime(c.created_at));
  renderTags(c);
  $('#lead-stage').value = c.lead_stage || '';
  renderFollowUp(c);
  if (old && old.contact?.id !== c.contact?.id) loadContactHistory(c);
}

function setFact(sel, value) {
  const el = $(sel);
  el.textContent = value || '—';
  el.classList.toggle('muted', !value);
}

function renderTags(c) {
  $('#tag-list').replaceChildren(...(c.tags || []).map((tag) =>
    h('span', { class: 'chip' },
      h('span', { dir: 'auto', text: tag }),
      h('button', { class: 'chip-x', type: 'button', title: 'Remove tag', 'aria-label': `Remove tag ${tag}`, onclick: () => saveTags(c.id, (activeConv()?.tags || []).filter((t) => t !== tag)) }, '×'))));
}

async function saveTags(id, tags) {
  try {
    upsertConversation(await api('PUT', convPath(id, '/tags'), { tags }));
  } catch (e) {
    showError(e, 'Could not save tags');
  }
}

function onTagKeydown(e) {
  if (e.key !== 'Enter' && e.key !== ',') return;
  e.preventDefault();
  const c = activeConv();
  const tag = e.target.value.trim().replace(/,$/, '');
  if (!c || !tag) return;
  e.target.value = '';
  if (!(c.tags || []).includes(tag)) saveTags(c.id, [...(c.tags || []), tag]);
}

async function setLeadStage() {
  const c = activeConv();
  if (!c) return;
  try {
    upsertConversation(await api('POST', convPath(c.id, '/lead-stage'), { lead_stage: $('#lead-stage').value || null }));
  } catch (e) {
    showError(e, 'Could not set the lead stage');
    $('#lead-stage').value = c.lead_stage || '';
  }
}

function renderFollowUp(c) {
  const box = $('#followup-current');
  const at = parseTime(c.follow_up?.at);
  show(box, !!at);
  if (!at) return;
  $('#followup-when').textContent = `${fullTime(at)} (${untilLabel(at)})`;
  $('#followup-reason-text').textContent = c.follow_up.reason || '';
}

async function scheduleFollowUp(body) {
  const c = activeConv();
  if (!c) return;
  try {
    upsertConversation(await api('POST', convPath(c.id, '/follow-up'), body));
    toast('Follow-up scheduled.');
  } catch (e) {
    showError(e, 'Could not schedule the follow-up');
  }
}

function scheduleCustomFollowUp() {
  const value = $('#followup-at').value;
  const at = value ? new Date(value) : null;
  if (!at || Number.isNaN(at.getTime())) {
    toast('Pick a date and time for the follow-up.', 'error');
    return;
  }
  if (at <= new Date()) {
    toast('The follow-up must be in the future.', 'error');
    return;
  }
  const reason = $('#followup-reason').value.trim();
  scheduleFollowUp(reason ? { at: at.toISOString(), reason } : { at: at.toISOString() }).then(() => {
    $('#followup-at').value = '';
    $('#followup-reason').value = '';
  });
}

async function cancelFollowUp() {
  const c = activeConv();
  if (!c) return;
  try {
    upsertConversation(await api('DELETE', convPath(c.id, '/follow-up')));
  } catch (e) {
    showError(e, 'Could not cancel the follow-up');
  }
}

/** Other conversations with the same person: searched by phone, else by name. */
async function loadContactHistory(c) {
  if (!c || S.historyFor === c.id) return;
  S.historyFor = c.id;
  const box = $('#contact-history');
  const q = c.contact?.phone || c.contact?.name;
  if (!q) {
    $('#history-count').textContent = '(0)';
    box.replaceChildren(h('p', { class: 'muted small', text: 'No other conversations.' }));
    return;
  }
  box.replaceChildren(h('p', { class: 'muted small', text: 'Loading…' }));
  try {
    const params = new URLSearchParams({ q, limit: '20' });
    const [open, archived] = await Promise.all([
      api('GET', `/api/conversations?${params}`),
      api('GET', `/api/conversations?${params}&archived=true`),
    ]);
    if (S.historyFor !== c.id) return;
    const same = (x) => x.contact?.id === c.contact?.id || (c.contact?.phone && x.contact?.phone === c.contact.phone);
    const others = [...open.items, ...archived.items].filter((x) => x.id !== c.id && same(x));
    $('#history-count').textContent = `(${others.length})`;
    box.replaceChildren(...(others.length ? others.map(historyItem) : [h('p', { class: 'muted small', text: 'No other conversations.' })]));
  } catch (e) {
    if (S.historyFor === c.id) box.replaceChildren(h('p', { class: 'muted small', text: 'Could not load.' }));
  }
}

function historyItem(x) {
  const d = parseTime(x.last_message_at || x.created_at);
  return h('a', { class: 'history-item', href: `#/c/${encodeURIComponent(x.id)}`, dataset: { id: x.id } },
    h('div', { class: 'history-top' },
      h('span', { class: `conv-status status-${x.status}`, text: x.status }),
      h('span', { class: 'muted', text: `${channelInfo(x).label} · ${fullTime(d)}` })),
    h('div', { class: 'history-preview', dir: 'auto', text: x.last_message_preview || '' }));
}

// ---------------------------------------------------------------------------------------------
// Realtime: one websocket, resumed from the last seq after a drop

function setConn(state) {
  const el = $('#conn-status');
  const labels = { connecting: 'Connecting…', live: 'Live', syncing: 'Syncing…', offline: 'Reconnecting…' };
  el.dataset.state = state;
  el.title = labels[state];
  $('.conn-label', el).textContent = labels[state];
}

function sendWs(frame) {
  if (S.ws?.readyState === WebSocket.OPEN) S.ws.send(JSON.stringify(frame));
}

function connectWs() {
  clearTimeout(S.wsTimer);
  if (!S.token) return;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/api/ws?token=${encodeURIComponent(S.token)}`);
  S.ws = ws;
  setConn(S.lastSeq == null ? 'connecting' : 'offline');
  ws.onmessage = (e) => {
    if (S.ws !== ws) return;
    S.lastHeard = Date.now();
    let frame;
    try {
      frame = JSON.parse(e.data);
    } catch {
      return;
    }
    onFrame(frame);
  };
  ws.onclose = () => {
    if (S.ws !== ws) return;
    S.ws = null;
    setConn('offline');
    scheduleReconnect();
  };
}

/** Exponential backoff with jitter, so a restarted server is not hit by every tab at once. */
function scheduleReconnect() {
  const attempt = S.wsAttempts++;
  const delay = Math.min(30000, 1000 * 2 ** attempt) * (0.6 + Math.random() * 0.4);
  clearTimeout(S.wsTimer);
  S.wsTimer = setTimeout(connectWs, delay);
  // A socket that keeps failing may mean the token was revoked: a REST call tells (401 → login).
  if (attempt >= 1) api('GET', '/api/auth/me').catch(() => {});
}

function keepAlive() {
  if (S.ws?.readyState !== WebSocket.OPEN) return;
  if (Date.now() - S.lastHeard > 75000) {
    S.ws.close(); // silent for too long: assume the connection is dead and start over
    S.ws = null;
    setConn('offline');
    scheduleReconnect();
    return;
  }
  sendWs({ type: 'ping' });
}

function onFrame(f) {
  switch (f.type) {
    case 'hello':
      S.seesAll = !!f.sees_all;
      if (f.agent) S.me = { ...S.me, ...f.agent };
      S.wsAttempts = 0;
      if (S.lastSeq == null) {
        S.lastSeq = f.latest;
        setConn('live');
      } else if (f.latest < S.lastSeq) {
        // The server restarted and numbers events afresh: what we missed cannot be replayed.
        S.lastSeq = f.latest;
        setConn('live');
        reloadEverything();
      } else {
        // Live events can arrive before the replay (they are pushed from the moment of hello),
        // so until "resumed" events are deduplicated by seq rather than by "highest seen".
        S.resuming = { since: S.lastSeq, seen: new Set(), max: S.lastSeq };
        sendWs({ type: 'resume', since: S.lastSeq });
        setConn('syncing');
      }
      if (S.activeId) sendWs({ type: 'viewing', conversation_id: S.activeId });
      refreshBadge();
      return;
    case 'resumed':
      S.lastSeq = Math.max(S.lastSeq ?? 0, S.resuming?.max ?? 0, f.latest ?? 0);
      S.resuming = null;
      setConn('live');
      return;
    case 'reload':
      S.resuming = null;
      S.lastSeq = f.latest;
      setConn('live');
      reloadEverything();
      return;
    case 'pong':
      return;
    case 'error':
      console.warn('websocket error frame', f);
      return;
    default:
      break;
  }
  if (typeof f.seq === 'number') {
    if (S.resuming) {
      if (f.seq <= S.resuming.since || S.resuming.seen.has(f.seq)) return;
      S.resuming.seen.add(f.seq);
      S.resuming.max = Math.max(S.resuming.max, f.seq);
    } else {
      if (S.lastSeq != null && f.seq <= S.lastSeq) return; // already applied
      S.lastSeq = f.seq;
    }
  }
  try {
    handleEvent(f);
  } catch (e) {
    console.error('event handling failed', f.type, e);
  }
}

function handleEvent(f) {
  switch (f.type) {
    case 'message.created':
      onMessageCreated(f.conversation_id, f.message);
      break;
    case 'message.status':
      if (f.conversation_id === S.activeId) onMessageStatus(f);
      break;
    case 'message.updated':
      // A downloaded attachment arrived, or its download failed.
      if (f.conversation_id === S.activeId && f.message) onMessageUpdated(f.message);
      break;
    case 'message.deleted':
      // A stored echo turned out to be our own send (merged into it): drop the copy.
      if (f.conversation_id === S.activeId) removeMessage(f.message_id);
      break;
    case 'conversation.created':
    case 'conversation.updated':
      upsertConversation(f.conversation, { live: true });
      break;
    case 'conversation.deleted':
      removeConversation(f.conversation_id, 'This conversation was deleted.');
      break;
    case 'conversation.hidden':
      // Reassigned to someone else: I no longer see it (nor get its updates).
      loseSight(f.conversation_id, f.assignee_name || S.agents.get(f.assignee_id)?.name);
      break;
    case 'handoff.requested':
      upsertConversation(f.conversation, { live: true });
      addHandoff(f);
      break;
    case 'badge':
      setBadge(badgeFor(f.counts));
      break;
    case 'typing':
      onTyping(f);
      break;
    case 'presence':
      if (Array.isArray(f.viewers)) {
        S.viewers.set(f.conversation_id, f.viewers);
        if (f.conversation_id === S.activeId) renderViewers();
      } else if (f.agent_id) {
        const a = S.agents.get(f.agent_id);
        if (a) S.agents.set(f.agent_id, { ...a, availability: f.availability });
        else loadAgents(); // a new agent
        if (activeConv()) renderAssignee(activeConv());
      }
      break;
    default:
      break;
  }
}

const STATUS_RANK = { queued: 0, sent: 1, delivered: 2, read: 3 };

/** Ticks only move forward (a replayed "sent" must not undo "read"); failure always shows. */
function onMessageStatus(f) {
  const m = S.messages.find((x) => x.id === f.message_id);
  if (!m) return;
  const was = STATUS_RANK[m.delivery_status] ?? -1;
  const now = STATUS_RANK[f.status] ?? 99;
  if (f.status !== 'failed' && now < was) return;
  replaceMessage(f.message_id, { delivery_status: f.status, failure_reason: f.reason ?? null });
}

function onMessageUpdated(m) {
  if (S.messages.some((x) => x.id === m.id)) replaceMessage(m.id, m);
  else S.lateUpdates.set(m.id, m); // the thread is still loading: applied to what it fetched
}

function onMessageCreated(convId, m) {
  if (!m) return;
  if (m.agent_id) S.typers.get(convId)?.delete(m.agent_id);
  if (convId !== S.activeId) return;
  addMessage(m, { mine: m.agent_id === S.me?.id });
  renderTyping();
  if (m.author === 'customer') markReadSoon(convId);
}

/** After a too-long disconnection: refetch the list and the open thread. */
async function reloadEverything() {
  reloadList();
  refreshBadge();
  const id = S.activeId;
  if (!id) return;
  // Refetch the thread from scratch (keeping only my unsent messages): merging the old copy
  // with a fresh last page could leave a hole of never-seen messages between them.
  S.activeId = null;
  S.messages = S.messages.filter((m) => m._pending);
  msgEls.clear();
  await openConversation(id);
}

// ---------------------------------------------------------------------------------------------
// Wiring

function fillLeadStages() {
  $('#lead-stage').replaceChildren(
    h('option', { value: '', text: 'No stage' }),
    ...LEAD_STAGES.map(([value, label]) => h('option', { value, text: label })),
  );
}

function bindEvents() {
  $('#login-form').addEventListener('submit', onLoginSubmit);
  $('#logout').addEventListener('click', logout);
  $('#availability').addEventListener('change', setAvailability);
  $('#bell').addEventListener('click', (e) => {
    e.stopPropagation();
    toggleBell();
  });
  $('#bell-clear').addEventListener('click', () => {
    S.handoffs = [];
    saveHandoffs();
    renderBell();
  });
  $('#nav-inbox').addEventListener('click', () => setView('list'));

  for (const b of $$('button[data-filter]')) b.addEventListener('click', () => setFilter(b.dataset.filter));
  $('#search').addEventListener('input', onSearchInput);
  $('#search').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      onSearchInput.cancel();
      S.q = $('#search').value;
      reloadList();
    }
  });
  $('#date-from').addEventListener('change', onDateChange);
  $('#date-to').addEventListener('change', onDateChange);
  $('#date-clear').addEventListener('click', clearDates);

  $('#thread-back').addEventListener('click', () => navigate('#/'));
  $('#thread-gone-back').addEventListener('click', () => navigate('#/'));
  for (const b of $$('.status-switch button[data-status]')) b.addEventListener('click', () => setStatus(b.dataset.status));
  $('#assignee').addEventListener('change', setAssignee);
  $('#contact-toggle').addEventListener('click', toggleContact);
  $('#contact-back').addEventListener('click', closeContact);
  $('#menu-button').addEventListener('click', (e) => {
    e.stopPropagation();
    toggleMenu();
  });
  for (const b of $$('#menu [data-action]')) b.addEventListener('click', () => onMenuAction(b.dataset.action));
  $('#thread').addEventListener('scroll', onThreadScroll, { passive: true });
  $('#jump-latest').addEventListener('click', scrollToBottom);

  const input = $('#composer-input');
  input.addEventListener('keydown', onComposerKeydown);
  input.addEventListener('input', onComposerInput);
  $('#composer-send').addEventListener('click', sendFromComposer);
  $('#composer-note').addEventListener('click', toggleNote);
  $('#template-select').addEventListener('change', renderTemplateParams);
  $('#template-send').addEventListener('click', sendTemplate);

  $('#tag-input').addEventListener('keydown', onTagKeydown);
  $('#lead-stage').addEventListener('change', setLeadStage);
  for (const b of $$('#followup-presets button[data-preset]')) b.addEventListener('click', () => scheduleFollowUp({ preset: b.dataset.preset }));
  $('#followup-set').addEventListener('click', scheduleCustomFollowUp);
  $('#followup-cancel').addEventListener('click', cancelFollowUp);

  // Popovers close on an outside click or Escape.
  document.addEventListener('click', (e) => {
    if (!e.target.closest('.bell-wrap')) toggleBell(false);
    if (!e.target.closest('.menu-wrap')) toggleMenu(false);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    toggleBell(false);
    toggleMenu(false);
  });
  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', onVisibilityChange);
  window.addEventListener('online', () => {
    if (!S.ws && S.token) connectWs();
  });
  window.addEventListener('storage', (e) => {
    // Logged out in another tab.
    if (e.key === TOKEN_KEY && !e.newValue && S.token) endSession();
  });
}

async function main() {
  hydrateIcons();
  fillLeadStages();
  bindEvents();
  readTokenFromUrl();
  setInterval(refreshTimes, 30000);
  setInterval(keepAlive, 25000);
  S.token = localStorage.getItem(TOKEN_KEY);
  const message = sessionStorage.getItem('sb-login-message');
  sessionStorage.removeItem('sb-login-message');
  if (!S.token) {
    showLogin(message);
    return;
  }
  try {
    await startApp();
  } catch (e) {
    if (e.status !== 401) {
      // The server is unreachable: keep the shell and let the websocket retry.
      showError(e, 'Could not start');
    }
  }
}

main();
