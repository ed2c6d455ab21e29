// The contact panel's Activity tab: the person's timeline, newest first, a page at a time
// (Load more follows next_cursor), with a note box at the top. Notes and every other text
// from the server are set as text, never as markup.

import { api } from './api.js';
import { $, h, show } from './dom.js';
import { fullTime, parseTime } from './format.js';
import { onPerson, shownContact } from './profile.js';
import { showError } from './ui.js';
import { t } from './i18n.js';

const PAGE = 20;

const LABELS = () => ({
  conversation_started: t('activity.conversation_started'),
  handed_off: t('activity.handed_off'),
  assigned: t('activity.assigned'),
  closed: t('activity.closed'),
  reopened: t('activity.reopened'),
  note_added: t('activity.note_added'),
  file_uploaded: t('activity.file_uploaded'),
  profile_edited: t('activity.profile_edited'),
  blocked: t('activity.blocked'),
  unblocked: t('activity.unblocked'),
  segment_added: t('activity.segment_added'),
  segment_removed: t('activity.segment_removed'),
  broadcast_received: t('activity.broadcast_received'),
  unsubscribed: t('activity.unsubscribed'),
  resubscribed: t('activity.resubscribed'),
  referral_captured: t('activity.referral_captured'),
});

/** Where a referral came from. */
const REFERRALS = () => ({
  ctwa_ad: t('referral.ctwa_ad'),
  ctwa_post: t('referral.ctwa_post'),
  messenger_ad: t('referral.messenger_ad'),
  m_me: t('referral.m_me'),
  ig_me: t('referral.ig_me'),
  product: t('referral.product'),
  widget_utm: t('referral.widget_utm'),
});

let shownFor = null;
let cursor = null;
let visible = false;

function describe(a) {
  const d = a.detail || {};
  if (a.kind === 'note_added') return d.text || '';
  if (a.kind === 'assigned') return d.to_name ? t('activity.to', { name: d.to_name }) : (d.to ? '' : t('thread.unassigned'));
  if (a.kind === 'profile_edited') {
    return (d.changes || []).map((c) => `${c.field}: ${c.from ?? '—'} → ${c.to ?? '—'}`).join('; ');
  }
  if (a.kind === 'file_uploaded') return d.name || '';
  if (a.kind === 'handed_off') return d.reason?.kind ? d.reason.kind.replace(/_/g, ' ') : '';
  if (a.kind === 'referral_captured') {
    return [REFERRALS()[d.kind] || d.kind, d.headline, d.ref && `ref ${d.ref}`, d.utm_source, d.utm_campaign]
      .filter(Boolean).join(' · ');
  }
  if ((a.kind === 'unsubscribed' || a.kind === 'resubscribed') && d.by) {
    return d.by === 'provider' ? `${t('activity.by_provider')}${d.reason ? ` (${d.reason})` : ''}` : t('activity.by_cap', { name: d.by });
  }
  return '';
}

function item(a) {
  const by = a.detail?.by_name;
  return h('li', { class: `activity-item activity-${a.kind}`, dataset: { kind: a.kind } },
    h('div', { class: 'activity-top' },
      h('span', { class: 'activity-kind', text: LABELS()[a.kind] || a.kind }),
      h('span', { class: 'muted small', text: fullTime(parseTime(a.at)) })),
    h('div', { class: 'activity-text', dir: 'auto', text: describe(a) }),
    by ? h('div', { class: 'muted small', text: t('activity.by', { name: by }) }) : null);
}

async function loadPage(contactId, append) {
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (append && cursor) params.set('cursor', cursor);
  try {
    const page = await api('GET', `/api/contacts/${encodeURIComponent(contactId)}/activity?${params}`);
    if (shownFor !== contactId) return;
    const list = $('#activity-list');
    const items = page.items.map(item);
    if (append) list.append(...items);
    else list.replaceChildren(...items);
    show($('#activity-empty'), !append && !page.items.length);
    cursor = page.next_cursor;
    show($('#activity-more'), !!cursor);
  } catch (e) {
    showError(e, t('activity.error_load'));
  }
}

/** Shows the timeline of the contact in the panel (reloads when the contact changed). */
export function refreshActivity(force = false) {
  const contactId = shownContact();
  if (!visible || !contactId) return;
  if (!force && shownFor === contactId) return;
  shownFor = contactId;
  cursor = null;
  loadPage(contactId, false);
}

async function addNote(e) {
  e.preventDefault();
  const contactId = shownContact();
  const input = $('#activity-note');
  const text = input.value.trim();
  if (!contactId || !text) return;
  try {
    await api('POST', `/api/contacts/${encodeURIComponent(contactId)}/notes`, { text });
    input.value = '';
    refreshActivity(true);
  } catch (err) {
    showError(err, t('activity.error_note'));
  }
}

export function bindActivity() {
  $('#activity-form').addEventListener('submit', addNote);
  $('#activity-more').addEventListener('click', () => shownFor && loadPage(shownFor, true));
  onPerson(() => refreshActivity(true));
  document.addEventListener('contact-tab', (e) => {
    visible = e.detail === 'activity';
    refreshActivity();
  });
}
