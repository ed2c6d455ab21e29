// The Canned responses page (#/canned), for admins and supervisors: every saved reply with
// its short code and scope, a form to create one or edit the one chosen, and delete. Agents
// use them from the composer (canned-picker.js). Codes and texts are rendered as text.

import { api } from './api.js';
import { $, h, show } from './dom.js';
import { forgetCanned } from './canned-picker.js';
import { state } from './store.js';
import { confirmDialog, currentPage, routePanes, showError, toast } from './ui.js';
import { t } from './i18n.js';

let editing = null; // the canned response the form edits; null: the form creates

const onPage = () => currentPage() === 'canned';
const cannedPath = (id) => `/api/canned-responses/${encodeURIComponent(id)}`;
const managerRole = () => ['admin', 'supervisor'].includes(state.me?.role);
const inboxName = (id) => (id == null ? t('canned.shared') : state.inboxes?.get(id)?.name || id);

/** Shows the page or the inbox, as the address says. */
function routeCanned() {
  const on = onPage() && managerRole();
  show($('#canned-page'), on);
  routePanes();
  $('#nav-canned').classList.toggle('active', on);
  if (on) loadCanned();
}

async function loadCanned() {
  fillInboxes();
  try {
    const { items } = await api('GET', '/api/canned-responses');
    renderList(items || []);
  } catch (e) {
    showError(e, t('canned.error_load'));
  }
}

function fillInboxes() {
  const select = $('#canned-inbox');
  const inboxes = [...(state.inboxes?.values() || [])];
  const keep = select.value;
  select.replaceChildren(h('option', { value: '', text: t('canned.shared_all') }),
    ...inboxes.map((i) => h('option', { value: i.id, text: i.name || i.id })));
  select.value = keep;
}

function renderList(items) {
  const rows = items.map((c) =>
    h('li', { class: `segment-row canned-row${c.id === editing?.id ? ' active' : ''}`, dataset: { id: c.id } },
      h('button', { class: 'segment-open link-btn', type: 'button', 'aria-label': t('canned.edit_code', { code: `/${c.short_code}` }), onclick: () => startEdit(c) },
        h('strong', { class: 'canned-code', text: `/${c.short_code}` })),
      h('span', { class: 'segment-kind muted', dir: 'auto', text: inboxName(c.inbox) }),
      h('span', { class: 'canned-text', dir: 'auto', text: c.text }),
      h('button', { class: 'btn btn-small btn-danger', type: 'button', 'aria-label': t('canned.delete_code', { code: `/${c.short_code}` }), onclick: () => deleteCanned(c) }, t('common.delete'))));
  $('#canned-list').replaceChildren(...(rows.length ? rows : [h('li', { class: 'muted', text: t('canned.empty') })]));
}

function startEdit(c) {
  editing = c;
  $('#canned-code').value = c.short_code;
  $('#canned-text').value = c.text;
  $('#canned-inbox').value = c.inbox || '';
  $('#canned-form-title').textContent = t('canned.edit_code', { code: `/${c.short_code}` });
  $('#canned-save').textContent = t('common.save');
  show($('#canned-cancel'), true);
  $('#canned-code').focus();
}

function resetForm() {
  editing = null;
  $('#canned-form').reset();
  $('#canned-form-title').textContent = t('canned.new');
  $('#canned-save').textContent = t('common.create');
  show($('#canned-cancel'), false);
}

async function save(e) {
  e.preventDefault();
  const body = {
    short_code: $('#canned-code').value.trim(),
    text: $('#canned-text').value,
    inbox: $('#canned-inbox').value || null,
  };
  try {
    const c = editing
      ? await api('PATCH', cannedPath(editing.id), body)
      : await api('POST', '/api/canned-responses', body);
    toast(t('canned.saved', { code: `/${c.short_code}` }));
    resetForm();
    forgetCanned();
    loadCanned();
  } catch (err) {
    showError(err, t('canned.error_save'));
  }
}

async function deleteCanned(c) {
  const ok = await confirmDialog({ title: t('canned.delete_title'), text: t('canned.delete_text', { code: `/${c.short_code}` }), ok: t('common.delete') });
  if (!ok) return;
  try {
    await api('DELETE', cannedPath(c.id));
    if (editing?.id === c.id) resetForm();
    forgetCanned();
    loadCanned();
  } catch (e) {
    showError(e, t('common.error_delete'));
  }
}

export function bindCanned() {
  $('#canned-form').addEventListener('submit', save);
  $('#canned-cancel').addEventListener('click', resetForm);
  window.addEventListener('hashchange', routeCanned);
}

/** After sign-in: the nav item for those who may manage, and the page if the address names it. */
export function startCanned() {
  show($('#nav-canned'), managerRole());
  routeCanned();
}
