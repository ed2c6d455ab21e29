// The contact panel's Segments section (chips of the contact's segments, add to a static one,
// remove from it), the Unsubscribe / Resubscribe button with the contact's state, and Block /
// Unblock (blocking stops everything on every channel; unsubscribing only broadcasts).
//
// contact.js calls in: contactSegmentsChanged(c, old) on every render, forgetContactSegments()
// when the thread closes, bindContactSegments() once. Names are rendered as text only.

import { api, refreshConversation } from './api.js';
import { $, h, show } from './dom.js';
import { fullTime, parseTime } from './format.js';
import { activeConv } from './store.js';
import { confirmDialog, showError, toast } from './ui.js';
import { t } from './i18n.js';

let shownFor = null; // the contact whose segments are shown
let request = 0;

const contactPath = (id, rest = '') => `/api/contacts/${encodeURIComponent(id)}${rest}`;
const segmentPath = (id, rest = '') => `/api/segments/${encodeURIComponent(id)}${rest}`;

export function forgetContactSegments() {
  shownFor = null;
  request++;
  $('#segment-chips').replaceChildren();
}

/** Every render of the panel: the subscription state; the segments when the contact changed. */
export function contactSegmentsChanged(c) {
  renderSubscription(c);
  renderBlock(c);
  const id = c.contact?.id;
  if (!id || shownFor === id) return;
  shownFor = id;
  loadSegments(id);
}

function renderBlock(c) {
  const blocked = !!c.contact?.blocked;
  const state = $('#block-state');
  state.textContent = blocked ? t('cs.blocked_state') : t('cs.not_blocked');
  state.classList.toggle('unsubscribed', blocked);
  const btn = $('#block-toggle');
  btn.textContent = blocked ? t('cs.unblock') : t('contact.block');
  btn.dataset.action = blocked ? 'unblock' : 'block';
}

async function toggleBlock() {
  const c = activeConv();
  const id = c?.contact?.id;
  if (!id) return;
  const action = $('#block-toggle').dataset.action;
  if (action === 'block') {
    const ok = await confirmDialog({
      title: t('cs.block_title'),
      text: [t('cs.block_text')],
      ok: t('contact.block'),
    });
    if (!ok) return;
  }
  try {
    await api('POST', contactPath(id, `/${action}`), {});
    toast(action === 'block' ? t('cs.blocked') : t('cs.unblocked'));
    await refreshConversation(c.id);
  } catch (e) {
    showError(e, action === 'block' ? t('cs.error_block') : t('cs.error_unblock'));
  }
}

function renderSubscription(c) {
  const at = parseTime(c.contact?.unsubscribed_at);
  const state = $('#subscription-state');
  state.textContent = at ? t('cs.unsubscribed_since', { time: fullTime(at) }) : t('cs.subscribed');
  state.classList.toggle('unsubscribed', !!at);
  const btn = $('#subscription-toggle');
  btn.textContent = at ? t('cs.resubscribe') : t('contact.unsubscribe');
  btn.dataset.action = at ? 'resubscribe' : 'unsubscribe';
}

async function loadSegments(contactId) {
  const req = ++request;
  try {
    const [mine, all] = await Promise.all([
      api('GET', contactPath(contactId, '/segments')),
      api('GET', '/api/segments'),
    ]);
    if (req !== request) return;
    renderSegments(contactId, mine.items || [], all.items || []);
  } catch (e) {
    if (req === request) $('#segment-chips').replaceChildren(h('p', { class: 'muted small', text: t('cs.error_load') }));
  }
}

function renderSegments(contactId, mine, all) {
  const chips = mine.map((s) =>
    h('span', { class: `chip segment-chip segment-${s.kind}`, dataset: { id: s.id }, title: s.kind === 'dynamic' ? t('cs.matches_dynamic') : t('cs.member') },
      h('span', { dir: 'auto', text: s.name }),
      s.kind === 'static' && h('button', { class: 'chip-x', type: 'button', title: t('cs.remove'), 'aria-label': t('cs.remove_named', { name: s.name }), onclick: () => changeMembership('DELETE', s.id, contactId) }, '×')));
  $('#segment-chips').replaceChildren(...(chips.length ? chips : [h('span', { class: 'muted small', text: t('cs.none') })]));
  const member = new Set(mine.map((s) => s.id));
  const options = all.filter((s) => s.kind === 'static' && !member.has(s.id));
  $('#segment-add').replaceChildren(
    h('option', { value: '', text: options.length ? t('cs.add') : t('cs.no_other') }),
    ...options.map((s) => h('option', { value: s.id, text: s.name })),
  );
  $('#segment-add').disabled = !options.length;
}

async function changeMembership(method, segmentId, contactId) {
  try {
    const res = await api(method, segmentPath(segmentId, '/contacts'), { contact_ids: [contactId] });
    if (res.unknown?.length) toast(t('cs.cannot_change'), 'error');
  } catch (e) {
    showError(e, method === 'POST' ? t('cs.error_add') : t('cs.error_remove'));
  }
  if (shownFor === contactId) loadSegments(contactId);
}

function onAdd(e) {
  const segmentId = e.target.value;
  const contactId = activeConv()?.contact?.id;
  e.target.value = '';
  if (segmentId && contactId) changeMembership('POST', segmentId, contactId);
}

async function toggleSubscription() {
  const c = activeConv();
  const id = c?.contact?.id;
  if (!id) return;
  const action = $('#subscription-toggle').dataset.action;
  try {
    await api('POST', contactPath(id, `/${action}`), {});
    toast(action === 'unsubscribe' ? t('cs.unsubscribed') : t('cs.resubscribed'));
    await refreshConversation(c.id);
  } catch (e) {
    showError(e, t('cs.error_subscription'));
  }
}

export function bindContactSegments() {
  $('#segment-add').addEventListener('change', onAdd);
  $('#subscription-toggle').addEventListener('click', toggleSubscription);
  $('#block-toggle').addEventListener('click', toggleBlock);
  show($('#segment-section'), true);
}
