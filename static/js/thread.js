// The thread pane: which conversation is open (`#/c/<id>`, so back/forward work and links can
// be shared), opening and closing it, its header (status, assignee, who else is viewing, the
// menu), who is typing, and marking it read. The messages themselves are messages.js's.

import { api, convPath, refreshConversation } from './api.js';
import { $, $$, debounce, h, show } from './dom.js';
import { avatar, bdi, channelInfo, displayName, isolate } from './format.js';
import { renderComposer, saveDraft } from './composer.js';
import { forgetHistory, loadContactHistory, renderContact, renderContactEmpty } from './contact.js';
import { renderList } from './list.js';
import { renderFollowUpBanner, renderThreadScore } from './review.js';
import { renderSnoozeBanner, toggleSnoozeMenu } from './snooze.js';
import {
  THREAD_PAGE, addMessage, beginThread, keepOnlyPending, renderNamedMessages, resetMessages, showFirstPage,
} from './messages.js';
import { sendWs } from './realtime.js';
import {
  activeConv, agentName, clearTyper, forgetConversation, on, removeConversation, setActive, setTyper, state,
  upsertConversation,
} from './store.js';
import { confirmDialog, setView, showError, toast } from './ui.js';
import { t, tn } from './i18n.js';

const TYPING_SHOW_MS = 4000;

const availabilityLabel = (a) => ({ away: t('availability.away'), offline: t('availability.offline') }[a] || a);

let openReq = 0; // answers for a thread opened before are dropped

on('conversation', ({ c, old }) => {
  if (c.id === state.activeId) renderActive(c, old);
});

on('removed', ({ id, why }) => {
  if (id !== state.activeId) return;
  if (why) toast(why);
  closeThread();
  navigate('#/');
});

// Lost from sight while open: the thread pane says so in place of the thread (no composer).
on('lost', ({ id, assigneeName }) => {
  if (id !== state.activeId) return;
  closeThread();
  show($('#thread-empty'), false);
  $('#thread-gone-text').replaceChildren(
    ...tn('thread.gone', { name: assigneeName ? bdi(assigneeName) : t('thread.another_agent') }),
  );
  show($('#thread-gone'), true);
  // The address no longer names it (a reload would only say it is not found); the pane stays.
  if (location.hash !== '#/') history.replaceState(null, '', `${location.pathname}${location.search}#/`);
});

on('agents', () => {
  if (activeConv()) {
    renderThreadHeader(activeConv());
    renderNamedMessages();
  }
});

// ---------------------------------------------------------------------------------------------
// Routing

export function navigate(hash) {
  if (location.hash !== hash) location.hash = hash;
  else route();
}

export function route() {
  if (!state.me) return;
  const m = location.hash.match(/^#\/c\/([^/?#]+)/);
  if (m) {
    openConversation(decodeURIComponent(m[1]));
  } else {
    closeThread();
    setView('list');
  }
}

// ---------------------------------------------------------------------------------------------
// Opening and closing

async function openConversation(id) {
  setView('thread');
  if (state.activeId === id) return;
  saveDraft();
  closeThread();
  setActive(id);
  const req = ++openReq;
  beginThread();
  renderList();
  show($('#thread-empty'), false);
  show($('#thread-view'), true);
  $('#thread').replaceChildren(h('div', { class: 'thread-loading muted', text: t('thread.loading') }));
  const known = state.convs.get(id);
  if (known) renderActive(known);
  sendWs({ type: 'viewing', conversation_id: id });
  try {
    const [conv, page] = await Promise.all([
      api('GET', convPath(id)),
      api('GET', `${convPath(id, '/messages')}?limit=${THREAD_PAGE}`),
    ]);
    if (req !== openReq) return;
    upsertConversation(conv);
    if (state.activeId !== id) return; // upsert may have found it is no longer mine
    if (!state.convs.has(id)) return;
    if (!known) renderActive(state.convs.get(id));
    showFirstPage(page);
    loadContactHistory(state.convs.get(id));
    if (conv.unread_count > 0) markRead(id);
  } catch (e) {
    if (req !== openReq) return;
    if (e.status === 404) {
      toast(t('thread.not_found'), 'error');
      forgetConversation(id);
      renderList();
      navigate('#/');
    } else {
      showError(e, t('thread.error_open'));
      $('#thread').replaceChildren(h('div', { class: 'thread-loading muted', text: t('thread.error_messages') }));
    }
  }
}

function closeThread() {
  show($('#thread-gone'), false);
  if (!state.activeId) {
    show($('#thread-view'), false);
    show($('#thread-empty'), true);
    renderContactEmpty();
    return;
  }
  saveDraft();
  setActive(null);
  openReq++;
  resetMessages();
  forgetHistory();
  toggleMenu(false);
  toggleSnoozeMenu(false);
  sendWs({ type: 'viewing', conversation_id: null });
  show($('#thread-view'), false);
  show($('#thread-empty'), true);
  document.body.classList.remove('contact-open');
  renderContactEmpty();
  renderList();
}

/** After a too-long disconnection: the open thread is fetched again from scratch (keeping only
 * my unsent messages), since merging the old copy with a fresh last page could leave a hole of
 * never-seen messages between them. */
export async function reloadThread() {
  const id = state.activeId;
  if (!id) return;
  setActive(null);
  keepOnlyPending();
  await openConversation(id);
}

/** Re-renders everything around the messages of the open conversation after it changed. */
function renderActive(c, old) {
  renderThreadHeader(c);
  renderThreadScore(c);
  renderFollowUpBanner(c);
  renderSnoozeBanner(c);
  renderComposer(c);
  renderContact(c, old);
  renderTyping();
}

// ---------------------------------------------------------------------------------------------
// Header

function renderThreadHeader(c) {
  const ch = channelInfo(c);
  $('#thread-avatar').replaceWith(Object.assign(avatar(c, 'avatar'), { id: 'thread-avatar' }));
  $('#thread-name').textContent = displayName(c);
  const sub = [ch.label, c.contact?.phone, c.archived ? t('thread.archived') : null].filter(Boolean).join(' · ');
  $('#thread-channel').textContent = sub;
  for (const b of $$('.status-switch button[data-status]')) {
    const current = b.dataset.status === c.status;
    b.classList.toggle('active', current);
    b.setAttribute('aria-pressed', String(current));
  }
  renderAssignee(c);
  $('#menu [data-action="archive"]').textContent = c.archived ? t('thread.unarchive') : t('thread.archive');
  // Deleting is for admins only (the server refuses it to everyone else).
  show($('#menu [data-action="delete"]'), state.me?.role === 'admin');
  renderViewers();
}

export function renderAssignee(c) {
  const select = $('#assignee');
  const me = state.me.id;
  // Deactivated agents take no new work; the one still holding this conversation is shown.
  const agents = [...state.agents.values()]
    .filter((a) => !a.deactivated || a.id === c.assignee_id)
    .sort((a, b) => (a.id === me ? -1 : b.id === me ? 1 : a.name.localeCompare(b.name)));
  if (c.assignee_id && !state.agents.has(c.assignee_id)) agents.push({ id: c.assignee_id, name: t('thread.agent'), availability: 'offline' });
  const options = [h('option', { value: '', text: t('thread.unassigned') })];
  for (const a of agents) {
    const away = a.id !== me && a.availability && a.availability !== 'online' ? ` · ${availabilityLabel(a.availability)}` : '';
    const gone = a.deactivated ? ` · ${t('agents.deactivated')}` : '';
    const label = `${isolate(a.name)}${a.id === me ? t('thread.you_suffix') : ''}${gone || away}`;
    // Agents who do not see everything may only take a conversation or let it go.
    options.push(h('option', { value: a.id, text: label, disabled: a.deactivated || (!state.seesAll && a.id !== me) }));
  }
  select.replaceChildren(...options);
  select.value = c.assignee_id || '';
}

export function renderViewers() {
  const el = $('#viewers');
  const ids = (state.viewers.get(state.activeId) || []).filter((id) => id !== state.me?.id);
  const names = ids.map((id) => state.agents.get(id)?.name || t('thread.another_agent'));
  el.replaceChildren(...(names.length ? [t('thread.also_viewing'), ...names.flatMap((n, i) => (i ? [', ', bdi(n)] : [bdi(n)]))] : []));
  show(el, names.length > 0);
}

async function setStatus(status) {
  const c = activeConv();
  if (!c || c.status === status) return;
  const buttons = $$('.status-switch button');
  buttons.forEach((b) => { b.disabled = true; });
  try {
    upsertConversation(await api('POST', convPath(c.id, '/status'), { status }));
    const verb = { human: t('thread.took_over'), bot: t('thread.handed_back'), closed: t('thread.closed') }[status];
    toast(verb);
  } catch (e) {
    showError(e, t('thread.error_status'));
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
    const path = value === state.me.id && !c.assignee_id ? convPath(c.id, '/take') : convPath(c.id, '/assign');
    const body = path.endsWith('/take') ? undefined : { agent_id: value };
    upsertConversation(await api('POST', path, body));
  } catch (e) {
    showError(e, e.code === 'already_assigned' ? t('thread.taken_first') : t('keys.error_assign'));
    $('#assignee').value = activeConv()?.assignee_id || '';
    if (e.code === 'already_assigned' && activeConv()) refreshConversation(activeConv().id);
  }
}

export function toggleMenu(open) {
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
      toast(archived ? t('thread.archived_toast') : t('thread.unarchived_toast'));
    } else if (action === 'delete') {
      const ok = await confirmDialog({
        title: t('thread.delete_title'),
        text: tn('thread.delete_text', { name: bdi(displayName(c)) }),
        ok: t('common.delete'),
      });
      if (!ok) return;
      await api('DELETE', convPath(c.id));
      removeConversation(c.id);
      toast(t('thread.deleted'));
    }
  } catch (e) {
    showError(e, t('thread.error_action'));
  }
}

// ---------------------------------------------------------------------------------------------
// Read state, new messages, others typing

const markReadSoon = debounce((id) => markRead(id), 400);

async function markRead(id) {
  if (id !== state.activeId || document.visibilityState !== 'visible') return;
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

/** message.created: shown if its conversation is open; whoever wrote it stopped typing. */
export function onMessageCreated(convId, m) {
  if (!m) return;
  if (m.agent_id) clearTyper(convId, m.agent_id);
  if (m.author === 'customer') clearTyper(convId, 'customer');
  if (convId !== state.activeId) return;
  addMessage(m, { mine: m.agent_id === state.me?.id });
  renderTyping();
  if (m.author === 'customer') markReadSoon(convId);
}

/** typing: an agent, or the customer (a website visitor; `active: false` when they stopped). */
export function onTyping(ev) {
  const customer = ev.author === 'customer';
  if (!customer && ev.agent_id === state.me?.id) return;
  const key = customer ? 'customer' : ev.agent_id;
  if (ev.active === false) {
    clearTyper(ev.conversation_id, key);
    if (ev.conversation_id === state.activeId) renderTyping();
    return;
  }
  const name = customer
    ? (ev.conversation_id === state.activeId && activeConv() ? displayName(activeConv()) : ev.name)
    : ev.name || agentName(ev.agent_id);
  setTyper(ev.conversation_id, key, { name, until: Date.now() + TYPING_SHOW_MS });
  if (ev.conversation_id === state.activeId) renderTyping();
  setTimeout(renderTyping, TYPING_SHOW_MS + 50);
}

function renderTyping() {
  const el = $('#typing');
  const map = state.typers.get(state.activeId);
  const now = Date.now();
  const names = map ? [...map.values()].filter((t) => t.until > now).map((t) => t.name) : [];
  if (!names.length) {
    el.textContent = '';
    show(el, false);
    return;
  }
  const who = names.map((n) => bdi(n));
  el.replaceChildren(...(who.length === 1
    ? tn('thread.typing_one', { name: who[0] })
    : tn('thread.typing_many', { names: h('span', {}, ...who.slice(0, -1).flatMap((n, i) => (i ? [', ', n] : [n]))), last: who[who.length - 1] })));
  show(el, true);
}

export function bindThread() {
  $('#thread-back').addEventListener('click', () => navigate('#/'));
  $('#thread-gone-back').addEventListener('click', () => navigate('#/'));
  for (const b of $$('.status-switch button[data-status]')) b.addEventListener('click', () => setStatus(b.dataset.status));
  $('#assignee').addEventListener('change', setAssignee);
  $('#menu-button').addEventListener('click', (e) => {
    e.stopPropagation();
    toggleMenu();
  });
  for (const b of $$('#menu [data-action]')) b.addEventListener('click', () => onMenuAction(b.dataset.action));
  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', onVisibilityChange);
}
