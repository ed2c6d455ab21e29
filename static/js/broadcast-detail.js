// The selected broadcast on the Broadcasts page: its audience preview, Start / Pause / Resume /
// Cancel as its status allows, live progress (polled: there is no websocket event for
// broadcasts) and its recipients by status, page by page. Addresses and error titles are text.

import { api } from './api.js';
import { broadcastStatusLabel, duration, reached, skippedSummary, skipWords } from './broadcast-words.js';
import { $, h, show } from './dom.js';
import { fullTime, parseTime } from './format.js';
import { state } from './store.js';
import { confirmDialog, showError, toast } from './ui.js';

const PAGE = 50;
const LIVE_MS = 1500; // while scheduled, running or paused
const SETTLING_MS = 5000; // after the end, while delivery and read statuses still arrive
const SETTLING_FOR_MS = 60 * 60 * 1000;
const LIVE = ['scheduled', 'running', 'paused'];
const ACTIONS = {
  start: ['draft'],
  pause: ['running'],
  resume: ['paused'],
  cancel: ['draft', 'scheduled', 'running', 'paused'],
};
const COUNTED = ['queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped', 'unknown', 'replied'];

let current = null; // the open broadcast, as last fetched
let timer = 0;
let visible = false; // whether the page shows
let nextCursor = null;
let recipientsRequest = 0;
let lastCounts = '';
let changed = () => {};

const path = (id, rest = '') => `/api/broadcasts/${encodeURIComponent(id)}${rest}`;

export const currentBroadcastId = () => current?.id ?? null;

/** `fn(broadcast)` when the open broadcast's status or counts change (the list re-reads). */
export function onBroadcastChanged(fn) {
  changed = fn;
}

export function openBroadcast(b) {
  current = b;
  lastCounts = '';
  show($('#broadcast-detail'), true);
  show($('#bd-preview-box'), false);
  render(b);
  loadRecipients(true);
  schedule();
  for (const row of document.querySelectorAll('#broadcast-list .broadcast-row')) row.classList.toggle('active', row.dataset.id === b.id);
}

export function closeBroadcast() {
  current = null;
  clearTimeout(timer);
  show($('#broadcast-detail'), false);
}

export function pageShown() {
  visible = true;
  if (current) refresh();
}

export function pageLeft() {
  visible = false;
  clearTimeout(timer);
}

function pollDelay(b) {
  if (LIVE.includes(b.status)) return LIVE_MS;
  const ended = parseTime(b.completed_at);
  if (b.status === 'completed' && ended && Date.now() - ended.getTime() < SETTLING_FOR_MS) return SETTLING_MS;
  return 0;
}

function schedule() {
  clearTimeout(timer);
  const delay = current && visible ? pollDelay(current) : 0;
  if (delay) timer = setTimeout(refresh, delay);
}

async function refresh() {
  const id = current?.id;
  if (!id) return;
  try {
    const b = await api('GET', path(id));
    if (current?.id !== id) return;
    const statusChanged = b.status !== current.status || b.pause_reason !== current.pause_reason;
    current = b;
    render(b);
    const counts = JSON.stringify(b.counts);
    if (counts !== lastCounts || statusChanged) changed(b);
    if (counts !== lastCounts) loadRecipients(true);
    lastCounts = counts;
  } catch (e) {
    if (current?.id === id) showError(e, 'Could not refresh the broadcast');
  }
  schedule();
}

function render(b) {
  $('#bd-name').textContent = b.name;
  const status = $('#bd-status');
  status.textContent = broadcastStatusLabel(b);
  status.className = `chip bd-status status-${b.status}`;
  const when = b.scheduled_at && b.status === 'scheduled' ? `sends at ${fullTime(parseTime(b.scheduled_at))}` : `created ${fullTime(parseTime(b.created_at))}`;
  const what = b.template ? `template ${b.template}` : 'text';
  const inbox = state.inboxes?.get(b.inbox)?.name || b.inbox;
  $('#bd-meta').textContent = `${inbox} · ${what} · ${b.rate_per_second}/s · ${when}`;
  for (const [action, allowed] of Object.entries(ACTIONS)) $(`#bd-${action}`).disabled = !allowed.includes(b.status);
  $('#bd-preview').disabled = b.status !== 'draft' && b.status !== 'scheduled';
  renderProgress(b.counts);
}

function renderProgress(c) {
  const target = c.total - (c.skipped || 0);
  const done = reached(c);
  const pct = target > 0 ? Math.round((100 * done) / target) : 0;
  $('#bd-progress-label').textContent = c.total ? `Sent ${done} of ${target}${c.skipped ? ` · ${c.skipped} skipped` : ''}` : 'Not started: the audience is counted at start.';
  $('#bd-progress-bar').style.width = `${pct}%`;
  const bar = $('#bd-progress-bar').parentElement;
  bar.setAttribute('aria-valuemax', String(target));
  bar.setAttribute('aria-valuenow', String(done));
  $('#bd-counts').replaceChildren(...COUNTED.map((k) =>
    h('div', { class: 'bd-count' }, h('dt', { text: k }), h('dd', { dataset: { count: k }, text: String(c[k] || 0) }))));
  const skipped = skippedSummary(c.skipped_by_reason);
  if (skipped) $('#bd-counts').append(h('div', { class: 'bd-count bd-skips' }, h('dt', { text: 'skipped because' }), h('dd', { text: skipped })));
}

async function preview() {
  const id = current?.id;
  if (!id) return;
  try {
    const p = await api('POST', path(id, '/preview'));
    if (current?.id !== id) return;
    const fact = (term, value) => [h('dt', { text: term }), h('dd', { text: value })];
    $('#bd-preview-box').replaceChildren(
      ...fact('Audience', `${p.audience} contact${p.audience === 1 ? '' : 's'}`),
      ...fact('Will get it', String(p.sends)),
      ...fact('Skipped', skippedSummary(p.skipped_by_reason) || 'nobody'),
      ...fact('Messaging limit left', p.remaining_today == null ? 'no limit configured' : `${p.remaining_today} people today`),
      ...fact('Takes about', `${duration(p.estimated_seconds)} at ${p.rate_per_second}/s`),
    );
    show($('#bd-preview-box'), true);
  } catch (e) {
    showError(e, 'Could not preview');
  }
}

async function act(action) {
  const b = current;
  if (!b) return;
  if (action === 'cancel') {
    const ok = await confirmDialog({ title: 'Cancel broadcast?', text: ['“', b.name, '” stops for good; recipients not yet sent to get nothing.'], ok: 'Cancel broadcast' });
    if (!ok) return;
  }
  try {
    const next = await api('POST', path(b.id, `/${action}`));
    if (current?.id !== b.id) return;
    current = next;
    render(next);
    changed(next);
    loadRecipients(true);
    schedule();
    if (action === 'start') toast(next.status === 'scheduled' ? 'Broadcast scheduled.' : 'Broadcast started.');
  } catch (e) {
    showError(e, `Could not ${action}`);
    refresh();
  }
}

function recipientStatus(r) {
  if (r.status === 'skipped') return `skipped: ${skipWords(r.skip_reason)}`;
  if (r.status === 'failed') return `failed${r.error_code ? ` (${r.error_code}${r.error_title ? `: ${r.error_title}` : ''})` : ''}`;
  return r.replied_at ? `${r.status}, replied` : r.status;
}

const lastTime = (r) => r.replied_at || r.read_at || r.delivered_at || r.failed_at || r.sent_at;

async function loadRecipients(reset) {
  const id = current?.id;
  if (!id) return;
  const req = ++recipientsRequest;
  const params = new URLSearchParams({ limit: String(PAGE) });
  if ($('#bd-filter').value) params.set('status', $('#bd-filter').value);
  if (!reset && nextCursor) params.set('cursor', nextCursor);
  try {
    const page = await api('GET', `${path(id, '/recipients')}?${params}`);
    if (req !== recipientsRequest || current?.id !== id) return;
    nextCursor = page.next_cursor;
    const rows = page.items.map((r) =>
      h('tr', { class: `recipient status-${r.status}`, dataset: { id: r.id, status: r.status } },
        h('td', { dir: 'auto', text: r.address || '—' }),
        h('td', { dir: 'auto', text: recipientStatus(r) }),
        h('td', { text: fullTime(parseTime(lastTime(r))) })));
    if (reset) $('#bd-recipients').replaceChildren(...rows);
    else $('#bd-recipients').append(...rows);
    if (!$('#bd-recipients').children.length) {
      $('#bd-recipients').append(h('tr', {}, h('td', { class: 'muted', colspan: '3', text: current.counts.total ? 'No recipients with this status.' : 'No recipients until it starts.' })));
    }
    show($('#bd-more'), !!nextCursor);
  } catch (e) {
    if (req === recipientsRequest) showError(e, 'Could not load the recipients');
  }
}

export function bindBroadcastDetail() {
  $('#bd-preview').addEventListener('click', preview);
  for (const action of Object.keys(ACTIONS)) $(`#bd-${action}`).addEventListener('click', () => act(action));
  $('#bd-refresh').addEventListener('click', refresh);
  $('#bd-filter').addEventListener('change', () => loadRecipients(true));
  $('#bd-more').addEventListener('click', () => loadRecipients(false));
}
