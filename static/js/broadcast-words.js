// Broadcast statuses, pause and skip reasons in words, shared by the Broadcasts page
// (broadcasts.js, broadcast-detail.js) and the contact panel (contact-broadcasts.js).

import { t } from './i18n.js';

export const SKIP_WORDS = () => ({
  blocked: t('skip.blocked'),
  unsubscribed: t('skip.unsubscribed'),
  provider_opted_out: t('skip.provider_opted_out'),
  no_address: t('skip.no_address'),
  duplicate_address: t('skip.duplicate_address'),
  missing_field: t('skip.missing_field'),
});

export const skipWords = (reason) => SKIP_WORDS()[reason] || reason || t('skip.skipped');

const STATUSES = () => ({
  draft: t('bstatus.draft'),
  scheduled: t('bstatus.scheduled'),
  running: t('bstatus.running'),
  paused: t('bstatus.paused'),
  completed: t('bstatus.completed'),
  cancelled: t('bstatus.cancelled'),
});

/** "Paused by an agent", "Running"… */
export function broadcastStatusLabel(b) {
  if (b.status === 'paused') {
    return b.pause_reason === 'messaging_limit' ? t('bstatus.paused_limit') : t('bstatus.paused_agent');
  }
  return STATUSES()[b.status] || b.status.charAt(0).toUpperCase() + b.status.slice(1);
}

/** "12 unsubscribed, 1 blocked", or "" when nobody is skipped. */
export function skippedSummary(byReason) {
  return Object.entries(byReason || {})
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => t('skip.count', { n, reason: skipWords(reason) }))
    .join(', ');
}

/** Recipients who got it: sent, delivered or read (each counted once). */
export const reached = (counts) => (counts.sent || 0) + (counts.delivered || 0) + (counts.read || 0);

/** "1 h 5 min", "40 s". */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t('duration.s', { s });
  const m = Math.round(s / 60);
  if (m < 60) return t('duration.min', { min: m });
  return t('duration.h_min', { h: Math.floor(m / 60), min: m % 60 });
}
