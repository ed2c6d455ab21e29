// Page-wide bits of interface: toasts, the confirmation dialog, and which pane shows on a phone.

import { $, h } from './dom.js';
import { t } from './i18n.js';

/** `content`: a string, or text and nodes (names in <bdi>). */
export function toast(content, kind = 'info') {
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, content);
  $('#toasts').append(el);
  setTimeout(() => el.classList.add('toast-out'), 3800);
  setTimeout(() => el.remove(), 4200);
}

export function showError(e, prefix) {
  if (e?.status === 401) return;
  toast(prefix ? `${prefix}: ${e.message}` : e.message, 'error');
}

/** A modal yes/no; resolves true only on #confirm-ok. */
export function confirmDialog({ title, text, ok = t('common.delete') }) {
  const dialog = $('#confirm-dialog');
  $('#confirm-title').textContent = title;
  $('#confirm-text').replaceChildren(...[text].flat());
  $('#confirm-ok').textContent = ok;
  return new Promise((resolve) => {
    const done = (answer) => {
      dialog.removeEventListener('close', onClose);
      $('#confirm-ok').onclick = null;
      $('#confirm-cancel').onclick = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onClose = () => done(false);
    $('#confirm-ok').onclick = () => done(true);
    $('#confirm-cancel').onclick = () => done(false);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    $('#confirm-cancel').focus();
  });
}

/** The page the address names instead of the inbox (`segments`, `broadcasts`, `agents`…), or null. */
export function currentPage() {
  const m = location.hash.match(/^#\/(segments|broadcasts|canned|reports|knowledge|agents|account)(?:$|[/?])/);
  return m ? m[1] : null;
}

/** Shows the inbox panes only when no page is named; marks the nav item in use. */
export function routePanes() {
  const page = currentPage();
  $('#inbox-panes').hidden = !!page;
  $('#nav-inbox').classList.toggle('active', !page);
}

// Responsive panes: on a phone one pane shows at a time (body[data-view]).

export function setView(view) {
  document.body.dataset.view = view;
}

export const narrow = () => matchMedia('(max-width: 767px)').matches;
