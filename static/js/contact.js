// The contact panel: who the customer is, tags, lead stage, follow-up, what was learned about
// them (memories.js), their segments and broadcast subscription (contact-segments.js), the
// broadcasts they were in (contact-broadcasts.js); the
// person's profile and conversations (profile.js), files (files.js) and timeline (activity.js) in
// the Contact, Files and Activity tabs. On a phone it is a pane of its own; on a wide screen it
// opens beside the thread.

import { api, convPath } from './api.js';
import { bindActivity } from './activity.js';
import { bindFiles } from './files.js';
import { $, $$, h, show } from './dom.js';
import { avatar, channelInfo, displayName, fullTime, parseTime, untilLabel } from './format.js';
import { contactBroadcastsChanged, forgetContactBroadcasts } from './contact-broadcasts.js';
import { bindContactSegments, contactSegmentsChanged, forgetContactSegments } from './contact-segments.js';
import { bindCsat, renderCsat } from './csat.js';
import { bindMemories, conversationChanged, forgetMemories } from './memories.js';
import { bindProfile, forgetPerson, loadPerson } from './profile.js';
import { bindReferral } from './referral.js';
import { renderReview } from './review.js';
import { activeConv, state, upsertConversation } from './store.js';
import { narrow, setView, showError, toast } from './ui.js';
import { t } from './i18n.js';

const LEAD_STAGES = () => [
  ['in_progress', t('stage.in_progress')],
  ['opportunity', t('stage.opportunity')],
  ['potential_customer', t('stage.potential_customer')],
  ['quote_request', t('stage.quote_request')],
  ['follow_up', t('stage.follow_up')],
  ['contacted', t('stage.contacted')],
  ['waiting_response', t('stage.waiting_response')],
  ['info_only', t('stage.info_only')],
  ['not_interested', t('stage.not_interested')],
  ['spam', t('stage.spam')],
];

let historyFor = null; // the conversation whose contact's history is shown

export function renderContactEmpty() {
  show($('#contact-body'), false);
  show($('#contact-empty'), true);
}

/** The thread closed: the next one loads its contact's history afresh. */
export function forgetHistory() {
  historyFor = null;
  forgetMemories();
  forgetPerson();
  forgetContactSegments();
  forgetContactBroadcasts();
}

export function renderContact(c, old) {
  show($('#contact-empty'), false);
  show($('#contact-body'), true);
  const ch = channelInfo(c);
  $('#contact-avatar').replaceWith(Object.assign(avatar(c, 'avatar avatar-lg'), { id: 'contact-avatar' }));
  $('#contact-name').textContent = displayName(c);
  setFact('#contact-phone', c.contact?.phone);
  setFact('#contact-email', c.contact?.email);
  const inboxName = state.inboxes?.get(c.inbox_id)?.name;
  $('#contact-channel').textContent = inboxName && inboxName !== ch.label ? `${ch.label} · ${inboxName}` : ch.label;
  $('#contact-created').textContent = fullTime(parseTime(c.created_at));
  setFact('#contact-assistant', assistantLabel(c.assistant_id));
  renderTags(c);
  $('#lead-stage').value = c.lead_stage || '';
  renderFollowUp(c);
  renderCsat(c);
  renderReview(c);
  conversationChanged(c, old);
  contactSegmentsChanged(c);
  contactBroadcastsChanged(c);
  if (old && old.contact?.id !== c.contact?.id) loadContactHistory(c);
}

/** "Sales (llm-model)" for the assistant that answered; its id if it is no longer configured. */
function assistantLabel(id) {
  if (!id) return '';
  const a = state.assistants.get(id);
  if (!a) return id;
  return a.model ? `${a.name} (${a.model})` : a.name;
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
      h('button', { class: 'chip-x', type: 'button', title: t('contact.remove_tag'), 'aria-label': t('contact.remove_tag_named', { tag }), onclick: () => saveTags(c.id, (activeConv()?.tags || []).filter((x) => x !== tag)) }, '×'))));
}

async function saveTags(id, tags) {
  try {
    upsertConversation(await api('PUT', convPath(id, '/tags'), { tags }));
  } catch (e) {
    showError(e, t('contact.error_tags'));
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

function fillLeadStages() {
  $('#lead-stage').replaceChildren(
    h('option', { value: '', text: t('contact.no_stage') }),
    ...LEAD_STAGES().map(([value, label]) => h('option', { value, text: label })),
  );
}

async function setLeadStage() {
  const c = activeConv();
  if (!c) return;
  try {
    upsertConversation(await api('POST', convPath(c.id, '/lead-stage'), { lead_stage: $('#lead-stage').value || null }));
  } catch (e) {
    showError(e, t('contact.error_stage'));
    $('#lead-stage').value = c.lead_stage || '';
  }
}

export function renderFollowUp(c) {
  const box = $('#followup-current');
  const at = parseTime(c.follow_up?.at);
  show(box, !!at);
  if (!at) return;
  const who = c.follow_up.source === 'ai' ? t('contact.ai_prefix') : '';
  $('#followup-when').textContent = `${who}${fullTime(at)} (${untilLabel(at)})`;
  $('#followup-reason-text').textContent = c.follow_up.reason || '';
  $('#followup-message').textContent = c.follow_up.message ? t('contact.will_send', { message: c.follow_up.message }) : '';
  show($('#followup-message'), !!c.follow_up.message);
}

async function scheduleFollowUp(body) {
  const c = activeConv();
  if (!c) return;
  try {
    upsertConversation(await api('POST', convPath(c.id, '/follow-up'), body));
    toast(t('followup.scheduled'));
  } catch (e) {
    showError(e, t('followup.error_schedule'));
  }
}

function scheduleCustomFollowUp() {
  const value = $('#followup-at').value;
  const at = value ? new Date(value) : null;
  if (!at || Number.isNaN(at.getTime())) {
    toast(t('followup.pick_time'), 'error');
    return;
  }
  if (at <= new Date()) {
    toast(t('followup.future'), 'error');
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
    showError(e, t('followup.error_cancel'));
  }
}

/** The person (profile, and their conversations on every channel): see profile.js. */
export function loadContactHistory(c) {
  if (!c || historyFor === c.id) return;
  historyFor = c.id;
  loadPerson(c);
}

function toggleContact() {
  if (narrow()) setView(document.body.dataset.view === 'contact' ? 'thread' : 'contact');
  else document.body.classList.toggle('contact-open');
}

function closeContact() {
  if (narrow()) setView('thread');
  else document.body.classList.remove('contact-open');
}

export function bindContact() {
  fillLeadStages();
  bindCsat();
  bindMemories();
  bindProfile();
  bindReferral();
  bindActivity();
  bindFiles();
  bindContactSegments();
  $('#contact-toggle').addEventListener('click', toggleContact);
  $('#contact-back').addEventListener('click', closeContact);
  $('#tag-input').addEventListener('keydown', onTagKeydown);
  $('#lead-stage').addEventListener('change', setLeadStage);
  for (const b of $$('#followup-presets button[data-preset]')) b.addEventListener('click', () => scheduleFollowUp({ preset: b.dataset.preset }));
  $('#followup-set').addEventListener('click', scheduleCustomFollowUp);
  $('#followup-cancel').addEventListener('click', cancelFollowUp);
}
