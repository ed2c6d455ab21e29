// The contact panel's memories: what was learned about the person (shared by their channels),
// grouped by type, with add, edit and forget. Memories are learned from customer messages on
// the server, a moment after the message: the list is read again shortly after each one.

import { api } from './api.js';
import { $, debounce, h } from './dom.js';
import { activeConv } from './store.js';
import { showError, toast } from './ui.js';
import { t } from './i18n.js';

const KINDS = () => [
  ['fact', t('memory.facts')],
  ['preference', t('memory.preferences')],
  ['goal', t('memory.goals')],
  ['experience', t('memory.experiences')],
];
const KIND_LABEL = () => ({ fact: t('memory.fact'), preference: t('memory.preference'), goal: t('memory.goal'), experience: t('memory.experience') });
/** How long after a customer's message its memories are read again (they are stored after it). */
const LEARN_DELAY_MS = 700;

let shownFor = null; // the contact whose memories are shown
let request = 0; // the latest load; an older answer is dropped

const memoriesPath = (contactId) => `/api/contacts/${encodeURIComponent(contactId)}/memories`;
const memoryPath = (id) => `/api/memories/${encodeURIComponent(id)}`;

/** The thread closed: the next contact loads afresh. */
export function forgetMemories() {
  shownFor = null;
  request++;
  $('#memory-groups').replaceChildren();
  $('#memory-count').textContent = '';
}

/** Shows the memories of the conversation's contact (once per contact unless `again`). */
export async function loadMemories(c, again = false) {
  const contactId = c?.contact?.id;
  if (!contactId || (!again && shownFor === contactId)) return;
  if (shownFor !== contactId) $('#memory-groups').replaceChildren(h('p', { class: 'muted small', text: t('common.loading') }));
  shownFor = contactId;
  const mine = ++request;
  try {
    const { items } = await api('GET', memoriesPath(contactId));
    if (mine === request) renderMemories(items);
  } catch (e) {
    if (mine !== request) return;
    $('#memory-groups').replaceChildren(h('p', { class: 'muted small', text: t('common.could_not_load') }));
  }
}

const reloadSoon = debounce(() => loadMemories(activeConv(), true), LEARN_DELAY_MS);

/** The open conversation changed: a new customer message may have taught something. */
export function conversationChanged(c, old) {
  if (!old || c.contact?.id !== old.contact?.id) {
    loadMemories(c);
    return;
  }
  if (c.last_message_author === 'customer' && c.last_message_at !== old.last_message_at) reloadSoon();
}

function renderMemories(items) {
  $('#memory-count').textContent = `(${items.length})`;
  const groups = KINDS().map(([kind, title]) => {
    const mine = items.filter((m) => m.kind === kind);
    if (!mine.length) return null;
    return h('div', { class: 'memory-group', dataset: { kind } },
      h('h4', { class: 'memory-kind', text: title }),
      h('ul', { class: 'memory-list' }, mine.map(memoryItem)));
  }).filter(Boolean);
  $('#memory-groups').replaceChildren(...(groups.length ? groups : [h('p', { class: 'muted small', text: t('memory.empty') })]));
}

function memoryItem(m) {
  return h('li', { class: 'memory', dataset: { id: m.id } },
    h('span', { class: 'memory-text', dir: 'auto', text: m.text }),
    h('span', { class: 'memory-actions' },
      h('button', { class: 'icon-btn memory-edit', type: 'button', title: t('memory.edit'), 'aria-label': t('memory.edit_label'), onclick: (e) => startEdit(e.currentTarget.closest('.memory'), m) }, '✎'),
      h('button', { class: 'icon-btn memory-delete', type: 'button', title: t('memory.forget'), 'aria-label': t('memory.forget_label'), onclick: () => forget(m) }, '×')));
}

function kindSelect(value, cls) {
  return h('select', { class: `input-sm ${cls}`, 'aria-label': t('contact.memory_type') },
    KINDS().map(([kind]) => h('option', { value: kind, text: KIND_LABEL()[kind], selected: kind === value })));
}

function startEdit(li, m) {
  if (!li) return;
  const input = h('input', { class: 'input-sm memory-edit-text', type: 'text', maxlength: '500', value: m.text, 'aria-label': t('memory.memory') });
  const kind = kindSelect(m.kind, 'memory-edit-kind');
  const save = () => saveEdit(m, kind.value, input.value);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); save(); }
    if (e.key === 'Escape') reload();
  });
  li.replaceChildren(h('div', { class: 'memory-editing' }, input,
    h('div', { class: 'memory-edit-row' }, kind,
      h('button', { class: 'btn btn-small memory-save', type: 'button', onclick: save }, t('common.save')),
      h('button', { class: 'btn btn-small memory-cancel', type: 'button', onclick: reload }, t('common.cancel')))));
  input.focus();
}

function reload() {
  return loadMemories(activeConv(), true);
}

async function saveEdit(m, kind, text) {
  const body = {};
  if (kind !== m.kind) body.kind = kind;
  if (text.trim() !== m.text) body.text = text;
  if (!Object.keys(body).length) return reload();
  try {
    await api('PATCH', memoryPath(m.id), body);
  } catch (e) {
    showError(e, t('memory.error_save'));
  }
  return reload();
}

async function forget(m) {
  try {
    await api('DELETE', memoryPath(m.id));
    toast(t('memory.forgotten'));
  } catch (e) {
    showError(e, t('memory.error_forget'));
  }
  return reload();
}

async function addMemory(e) {
  e.preventDefault();
  const c = activeConv();
  const input = $('#memory-text');
  const text = input.value.trim();
  if (!c?.contact?.id || !text) return;
  try {
    await api('POST', memoriesPath(c.contact.id), { kind: $('#memory-kind').value, text });
    input.value = '';
  } catch (err) {
    showError(err, t('memory.error_add'));
  }
  reload();
}

export function bindMemories() {
  $('#memory-kind').replaceChildren(...KINDS().map(([kind]) => h('option', { value: kind, text: KIND_LABEL()[kind] })));
  $('#memory-form').addEventListener('submit', addMemory);
}
