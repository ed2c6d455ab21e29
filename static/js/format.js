// Formatting shared by the modules: server times in the reader's zone, bidi isolation of names
// and customer text, how a contact and a channel are named, avatars.

import { h } from './dom.js';
import { lang, t } from './i18n.js';

// ---------------------------------------------------------------------------------------------
// Time. The server sends UTC times without a zone ("2026-11-21T05:50:29.113335").

export function parseTime(s) {
  if (!s) return null;
  let t = String(s).replace(/(\.\d{3})\d+/, '$1');
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(t)) t += 'Z';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Orders two server times exactly (to the microsecond), which Date cannot. */
export function timeKey(s) {
  if (!s) return '';
  const [whole, frac = ''] = String(s).replace(/Z$/i, '').split('.');
  return `${whole}.${frac.padEnd(9, '0')}`;
}

export const sameDay = (a, b) => a.toDateString() === b.toDateString();

/** "now", "5m", "3h", "Mon", "12 Mar", "12 Mar 2024": list timestamps. */
export function relTime(d) {
  if (!d) return '';
  const now = new Date();
  const secs = (now - d) / 1000;
  if (secs < 60) return t('time.now');
  if (secs < 3600) return t('time.m_short', { n: Math.floor(secs / 60) });
  if (secs < 86400) return t('time.h_short', { n: Math.floor(secs / 3600) });
  if (secs < 6 * 86400) return d.toLocaleDateString(lang, { weekday: 'short' });
  if (d.getFullYear() === now.getFullYear()) return d.toLocaleDateString(lang, { day: 'numeric', month: 'short' });
  return d.toLocaleDateString(lang, { day: 'numeric', month: 'short', year: 'numeric' });
}

export const clockTime = (d) => (d ? d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' }) : '');
export const fullTime = (d) => (d ? d.toLocaleString(lang, { dateStyle: 'medium', timeStyle: 'short' }) : '');

export function dayLabel(d) {
  const today = new Date();
  const yesterday = new Date(today.getTime() - 86400000);
  if (sameDay(d, today)) return t('time.today');
  if (sameDay(d, yesterday)) return t('time.yesterday');
  return d.toLocaleDateString(lang, {
    weekday: 'long', day: 'numeric', month: 'long',
    year: d.getFullYear() === today.getFullYear() ? undefined : 'numeric',
  });
}

/** "in 3h", "in 25m", "2h ago": for follow-ups. */
export function untilLabel(d) {
  const mins = Math.round((d - new Date()) / 60000);
  const abs = Math.abs(mins);
  const span = abs < 60
    ? t('time.m_short', { n: abs })
    : abs < 48 * 60 ? t('time.h_short', { n: Math.round(abs / 60) }) : t('time.d_short', { n: Math.round(abs / 1440) });
  return mins >= 0 ? t('time.in_span', { span }) : t('time.span_ago', { span });
}

/** "today, 14:30", "tomorrow, 09:00", else the date and time, in the reader's time zone. */
export function whenLabel(d) {
  const day = 86400000;
  const now = new Date();
  if (sameDay(d, now)) return t('time.today_at', { time: clockTime(d) });
  if (sameDay(d, new Date(now.getTime() + day))) return t('time.tomorrow_at', { time: clockTime(d) });
  if (sameDay(d, new Date(now.getTime() - day))) return t('time.yesterday_at', { time: clockTime(d) });
  return fullTime(d);
}

// ---------------------------------------------------------------------------------------------
// Bidi isolation: a name may hold right-to-left overrides (U+202E) or other bidi controls.
// Shown inline, it is isolated (<bdi>, or dir=auto with `unicode-bidi: isolate` in app.css)
// so it cannot reorder the text around it. Where only a string fits (placeholders, <option>),
// FSI…PDI do the same.

/** A person's name (or other customer/agent text) inside a sentence. */
export const bdi = (text) => h('bdi', { text: String(text ?? '') });

/** The same for plain strings: U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE. */
export const isolate = (text) => `\u2068${String(text ?? '')}\u2069`;

// ---------------------------------------------------------------------------------------------
// Contacts and channels

export const displayName = (c) =>
  c?.contact?.name || c?.contact?.phone || c?.contact?.email || (c?.contact?.external_id ? t('contact.visitor', { id: c.contact.external_id.slice(-6) }) : t('contact.unknown'));

function initials(name) {
  const parts = String(name).replace(/[^\p{L}\p{N}\s]/gu, '').trim().split(/\s+/).filter(Boolean);
  if (!parts.length) return '#';
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}

/** Channel kind as the agent thinks of it: Twilio carries both SMS and WhatsApp. */
export function channelInfo(c) {
  const ext = c?.contact?.external_id || '';
  switch (c?.network) {
    case 'sms': return { icon: 'sms', label: c.channel === 'twilio' ? 'SMS (Twilio)' : 'SMS', cls: 'ch-sms' };
    case 'whatsapp': return { icon: 'whatsapp', label: c.channel === 'twilio' ? 'WhatsApp (Twilio)' : 'WhatsApp', cls: 'ch-whatsapp' };
    case 'messenger': return { icon: 'meta', label: 'Messenger', cls: 'ch-meta' };
    case 'instagram': return { icon: 'meta', label: 'Instagram', cls: 'ch-instagram' };
    default: break;
  }
  // Older servers send no network: tell it from the channel and the address.
  switch (c?.channel) {
    case 'whatsapp': return { icon: 'whatsapp', label: 'WhatsApp', cls: 'ch-whatsapp' };
    case 'twilio':
      return /^whatsapp:/i.test(ext)
        ? { icon: 'whatsapp', label: 'WhatsApp (Twilio)', cls: 'ch-whatsapp' }
        : { icon: 'sms', label: 'SMS', cls: 'ch-sms' };
    case 'meta':
      return /instagram|^ig:/i.test(ext)
        ? { icon: 'meta', label: 'Instagram', cls: 'ch-instagram' }
        : { icon: 'meta', label: 'Messenger', cls: 'ch-meta' };
    case 'widget': return { icon: 'widget', label: t('channel.website_chat'), cls: 'ch-widget' };
    default: return { icon: 'api', label: 'API', cls: 'ch-api' };
  }
}

export const isSms = (c) => channelInfo(c).cls === 'ch-sms';

export function avatar(c, cls = 'avatar') {
  const name = displayName(c);
  // Initials come from a name only: a phone number's first digit says nothing ("1").
  const text = c?.contact?.name ? initials(c.contact.name) : '#';
  const el = h('div', { class: cls, 'aria-hidden': 'true', text });
  el.style.backgroundColor = `hsl(${hue(c?.contact?.id || name)} 55% 30%)`; // white text at 4.5:1 or more for every hue
  return el;
}

function hue(s) {
  let n = 0;
  for (const ch of String(s)) n = (n * 31 + ch.codePointAt(0)) >>> 0;
  return n % 360;
}
