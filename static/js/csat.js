// Customer satisfaction (CSAT, 1–5): the "★ 4" chip of a list row, the thread's rating events
// and the score on the latest "Resolved" card, and the contact panel's five stars with which
// an agent sets, corrects or clears the score (PUT /api/conversations/{id}/csat).
//
// The other modules only call in: list.js (csatChip), message.js (csatEvent), contact.js
// (bindCsat, renderCsat). Everything shown is built with h(): text nodes only.

import { api, convPath } from './api.js';
import { $, h } from './dom.js';
import { activeConv, upsertConversation } from './store.js';
import { showError } from './ui.js';
import { t, tn } from './i18n.js';

const LABELS = () => [t('csat.1'), t('csat.2'), t('csat.3'), t('csat.4'), t('csat.5')];

/** A score the server sent, as 1..5, or null for anything else. */
function score(v) {
  return Number.isInteger(v) && v >= 1 && v <= 5 ? v : null;
}

const starsText = (n) => '★'.repeat(n) + '☆'.repeat(5 - n);

/** The list row's chip: "★ 4", or nothing while unrated. */
export function csatChip(c) {
  const n = score(c.csat);
  if (!n) return null;
  return h('span', { class: `conv-csat csat-${n}`, title: t('csat.chip_title', { n, label: LABELS()[n - 1] }), text: `★ ${n}` });
}

/** A rating event of the thread as text and nodes (`actor(id, {start})` names who did it), or
 * null when it is not one. */
export function csatEvent(p, actor) {
  switch (p.event) {
    case 'csat_received': {
      const n = score(p.score);
      return n ? [t('csat.ev_received', { n }), ' ', h('span', { class: 'csat-stars-inline', 'aria-hidden': 'true', text: starsText(n) })] : null;
    }
    case 'csat_set': {
      const n = score(p.score);
      const who = actor(p.by || null, { start: true });
      return n ? tn('csat.ev_set', { who, n }) : tn('csat.ev_cleared', { who });
    }
    case 'csat_not_sent':
      return [t('csat.ev_not_sent', { hours: Number(p.window_hours) || 24 })];
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The latest "Resolved" card shows the score the closing earned (or that it was asked for).

let decorateFrame = 0;

function decorateClosedCard() {
  decorateFrame = 0;
  const thread = $('#thread');
  const c = activeConv();
  if (!thread) return;
  for (const old of thread.querySelectorAll('.csat-badge')) old.remove();
  if (!c || c.status !== 'closed') return;
  const cards = thread.querySelectorAll('.msg-system[data-event="closed"] .msg-system-inner');
  const card = cards[cards.length - 1];
  if (!card) return;
  const n = score(c.csat);
  if (n) {
    card.append(h('span', { class: `csat-badge csat-${n}`, title: t('csat.badge_title', { n, label: LABELS()[n - 1] }), text: `★ ${n}/5` }));
  } else if (c.csat_requested_at) {
    card.append(h('span', { class: 'csat-badge csat-waiting', title: t('csat.asked_title'), text: t('csat.asked') }));
  }
}

function decorateSoon() {
  if (!decorateFrame) decorateFrame = requestAnimationFrame(decorateClosedCard);
}

// ---------------------------------------------------------------------------------------------
// The contact panel

let section = null;

/** Shows the open conversation's score in the panel's stars. */
export function renderCsat(c) {
  if (!section) return;
  const n = score(c?.csat);
  for (const b of section.querySelectorAll('button[data-score]')) {
    const v = Number(b.dataset.score);
    b.classList.toggle('on', !!n && v <= n);
    b.setAttribute('aria-pressed', String(v === n));
  }
  $('#csat-value').textContent = n ? `${n}/5 · ${LABELS()[n - 1]}` : c?.csat_requested_at ? t('csat.asked_no_answer') : t('csat.not_rated');
  $('#csat-clear').hidden = !n;
  decorateSoon();
}

async function setScore(value) {
  const c = activeConv();
  if (!c) return;
  try {
    upsertConversation(await api('PUT', convPath(c.id, '/csat'), { score: value }));
  } catch (e) {
    showError(e, t('csat.error'));
  }
}

/** Adds the panel's "Satisfaction" section after the lead stage (contact.js renders it with
 * the rest of the panel), and keeps the thread's latest "Resolved" card showing the score. */
export function bindCsat() {
  const stars = [1, 2, 3, 4, 5].map((n) => h('button', {
    class: 'csat-star', type: 'button', dataset: { score: String(n) },
    title: `${n}/5 · ${LABELS()[n - 1]}`, 'aria-label': t('csat.set_label', { n, label: LABELS()[n - 1] }),
    onclick: () => setScore(n), text: '★',
  }));
  section = h('section', { class: 'side-section csat-section', id: 'csat-section' },
    h('h3', { text: t('csat.title') }),
    h('div', { class: 'csat-row' },
      h('div', { class: 'csat-stars', role: 'group', 'aria-label': t('csat.score') }, stars),
      h('span', { id: 'csat-value', class: 'muted small' }),
      h('button', { id: 'csat-clear', class: 'link-btn', type: 'button', text: t('common.clear'), hidden: true, onclick: () => setScore(null) })));
  const after = $('#lead-stage')?.closest('section');
  if (after) after.after(section);
  else $('#contact-body')?.append(section);
  // Messages come and go (paging, a reload, live ones): the card is found again each time.
  const thread = $('#thread');
  if (thread) new MutationObserver(decorateSoon).observe(thread, { childList: true });
}
