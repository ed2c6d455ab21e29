// The contact panel's Broadcasts section: the broadcasts the person was in, newest first, with
// what happened to their message (sent, delivered, read, failed with the provider's code,
// skipped with the reason, replied) and when.
//
// contact.js calls in: contactBroadcastsChanged(c) on every render, forgetContactBroadcasts()
// when the thread closes. Names and error titles are rendered as text only.

import { api } from './api.js';
import { skipWords } from './broadcast-words.js';
import { $, h, show } from './dom.js';
import { fullTime, parseTime } from './format.js';
import { t } from './i18n.js';

let shownFor = null; // the contact whose broadcasts are shown
let request = 0;

export function forgetContactBroadcasts() {
  shownFor = null;
  request++;
  $('#contact-broadcasts').replaceChildren();
  show($('#contact-broadcasts-empty'), false);
}

export function contactBroadcastsChanged(c) {
  const id = c.contact?.id;
  if (!id || shownFor === id) return;
  shownFor = id;
  load(id);
}

async function load(contactId) {
  const req = ++request;
  try {
    const { items } = await api('GET', `/api/contacts/${encodeURIComponent(contactId)}/broadcasts`);
    if (req !== request) return;
    render(items || []);
  } catch {
    if (req === request) $('#contact-broadcasts').replaceChildren(h('li', { class: 'muted small', text: t('cb.error') }));
  }
}

/** What happened to the person's message, in words, and when. */
function outcome(r) {
  if (r.status === 'skipped') return [t('cb.skipped', { reason: skipWords(r.skip_reason) }), null];
  if (r.status === 'failed') {
    const why = [r.error_code, r.error_title].filter(Boolean).join(' ');
    return [why ? t('cb.failed_why', { why }) : t('msg.failed'), r.failed_at];
  }
  if (r.replied_at) return [t('cb.replied'), r.replied_at];
  if (r.status === 'read') return [t('msg.read'), r.read_at];
  if (r.status === 'delivered') return [t('msg.delivered'), r.delivered_at];
  if (r.status === 'sent') return [t('msg.sent'), r.sent_at];
  if (r.status === 'unknown') return [t('cb.unknown'), r.sent_at];
  return [t('cb.not_sent'), null];
}

function render(items) {
  show($('#contact-broadcasts-empty'), !items.length);
  $('#contact-broadcasts').replaceChildren(...items.map((r) => {
    const [what, at] = outcome(r);
    const when = parseTime(at);
    return h('li', { class: `contact-broadcast status-${r.status}`, dataset: { id: r.broadcast_id, status: r.status } },
      h('strong', { dir: 'auto', text: r.name }),
      h('span', { class: 'contact-broadcast-outcome', dir: 'auto', text: what }),
      when && h('time', { class: 'muted small', text: fullTime(when) }));
  }));
}
