// Signing in and out, and starting the inbox: who I am, the agents, the inboxes (templates).

import { watchHealth } from './degraded.js';
import { api } from './api.js';
import { $, show } from './dom.js';
import { startList } from './list.js';
import { startBroadcasts } from './broadcasts.js';
import { startCanned } from './canned.js';
import { startKnowledge } from './knowledge.js';
import { startAgents } from './agents.js';
import { startAccount } from './account.js';
import { startReports } from './reports.js';
import { startSegments } from './segments.js';
import { connectWs } from './realtime.js';
import { TOKEN_KEY, endSession, setAgents, setAssistants, setDashboard, setInboxes, setMe, setToken, state } from './store.js';
import { route } from './thread.js';
import { loadHandoffs, refreshBadge } from './topbar.js';
import { showError } from './ui.js';
import { t } from './i18n.js';

export function readTokenFromUrl() {
  // `/?token=…` signs in directly (handy for tests and links from an admin tool); the token is
  // removed from the address bar at once so it does not linger in history or get shared.
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (!token) return;
  localStorage.setItem(TOKEN_KEY, token);
  url.searchParams.delete('token');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
}

export function showLogin(message) {
  show($('#app-view'), false);
  show($('#login-view'), true);
  document.title = 'Switchboard';
  const err = $('#login-error');
  err.textContent = message || '';
  show(err, !!message);
  $('#login-email').focus();
}

async function onLoginSubmit(e) {
  e.preventDefault();
  const email = $('#login-email').value.trim();
  const password = $('#login-password').value;
  const err = $('#login-error');
  if (!email || !password) {
    err.textContent = t('login.missing');
    show(err, true);
    return;
  }
  const button = $('#login-submit');
  button.disabled = true;
  button.textContent = t('login.signing_in');
  try {
    const res = await api('POST', '/api/auth/login', { email, password });
    localStorage.setItem(TOKEN_KEY, res.token);
    setToken(res.token);
    setMe(res.agent);
    show(err, false);
    $('#login-password').value = '';
    await startApp();
  } catch (ex) {
    err.textContent = ex.status === 401 ? t('login.wrong') : ex.message;
    show(err, true);
  } finally {
    button.disabled = false;
    button.textContent = t('login.submit');
  }
}

async function logout() {
  try {
    await api('POST', '/api/auth/logout');
  } catch {
    /* the token may already be gone; we log out locally anyway */
  }
  endSession();
}

export async function startApp() {
  show($('#login-view'), false);
  show($('#app-view'), true);
  const me = await api('GET', '/api/auth/me');
  setMe(me.agent);
  setDashboard(me.dashboard);
  $('#me-name').textContent = state.me.name;
  loadHandoffs();
  connectWs();
  watchHealth();
  await Promise.all([loadAgents(), startList(), refreshBadge(), loadInboxes(), loadAssistants()]);
  route();
  startSegments();
  startBroadcasts();
  startCanned();
  startReports();
  startKnowledge();
  startAgents();
  startAccount();
}

export async function loadAgents() {
  try {
    const res = await api('GET', '/api/agents');
    setAgents(res.items);
    const mine = state.agents.get(state.me.id);
    if (mine && mine.availability !== 'offline') $('#availability').value = mine.availability;
  } catch (e) {
    showError(e, t('session.error_agents'));
  }
}

/** Templates come with the channels work; without the route the template picker stays hidden. */
async function loadInboxes() {
  let inboxes;
  try {
    const res = await api('GET', '/api/inboxes');
    const list = Array.isArray(res) ? res : res?.items || [];
    inboxes = new Map(list.map((i) => [i.id, i]));
  } catch (e) {
    inboxes = null;
    if (e.status !== 404) console.warn('inboxes unavailable', e);
  }
  setInboxes(inboxes);
}

/** For the assistant filter and the contact panel. */
async function loadAssistants() {
  try {
    setAssistants((await api('GET', '/api/assistants')).items);
  } catch (e) {
    console.warn('assistants unavailable', e);
  }
}

export function bindSession() {
  $('#login-form').addEventListener('submit', onLoginSubmit);
  $('#logout').addEventListener('click', logout);
}
