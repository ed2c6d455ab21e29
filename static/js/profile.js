// The contact panel's Profile and Conversations sections (Contact tab): the person from
// GET /api/contacts/{id}, an editable profile (PATCH) with where each detected value came
// from, the widget visitor's browser, and the person's 10 latest conversations on every
// channel. Everything from the server is set as text (h(), textContent).

import { api } from './api.js';
import { $, h, show } from './dom.js';
import { channelInfo, fullTime, parseTime } from './format.js';
import { showError, toast } from './ui.js';
import { t } from './i18n.js';

const SOURCES = () => ({
  platform: t('profile.src_platform'),
  phone_prefix: t('profile.src_phone'),
  browser: t('profile.src_browser'),
  agent: t('msg.an_agent'),
});

const FIELDS = ['name', 'email', 'phone', 'country', 'language'];

let current = null; // { conversationId, contactId }
let listeners = [];

/** Called with the person each time it is loaded or edited. */
export function onPerson(fn) {
  listeners.push(fn);
}

const contactPath = (id, rest = '') => `/api/contacts/${encodeURIComponent(id)}${rest}`;

/** Loads the person behind a conversation's contact into the Contact tab. */
export async function loadPerson(c) {
  const contactId = c?.contact?.id;
  if (!contactId) return;
  if (current?.conversationId === c.id && current?.contactId === contactId) return;
  current = { conversationId: c.id, contactId };
  $('#contact-history').replaceChildren(h('p', { class: 'muted small', text: t('common.loading') }));
  try {
    const person = await api('GET', contactPath(contactId));
    if (current?.contactId !== contactId) return;
    renderPerson(person, c.id);
  } catch (e) {
    if (current?.contactId === contactId) $('#contact-history').replaceChildren(h('p', { class: 'muted small', text: t('common.could_not_load') }));
  }
}

export function forgetPerson() {
  current = null;
}

function hint(value, source) {
  if (!value || !source || source === 'agent') return '';
  return t('profile.detected', { source: SOURCES()[source] || source });
}

function renderPerson(person, conversationId) {
  const c = person.contact;
  for (const f of FIELDS) $(`#profile-${f}`).value = c[f] || '';
  $('#profile-country-hint').textContent = hint(c.country, c.country_source);
  $('#profile-language-hint').textContent = hint(c.language, c.language_source);
  const web = [c.browser, c.os, c.device].filter(Boolean).join(' · ');
  $('#profile-browser').textContent = web;
  $('#profile-tz').textContent = c.time_zone || '';
  show($('#profile-web'), !!(web || c.time_zone));
  const link = $('#profile-link');
  show(link, !!c.link);
  if (c.link) {
    link.href = c.link;
    link.textContent = c.link.replace(/^https:\/\//, '');
  }
  renderConversations(person.conversations || [], conversationId);
  for (const fn of listeners) fn(person);
}

function renderConversations(list, openId) {
  $('#history-count').textContent = `(${list.length})`;
  $('#contact-history').replaceChildren(...(list.length ? list.map((x) => conversationItem(x, openId)) : [h('p', { class: 'muted small', text: t('profile.no_conversations') })]));
}

function conversationItem(x, openId) {
  const d = parseTime(x.last_message_at || x.created_at);
  return h('a', { class: `history-item${x.id === openId ? ' current' : ''}`, href: `#/c/${encodeURIComponent(x.id)}`, dataset: { id: x.id } },
    h('div', { class: 'history-top' },
      h('span', { class: `conv-status status-${x.status}`, text: { bot: t('status.bot'), human: t('status.human'), closed: t('status.closed') }[x.status] || x.status }),
      h('span', { class: 'muted', text: `${channelInfo(x).label} · ${fullTime(d)}` })),
    h('div', { class: 'history-preview', dir: 'auto', text: x.last_message_preview || '' }));
}

async function saveProfile(e) {
  e.preventDefault();
  if (!current) return;
  const body = {};
  for (const f of FIELDS) {
    const v = $(`#profile-${f}`).value.trim();
    body[f] = v || null;
  }
  const button = $('#profile-save');
  button.disabled = true;
  try {
    const person = await api('PATCH', contactPath(current.contactId), body);
    renderPerson(person, current.conversationId);
    toast(t('profile.saved'));
  } catch (err) {
    showError(err, t('profile.error_save'));
  } finally {
    button.disabled = false;
  }
}

/** The panel's tabs: Contact, Files and Activity. */
export function selectTab(name) {
  for (const tab of document.querySelectorAll('#contact-tabs [role="tab"]')) {
    const on = tab.dataset.tab === name;
    tab.setAttribute('aria-selected', on ? 'true' : 'false');
    show($(`#tab-${tab.dataset.tab}`), on);
  }
  document.dispatchEvent(new CustomEvent('contact-tab', { detail: name }));
}

export function bindProfile() {
  $('#profile-form').addEventListener('submit', saveProfile);
  for (const tab of document.querySelectorAll('#contact-tabs [role="tab"]')) {
    tab.addEventListener('click', () => selectTab(tab.dataset.tab));
  }
}

/** The contact whose person is shown. */
export const shownContact = () => current?.contactId || null;
