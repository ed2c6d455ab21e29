// Keyboard first: j/k (and the arrows) move through the list and open, r replies, n writes a
// note, e resolves, a assigns to me, h takes over, b hands back to the bot, s snoozes, / searches, ? shows
// this sheet. Keys act only when no text field has the focus; Escape leaves the composer for
// the list. A conversation opened by a click or Enter puts the focus in the composer (on a
// wide screen: on a phone it would raise the keyboard over the thread).

import { api } from './api.js';
import { $, $$, h } from './dom.js';
import { activeConv, state, upsertConversation } from './store.js';
import { currentPage, showError, toast } from './ui.js';
import { openNewConversation } from './new-conversation.js';
import { t } from './i18n.js';

const SHORTCUTS = () => [
  ['j  ↓', t('keys.next')],
  ['k  ↑', t('keys.previous')],
  ['Enter', t('keys.open')],
  ['r', t('keys.reply')],
  ['n', t('keys.note')],
  ['e', t('keys.resolve')],
  ['a', t('keys.assign')],
  ['h', t('keys.take_over')],
  ['b', t('keys.hand_back')],
  ['s', t('keys.snooze')],
  ['c', t('keys.new')],
  ['/', t('keys.search')],
  ['Esc', t('keys.leave_composer')],
  ['?', t('keys.this_sheet')],
];

const wide = () => matchMedia('(min-width: 768px)').matches;
const typingIn = (el) => !!el?.closest?.('input, textarea, select, [contenteditable="true"]');
// A menu, popover or picker with the focus takes its own keys: a letter there must not resolve
// or hand back the conversation behind it.
const inPopup = (el) => !!el?.closest?.('[role="menu"], [role="dialog"], .popover, dialog');

/** Opens the conversation `delta` rows away from the open (or focused) one, keeping the focus
 * in the list so the next key moves on again. */
function move(delta) {
  const items = $$('#conv-list .conv-item');
  if (!items.length) return;
  const from = items.findIndex((el) => el.dataset.id === state.activeId || el === document.activeElement);
  const to = from < 0 ? (delta > 0 ? 0 : items.length - 1) : Math.min(items.length - 1, Math.max(0, from + delta));
  const el = items[to];
  el.focus({ preventScroll: true });
  el.scrollIntoView({ block: 'nearest' });
  if (el.dataset.id !== state.activeId) location.hash = el.getAttribute('href');
}

function toComposer() {
  const input = $('#composer-input');
  if (activeConv() && !input.disabled) input.focus();
}

function status(to) {
  if (activeConv()) $(`.status-switch button[data-status="${to}"]`)?.click();
}

async function assignToMe() {
  const c = activeConv();
  if (!c || c.assignee_id === state.me?.id) return;
  try {
    upsertConversation(await api('POST', `/api/conversations/${encodeURIComponent(c.id)}/assign`, { agent_id: state.me.id }));
    toast(t('keys.assigned'));
  } catch (e) {
    showError(e, t('keys.error_assign'));
  }
}

function help() {
  const dialog = $('#keys-dialog');
  if (dialog.open) return;
  $('#keys-list').replaceChildren(...SHORTCUTS().map(([keys, what]) =>
    h('div', { class: 'keys-row' },
      h('dt', {}, ...keys.split('  ').map((k) => h('kbd', { text: k }))),
      h('dd', { text: what }))));
  dialog.showModal();
}

function onKey(e) {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === 'Escape' && e.target === $('#composer-input')) {
    e.target.blur();
    ($('#conv-list .conv-item.active') || $('#conv-list .conv-item'))?.focus();
    return;
  }
  if (typingIn(e.target) || inPopup(e.target) || $('#keys-dialog').open || $('#confirm-dialog').open) return;
  if ($('#new-conv-dialog').open) return;
  if (currentPage() || !state.me || state.selecting) return;
  const act = {
    j: () => move(1), ArrowDown: () => move(1),
    k: () => move(-1), ArrowUp: () => move(-1),
    r: toComposer,
    n: () => { if (activeConv()) $('#composer-note').click(); },
    e: () => status('closed'),
    h: () => status('human'),
    b: () => status('bot'),
    c: openNewConversation,
    a: assignToMe,
    s: () => { if (activeConv()) $('#snooze-button').click(); },
    '/': () => $('#search').focus(),
    '?': help,
  }[e.key];
  if (!act) return;
  e.preventDefault();
  act();
}

export function bindKeys() {
  document.addEventListener('keydown', onKey);
  $('#keys-close').addEventListener('click', () => $('#keys-dialog').close());
  $('#keys-open').addEventListener('click', help);
  // A click or Enter on a row opens it to be answered.
  $('#conv-list').addEventListener('click', (e) => {
    if (state.selecting || !e.target.closest('.conv-item') || !wide()) return;
    setTimeout(toComposer, 0);
  });
}
