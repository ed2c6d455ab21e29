// Snooze: put the open conversation aside until a time or until the customer writes. It
// leaves every view but "Snoozed" and comes back by itself (the server's timer), when the
// customer writes, or when someone wakes it from the banner. `s` opens the menu.

import { api, convPath } from './api.js';
import { $, $$, show } from './dom.js';
import { fullTime, parseTime } from './format.js';
import { activeConv, upsertConversation } from './store.js';
import { navigate } from './thread.js';
import { showError, toast } from './ui.js';
import { t } from './i18n.js';

/** Tomorrow (or `days` ahead) at 9:00 in the agent's own time zone. */
function morning(days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  d.setHours(9, 0, 0, 0);
  return d;
}

/** Next Monday at 9:00. */
function nextWeek() {
  const d = new Date();
  return morning(((8 - d.getDay()) % 7) || 7);
}

const PRESETS = {
  '1h': () => new Date(Date.now() + 3600e3),
  '3h': () => new Date(Date.now() + 3 * 3600e3),
  tomorrow: () => morning(1),
  'next-week': nextWeek,
  customer: () => null,
};

export function toggleSnoozeMenu(open) {
  const menu = $('#snooze-menu');
  const willOpen = open ?? menu.hidden;
  if (willOpen && !activeConv()) return;
  show(menu, willOpen);
  $('#snooze-button').setAttribute('aria-expanded', String(willOpen));
  if (willOpen) {
    const d = morning(1);
    $('#snooze-at').min = localInput(new Date(Date.now() + 60e3));
    if (!$('#snooze-at').value) $('#snooze-at').value = localInput(d);
    $('#snooze-menu [role="menuitem"]')?.focus();
  }
}

/** A Date as a `datetime-local` value, in local time. */
function localInput(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

async function snooze(until) {
  toggleSnoozeMenu(false);
  const c = activeConv();
  if (!c) return;
  try {
    const body = until ? { until: until.toISOString() } : {};
    upsertConversation(await api('POST', convPath(c.id, '/snooze'), body));
    toast(until ? t('snooze.done_until', { time: fullTime(until) }) : t('snooze.done_customer'));
    // Out of the open views: back to the list, ready for the next one.
    navigate('#/');
    setTimeout(() => ($('#conv-list .conv-item') || $('#search'))?.focus(), 0);
  } catch (e) {
    showError(e, t('snooze.error'));
    $('#snooze-button').focus();
  }
}

function snoozeCustom() {
  const value = $('#snooze-at').value;
  const at = value ? new Date(value) : null;
  if (!at || Number.isNaN(at.getTime())) {
    toast(t('snooze.pick_time'), 'error');
    return;
  }
  if (at <= new Date()) {
    toast(t('snooze.future'), 'error');
    return;
  }
  snooze(at);
}

async function wake() {
  const c = activeConv();
  if (!c) return;
  try {
    upsertConversation(await api('DELETE', convPath(c.id, '/snooze')));
    toast(t('snooze.woken'));
  } catch (e) {
    showError(e, t('snooze.error_wake'));
  }
}

/** "Snoozed until Tue 9:00 AM" (or "until the customer writes") with Wake now, above the composer. */
export function renderSnoozeBanner(c) {
  const banner = $('#snooze-banner');
  show(banner, !!c?.snoozed);
  $('#snooze-button').disabled = !c || c.status === 'closed';
  if (!c?.snoozed) return;
  const until = parseTime(c.snoozed_until);
  $('#snooze-banner-text').textContent = until ? t('snooze.banner_until', { time: fullTime(until) }) : t('snooze.banner_customer');
}

/** Up and down move between the menu's items; Escape closes it and gives the focus back. */
function onMenuKeydown(e) {
  if (e.key === 'Escape') {
    e.preventDefault();
    e.stopPropagation();
    toggleSnoozeMenu(false);
    $('#snooze-button').focus();
    return;
  }
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
  const items = $$('#snooze-menu [role="menuitem"]');
  const i = items.indexOf(document.activeElement);
  if (i < 0) return;
  e.preventDefault();
  items[(i + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length].focus();
}

export function bindSnooze() {
  $('#snooze-button').addEventListener('click', () => toggleSnoozeMenu());
  for (const b of $$('#snooze-menu [data-snooze]')) b.addEventListener('click', () => snooze(PRESETS[b.dataset.snooze]()));
  $('#snooze-custom').addEventListener('click', snoozeCustom);
  $('#snooze-menu').addEventListener('keydown', onMenuKeydown);
  $('#snooze-wake').addEventListener('click', wake);
}
