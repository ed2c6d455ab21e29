// The top bar: the waiting-conversations badge (and the page title), my availability, and the
// handoff bell with recent handoff.requested events, kept across reloads of this tab.

import { api } from './api.js';
import { $, h, show } from './dom.js';
import { bdi, displayName, fullTime, isolate, relTime } from './format.js';
import { HANDOFFS_KEY, state } from './store.js';
import { renderNotifySettings } from './notify.js';
import { showError, toast } from './ui.js';
import { LANGUAGES, formatNumber, lang, setLanguage, t, tn } from './i18n.js';

const MAX_HANDOFFS = 30;

let handoffs = []; // newest first: {conversation_id, name, reason, at, seen}

// ---------------------------------------------------------------------------------------------
// Badge and availability

export async function refreshBadge() {
  try {
    setBadge((await api('GET', '/api/badge')).count);
  } catch {
    /* the websocket will send the next count */
  }
}

/** From a badge event's counts: everything if I see everything, else unassigned + mine. */
export function setBadgeFrom(counts) {
  setBadge(badgeFor(counts));
}

function badgeFor(counts) {
  if (!counts) return 0;
  if (state.seesAll) return counts.total || 0;
  return (counts.unassigned || 0) + (counts.by_agent?.[state.me.id] || 0);
}

function setBadge(n) {
  const badge = Math.max(0, Number(n) || 0);
  const el = $('#badge');
  el.textContent = String(badge);
  show(el, badge > 0);
  // The "Needs reply" tab lists exactly what the badge counts.
  $('#waiting-count').textContent = badge > 0 ? String(badge) : '';
  document.title = badge > 0 ? `(${formatNumber(badge)}) Switchboard` : 'Switchboard';
}

async function setAvailability() {
  const value = $('#availability').value;
  try {
    await api('POST', '/api/agents/me/availability', { availability: value });
  } catch (e) {
    showError(e, t('topbar.error_availability'));
  }
}

// ---------------------------------------------------------------------------------------------
// Handoff bell

export function loadHandoffs() {
  try {
    handoffs = JSON.parse(localStorage.getItem(HANDOFFS_KEY) || '[]').filter((x) => x && x.conversation_id);
  } catch {
    handoffs = [];
  }
  renderBell();
}

function saveHandoffs() {
  localStorage.setItem(HANDOFFS_KEY, JSON.stringify(handoffs.slice(0, MAX_HANDOFFS)));
}

function handoffReason(reason) {
  // The customer's words are isolated (FSI…PDI): the text is kept as a string across reloads.
  if (reason?.kind === 'customer_asked') return reason.phrase ? t('handoff.asked_quote', { phrase: isolate(reason.phrase) }) : t('handoff.asked');
  if (reason?.kind === 'complaint') return reason.phrase ? t('handoff.complaint_quote', { phrase: isolate(reason.phrase) }) : t('handoff.complaint');
  if (reason?.kind === 'assistant_could_not_help') return t('handoff.could_not_help');
  if (reason?.kind === 'assistant_unavailable') return t('handoff.unavailable');
  if (reason?.kind === 'assistant_handoff') return reason.reason ? t('handoff.handed_over_quote', { reason: isolate(reason.reason) }) : t('handoff.handed_over');
  if (reason?.kind === 'assistant_budget_exhausted') return t('handoff.budget');
  if (typeof reason === 'string') return reason;
  return t('handoff.needs_person');
}

/** handoff.requested: at the top of the bell, and a toast. */
export function addHandoff(ev) {
  const c = ev.conversation;
  handoffs = handoffs.filter((x) => x.conversation_id !== ev.conversation_id);
  handoffs.unshift({
    conversation_id: ev.conversation_id,
    name: displayName(c),
    reason: handoffReason(ev.reason),
    at: new Date().toISOString(),
    seen: false,
  });
  handoffs.length = Math.min(handoffs.length, MAX_HANDOFFS);
  saveHandoffs();
  renderBell();
  toast(tn('notify.wants_person', { name: bdi(displayName(c)) }), 'warn');
}

function renderBell() {
  const unseen = handoffs.filter((x) => !x.seen).length;
  const count = $('#bell-count');
  count.textContent = String(unseen);
  show(count, unseen > 0);
  const list = $('#bell-list');
  if (!handoffs.length) {
    list.replaceChildren(h('p', { class: 'bell-empty', text: t('topbar.no_handoffs') }));
    return;
  }
  list.replaceChildren(
    ...handoffs.map((x) =>
      h('a', { class: `bell-item${x.seen ? '' : ' unseen'}`, href: `#/c/${encodeURIComponent(x.conversation_id)}`, dataset: { id: x.conversation_id }, onclick: () => toggleBell(false) },
        h('div', { class: 'bell-item-top' }, h('strong', { dir: 'auto', text: x.name }), h('time', { text: relTime(new Date(x.at)), title: fullTime(new Date(x.at)) })),
        h('div', { class: 'bell-item-reason', dir: 'auto', text: x.reason })),
    ),
  );
}

export function toggleBell(open) {
  const panel = $('#bell-panel');
  const willOpen = open ?? panel.hidden;
  show(panel, willOpen);
  $('#bell').setAttribute('aria-expanded', String(willOpen));
  if (willOpen) {
    renderBell();
    renderNotifySettings();
    // Opening the panel is seeing them: the count resets, the highlight stays until next time.
    handoffs.forEach((x) => { x.seen = true; });
    saveHandoffs();
    const count = $('#bell-count');
    count.textContent = '0';
    show(count, false);
  }
}

/** The agent's language, among the shipped ones (named in themselves); a change reloads. */
function bindLanguage() {
  const select = $('#language');
  select.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => h('option', { value: code, lang: code, text: name })));
  select.value = lang;
  select.addEventListener('change', () => setLanguage(select.value));
}

export function bindTopbar() {
  bindLanguage();
  $('#availability').addEventListener('change', setAvailability);
  $('#bell').addEventListener('click', (e) => {
    e.stopPropagation();
    toggleBell();
  });
  $('#bell-clear').addEventListener('click', () => {
    handoffs = [];
    saveHandoffs();
    renderBell();
  });
}
