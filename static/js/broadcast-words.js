// Broadcast statuses, pause and skip reasons in words, shared by the Broadcasts page
// (broadcasts.js, broadcast-detail.js) and the contact panel (contact-broadcasts.js).

export const SKIP_WORDS = {
  blocked: 'blocked',
  unsubscribed: 'unsubscribed',
  provider_opted_out: 'opted out at the provider',
  no_address: 'no address on this channel',
  duplicate_address: 'same address as another contact',
  missing_field: 'a placeholder field is missing (no fallback)',
};

export const skipWords = (reason) => SKIP_WORDS[reason] || reason || 'skipped';

/** "Paused by an agent", "Running"… */
export function broadcastStatusLabel(b) {
  if (b.status === 'paused') {
    return b.pause_reason === 'messaging_limit' ? 'Paused: messaging limit reached' : 'Paused by an agent';
  }
  return b.status.charAt(0).toUpperCase() + b.status.slice(1);
}

/** "12 unsubscribed, 1 blocked", or "" when nobody is skipped. */
export function skippedSummary(byReason) {
  return Object.entries(byReason || {})
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n} ${skipWords(reason)}`)
    .join(', ');
}

/** Recipients who got it: sent, delivered or read (each counted once). */
export const reached = (counts) => (counts.sent || 0) + (counts.delivered || 0) + (counts.read || 0);

/** "1 h 5 min", "40 s". */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
