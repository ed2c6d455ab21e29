// The composer's emoji picker: a small popover of common emoji in categories, no dependency.
// The button (or Enter, Space or ↓ on it) opens it with the first emoji focused; the arrows move
// (← → one, ↑ ↓ a row), Home and End jump, Enter or a click inserts at the caret of the message
// box, Escape closes; either way focus goes back to the message box.

import { $, $$, h, show } from './dom.js';
import { t } from './i18n.js';


const COLUMNS = 8;

const CATEGORIES = [
  ['smileys', [
    ['😀', 'grinning face'], ['😃', 'smiling face with big eyes'], ['😄', 'smiling face with smiling eyes'], ['😁', 'beaming face'],
    ['😆', 'laughing'], ['😅', 'grinning face with sweat'], ['😂', 'tears of joy'], ['🙂', 'slightly smiling face'],
    ['😉', 'winking face'], ['😊', 'smiling face'], ['😇', 'smiling face with halo'], ['🥰', 'smiling face with hearts'],
    ['😍', 'heart eyes'], ['😘', 'blowing a kiss'], ['😋', 'yum'], ['😎', 'sunglasses'],
    ['🤩', 'star-struck'], ['🤔', 'thinking face'], ['🤗', 'hugging face'], ['😐', 'neutral face'],
    ['😴', 'sleeping face'], ['😌', 'relieved face'], ['😕', 'confused face'], ['😟', 'worried face'],
    ['😮', 'face with open mouth'], ['😢', 'crying face'], ['😭', 'loudly crying face'], ['😤', 'face with steam'],
    ['😡', 'angry face'], ['🤯', 'exploding head'], ['😳', 'flushed face'], ['🥳', 'partying face'],
  ]],
  ['gestures', [
    ['👍', 'thumbs up'], ['👎', 'thumbs down'], ['👌', 'OK hand'], ['✌️', 'victory hand'],
    ['🤞', 'crossed fingers'], ['👏', 'clapping hands'], ['🙌', 'raising hands'], ['👋', 'waving hand'],
    ['🙏', 'folded hands'], ['🤝', 'handshake'], ['💪', 'flexed biceps'], ['👉', 'pointing right'],
    ['👈', 'pointing left'], ['👆', 'pointing up'], ['👇', 'pointing down'], ['✋', 'raised hand'],
  ]],
  ['hearts', [
    ['❤️', 'red heart'], ['🧡', 'orange heart'], ['💛', 'yellow heart'], ['💚', 'green heart'],
    ['💙', 'blue heart'], ['💜', 'purple heart'], ['🖤', 'black heart'], ['💔', 'broken heart'],
  ]],
  ['objects', [
    ['🎉', 'party popper'], ['🎁', 'gift'], ['🎂', 'birthday cake'], ['☕', 'hot beverage'],
    ['📦', 'package'], ['🚚', 'delivery truck'], ['📅', 'calendar'], ['⏰', 'alarm clock'],
    ['📞', 'telephone'], ['📧', 'e-mail'], ['💳', 'credit card'], ['💰', 'money bag'],
    ['🛒', 'shopping cart'], ['🔑', 'key'], ['🔒', 'locked'], ['📎', 'paperclip'],
    ['📝', 'memo'], ['📷', 'camera'], ['💡', 'light bulb'], ['🔧', 'wrench'],
    ['🏠', 'house'], ['✈️', 'airplane'], ['🚗', 'car'], ['🌟', 'glowing star'],
  ]],
  ['symbols', [
    ['✅', 'check mark button'], ['✔️', 'check mark'], ['❌', 'cross mark'], ['⚠️', 'warning'],
    ['❓', 'question mark'], ['❗', 'exclamation mark'], ['💯', 'hundred points'], ['🔥', 'fire'],
    ['✨', 'sparkles'], ['⭐', 'star'], ['🆗', 'OK button'], ['🆕', 'NEW button'],
    ['➡️', 'right arrow'], ['⬅️', 'left arrow'], ['🔁', 'repeat'], ['⏳', 'hourglass'],
  ]],
];

/** The categories' headings; the emoji's own names (their labels) are English for now. */
const CATEGORY_TITLES = () => ({
  smileys: t('emoji.smileys'),
  gestures: t('emoji.gestures'),
  hearts: t('emoji.hearts'),
  objects: t('emoji.objects'),
  symbols: t('emoji.symbols'),
});

let caret = null; // [start, end] of the message box when the picker opened

function buttons() {
  return $$('#emoji-picker .emoji-option');
}

function focusAt(i) {
  const all = buttons();
  if (!all.length) return;
  const n = Math.max(0, Math.min(all.length - 1, i));
  all.forEach((b, j) => b.setAttribute('tabindex', j === n ? '0' : '-1'));
  all[n].focus();
}

export const pickerOpen = () => !$('#emoji-picker').hidden;

export function openPicker() {
  const input = $('#composer-input');
  if (input.disabled) return;
  caret = [input.selectionStart ?? input.value.length, input.selectionEnd ?? input.value.length];
  show($('#emoji-picker'), true);
  $('#composer-emoji').setAttribute('aria-expanded', 'true');
  focusAt(0);
}

export function closePicker({ refocus = true } = {}) {
  if (!pickerOpen()) return;
  show($('#emoji-picker'), false);
  $('#composer-emoji').setAttribute('aria-expanded', 'false');
  if (refocus) {
    const input = $('#composer-input');
    input.focus();
    if (caret) input.setSelectionRange(caret[0], caret[1]);
  }
}

/** Inserts at the caret the message box had when the picker opened; input listeners run. */
function insert(emoji) {
  const input = $('#composer-input');
  const [start, end] = caret || [input.value.length, input.value.length];
  input.setRangeText(emoji, start, end, 'end');
  caret = [input.selectionStart, input.selectionEnd];
  closePicker();
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

function build() {
  const picker = $('#emoji-picker');
  let index = 0;
  picker.replaceChildren(...CATEGORIES.map(([category, list]) => {
    const id = `emoji-cat-${category}`;
    const title = CATEGORY_TITLES()[category];
    return h('div', { class: 'emoji-cat', role: 'group', 'aria-labelledby': id },
      h('div', { class: 'emoji-cat-title', id, text: title }),
      h('div', { class: 'emoji-grid' }, list.map(([emoji, name]) => h('button', {
        class: 'emoji-option',
        type: 'button',
        tabindex: index++ === 0 ? '0' : '-1',
        'aria-label': name,
        title: name,
        dataset: { emoji },
        text: emoji,
      }))));
  }));
}

function onPickerKeydown(e) {
  const all = buttons();
  const i = all.indexOf(document.activeElement);
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
  if (e.key in moves) {
    e.preventDefault();
    focusAt((i < 0 ? 0 : i) + moves[e.key]);
  } else if (e.key === 'Home' || e.key === 'End') {
    e.preventDefault();
    focusAt(e.key === 'Home' ? 0 : all.length - 1);
  } else if ((e.key === 'Enter' || e.key === ' ') && i >= 0) {
    e.preventDefault();
    insert(all[i].dataset.emoji);
  } else if (e.key === 'Escape') {
    e.preventDefault();
    e.stopPropagation();
    closePicker();
  } else if (e.key === 'Tab') {
    closePicker({ refocus: false });
  }
}

export function bindEmoji() {
  build();
  const button = $('#composer-emoji');
  const picker = $('#emoji-picker');
  button.addEventListener('click', () => (pickerOpen() ? closePicker() : openPicker()));
  button.addEventListener('keydown', (e) => {
    if (['Enter', ' ', 'ArrowDown'].includes(e.key)) {
      e.preventDefault();
      if (!pickerOpen()) openPicker();
      else focusAt(0);
    }
  });
  picker.addEventListener('keydown', onPickerKeydown);
  picker.addEventListener('click', (e) => {
    const b = e.target.closest('.emoji-option');
    if (b) insert(b.dataset.emoji);
  });
  document.addEventListener('pointerdown', (e) => {
    if (pickerOpen() && !picker.contains(e.target) && !button.contains(e.target)) closePicker({ refocus: false });
  });
}
