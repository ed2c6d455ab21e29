// Several conversations at once: "Select" turns a click on a row into picking it (Enter on a
// focused row too), and the bar acts on the picked ones through POST /api/conversations/bulk —
// resolve, assign to me, archive, add a tag. The server changes each through its own actor
// and says which failed; the list follows by the usual live updates.

import { api } from './api.js';
import { $, show } from './dom.js';
import { state } from './store.js';
import { showError, toast } from './ui.js';
import { t } from './i18n.js';

function setSelecting(on) {
  state.selecting = on;
  state.selected.clear();
  document.body.classList.toggle('selecting', on);
  $('#select-toggle').setAttribute('aria-pressed', String(on));
  $('#select-toggle').textContent = on ? t('bulk.done') : t('bulk.select');
  show($('#bulk-bar'), on);
  for (const el of document.querySelectorAll('#conv-list .conv-item.selected')) el.classList.remove('selected');
  renderCount();
}

function renderCount() {
  const n = state.selected.size;
  $('#bulk-count').textContent = t('bulk.selected', { count: n });
  for (const id of ['#bulk-resolve', '#bulk-mine', '#bulk-archive', '#bulk-tag-add']) $(id).disabled = n === 0;
}

function pick(e) {
  if (!state.selecting) return;
  const item = e.target.closest('.conv-item');
  if (!item) return;
  e.preventDefault();
  e.stopPropagation();
  const id = item.dataset.id;
  if (state.selected.has(id)) state.selected.delete(id);
  else state.selected.add(id);
  item.classList.toggle('selected', state.selected.has(id));
  item.setAttribute('aria-selected', String(state.selected.has(id)));
  renderCount();
}


async function run(action, extra = {}) {
  const ids = [...state.selected];
  if (!ids.length) return;
  try {
    const res = await api('POST', '/api/conversations/bulk', { ids, action, ...extra });
    const failed = res.results.filter((r) => !r.ok);
    const first = failed[0]?.error?.message;
    const done = {
      resolve: () => t('bulk.resolved', { count: res.succeeded }),
      assign: () => t('bulk.assigned', { count: res.succeeded }),
      archive: () => t('bulk.archived', { count: res.succeeded }),
      tag: () => t('bulk.tagged', { count: res.succeeded }),
    }[action]();
    toast(failed.length ? t('bulk.some_failed', { done, failed: failed.length, error: first }) : done, failed.length ? 'error' : 'info');
    setSelecting(false);
  } catch (e) {
    showError(e, t('bulk.error'));
  }
}

export function bindBulk() {
  $('#select-toggle').addEventListener('click', () => setSelecting(!state.selecting));
  $('#bulk-cancel').addEventListener('click', () => setSelecting(false));
  // Capture: the row's own link must not open the conversation while picking.
  $('#conv-list').addEventListener('click', pick, true);
  $('#bulk-resolve').addEventListener('click', () => run('resolve'));
  $('#bulk-archive').addEventListener('click', () => run('archive'));
  $('#bulk-mine').addEventListener('click', () => run('assign', { agent_id: state.me?.id }));
  $('#bulk-tag-add').addEventListener('click', () => {
    const tag = $('#bulk-tag').value.trim();
    if (!tag) {
      $('#bulk-tag').focus();
      return;
    }
    $('#bulk-tag').value = '';
    run('tag', { tags: [tag] });
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.selecting) setSelecting(false);
  });
  renderCount();
}
