// The selected broadcast on the Broadcasts page: its audience preview, Start / Pause / Resume /
// Cancel as its status allows, live progress (polled: there is no websocket event for
// broadcasts) and its recipients by status, page by page. Addresses and error titles are text.

import { api } from './api.js';
import { broadcastStatusLabel, duration, reached, skippedSummary, skipWords } from './broadcast-words.js';
import { $, h, show } from './dom.js';
import { fullTime, parseTime } from './format.js';
import { state } from './store.js';
import { confirmDialog, showError, toast } from './ui.js';
import { t } from './i18n.js';

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
const COUNT_LABELS = () => ({
  queued: t('bcount.queued'),
  sending: t('bcount.sending'),
  sent: t('bcount.sent'),
  delivered: t('bcount.delivered'),
  read: t('bcount.read'),
  failed: t('bcount.failed'),
  skipped: t('bcount.skipped'),
  unknown: t('bcount.unknown'),
  replied: t('bcount.replied'),
});

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
    if (current?.id === id) showError(e, t('bc.error_refresh'));
  }
  schedule();
}

function render(b) {
  $('#bd-name').textContent = b.name;
  const status = $('#bd-status');
  status.textContent = broadcastStatusLabel(b);
  status.className = `chip bd-status status-${b.status}`;
  const when = b.scheduled_at && b.status === 'scheduled'
    ? t('bc.sends_at', { time: fullTime(parseTime(b.scheduled_at)) })
    : t('bc.created_at', { time: fullTime(parseTime(b.created_at)) });
  const what = b.template ? t('bc.template_named', { name: b.template }) : t('bc.text');
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
  $('#bd-progress-label').textContent = c.total
    ? `${t('bc.progress', { n: done, m: target })}${c.skipped ? t('bc.progress_skipped', { n: c.skipped }) : ''}`
    : t('bc.not_started_long');
  $('#bd-progress-bar').style.width = `${pct}%`;
  const bar = $('#bd-progress-bar').parentElement;
  bar.setAttribute('aria-valuemax', String(target));
  bar.setAttribute('aria-valuenow', String(done));
  $('#bd-counts').replaceChildren(...COUNTED.map((k) =>
    h('div', { class: 'bd-count' }, h('dt', { text: COUNT_LABELS()[k] || k }), h('dd', { dataset: { count: k }, text: String(c[k] || 0) }))));
  const skipped = skippedSummary(c.skipped_by_reason);
  if (skipped) $('#bd-counts').append(h('div', { class: 'bd-count bd-skips' }, h('dt', { text: t('bc.skipped_because') }), h('dd', { text: skipped })));
}

async function preview() {
  const id = current?.id;
  if (!id) return;
  try {
    const p = await api('POST', path(id, '/preview'));
    if (current?.id !== id) return;
    const fact = (term, value) => [h('dt', { text: term }), h('dd', { text: value })];
    $('#bd-preview-box').replaceChildren(
      ...fact(t('bc.audience'), t('bc.contacts', { count: p.audience })),
      ...fact(t('bc.will_get'), String(p.sends)),
      ...fact(t('bc.skipped'), skippedSummary(p.skipped_by_reason) || t('bc.nobody')),
      ...fact(t('bc.limit_left'), p.remaining_today == null ? t('bc.no_limit') : t('bc.people_today', { count: p.remaining_today })),
      ...fact(t('bc.takes_about'), t('bc.duration_at', { duration: duration(p.estimated_seconds), rate: p.rate_per_second })),
    );
    show($('#bd-preview-box'), true);
  } catch (e) {
    showError(e, t('bc.error_preview'));
  }
}

async function act(action) {
  const b = current;
  if (!b) return;
  if (action === 'cancel') {
    const ok = await confirmDialog({ title: t('bc.cancel_title'), text: t('bc.cancel_text', { name: b.name }), ok: t('bc.cancel_ok') });
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
    if (action === 'start') toast(next.status === 'scheduled' ? t('bc.scheduled') : t('bc.started'));
  } catch (e) {
    showError(e, { start: t('bc.error_start'), pause: t('bc.error_pause'), resume: t('bc.error_resume'), cancel: t('bc.error_cancel') }[action]);
    refresh();
  }
}

function recipientStatus(r) {
  if (r.status === 'skipped') return t('bc.r_skipped', { reason: skipWords(r.skip_reason) });
  if (r.status === 'failed') return `${COUNT_LABELS().failed}${r.error_code ? ` (${r.error_code}${r.error_title ? `: ${r.error_title}` : ''})` : ''}`;
  const status = COUNT_LABELS()[r.status] || r.status;
  return r.replied_at ? t('bc.r_replied', { status }) : status;
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
      $('#bd-recipients').append(h('tr', {}, h('td', { class: 'muted', colspan: '3', text: current.counts.total ? t('bc.no_recipients_status') : t('bc.no_recipients_yet') })));
    }
    show($('#bd-more'), !!nextCursor);
  } catch (e) {
    if (req === recipientsRequest) showError(e, t('bc.error_recipients'));
  }
}

export function bindBroadcastDetail() {
  $('#bd-preview').addEventListener('click', preview);
  for (const action of Object.keys(ACTIONS)) $(`#bd-${action}`).addEventListener('click', () => act(action));
  $('#bd-refresh').addEventListener('click', refresh);
  $('#bd-filter').addEventListener('change', () => loadRecipients(true));
  $('#bd-more').addEventListener('click', () => loadRecipients(false));
}
