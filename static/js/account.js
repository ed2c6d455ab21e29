// Your account (#/account), for every agent: change my name, and my password (the current one
// is asked; this tab stays signed in, my other sessions end).

import { api } from './api.js';
import { $, show } from './dom.js';
import { setMe, state } from './store.js';
import { currentPage, routePanes, showError, toast } from './ui.js';
import { t } from './i18n.js';

const onPage = () => currentPage() === 'account';

function routeAccount() {
  const on = onPage();
  show($('#account-page'), on);
  routePanes();
  $('#account-link').classList.toggle('active', on);
  if (!on) return;
  $('#account-email').textContent = state.me.email;
  $('#account-role').textContent = t(`agents.role_${state.me.role}`);
  $('#account-name').value = state.me.name;
}

async function saveName(e) {
  e.preventDefault();
  try {
    const me = await api('PATCH', '/api/agents/me', { name: $('#account-name').value });
    setMe({ ...state.me, name: me.name });
    $('#me-name').textContent = me.name;
    $('#account-name').value = me.name;
    toast(t('account.name_saved'));
  } catch (err) {
    showError(err, t('account.error_name'));
  }
}

function passwordError(message) {
  const el = $('#account-password-error');
  el.textContent = message || '';
  show(el, !!message);
}

async function changePassword(e) {
  e.preventDefault();
  const current = $('#account-current').value;
  const next = $('#account-new').value;
  passwordError(null);
  if (next.length < 8) return passwordError(t('account.too_short'));
  if (next !== $('#account-repeat').value) return passwordError(t('account.mismatch'));
  try {
    await api('PUT', '/api/agents/me/password', { current, new: next });
    $('#account-password-form').reset();
    toast(t('account.password_changed'));
  } catch (err) {
    if (err.status === 401) return;
    passwordError(err.status === 403 ? t('account.wrong_current') : err.message);
  }
  return undefined;
}

export function bindAccount() {
  $('#account-name-form').addEventListener('submit', saveName);
  $('#account-password-form').addEventListener('submit', changePassword);
  window.addEventListener('hashchange', routeAccount);
}

/** After sign-in: the page if the address names it. */
export function startAccount() {
  routeAccount();
}
