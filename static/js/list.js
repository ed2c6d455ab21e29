// The conversation list: the first page for the current filter, search and dates, keyset
// paging as the end scrolls into view, and live updates applied in place.

import { api } from './api.js';
import { $, $$, debounce, h, icon, show } from './dom.js';
import { csatChip } from './csat.js';
import { channelInfo, avatar, displayName, fullTime, parseTime, relTime, timeKey, untilLabel } from './format.js';
import { addToList, agentName, clearList, on, setListQuery, state, upsertConversation } from './store.js';
import { scoreChip } from './review.js';
import { showError } from './ui.js';
import { t } from './i18n.js';

const LIST_PAGE = 50;

let cursor = null; // the next page's, null at the end
let req = 0; // answers to older requests are dropped
let loading = false;
let renderVersion = 0; // bumped when something every item shows changes (agent names)

on('conversation', () => renderListSoon());
on('removed', () => renderListSoon());
on('lost', () => renderListSoon());
on('assistants', renderAssistantFilter);
on('agents', () => {
  renderVersion++;
  renderList();
});

function listParams(after) {
  const p = new URLSearchParams({ limit: String(LIST_PAGE) });
  switch (state.filter) {
    case 'waiting': p.set('sort', 'waiting'); break; // the waiting ones, longest first
    case 'unread': p.set('unread', 'true'); break;
    case 'bot': case 'human': case 'closed': p.set('status', state.filter); break;
    case 'mine': p.set('mine', 'true'); break;
    case 'unassigned': p.set('unassigned', 'true'); break;
    case 'archived': p.set('archived', 'true'); break;
    case 'snoozed': p.set('snoozed', 'true'); break;
    default: break;
  }
  if (state.q.trim()) p.set('q', state.q.trim());
  if (state.from) p.set('from', state.from);
  if (state.to) p.set('to', state.to);
  if (state.assistant) p.set('assistant', state.assistant);
  if (state.dashboard.hide_unreviewed) p.set('reviewed', 'true');
  if (after) p.set('cursor', after);
  return p;
}

/** First page for the current filter; answers to older requests are dropped. */
export async function reloadList() {
  const mine = ++req;
  loading = true;
  renderListFooter();
  try {
    const res = await api('GET', `/api/conversations?${listParams()}`);
    if (mine !== req) return;
    clearList();
    for (const c of res.items) {
      upsertConversation(c);
      addToList(c.id);
    }
    cursor = res.next_cursor || null;
    $('#conv-list').scrollTop = 0;
    setTimeout(maybeLoadMore, 100);
  } catch (e) {
    if (mine === req) showError(e, t('list.error_load'));
  } finally {
    if (mine === req) {
      loading = false;
      renderList();
    }
  }
}

/** The observer fires only on changes; a page too short to scroll needs a nudge. */
function maybeLoadMore() {
  if (!cursor || loading) return;
  const list = $('#conv-list');
  if (listFooter().getBoundingClientRect().top < list.getBoundingClientRect().bottom + 200) loadMoreList();
}

async function loadMoreList() {
  if (loading || !cursor) return;
  const mine = req;
  loading = true;
  renderListFooter();
  try {
    const res = await api('GET', `/api/conversations?${listParams(cursor)}`);
    if (mine !== req) return;
    for (const c of res.items) {
      upsertConversation(c);
      addToList(c.id);
    }
    cursor = res.next_cursor || null;
    setTimeout(maybeLoadMore, 100);
  } catch (e) {
    showError(e, t('list.error_more'));
  } finally {
    if (mine === req) {
      loading = false;
      renderList();
    }
  }
}

const sortKey = (c) => timeKey(c.last_message_at || c.created_at);
const waitKey = (c) => timeKey(c.waiting_since || c.last_message_at || c.created_at);

/** Latest activity first; in "Needs reply", the longest wait first (as the server pages it). */
function sortedListConvs() {
  const convs = [...state.listIds].map((id) => state.convs.get(id)).filter(Boolean);
  if (state.filter === 'waiting') {
    return convs.sort((a, b) => (waitKey(a) < waitKey(b) ? -1 : waitKey(a) > waitKey(b) ? 1 : a.id < b.id ? -1 : 1));
  }
  return convs.sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : sortKey(a) > sortKey(b) ? -1 : a.id < b.id ? 1 : -1));
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
export function renderList() {
  if (listFrame) {
    cancelAnimationFrame(listFrame);
    listFrame = 0;
  }
  const list = $('#conv-list');
  // A rebuilt item replaces its node: the keyboard's place in the list moves to the new one.
  const focusedId = list.contains(document.activeElement) ? document.activeElement.dataset.id : null;
  const convs = sortedListConvs();
  const els = convs.map((c) => {
    const cached = itemCache.get(c.id);
    if (cached && cached.conv === c && cached.version === renderVersion) return cached.el;
    const el = convItem(c);
    itemCache.set(c.id, { conv: c, version: renderVersion, el });
    return el;
  });
  for (const id of itemCache.keys()) if (!state.listIds.has(id)) itemCache.delete(id);
  const footer = listFooter();
  let at = list.firstChild;
  for (const el of [...els, footer]) {
    if (el === at) {
      at = at.nextSibling;
      continue;
    }
    list.insertBefore(el, at);
  }
  while (at) {
    const next = at.nextSibling;
    at.remove();
    at = next;
  }
  for (const el of els) el.classList.toggle('active', el.dataset.id === state.activeId);
  const refocus = focusedId && els.find((el) => el.dataset.id === focusedId);
  if (refocus && refocus !== document.activeElement) refocus.focus({ preventScroll: true });
  renderListFooter();
}

function convItem(c) {
  const ch = channelInfo(c);
  const time = parseTime(c.last_message_at || c.created_at);
  const unread = c.unread_count > 0;
  const authorPrefix = { assistant: t('list.by_assistant'), agent: t('list.by_agent'), system: '' }[c.last_message_author] || '';
  return h('a', {
    class: `conv-item${unread ? ' unread' : ''}${c.id === state.activeId ? ' active' : ''}${state.selected.has(c.id) ? ' selected' : ''}`,
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
      unread && h('span', { class: 'conv-unread', title: t('list.unread_count', { count: c.unread_count }), text: String(c.unread_count) })),
    h('div', { class: 'conv-row conv-meta' },
      h('span', { class: `conv-status status-${c.status}`, text: statusLabel(c.status) }),
      c.needs_reply && waitChip(c),
      c.snoozed && snoozeChip(c),
      csatChip(c),
      c.follow_up && h('span', { class: 'conv-followup', title: t(c.follow_up.source === 'ai' ? 'list.ai_follow_up_at' : 'list.follow_up_at', { time: fullTime(parseTime(c.follow_up.at)) }) },
        icon('clock', 'icon icon-xs'), h('span', { text: untilLabel(parseTime(c.follow_up.at)) })),
      scoreChip(c),
      h('span', { class: 'conv-assignee', dir: 'auto', text: c.assignee_id ? agentName(c.assignee_id) : '' }))));
}

/** The conversation's status as the list shows it. */
const statusLabel = (s) => ({ bot: t('status.bot'), human: t('status.human'), closed: t('status.closed') }[s] || s);

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
  if (loading) {
    footer.replaceChildren(h('span', { class: 'muted', text: t('common.loading') }));
  } else if (cursor) {
    footer.replaceChildren(h('button', { class: 'link-btn', type: 'button', text: t('common.load_more'), onclick: loadMoreList }));
  } else if (!state.listIds.size && state.filter === 'waiting' && !state.q && !state.from && !state.to && !state.assistant) {
    footer.replaceChildren(h('div', { class: 'list-empty' },
      h('strong', { text: t('list.empty_waiting') }),
      h('span', { class: 'muted', text: t('list.empty_waiting_hint') })));
  } else if (!state.listIds.size) {
    const filtered = state.q || state.from || state.to || state.assistant || state.filter !== 'all';
    footer.replaceChildren(h('div', { class: 'list-empty' },
      h('strong', { text: filtered ? t('list.empty_filtered') : t('list.empty') }),
      h('span', { class: 'muted', text: filtered ? t('list.empty_filtered_hint') : t('list.empty_hint') })));
  } else {
    footer.replaceChildren();
  }
}

/** Relative times age: their text is refreshed in place every half minute. */
export function refreshListTimes() {
  for (const el of $$('.conv-time[data-at]')) el.textContent = relTime(parseTime(el.dataset.at));
  for (const el of $$('.conv-needs-reply[data-since]')) setWait(el, el.dataset.since);
}

/** "Snoozed · until 9:00 AM" (or "until they write") in the Snoozed view. */
function snoozeChip(c) {
  const until = parseTime(c.snoozed_until);
  return h('span', { class: 'conv-snoozed', text: until ? t('list.snoozed_until', { time: fullTime(until) }) : t('list.snoozed_until_write') });
}

/** "Needs reply · 12 min": how long the customer has waited for a person, amber from half the
 * first-response target, red past it. */
function waitChip(c) {
  const el = h('span', { class: 'conv-needs-reply', dataset: { since: c.waiting_since || '' } });
  setWait(el, c.waiting_since);
  return el;
}

function setWait(el, since) {
  const at = since && parseTime(since);
  if (!at) {
    el.textContent = t('list.needs_reply');
    return;
  }
  const secs = Math.max(0, (Date.now() - at.getTime()) / 1000);
  const target = state.dashboard.first_response_target_secs || 300;
  const level = secs >= target ? 'late' : secs >= target / 2 ? 'near' : 'ok';
  el.textContent = t('list.needs_reply_for', { wait: waitLabel(secs) });
  el.title = t('list.waiting_since', { time: fullTime(at) });
  el.dataset.urgency = level;
}

function waitLabel(secs) {
  if (secs < 60) return t('list.wait_just_now');
  const m = Math.floor(secs / 60);
  if (m < 60) return t('list.wait_min', { m });
  const hrs = Math.floor(m / 60);
  return hrs < 24 ? t('list.wait_h_min', { h: hrs, m: m % 60 }) : t('list.wait_d', { d: Math.floor(hrs / 24) });
}

// ---------------------------------------------------------------------------------------------
// Filter tabs, search and dates

function markFilter(filter) {
  setListQuery({ filter });
  for (const b of $$('button[data-filter]')) {
    b.classList.toggle('active', b.dataset.filter === filter);
    b.setAttribute('aria-selected', String(b.dataset.filter === filter));
    // Roving focus: the tab bar is one stop for Tab; the arrows move within it.
    b.tabIndex = b.dataset.filter === filter ? 0 : -1;
  }
}

/** Arrow keys, Home and End move between the filter tabs and choose the one they reach. */
function onFilterKeydown(e) {
  const tabs = $$('button[data-filter]');
  const at = tabs.indexOf(document.activeElement);
  if (at < 0) return;
  const to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: tabs.length - 1 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  e.stopPropagation();
  const tab = tabs[(to + tabs.length) % tabs.length];
  tab.focus();
  setFilter(tab.dataset.filter);
}

function setFilter(filter) {
  if (state.filter === filter) return;
  markFilter(filter);
  reloadList();
}

/** The first page after sign-in: agents start in "Needs reply" (what to answer next, longest
 * wait first), supervisors and admins in "All". */
export function startList() {
  markFilter(state.me?.role === 'agent' ? 'waiting' : 'all');
  return reloadList();
}

const onSearchInput = debounce(() => {
  const q = $('#search').value;
  if (q === state.q) return;
  setListQuery({ q });
  reloadList();
}, 300);

function onDateChange() {
  setListQuery({ from: $('#date-from').value, to: $('#date-to').value });
  show($('#date-clear'), !!(state.from || state.to));
  reloadList();
}

/** The assistant filter, shown when there is more than one assistant to tell apart. */
function renderAssistantFilter() {
  const select = $('#assistant-filter');
  const options = [...state.assistants.values()].map((a) =>
    h('option', { value: a.id, text: a.name }));
  select.replaceChildren(h('option', { value: '', text: t('common.any') }), ...options);
  select.value = state.assistants.has(state.assistant) ? state.assistant : '';
  show($('#assistant-filter-wrap'), state.assistants.size > 1);
}

function onAssistantChange() {
  setListQuery({ assistant: $('#assistant-filter').value });
  reloadList();
}

function clearDates() {
  $('#date-from').value = '';
  $('#date-to').value = '';
  onDateChange();
}

export function bindList() {
  for (const b of $$('button[data-filter]')) b.addEventListener('click', () => setFilter(b.dataset.filter));
  $('.filters').addEventListener('keydown', onFilterKeydown);
  markFilter(state.filter);
  $('#search').addEventListener('input', onSearchInput);
  $('#search').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      onSearchInput.cancel();
      setListQuery({ q: $('#search').value });
      reloadList();
    }
  });
  $('#date-from').addEventListener('change', onDateChange);
  $('#date-to').addEventListener('change', onDateChange);
  $('#date-clear').addEventListener('click', clearDates);
  $('#assistant-filter').addEventListener('change', onAssistantChange);
}
