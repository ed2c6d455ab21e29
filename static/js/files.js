// The person's files: the contact panel's Files tab (search by name, Load more following
// next_cursor, Upload) and the Contact tab's preview of the five most recent, whose "See all"
// opens the tab. One list from GET /api/contacts/{id}/files: files sent and received in the
// person's conversations on every channel, and files agents uploaded to them.
//
// File names are customer and agent text: they reach the page only as text (h(), textContent).
// Files need the agent's token, so images are shown and files opened from blob: URLs
// (mediaBlob), as attachments in the thread are.

import { api, ApiError, mediaBlob } from './api.js';
import { $, h, icon, show } from './dom.js';
import { channelInfo, fullTime, parseTime } from './format.js';
import { onPerson, selectTab, shownContact } from './profile.js';
import { endSession, state } from './store.js';
import { showError, toast } from './ui.js';
import { t } from './i18n.js';

const PAGE = 20;
const PREVIEW = 5;
const SEARCH_DELAY_MS = 250;

let shownFor = null; // the contact whose list the tab shows
let cursor = null;
let visible = false;
let searchTimer = null;

const filesPath = (contactId, params) => `/api/contacts/${encodeURIComponent(contactId)}/files?${params}`;

/** "12 KB", "3.4 MB". */
function size(bytes) {
  if (!Number.isFinite(bytes)) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const isImage = (f) => /^image\//.test(f.mime || '');

/** Where the file came from: "Received · WhatsApp", "Sent · SMS", "Uploaded by Ana". */
function origin(f) {
  if (f.source === 'upload') return t('files.uploaded_by', { name: f.uploaded_by?.name || t('files.former_agent') });
  const channel = channelInfo({ channel: f.channel }).label;
  return `${f.direction === 'inbound' ? t('files.received') : t('files.sent')} · ${channel}`;
}

function stateNote(f) {
  if (f.state === 'downloading') return t('files.downloading');
  if (f.state === 'failed') return t('files.not_downloaded');
  return '';
}

async function openFile(f) {
  try {
    const url = await mediaBlob(f.url);
    const a = h('a', { href: url, target: '_blank', rel: 'noopener' });
    if (!isImage(f) && !/^(audio|video)\//.test(f.mime || '')) a.download = f.name || 'file';
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    toast(t('msg.error_open_file', { error: e.message }), 'error');
  }
}

function thumb(f) {
  const box = h('span', { class: 'file-thumb', 'aria-hidden': 'true' });
  if (f.url && isImage(f)) {
    const img = h('img', { alt: '' });
    box.append(img);
    mediaBlob(f.url).then((src) => { img.src = src; }, () => img.remove());
  } else {
    box.append(icon('download', 'icon icon-xs'));
  }
  return box;
}

function item(f) {
  const meta = [origin(f), size(f.size), fullTime(parseTime(f.created_at)), stateNote(f)].filter(Boolean).join(' · ');
  return h('li', { class: 'file-row', dataset: { id: f.id, source: f.source } },
    h('button', {
      class: 'file-item',
      type: 'button',
      title: f.error || f.mime || '',
      disabled: !f.url,
      onclick: () => f.url && openFile(f),
    },
    thumb(f),
    h('span', { class: 'file-info' },
      h('div', { class: 'file-name', dir: 'auto', text: f.name }),
      h('div', { class: 'file-meta', text: meta }))));
}

async function loadPage(contactId, append) {
  const params = new URLSearchParams({ limit: String(PAGE) });
  const q = $('#files-q').value.trim();
  if (q) params.set('q', q);
  if (append && cursor) params.set('cursor', cursor);
  try {
    const page = await api('GET', filesPath(contactId, params));
    if (shownFor !== contactId || q !== $('#files-q').value.trim()) return;
    const items = page.items.map(item);
    if (append) $('#files-list').append(...items);
    else $('#files-list').replaceChildren(...items);
    show($('#files-empty'), !append && !page.items.length);
    cursor = page.next_cursor;
    show($('#files-more'), !!cursor);
  } catch (e) {
    showError(e, t('files.error_load'));
  }
}

/** Shows the person's files in the tab (reloads when the contact changed, or when forced). */
export function refreshFiles(force = false) {
  const contactId = shownContact();
  if (!visible || !contactId) return;
  if (!force && shownFor === contactId) return;
  if (shownFor !== contactId) $('#files-q').value = '';
  shownFor = contactId;
  cursor = null;
  loadPage(contactId, false);
}

/** The Contact tab's preview: the five most recent files. */
async function refreshPreview() {
  const contactId = shownContact();
  if (!contactId) return;
  try {
    const page = await api('GET', filesPath(contactId, new URLSearchParams({ limit: String(PREVIEW) })));
    if (shownContact() !== contactId) return;
    $('#files-preview').replaceChildren(...page.items.map(item));
    show($('#files-preview-empty'), !page.items.length);
  } catch {
    $('#files-preview').replaceChildren();
    show($('#files-preview-empty'), false);
  }
}

/** Sends the raw file as the body, its type as Content-Type, as attachments are sent. */
async function upload(file) {
  const contactId = shownContact();
  if (!contactId || !file) return;
  const params = new URLSearchParams();
  // The server refuses slashes and control characters in a name, and more than 200 characters:
  // a picked file's name is made acceptable rather than refused.
  const name = [...(file.name || '').replace(/[/\\\u0000-\u001f\u007f]/g, '_')].slice(0, 200).join('').trim();
  if (name) params.set('filename', name);
  const button = $('#files-upload');
  button.disabled = true;
  try {
    const res = await fetch(filesPath(contactId, params), {
      method: 'POST',
      headers: { Authorization: `Bearer ${state.token}`, 'Content-Type': file.type || 'application/octet-stream' },
      body: file,
    });
    if (res.status === 401) {
      endSession(t('api.session_ended'));
      return;
    }
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      throw new ApiError(res.status, data?.error || `http_${res.status}`, data?.message || res.statusText);
    }
    toast(t('files.uploaded'));
    refreshFiles(true);
    refreshPreview();
  } catch (e) {
    showError(e, t('files.error_upload'));
  } finally {
    button.disabled = false;
    $('#files-input').value = '';
  }
}

export function bindFiles() {
  $('#files-upload').addEventListener('click', () => $('#files-input').click());
  $('#files-input').addEventListener('change', (e) => upload(e.target.files?.[0]));
  $('#files-more').addEventListener('click', () => shownFor && loadPage(shownFor, true));
  $('#files-q').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => refreshFiles(true), SEARCH_DELAY_MS);
  });
  $('#files-see-all').addEventListener('click', () => selectTab('files'));
  onPerson(() => {
    refreshPreview();
    refreshFiles(true);
  });
  document.addEventListener('contact-tab', (e) => {
    // Opening the tab reloads it: other agents may have uploaded meanwhile.
    visible = e.detail === 'files';
    refreshFiles(true);
    if (e.detail === 'contact') refreshPreview();
  });
}
