// The contact panel's Activity tab: the person's timeline, newest first, a page at a time
// (Load more follows next_cursor), with a note box at the top. Notes and every other text
// from the server are set as text, never as markup.

import { api } from './api.js';
import { $, h, show } from './dom.js';
import { fullTime, parseTime } from './format.js';
import { onPerson, shownContact } from './profile.js';
import { showError } from './ui.js';

const PAGE = 20;

const LABELS = {
  conversation_started: 'Conversation started',
  handed_off: 'Handed off to a person',
  assigned: 'Assigned',
  closed: 'Closed',
  reopened: 'Reopened',
  note_added: 'Note',
  file_uploaded: 'File uploaded',
  profile_edited: 'Profile edited',
  blocked: 'Blocked',
  unblocked: 'Unblocked',
  segment_added: 'Added to a segment',
  segment_removed: 'Removed from a segment',
  broadcast_received: 'Broadcast received',
  unsubscribed: 'Unsubscribed',
  resubscribed: 'Resubscribed',
  referral_captured: 'Referral',
};

const REFERRALS = {
  ctwa_ad: 'Click-to-WhatsApp ad',
  ctwa_post: 'Click-to-WhatsApp post',
  messenger_ad: 'Messenger / Instagram ad',
  m_me: 'm.me link',
  ig_me: 'ig.me link',
  product: 'Catalog product',
  widget_utm: 'Website visit',
};

let shownFor = null;
let cursor = null;
let visible = false;

function describe(a) {
  const d = a.detail || {};
  if (a.kind === 'note_added') return d.text || '';
  if (a.kind === 'assigned') return d.to_name ? `To ${d.to_name}` : (d.to ? '' : 'Unassigned');
  if (a.kind === 'profile_edited') {
    return (d.changes || []).map((c) => `${c.field}: ${c.from ?? '—'} → ${c.to ?? '—'}`).join('; ');
  }
  if (a.kind === 'file_uploaded') return d.name || '';
  if (a.kind === 'handed_off') return d.reason?.kind ? d.reason.kind.replace(/_/g, ' ') : '';
  if (a.kind === 'referral_captured') {
    return [REFERRALS[d.kind] || d.kind, d.headline, d.ref && `ref ${d.ref}`, d.utm_source, d.utm_campaign]
      .filter(Boolean).join(' · ');
  }
  if ((a.kind === 'unsubscribed' || a.kind === 'resubscribed') && d.by) {
    return d.by === 'provider' ? `By the provider${d.reason ? ` (${d.reason})` : ''}` : `By ${d.by}`;
  }
  return '';
}

function item(a) {
  const by = a.detail?.by_name;
  return h('li', { class: `activity-item activity-${a.kind}`, dataset: { kind: a.kind } },
    h('div', { class: 'activity-top' },
      h('span', { class: 'activity-kind', text: LABELS[a.kind] || a.kind }),
      h('span', { class: 'muted small', text: fullTime(parseTime(a.at)) })),
    h('div', { class: 'activity-text', dir: 'auto', text: describe(a) }),
    by ? h('div', { class: 'muted small', text: `by ${by}` }) : null);
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
    showError(e, 'Could not load the activity');
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
    showError(err, 'Could not add the note');
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
