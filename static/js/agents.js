// The Agents page (#/agents), for admins: every agent with role, availability and status; add
// one (the server generates a password, shown here once with a copy button); change a role;
// deactivate (their sessions end at once) or reactivate; reset a password (shown once too).
// Names and emails are rendered as text. Below the list, the servers: one node, or each node of
// the cluster with its shards, connections and how far it lags behind the event log.

import { api } from './api.js';
import { $, h, show } from './dom.js';
import { setAgents, state } from './store.js';
import { confirmDialog, currentPage, routePanes, showError, toast } from './ui.js';
import { t } from './i18n.js';

const ROLES = ['agent', 'supervisor', 'admin'];

const onPage = () => currentPage() === 'agents';
const isAdmin = () => state.me?.role === 'admin';
const agentPath = (id, rest = '') => `/api/agents/${encodeURIComponent(id)}${rest}`;
const roleLabel = (role) => t(`agents.role_${role}`);
const availabilityLabel = (a) => ({ online: t('topbar.online'), away: t('topbar.away'), offline: t('agents.offline') }[a] || a);

/** Shows the page or the inbox, as the address says. */
function routeAgents() {
  const on = onPage() && isAdmin();
  show($('#agents-page'), on);
  routePanes();
  $('#nav-agents').classList.toggle('active', on);
  if (on) {
    loadAgentList();
    loadCluster();
  }
}

async function loadCluster() {
  try {
    const c = await api('GET', '/api/cluster');
    const nodes = c.nodes || [];
    $('#cluster-summary').textContent = c.mode === 'single'
      ? t('cluster.single')
      : t('cluster.summary', { count: nodes.length, node: c.node });
    const rows = nodes.map((n) => h('tr', { class: 'cluster-row', dataset: { node: n.node } },
      h('td', {}, h('bdi', { text: n.node })),
      h('td', { text: String(n.shard_count) }),
      h('td', { text: String(n.connections) }),
      h('td', { text: String(n.lag_events) })));
    $('#cluster-list').replaceChildren(...rows);
    show($('#cluster-table'), rows.length > 0);
  } catch (e) {
    $('#cluster-summary').textContent = t('cluster.error_load');
  }
}

async function loadAgentList() {
  try {
    const { items } = await api('GET', '/api/agents');
    setAgents(items || []);
    renderList(items || []);
  } catch (e) {
    showError(e, t('agents.error_load'));
  }
}

function roleSelect(a) {
  const mine = a.id === state.me.id;
  const select = h('select', {
    class: 'input-sm agent-role',
    'aria-label': t('agents.role_of', { name: a.name }),
    disabled: mine,
    title: mine ? t('agents.not_yourself') : null,
  }, ...ROLES.map((r) => h('option', { value: r, text: roleLabel(r), selected: r === a.role })));
  select.addEventListener('change', () => changeRole(a, select));
  return select;
}

function actions(a) {
  if (a.id === state.me.id) return [h('span', { class: 'muted small', text: t('agents.you') })];
  const toggle = a.deactivated
    ? h('button', { class: 'btn btn-small', type: 'button', dataset: { action: 'reactivate' }, 'aria-label': t('agents.reactivate_name', { name: a.name }), onclick: () => reactivate(a) }, t('agents.reactivate'))
    : h('button', { class: 'btn btn-small btn-danger', type: 'button', dataset: { action: 'deactivate' }, 'aria-label': t('agents.deactivate_name', { name: a.name }), onclick: () => deactivate(a) }, t('agents.deactivate'));
  const reset = h('button', { class: 'btn btn-small', type: 'button', dataset: { action: 'reset' }, 'aria-label': t('agents.reset_name', { name: a.name }), onclick: () => resetPassword(a) }, t('agents.reset'));
  return [reset, ' ', toggle];
}

function renderList(items) {
  const rows = items.map((a) => h('tr', { class: a.deactivated ? 'agent-row deactivated' : 'agent-row', dataset: { id: a.id } },
    h('td', {}, h('bdi', { text: a.name })),
    h('td', {}, h('bdi', { text: a.email || '' })),
    h('td', {}, roleSelect(a)),
    h('td', { class: 'agent-availability', text: a.deactivated ? '—' : availabilityLabel(a.availability) }),
    h('td', { class: 'agent-status', text: a.deactivated ? t('agents.deactivated') : t('agents.active') }),
    h('td', { class: 'agent-actions' }, ...actions(a))));
  $('#agents-list').replaceChildren(...rows);
}

/** A password shown once: whoever sees it gives it to the agent; Done forgets it. */
function showPassword(name, password) {
  $('#agent-password-for').textContent = t('agents.password_for', { name });
  $('#agent-password').value = password;
  show($('#agent-password-box'), true);
  $('#agent-password').focus();
  $('#agent-password').select();
}

function forgetPassword() {
  $('#agent-password').value = '';
  show($('#agent-password-box'), false);
}

async function copyPassword() {
  const value = $('#agent-password').value;
  try {
    await navigator.clipboard.writeText(value);
    toast(t('agents.copied'));
  } catch {
    // No clipboard access (an insecure origin): the text is selected for Ctrl+C.
    $('#agent-password').select();
    toast(t('agents.copy_by_hand'));
  }
}

async function addAgent(e) {
  e.preventDefault();
  const err = $('#agent-form-error');
  show(err, false);
  const body = { name: $('#agent-name').value, email: $('#agent-email').value.trim(), role: $('#agent-role').value };
  try {
    const res = await api('POST', '/api/agents', body);
    $('#agent-form').reset();
    showPassword(res.agent.name, res.password);
    loadAgentList();
  } catch (ex) {
    if (ex.status === 401) return;
    err.textContent = ex.message;
    show(err, true);
  }
}

async function changeRole(a, select) {
  try {
    await api('PATCH', agentPath(a.id), { role: select.value });
    toast(t('agents.role_changed', { name: a.name, role: roleLabel(select.value) }));
  } catch (e) {
    showError(e, t('agents.error_save'));
  }
  loadAgentList();
}

async function deactivate(a) {
  const ok = await confirmDialog({ title: t('agents.deactivate_title'), text: t('agents.deactivate_text', { name: a.name }), ok: t('agents.deactivate') });
  if (!ok) return;
  try {
    await api('POST', agentPath(a.id, '/deactivate'));
    toast(t('agents.deactivated_toast', { name: a.name }));
  } catch (e) {
    showError(e, t('agents.error_save'));
  }
  loadAgentList();
}

async function reactivate(a) {
  try {
    await api('POST', agentPath(a.id, '/reactivate'));
  } catch (e) {
    showError(e, t('agents.error_save'));
  }
  loadAgentList();
}

async function resetPassword(a) {
  const ok = await confirmDialog({ title: t('agents.reset_title'), text: t('agents.reset_text', { name: a.name }), ok: t('agents.reset') });
  if (!ok) return;
  try {
    const res = await api('POST', agentPath(a.id, '/password'));
    showPassword(a.name, res.password);
  } catch (e) {
    showError(e, t('agents.error_save'));
  }
}

export function bindAgents() {
  $('#agent-form').addEventListener('submit', addAgent);
  $('#agent-password-copy').addEventListener('click', copyPassword);
  $('#agent-password-done').addEventListener('click', forgetPassword);
  window.addEventListener('hashchange', () => {
    if (!onPage()) forgetPassword();
    routeAgents();
  });
}

/** After sign-in: the nav item for admins, and the page if the address names it. */
export function startAgents() {
  show($('#nav-agents'), isAdmin());
  routeAgents();
}
