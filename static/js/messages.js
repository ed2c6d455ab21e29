// The open conversation's messages: kept in provider-time order, drawn into #thread (reusing
// each message's node), paged backwards as the reader scrolls up, and sent from here too, so a
// failed send can be retried from its bubble.

import { api, convPath, refreshConversation } from './api.js';
import { $, h, show } from './dom.js';
import { parseTime, sameDay, timeKey } from './format.js';
import { daySeparator, msgElement } from './message.js';
import { state } from './store.js';
import { showError } from './ui.js';
import { t } from './i18n.js';

/** Messages per page, the first one and each one before it. */
export const THREAD_PAGE = 50;

let messages = []; // oldest first
const lateUpdates = new Map(); // message id → message.updated that came while the thread loaded
let hasMore = false;
let loadingOlder = false;
let generation = 0; // bumped whenever another thread opens: older pages for the last one are dropped
const msgEls = new Map(); // message id → element

/** Another thread is opening: pages still on their way for the last one are dropped. */
export function beginThread() {
  generation++;
}

/** The thread closed: nothing of it is kept. */
export function resetMessages() {
  generation++;
  messages = [];
  lateUpdates.clear();
  hasMore = false;
  loadingOlder = false;
  msgEls.clear();
}

/** Before the thread is fetched again from scratch: only my unsent messages stay. */
export function keepOnlyPending() {
  messages = messages.filter((m) => m._pending);
  msgEls.clear();
}

/** The first page arrived: messages pushed while it loaded are merged, not lost. */
export function showFirstPage(page) {
  const pushed = messages;
  messages = [];
  hasMore = page.has_more;
  for (const m of [...page.items, ...pushed]) insertMessageData(m);
  for (const m of lateUpdates.values()) {
    const i = messages.findIndex((x) => x.id === m.id);
    if (i >= 0) messages[i] = m;
  }
  lateUpdates.clear();
  renderAllMessages();
  scrollToBottom();
  fillViewport();
}

/** Adds a message to the list in provider-time order; returns false for a duplicate. */
function insertMessageData(m) {
  if (messages.some((x) => x.id === m.id)) return false;
  // My own message can come back (201 or websocket) while its optimistic copy is shown.
  if (m.client_id) {
    const i = messages.findIndex((x) => x._pending && x.client_id === m.client_id);
    if (i >= 0) {
      messages[i] = m;
      return 'replaced';
    }
  }
  const k = timeKey(m.sent_at);
  let i = messages.length;
  while (i > 0 && !messages[i - 1]._pending && timeKey(messages[i - 1].sent_at) > k) i--;
  messages.splice(i, 0, m);
  return i === messages.length - 1 ? 'appended' : 'inserted';
}

function threadTop() {
  if (loadingOlder) return h('div', { class: 'thread-top muted', text: t('thread.loading_earlier') });
  if (hasMore) return h('div', { class: 'thread-top' }, h('button', { class: 'link-btn', type: 'button', text: t('thread.load_earlier'), onclick: loadOlder }));
  return h('div', { class: 'thread-top muted', text: messages.length ? t('thread.start') : t('thread.no_messages') });
}

function elementFor(m) {
  let el = msgEls.get(m.id);
  if (!el || el._msg !== m) {
    el = msgElement(m, retrySend);
    el._msg = m;
    msgEls.set(m.id, el);
  }
  return el;
}

/** Rebuilds the thread from the messages (reusing message nodes), with day separators. */
function renderAllMessages() {
  const nodes = [threadTop()];
  let prevDay = null;
  for (const m of messages) {
    const d = parseTime(m.sent_at) || new Date();
    if (!prevDay || !sameDay(prevDay, d)) nodes.push(daySeparator(d));
    prevDay = d;
    nodes.push(elementFor(m));
  }
  const live = new Set(messages.map((m) => m.id));
  for (const id of msgEls.keys()) if (!live.has(id)) msgEls.delete(id);
  $('#thread').replaceChildren(...nodes);
}

function appendMessageNode(m) {
  const thread = $('#thread');
  const prev = messages[messages.length - 2];
  const d = parseTime(m.sent_at) || new Date();
  const prevDay = prev && (parseTime(prev.sent_at) || new Date());
  if (!prevDay || !sameDay(prevDay, d)) thread.append(daySeparator(d));
  if (messages.length === 1) $('.thread-top', thread)?.replaceWith(threadTop());
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
export function addMessage(m, { mine = false } = {}) {
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

export function removeMessage(id) {
  const i = messages.findIndex((x) => x.id === id);
  if (i < 0) return;
  messages.splice(i, 1);
  const old = msgEls.get(id);
  if (old && old.isConnected) old.remove();
  msgEls.delete(id);
}

/** Messages that name agents (system events, agents' replies), rebuilt after names changed. */
export function renderNamedMessages() {
  for (const m of messages) {
    if (m.author !== 'system' && m.author !== 'agent') continue;
    const old = msgEls.get(m.id);
    msgEls.delete(m.id);
    const el = elementFor(m);
    if (old && old.isConnected) old.replaceWith(el);
  }
}

function replaceMessage(id, patch) {
  const i = messages.findIndex((x) => x.id === id);
  if (i < 0) return;
  const m = { ...messages[i], ...patch };
  messages[i] = m;
  const old = msgEls.get(id);
  const el = elementFor(m);
  if (old && old.isConnected) old.replaceWith(el);
}

const STATUS_RANK = { queued: 0, sent: 1, delivered: 2, read: 3 };

/** A delivery status (message.status). Ticks only move forward (a replayed "sent" must not
 * undo "read"); failure always shows. */
export function applyStatus(f) {
  const m = messages.find((x) => x.id === f.message_id);
  if (!m) return;
  const was = STATUS_RANK[m.delivery_status] ?? -1;
  const now = STATUS_RANK[f.status] ?? 99;
  if (f.status !== 'failed' && now < was) return;
  replaceMessage(f.message_id, { delivery_status: f.status, failure_reason: f.reason ?? null });
}

/** A new copy of a message (message.updated): a downloaded attachment, or a failed download. */
export function applyUpdate(m) {
  if (messages.some((x) => x.id === m.id)) replaceMessage(m.id, m);
  else lateUpdates.set(m.id, m); // the thread is still loading: applied to what it fetched
}

/** Infinite scroll upwards: prepend the page before the oldest message, keeping the view still. */
async function loadOlder() {
  if (loadingOlder || !hasMore || !messages.length) return;
  const id = state.activeId;
  const gen = generation;
  const oldest = messages.find((m) => !m._pending);
  if (!oldest) return;
  loadingOlder = true;
  $('.thread-top', $('#thread'))?.replaceWith(threadTop());
  try {
    const page = await api('GET', `${convPath(id, '/messages')}?limit=${THREAD_PAGE}&before=${encodeURIComponent(oldest.id)}`);
    if (gen !== generation) return;
    const thread = $('#thread');
    const fromBottom = thread.scrollHeight - thread.scrollTop;
    for (const m of page.items) insertMessageData(m);
    hasMore = page.has_more;
    loadingOlder = false;
    renderAllMessages();
    thread.scrollTop = thread.scrollHeight - fromBottom;
  } catch (e) {
    showError(e, t('thread.error_earlier'));
  } finally {
    if (gen === generation) {
      loadingOlder = false;
      $('.thread-top', $('#thread'))?.replaceWith(threadTop());
      fillViewport();
    }
  }
}

/** A short first page leaves nothing to scroll: keep loading until the thread can scroll. */
function fillViewport() {
  const t = $('#thread');
  if (hasMore && !loadingOlder && t.scrollHeight <= t.clientHeight + 40) loadOlder();
}

function onThreadScroll() {
  const t = $('#thread');
  if (t.scrollTop < 120) loadOlder();
  if (nearBottom()) show($('#jump-latest'), false);
}

// ---------------------------------------------------------------------------------------------
// Sending

/**
 * Sends (or re-sends) a reply shown as `pending`. The client_id stays the same across retries,
 * so the server stores it once however many times the request reaches it.
 */
export async function postMessage(pending) {
  const convId = pending.conversation_id;
  try {
    const msg = await api('POST', convPath(convId, '/messages'), {
      text: pending.text,
      client_id: pending.client_id,
      private: pending.private,
    });
    if (state.activeId === convId) addMessage(msg, { mine: true });
  } catch (e) {
    if (state.activeId !== convId) {
      showError(e, t('send.error'));
      return;
    }
    const reasons = {
      window_closed: t('send.window_closed'),
      not_assignee: t('send.not_assignee'),
    };
    const retry = !reasons[e.code] && (e.status === 0 || e.status >= 500);
    replaceMessage(pending.id, { _failed: true, _retry: retry, _error: reasons[e.code] || t('send.not_sent_error', { error: e.message }) });
    if (e.code === 'window_closed') refreshConversation(convId);
  }
}

function retrySend(clientId) {
  const m = messages.find((x) => x._pending && x.client_id === clientId);
  if (!m) return;
  replaceMessage(m.id, { _failed: false, _retry: false, _error: null });
  postMessage(messages.find((x) => x.id === m.id));
}

export function bindMessages() {
  $('#thread').addEventListener('scroll', onThreadScroll, { passive: true });
  $('#jump-latest').addEventListener('click', scrollToBottom);
}
