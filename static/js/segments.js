// The Segments page (#/segments): every segment with its contact count, a form to create a
// static one or a dynamic one from a small filter, delete, and a segment's contacts page by
// page. The inbox panes hide while it shows. Names and contact fields are rendered as text.

import { api } from './api.js';
import { $, h, show } from './dom.js';
import { displayName } from './format.js';
import { state } from './store.js';
import { confirmDialog, currentPage, routePanes, showError, toast } from './ui.js';
import { t } from './i18n.js';

const PAGE = 50;

let openId = null; // the segment whose contacts are shown
let nextCursor = null;

const onPage = () => currentPage() === 'segments';
const segmentPath = (id, rest = '') => `/api/segments/${encodeURIComponent(id)}${rest}`;
const managerRole = () => ['admin', 'supervisor'].includes(state.me?.role);

/** Shows the page or the inbox, as the address says. */
function routeSegments() {
  const on = onPage();
  show($('#segments-page'), on);
  routePanes();
  $('#nav-segments').classList.toggle('active', on);
  if (on) loadSegments();
}

async function loadSegments() {
  show($('#segment-form'), managerRole());
  try {
    const { items } = await api('GET', '/api/segments');
    renderList(items || []);
  } catch (e) {
    showError(e, t('seg.error_load'));
  }
}

function filterSummary(f) {
  if (!f) return t('seg.static');
  const parts = [];
  if (f.tags?.length) parts.push(t('seg.f_tags', { tags: f.tags.join(', ') }));
  if (f.channels?.length) parts.push(t('seg.f_channel', { channels: f.channels.join(', ') }));
  if (f.name_contains) parts.push(t('seg.f_name', { text: f.name_contains }));
  if (f.csat_at_least) parts.push(`CSAT ≥ ${f.csat_at_least}`);
  if (f.csat_at_most) parts.push(`CSAT ≤ ${f.csat_at_most}`);
  if (f.last_activity_after) parts.push(t('seg.f_after', { date: f.last_activity_after.slice(0, 10) }));
  if (f.last_activity_before) parts.push(t('seg.f_before', { date: f.last_activity_before.slice(0, 10) }));
  if (f.has_phone != null) parts.push(f.has_phone ? t('seg.f_phone') : t('seg.f_no_phone'));
  if (f.unsubscribed != null) parts.push(f.unsubscribed ? t('skip.unsubscribed') : t('seg.f_subscribed'));
  if (f.blocked != null) parts.push(f.blocked ? t('skip.blocked') : t('seg.f_not_blocked'));
  return `${t('seg.dynamic')} · ${parts.join(' · ')}`;
}

function renderList(items) {
  const rows = items.map((s) =>
    h('li', { class: `segment-row${s.id === openId ? ' active' : ''}`, dataset: { id: s.id } },
      h('button', { class: 'segment-open link-btn', type: 'button', onclick: () => openSegment(s) },
        h('strong', { dir: 'auto', text: s.name })),
      h('span', { class: 'segment-count', text: t('bc.contacts', { count: s.contact_count }) }),
      h('span', { class: 'segment-kind muted', dir: 'auto', text: filterSummary(s.filter) }),
      managerRole() && h('button', { class: 'btn btn-small btn-danger', type: 'button', 'aria-label': t('seg.delete_named', { name: s.name }), onclick: () => deleteSegment(s) }, t('common.delete'))));
  $('#segment-list').replaceChildren(...(rows.length ? rows : [h('li', { class: 'muted', text: t('seg.empty') })]));
}

async function openSegment(s) {
  openId = s.id;
  nextCursor = null;
  $('#segment-members-title').textContent = s.name;
  $('#segment-members').replaceChildren();
  show($('#segment-members-box'), true);
  await loadMembers();
}

async function loadMembers() {
  const id = openId;
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (nextCursor) params.set('cursor', nextCursor);
  try {
    const page = await api('GET', `${segmentPath(id, '/contacts')}?${params}`);
    if (id !== openId) return;
    nextCursor = page.next_cursor;
    $('#segment-members').append(...page.items.map((c) =>
      h('li', { class: 'segment-member' },
        h('span', { dir: 'auto', text: displayName({ contact: c }) }),
        h('span', { class: 'muted', dir: 'auto', text: c.phone || c.email || '' }),
        c.unsubscribed_at && h('span', { class: 'chip', text: t('skip.unsubscribed') }))));
    if (!$('#segment-members').children.length) $('#segment-members').append(h('li', { class: 'muted', text: t('seg.no_contacts') }));
    show($('#segment-more'), !!nextCursor);
  } catch (e) {
    showError(e, t('seg.error_contacts'));
  }
}

async function deleteSegment(s) {
  const ok = await confirmDialog({ title: t('seg.delete_title'), text: t('seg.delete_text', { name: s.name }), ok: t('common.delete') });
  if (!ok) return;
  try {
    await api('DELETE', segmentPath(s.id));
    if (openId === s.id) {
      openId = null;
      show($('#segment-members-box'), false);
    }
    loadSegments();
  } catch (e) {
    showError(e, t('common.error_delete'));
  }
}

/** The form's filter: only the fields given. */
function formFilter() {
  const f = {};
  const tags = $('#seg-tags').value.split(',').map((t) => t.trim()).filter(Boolean);
  if (tags.length) f.tags = tags;
  if ($('#seg-channel').value) f.channels = [$('#seg-channel').value];
  if ($('#seg-name-contains').value.trim()) f.name_contains = $('#seg-name-contains').value.trim();
  if ($('#seg-csat-min').value) f.csat_at_least = Number($('#seg-csat-min').value);
  if ($('#seg-csat-max').value) f.csat_at_most = Number($('#seg-csat-max').value);
  if ($('#seg-after').value) f.last_activity_after = `${$('#seg-after').value}T00:00:00`;
  if ($('#seg-before').value) f.last_activity_before = `${$('#seg-before').value}T00:00:00`;
  if ($('#seg-subscribed').checked) f.unsubscribed = false;
  return f;
}

async function createSegment(e) {
  e.preventDefault();
  const kind = $('#seg-kind').value;
  const body = { name: $('#seg-name').value, kind };
  if (kind === 'dynamic') body.filter = formFilter();
  try {
    const s = await api('POST', '/api/segments', body);
    $('#segment-form').reset();
    syncKind();
    toast(t('seg.created', { name: s.name }));
    loadSegments();
  } catch (err) {
    showError(err, t('seg.error_create'));
  }
}

function syncKind() {
  show($('#seg-filter'), $('#seg-kind').value === 'dynamic');
}

export function bindSegments() {
  $('#segment-form').addEventListener('submit', createSegment);
  $('#seg-kind').addEventListener('change', syncKind);
  $('#segment-more').addEventListener('click', loadMembers);
  window.addEventListener('hashchange', routeSegments);
  syncKind();
}

/** After sign-in: show the page if the address names it. */
export function startSegments() {
  routeSegments();
}
