// Attachments from the composer: the paperclip's file chooser, a file dropped on the
// conversation, or one pasted into the message box. The file waits as a chip (name, size, type,
// remove ×) until Send, which uploads it (POST /api/conversations/{id}/attachments, the raw
// file as the body) with the composer's text as its caption, showing the upload's progress.
//
// What the inbox takes comes from GET /api/inboxes (`attachments`: null on the text-only
// channels; `max_bytes`, `caption`, `audio_types`): a file the server would refuse is refused
// here first, with the same words. Private notes stay between agents, so they carry no file:
// in note mode the paperclip is disabled and a chosen file waits, unsent, for the reply mode.
//
// File names are the agent's own but still reach the page only as text (h()).

import { convPath } from './api.js';
import { $, h, icon, show } from './dom.js';
import { addMessage } from './messages.js';
import { activeConv, endSession, state } from './store.js';
import { toast } from './ui.js';
import { t } from './i18n.js';

/** "12 KB", "3.4 MB". */
export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const kindOf = (type) => (/^(image|audio|video)\//.exec(type || '') || [null, 'file'])[1];

let pending = null; // { file, conv, voice } waiting for Send
let sending = false;
let noteMode = false;

/** What the active conversation's inbox takes: null when it takes no files. */
export function rulesFor(c) {
  const inbox = c && state.inboxes?.get(c.inbox_id);
  if (!inbox) return c && ['api', 'widget'].includes(c.channel) ? null : undefined;
  return inbox.attachments ?? null;
}

/** The file's type as the server will read it (the browser's, or one from the extension). */
function typeOf(file) {
  if (file.type) return file.type.split(';')[0].trim().toLowerCase();
  return 'application/octet-stream';
}

/** Why this inbox would refuse the file, in the server's words, or null. */
function refusal(file, rules) {
  if (rules === null) return t('attach.text_only');
  if (!file.size) return t('attach.empty');
  if (!rules) return null;
  if (file.size > rules.max_bytes) return t('attach.too_large', { name: file.name || t('attach.the_file'), size: size(file.size), max: size(rules.max_bytes) });
  const type = typeOf(file);
  if (type.startsWith('audio/') && !rules.audio_types.includes(type)) {
    return t('attach.audio_type', { type, types: rules.audio_types.join(', ') });
  }
  return null;
}

/** Whether a file waits to go with the next Send (reply mode only). */
export const hasAttachment = () => !!pending && !noteMode && pending.conv === state.activeId;

/**
 * Offers a file for the next Send: refused at once (with the reason) when the inbox would
 * refuse it. `voice`: a recorded voice note, sent without a caption.
 */
export function attachFile(file, { voice = false } = {}) {
  const c = activeConv();
  if (!c || !file) return false;
  if (noteMode) {
    showProblem(t('attach.note_no_files_long'));
    return false;
  }
  const why = refusal(file, rulesFor(c));
  if (why) {
    showProblem(why);
    return false;
  }
  pending = { file, conv: c.id, voice };
  renderChip();
  return true;
}

export function clearAttachment() {
  pending = null;
  renderChip();
}

function showProblem(text) {
  const box = $('#attach-error');
  box.textContent = text;
  show(box, true);
  toast(text, 'error');
}

function clearProblem() {
  const box = $('#attach-error');
  box.textContent = '';
  show(box, false);
}

function renderChip() {
  const box = $('#attach-chips');
  const visible = !!pending && pending.conv === state.activeId && !noteMode;
  show(box, visible);
  if (!visible) return box.replaceChildren();
  clearProblem();
  const { file } = pending;
  const type = typeOf(file);
  const name = file.name || (pending.voice ? t('attach.voice_note') : t('attach.pasted_file'));
  box.replaceChildren(h('div', { class: 'attach-chip', dataset: { kind: kindOf(type) } },
    icon(kindOf(type), 'icon attach-type'),
    h('span', { class: 'attach-name', dir: 'auto', title: name, text: name }),
    h('span', { class: 'attach-meta', text: `${size(file.size)} · ${type}` }),
    h('progress', { id: 'attach-progress', class: 'attach-progress', max: '100', value: '0', 'aria-label': t('attach.uploading', { name }), hidden: true }),
    h('button', {
      class: 'attach-remove',
      type: 'button',
      'aria-label': t('attach.remove_named', { name }),
      title: t('attach.remove'),
      disabled: sending,
      onclick: () => {
        clearAttachment();
        $('#composer-input').focus();
      },
    }, '×')));
}

/** The composer's mode and state: called on every render of the composer. */
export function renderAttach(c, { note, blocked }) {
  noteMode = note;
  const rules = rulesFor(c);
  const button = $('#composer-attach');
  show(button, rules !== null);
  button.disabled = note || blocked || sending;
  button.title = note
    ? t('attach.note_no_files')
    : t('composer.attach_file_photo_drop');
  if (pending && pending.conv !== c.id) pending = null;
  renderChip();
  if (pending?.conv !== c.id) clearProblem();
}

/** Why the server refused, in the composer's words. */
function uploadError(status, body) {
  const message = body?.message || `HTTP ${status}`;
  if (status === 413) {
    const rules = rulesFor(activeConv());
    return rules ? t('attach.too_large_max', { max: size(rules.max_bytes), message }) : t('attach.too_large_plain', { message });
  }
  if (body?.error === 'window_closed') return t('attach.window_closed', { message });
  if (status === 0) return t('attach.network');
  return t('send.not_sent_error', { error: message });
}

/** Uploads with progress (fetch cannot report an upload's progress). */
function upload(path, file, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('Authorization', `Bearer ${state.token}`);
    xhr.setRequestHeader('Content-Type', typeOf(file));
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100));
    };
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => resolve({ status: 0, body: null });
    xhr.send(file);
  });
}

/**
 * Sends the waiting file with `text` as its caption. Resolves true when it was sent (the
 * composer then clears its text, unless the text could not go as a caption).
 */
export async function sendAttachment(c, text) {
  if (!hasAttachment() || sending) return { sent: false };
  const { file, voice } = pending;
  const rules = rulesFor(c);
  // Audio never carries a caption (WhatsApp refuses it), nor does Messenger/Instagram.
  const withCaption = !!text && !voice && !typeOf(file).startsWith('audio/') && rules?.caption !== false;
  const params = new URLSearchParams();
  if (file.name) params.set('filename', file.name);
  if (withCaption) params.set('caption', text);
  sending = true;
  renderChip();
  $('#composer-attach').disabled = true;
  $('#composer-send').setAttribute('aria-busy', 'true');
  const bar = $('#attach-progress');
  show(bar, true);
  const { status, body } = await upload(convPath(c.id, `/attachments?${params}`), file, (p) => { bar.value = p; });
  sending = false;
  $('#composer-send').removeAttribute('aria-busy');
  if (status === 401) {
    endSession(t('api.session_ended'));
    return { sent: false };
  }
  if (status !== 201) {
    renderChip();
    renderAttach(c, { note: noteMode, blocked: false });
    showProblem(uploadError(status, body));
    return { sent: false };
  }
  pending = null;
  renderChip();
  renderAttach(c, { note: noteMode, blocked: false });
  if (body?.id && state.activeId === c.id) addMessage(body, { mine: true });
  if (text && !withCaption) toast(t('attach.no_caption'));
  return { sent: true, captioned: withCaption };
}

// Drag and drop onto the conversation, paste into the message box.

const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');

function dropZone(visible) {
  show($('#drop-zone'), visible);
}

function takeFiles(files) {
  const list = [...(files || [])];
  if (!list.length) return false;
  if (list.length > 1) toast(t('attach.one_at_a_time'));
  attachFile(list[0]);
  return true;
}

export function bindAttach() {
  const input = $('#composer-file');
  $('#composer-attach').addEventListener('click', () => {
    if (activeConv()) input.click();
  });
  input.addEventListener('change', () => {
    takeFiles(input.files);
    input.value = '';
    $('#composer-input').focus();
  });
  $('#composer-input').addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (!files.length) return;
    e.preventDefault();
    takeFiles(files);
  });
  const pane = $('#thread-view');
  let depth = 0; // dragenter/dragleave pairs over the pane's children
  pane.addEventListener('dragenter', (e) => {
    if (!hasFiles(e) || !activeConv()) return;
    e.preventDefault();
    depth += 1;
    dropZone(true);
  });
  pane.addEventListener('dragover', (e) => {
    if (!hasFiles(e) || !activeConv()) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = noteMode ? 'none' : 'copy';
  });
  pane.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) dropZone(false);
  });
  pane.addEventListener('drop', (e) => {
    depth = 0;
    dropZone(false);
    if (!e.dataTransfer?.files?.length || !activeConv()) return;
    e.preventDefault();
    takeFiles(e.dataTransfer.files);
    $('#composer-input').focus();
  });
  // Escape removes a waiting file when the message box is empty.
  $('#composer-input').addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && hasAttachment() && !$('#composer-input').value && !sending) {
      e.preventDefault();
      clearAttachment();
    }
  });
}
