// The dashboard's shared state, in one place: what the modules read, the few functions that
// change it, and subscriptions for the changes others must react to.
//
// Every module may read `state`; only the functions below write it. State that one module
// alone needs (the list's paging cursor, the open thread's messages, the websocket…) stays in
// that module. Topics, each emitted after the state changed:
//   'conversation' {c, old}       a conversation was stored (fetched or pushed)
//   'removed'      {id, why}      a conversation is gone (deleted, or no longer found)
//   'lost'         {id, assigneeName}  it went to someone else and I may no longer see it
//   'agents'                      the list of agents was loaded again
//   'inboxes'                     the inboxes (templates) were loaded
//   'session-end'                 the session is over; the page is about to reload

import { timeKey } from './format.js';
import { t } from './i18n.js';

export const TOKEN_KEY = 'sb-token';
export const HANDOFFS_KEY = 'sb-handoffs';

export const state = {
  token: null,
  me: null,
  seesAll: false,
  agents: new Map(), // id → agent
  inboxes: undefined, // Map inbox id → inbox (templates); null when the server has no /api/inboxes
  assistants: new Map(), // id → assistant (name, kind, model, today's tokens)
  convs: new Map(), // id → conversation, everything we know about
  listIds: new Set(), // the ones the list shows
  filter: 'all',
  q: '',
  from: '',
  to: '',
  assistant: '', // only conversations this assistant answered ('' = any)
  activeId: null, // the open conversation
  selecting: false, // the list picks conversations for a bulk action (bulk.js)
  selected: new Set(), // the ids picked
  viewers: new Map(), // conversation id → [agent ids]
  typers: new Map(), // conversation id → Map(agent id → {name, until})
  // The server's settings the dashboard follows ([review], [conversations]).
  dashboard: { hide_unreviewed: false, review_after_secs: 600, first_response_target_secs: 300 },
};

// ---------------------------------------------------------------------------------------------
// Subscriptions

const subscribers = new Map(); // topic → [fn]

export function on(topic, fn) {
  if (!subscribers.has(topic)) subscribers.set(topic, []);
  subscribers.get(topic).push(fn);
}

function emit(topic, detail) {
  for (const fn of subscribers.get(topic) || []) fn(detail);
}

// ---------------------------------------------------------------------------------------------
// Reading

export const activeConv = () => (state.activeId ? state.convs.get(state.activeId) : null);

export function agentName(id) {
  if (!id) return '';
  if (state.me && id === state.me.id) return t('msg.you');
  return state.agents.get(id)?.name || t('thread.agent');
}

/** Whether I may see a conversation: restricted agents lose it once someone else holds it. */
function visibleToMe(c) {
  return state.seesAll || !c.assignee_id || c.assignee_id === state.me?.id;
}

function matchesFilter(c) {
  if (!!c.archived !== (state.filter === 'archived')) return false;
  if (!!c.snoozed !== (state.filter === 'snoozed')) return false;
  switch (state.filter) {
    case 'waiting': if (!c.needs_reply) return false; break;
    case 'unread': if (!(c.unread_count > 0)) return false; break;
    case 'bot': case 'human': case 'closed': if (c.status !== state.filter) return false; break;
    case 'mine': if (c.assignee_id !== state.me?.id) return false; break;
    case 'unassigned': if (c.assignee_id) return false; break;
    default: break;
  }
  if (state.assistant && c.assistant_id !== state.assistant) return false;
  // [review] hide_unreviewed: a conversation appears once it has been analysed.
  if (state.dashboard.hide_unreviewed && !c.reviewed_at) return false;
  const day = (c.last_message_at || c.created_at || '').slice(0, 10);
  if (state.from && day < state.from) return false;
  if (state.to && day > state.to) return false;
  return true;
}

/** The server also searches message text; for live arrivals name, phone and preview are what we have. */
function matchesQuery(c) {
  const q = state.q.trim().toLowerCase();
  if (!q) return true;
  return [c.contact?.name, c.contact?.phone, c.contact?.email, c.last_message_preview]
    .some((v) => v && String(v).toLowerCase().includes(q));
}

// ---------------------------------------------------------------------------------------------
// Session and people

export function setToken(token) {
  state.token = token;
}

export function setMe(me) {
  state.me = me;
}

export function setDashboard(dashboard) {
  if (dashboard) state.dashboard = dashboard;
}

export function setSeesAll(seesAll) {
  state.seesAll = seesAll;
}

/** Clears everything of this session and reloads, which is the surest way to drop all state. */
export function endSession(message) {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(HANDOFFS_KEY);
  if (message) sessionStorage.setItem('sb-login-message', message);
  emit('session-end');
  location.replace('/');
}

export function setAgents(list) {
  state.agents = new Map(list.map((a) => [a.id, a]));
  emit('agents');
}

/** An agent's new availability; false when the agent is not known yet. */
export function setAvailabilityOf(id, availability) {
  const a = state.agents.get(id);
  if (!a) return false;
  state.agents.set(id, { ...a, availability });
  return true;
}

export function setAssistants(list) {
  state.assistants = new Map(list.map((a) => [a.id, a]));
  emit('assistants');
}

export function setInboxes(inboxes) {
  state.inboxes = inboxes;
  emit('inboxes');
}

export function setViewers(conversationId, agentIds) {
  state.viewers.set(conversationId, agentIds);
}

export function setTyper(conversationId, agentId, typer) {
  let map = state.typers.get(conversationId);
  if (!map) state.typers.set(conversationId, (map = new Map()));
  map.set(agentId, typer);
}

export function clearTyper(conversationId, agentId) {
  state.typers.get(conversationId)?.delete(agentId);
}

// ---------------------------------------------------------------------------------------------
// The list and the open conversation

/** Changes any of filter, q, from, to, assistant; the list module then fetches again. */
export function setListQuery(patch) {
  for (const key of ['filter', 'q', 'from', 'to', 'assistant']) if (key in patch) state[key] = patch[key];
}

/** A fresh first page: the list shows nothing until the page's conversations are added. */
export function clearList() {
  state.listIds = new Set();
}

export function addToList(id) {
  if (state.convs.has(id)) state.listIds.add(id);
}

export function setActive(id) {
  state.activeId = id;
}

/** Every change to a conversation, fetched or pushed, goes through here. */
export function upsertConversation(c, { live = false } = {}) {
  if (!c?.id) return;
  const old = state.convs.get(c.id);
  // Events and fetches can cross: never let an older copy overwrite a newer one.
  if (old && timeKey(c.updated_at) < timeKey(old.updated_at)) return;
  if (!visibleToMe(c)) {
    loseSight(c.id, state.agents.get(c.assignee_id)?.name);
    return;
  }
  state.convs.set(c.id, c);
  if (state.listIds.has(c.id)) {
    // The open conversation stays put when it stops matching (reading it clears "unread"),
    // unless it was archived, unarchived, snoozed or woken, which is meant to move it away.
    const sticky = c.id === state.activeId && !!c.archived === (state.filter === 'archived')
      && !!c.snoozed === (state.filter === 'snoozed');
    if (!matchesFilter(c) && !sticky) state.listIds.delete(c.id);
  } else if (live && matchesFilter(c) && matchesQuery(c)) {
    state.listIds.add(c.id);
  }
  emit('conversation', { c, old });
}

/** Deleted, or no longer visible: gone from the list, and closed if open (`why` is said). */
export function removeConversation(id, why) {
  state.convs.delete(id);
  state.listIds.delete(id);
  emit('removed', { id, why });
}

/** Dropped without a word (the thread that failed to open says why itself). */
export function forgetConversation(id) {
  state.convs.delete(id);
  state.listIds.delete(id);
}

/**
 * The conversation went to someone else and I may no longer see it (`conversation.hidden`,
 * or a copy that shows it so). It leaves the list; if it is open, the thread pane says so in
 * its place (no composer) until I pick another conversation, rather than vanishing under me.
 */
export function loseSight(id, assigneeName) {
  state.convs.delete(id);
  state.listIds.delete(id);
  state.typers.delete(id);
  state.viewers.delete(id);
  emit('lost', { id, assigneeName });
}
