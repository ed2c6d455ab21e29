// The Broadcasts page (#/broadcasts, admins and supervisors): every broadcast with its status
// and progress, and the form that creates a draft. The selected one's preview, actions, live
// progress and recipients are broadcast-detail.js. Names are rendered as text only.

import { api } from './api.js';
import {
  bindBroadcastDetail, closeBroadcast, currentBroadcastId, onBroadcastChanged, openBroadcast, pageLeft, pageShown,
} from './broadcast-detail.js';
import { broadcastStatusLabel, reached } from './broadcast-words.js';
import { $, h, show } from './dom.js';
import { fullTime, parseTime } from './format.js';
import { state } from './store.js';
import { currentPage, routePanes, showError, toast } from './ui.js';
import { t } from './i18n.js';

const CHANNELS = ['whatsapp', 'twilio', 'api'];

let inboxes = []; // the inboxes that may broadcast

const managerRole = () => ['admin', 'supervisor'].includes(state.me?.role);
const onPage = () => currentPage() === 'broadcasts' && managerRole();

function routeBroadcasts() {
  const on = onPage();
  show($('#broadcasts-page'), on);
  routePanes();
  $('#nav-broadcasts').classList.toggle('active', on);
  if (on) {
    loadPage();
    pageShown();
  } else {
    pageLeft();
  }
}

async function loadPage() {
  try {
    const [list, inboxList, segments] = await Promise.all([
      api('GET', '/api/broadcasts'),
      api('GET', '/api/inboxes'),
      api('GET', '/api/segments'),
    ]);
    inboxes = (inboxList.items || []).filter((i) => CHANNELS.includes(i.channel));
    fillForm(segments.items || []);
    renderList(list.items || []);
  } catch (e) {
    showError(e, t('bc.error_load'));
  }
}

/** Re-reads the list (after a create, or when the open one changed status). */
export async function reloadList() {
  try {
    renderList((await api('GET', '/api/broadcasts')).items || []);
  } catch (e) {
    showError(e, t('bc.error_load'));
  }
}

function progressText(b) {
  const c = b.counts;
  if (!c.total) return t('bc.not_started');
  return t('bc.sent_of', { n: reached(c), m: c.total - (c.skipped || 0) });
}

function renderList(items) {
  const names = new Map(inboxes.map((i) => [i.id, i.name]));
  const rows = items.map((b) =>
    h('li', { class: `segment-row broadcast-row${b.id === currentBroadcastId() ? ' active' : ''}`, dataset: { id: b.id, status: b.status } },
      h('button', { class: 'segment-open link-btn', type: 'button', onclick: () => openBroadcast(b) },
        h('strong', { dir: 'auto', text: b.name })),
      h('span', { class: `chip bd-status status-${b.status}`, text: broadcastStatusLabel(b) }),
      h('span', { class: 'segment-count broadcast-progress', text: progressText(b) }),
      h('span', { class: 'segment-kind muted', dir: 'auto', text: `${names.get(b.inbox) || b.inbox} · ${t('bc.created_at', { time: fullTime(parseTime(b.created_at)) })}` })));
  $('#broadcast-list').replaceChildren(...(rows.length ? rows : [h('li', { class: 'muted', text: t('bc.empty') })]));
}

// The form.

function fillForm(segments) {
  const inboxSel = $('#bc-inbox');
  const keep = inboxSel.value;
  inboxSel.replaceChildren(...(inboxes.length
    ? inboxes.map((i) => h('option', { value: i.id, text: `${i.name} (${i.channel})` }))
    : [h('option', { value: '', text: t('bc.no_inbox') })]));
  if (inboxes.some((i) => i.id === keep)) inboxSel.value = keep;
  const segSel = $('#bc-segments');
  const chosen = new Set([...segSel.selectedOptions].map((o) => o.value));
  segSel.replaceChildren(...segments.map((s) =>
    h('option', { value: s.id, selected: chosen.has(s.id), text: `${s.name} (${s.contact_count})` })));
  syncContent();
}

const selectedInbox = () => inboxes.find((i) => i.id === $('#bc-inbox').value);

/** Text for SMS and the API channel; a template for WhatsApp (and Twilio over WhatsApp). */
function usesTemplate(inbox) {
  if (!inbox) return false;
  if (inbox.channel === 'whatsapp') return true;
  return inbox.channel === 'twilio' && $('#bc-network').value === 'whatsapp';
}

function syncContent() {
  const inbox = selectedInbox();
  show($('#bc-network-wrap'), inbox?.channel === 'twilio');
  const template = usesTemplate(inbox);
  show($('#bc-template-wrap'), template);
  show($('#bc-text-wrap'), !template);
  if (!template) return;
  const keep = $('#bc-template').value;
  const templates = inbox.templates || [];
  $('#bc-template').replaceChildren(...(templates.length
    ? templates.map((tpl, i) => h('option', { value: String(i), text: `${tpl.name} (${tpl.language})` }))
    : [h('option', { value: '', text: t('bc.no_template') })]));
  if (keep && templates[Number(keep)]) $('#bc-template').value = keep;
  syncParams();
}

const selectedTemplate = () => selectedInbox()?.templates?.[Number($('#bc-template').value)];

function syncParams() {
  const tpl = selectedTemplate();
  $('#bc-template-body').textContent = tpl?.body || '';
  const count = Math.max(tpl?.parameters?.length || 0, (tpl?.body?.match(/\{\{\d+\}\}/g) || []).length);
  $('#bc-params').replaceChildren(...Array.from({ length: count }, (_, i) =>
    h('label', { class: 'field' },
      h('span', { text: `{{${i + 1}}} ${tpl.parameters?.[i] || ''}` }),
      h('input', { class: 'input-sm bc-param', type: 'text', maxlength: '1000', dir: 'auto', dataset: { index: String(i) } }))));
}

function formBody() {
  const inbox = selectedInbox();
  const body = {
    name: $('#bc-name').value,
    inbox: $('#bc-inbox').value,
    segments: [...$('#bc-segments').selectedOptions].map((o) => o.value),
  };
  if (inbox?.channel === 'twilio') body.network = $('#bc-network').value;
  if (usesTemplate(inbox)) {
    const tpl = selectedTemplate();
    if (tpl) {
      body.template = tpl.name;
      body.language = tpl.language;
    }
    body.parameters = [...document.querySelectorAll('#bc-params .bc-param')].map((el) => el.value);
  } else {
    body.text = $('#bc-text').value;
  }
  if ($('#bc-fallback').value.trim()) body.fallback = $('#bc-fallback').value.trim();
  if ($('#bc-rate').value) body.rate_per_second = Number($('#bc-rate').value);
  const at = $('#bc-schedule').value ? new Date($('#bc-schedule').value) : null;
  if (at && !Number.isNaN(at.getTime())) body.scheduled_at = at.toISOString().slice(0, 19);
  return body;
}

async function createBroadcast(e) {
  e.preventDefault();
  show($('#bc-error'), false);
  try {
    const b = await api('POST', '/api/broadcasts', formBody());
    $('#bc-name').value = '';
    toast(t('bc.created', { name: b.name }));
    await reloadList();
    openBroadcast(b);
  } catch (err) {
    if (err.status === 422 || err.status === 400) {
      $('#bc-error').textContent = err.message;
      show($('#bc-error'), true);
    } else {
      showError(err, t('bc.error_create'));
    }
  }
}

export function bindBroadcasts() {
  $('#broadcast-form').addEventListener('submit', createBroadcast);
  $('#bc-inbox').addEventListener('change', syncContent);
  $('#bc-network').addEventListener('change', syncContent);
  $('#bc-template').addEventListener('change', syncParams);
  bindBroadcastDetail();
  onBroadcastChanged(reloadList);
  window.addEventListener('hashchange', routeBroadcasts);
}

/** After sign-in: the nav item for those who may broadcast; the page if the address names it. */
export function startBroadcasts() {
  show($('#nav-broadcasts'), managerRole());
  if (!managerRole()) closeBroadcast();
  routeBroadcasts();
}
