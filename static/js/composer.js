// The composer: replies and private notes with a draft per conversation, the typing signal,
// the SMS part counter, and approved templates once the 24-hour window has closed.

import { api, convPath } from './api.js';
import { bindAttach, hasAttachment, renderAttach, sendAttachment } from './attach.js';
import { bindEmoji } from './emoji.js';
import { bindVoice, renderVoice } from './voice.js';
import { bindCannedPicker, cannedPickerKeydown, updateCannedPicker } from './canned-picker.js';
import { $, $$, debounce, h, show, uuid } from './dom.js';
import { displayName, isSms, isolate } from './format.js';
import { addMessage, postMessage } from './messages.js';
import { sendWs } from './realtime.js';
import { activeConv, on, state } from './store.js';
import { showError, toast } from './ui.js';

const TYPING_SEND_EVERY_MS = 2000;

let noteMode = false;
const drafts = new Map(); // conversation id → unsent text
let segmentsSupported = true;
let lastTypingSent = 0;

on('inboxes', () => {
  if (activeConv()) renderComposer(activeConv());
});

export function saveDraft() {
  if (state.activeId) drafts.set(state.activeId, $('#composer-input').value);
}

export function renderComposer(c) {
  const input = $('#composer-input');
  // Only a different conversation brings its own draft; updates of this one keep what is typed.
  if (input.dataset.conv !== c.id) {
    input.dataset.conv = c.id;
    input.value = drafts.get(c.id) || '';
    noteMode = false;
    autosize();
  }
  const windowClosed = c.window_open === false;
  const blocked = windowClosed && !noteMode;
  $('#composer').classList.toggle('note-mode', noteMode);
  const note = $('#composer-note');
  note.setAttribute('aria-pressed', String(noteMode));
  note.classList.toggle('active', noteMode);
  input.disabled = blocked;
  $('#composer-send').disabled = blocked;
  $('.send-label', $('#composer-send')).textContent = noteMode ? 'Add note' : 'Send';
  input.placeholder = noteMode
    ? 'Private note: only agents see this'
    : blocked ? '24-hour window closed — use a template' : `Reply to ${isolate(displayName(c))}…`;
  show($('#window-closed'), blocked);
  renderTemplatePicker(c, blocked);
  renderSegments(c);
  renderAttach(c, { note: noteMode, blocked });
  renderVoice(c, { note: noteMode, blocked });
}

function autosize() {
  const input = $('#composer-input');
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight, 180)}px`;
}

function onComposerKeydown(e) {
  if (cannedPickerKeydown(e)) return;
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    sendFromComposer();
  }
}

function onComposerInput() {
  autosize();
  updateCannedPicker();
  const c = activeConv();
  if (!c) return;
  const now = Date.now();
  if ($('#composer-input').value.trim() && now - lastTypingSent > TYPING_SEND_EVERY_MS) {
    lastTypingSent = now;
    sendWs({ type: 'typing', conversation_id: c.id });
  }
  if (isSms(c) && !noteMode) updateSegmentsSoon();
}

function toggleNote() {
  noteMode = !noteMode;
  const c = activeConv();
  if (c) renderComposer(c);
  $('#composer-input').focus();
}

function sendFromComposer() {
  const c = activeConv();
  const input = $('#composer-input');
  const text = input.value.trim();
  if (c && !input.disabled && hasAttachment()) return sendFileFromComposer(c, text);
  if (!c || !text || input.disabled) return;
  const pending = {
    id: `pending:${uuid()}`,
    client_id: uuid(),
    conversation_id: c.id,
    author: 'agent',
    agent_id: state.me.id,
    direction: noteMode ? 'internal' : 'outbound',
    private: noteMode,
    text,
    sent_at: new Date().toISOString(),
    _pending: true,
  };
  input.value = '';
  drafts.delete(c.id);
  autosize();
  if (isSms(c)) renderSegments(c);
  addMessage(pending, { mine: true });
  postMessage(pending);
}

/** The waiting file goes, with the text as its caption; the text clears once it went along. */
async function sendFileFromComposer(c, text) {
  const { sent, captioned } = await sendAttachment(c, text);
  const input = $('#composer-input');
  if (sent && captioned && input.dataset.conv === c.id) {
    input.value = '';
    drafts.delete(c.id);
    autosize();
  }
}

// ---------------------------------------------------------------------------------------------
// SMS segments (channel twilio over SMS), counted by the server so the rules live in one place

const updateSegmentsSoon = debounce(() => updateSegments(), 250);

function renderSegments(c) {
  const el = $('#segments');
  const visible = isSms(c) && segmentsSupported && !noteMode;
  show(el, visible);
  if (visible) updateSegmentsSoon();
}

async function updateSegments() {
  const c = activeConv();
  const el = $('#segments');
  if (!c || !isSms(c) || !segmentsSupported) return;
  const text = $('#composer-input').value;
  if (!text) {
    el.textContent = '0 characters · 0 SMS';
    return;
  }
  try {
    // With the inbox, the server counts the text as it will be sent (its smart encoding).
    const r = await api('POST', '/api/sms/segments', c.inbox_id ? { text, inbox: c.inbox_id } : { text });
    const per = r.segments > 1 ? (r.encoding === 'UCS-2' ? 67 : 153) : r.encoding === 'UCS-2' ? 70 : 160;
    el.textContent = `${r.units}/${per * Math.max(1, r.segments)} · ${r.segments} SMS · ${r.encoding}`;
    el.title = r.segments > 1 ? `Sent as ${r.segments} parts: ${(r.per_segment || []).join(' + ')} ${r.encoding === 'UCS-2' ? 'UTF-16 units' : 'characters'}` : 'Fits in one SMS';
    el.classList.toggle('segments-warn', r.segments > 1 || r.encoding === 'UCS-2');
  } catch (e) {
    if (e.status === 404) {
      segmentsSupported = false;
      show(el, false);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Templates (when the service window is closed)

function templatesFor(c) {
  const inbox = state.inboxes?.get(c.inbox_id);
  return Array.isArray(inbox?.templates) ? inbox.templates : [];
}

/** Positional parameters of a template: a count, a list of names, or its {{n}} placeholders. */
function templateParams(t) {
  if (Array.isArray(t.parameters)) return t.parameters.map((p, i) => (typeof p === 'string' ? p : p?.name || `Parameter ${i + 1}`));
  const n = typeof t.parameters === 'number' ? t.parameters
    : Math.max(0, ...[...String(t.body || '').matchAll(/\{\{\s*(\d+)\s*\}\}/g)].map((m) => Number(m[1])));
  return Array.from({ length: n }, (_, i) => `Parameter ${i + 1}`);
}

function renderTemplatePicker(c, blocked) {
  const picker = $('#template-picker');
  const templates = blocked ? templatesFor(c) : [];
  show(picker, templates.length > 0);
  if (!templates.length) return;
  const select = $('#template-select');
  const key = `${c.inbox_id}:${templates.map((t) => `${t.name}/${t.language}`).join(',')}`;
  if (select.dataset.key !== key) {
    select.dataset.key = key;
    select.replaceChildren(...templates.map((t, i) => h('option', { value: String(i), text: `${t.name} (${t.language})` })));
    renderTemplateParams();
  }
}

function selectedTemplate() {
  const c = activeConv();
  return c ? templatesFor(c)[Number($('#template-select').value) || 0] : null;
}

function renderTemplateParams() {
  const t = selectedTemplate();
  const box = $('#template-params');
  if (!t) return box.replaceChildren();
  box.replaceChildren(...templateParams(t).map((label, i) =>
    h('input', { class: 'input-sm', type: 'text', placeholder: label, 'aria-label': label, dataset: { index: String(i) }, oninput: renderTemplatePreview })));
  renderTemplatePreview();
}

function renderTemplatePreview() {
  const t = selectedTemplate();
  if (!t) return;
  const values = $$('#template-params input').map((i) => i.value);
  const text = String(t.body || '').replace(/\{\{\s*(\d+)\s*\}\}/g, (all, n) => values[Number(n) - 1] || all);
  $('#template-preview').textContent = text;
}

async function sendTemplate() {
  const c = activeConv();
  const t = selectedTemplate();
  if (!c || !t) return;
  const parameters = $$('#template-params input').map((i) => i.value.trim());
  if (parameters.some((p) => !p)) {
    toast('Fill in every template parameter.', 'error');
    return;
  }
  const button = $('#template-send');
  button.disabled = true;
  try {
    const msg = await api('POST', convPath(c.id, '/template'), { name: t.name, language: t.language, parameters, client_id: uuid() });
    if (msg?.id && state.activeId === c.id) addMessage(msg, { mine: true });
    $$('#template-params input').forEach((i) => { i.value = ''; });
    renderTemplatePreview();
    toast('Template sent.');
  } catch (e) {
    showError(e, e.status === 404 ? 'Templates are not available on this server' : 'Template not sent');
  } finally {
    button.disabled = false;
  }
}

export function bindComposer() {
  const input = $('#composer-input');
  input.addEventListener('keydown', onComposerKeydown);
  bindCannedPicker();
  bindAttach();
  bindEmoji();
  bindVoice();
  input.addEventListener('input', onComposerInput);
  $('#composer-send').addEventListener('click', sendFromComposer);
  $('#composer-note').addEventListener('click', toggleNote);
  $('#template-select').addEventListener('change', renderTemplateParams);
  $('#template-send').addEventListener('click', sendTemplate);
}
