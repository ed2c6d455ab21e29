// The composer: replies and private notes with a draft per conversation, the typing signal,
// the SMS part counter, and approved templates: the only way to write once the 24-hour window
// has closed, and behind the Template button while it is open.

import { api, convPath } from './api.js';
import { bindAttach, hasAttachment, renderAttach, sendAttachment } from './attach.js';
import { bindEmoji } from './emoji.js';
import { bindVoice, renderVoice } from './voice.js';
import { bindCannedPicker, cannedPickerKeydown, updateCannedPicker } from './canned-picker.js';
import { $, debounce, show, uuid } from './dom.js';
import { displayName, isSms, isolate } from './format.js';
import { addMessage, postMessage } from './messages.js';
import { sendWs } from './realtime.js';
import { activeConv, on, state } from './store.js';
import { showError, toast } from './ui.js';
import { templatePicker } from './template-picker.js';
import { t } from './i18n.js';

const TYPING_SEND_EVERY_MS = 2000;

let noteMode = false;
const drafts = new Map(); // conversation id → unsent text
let segmentsSupported = true;
let lastTypingSent = 0;
let picker = null; // the template picker (js/template-picker.js)
let templateOpen = false; // the Template panel, inside the window

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
    templateOpen = false;
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
  $('.send-label', $('#composer-send')).textContent = noteMode ? t('composer.add_note') : t('composer.send');
  input.placeholder = noteMode
    ? t('composer.note_placeholder')
    : blocked ? t('composer.window_closed') : t('composer.reply_to', { name: isolate(displayName(c)) });
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
    el.textContent = t('composer.sms_empty');
    return;
  }
  try {
    // With the inbox, the server counts the text as it will be sent (its smart encoding).
    const r = await api('POST', '/api/sms/segments', c.inbox_id ? { text, inbox: c.inbox_id } : { text });
    const per = r.segments > 1 ? (r.encoding === 'UCS-2' ? 67 : 153) : r.encoding === 'UCS-2' ? 70 : 160;
    el.textContent = `${r.units}/${per * Math.max(1, r.segments)} · ${r.segments} SMS · ${r.encoding}`;
    el.title = r.segments > 1
      ? t(r.encoding === 'UCS-2' ? 'composer.sms_parts_units' : 'composer.sms_parts_chars', { count: r.segments, sizes: (r.per_segment || []).join(' + ') })
      : t('composer.sms_one');
    el.classList.toggle('segments-warn', r.segments > 1 || r.encoding === 'UCS-2');
  } catch (e) {
    if (e.status === 404) {
      segmentsSupported = false;
      show(el, false);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Templates: inside the window behind the Template button, and the only way once it closed

function templatesFor(c) {
  const inbox = state.inboxes?.get(c.inbox_id);
  return Array.isArray(inbox?.templates) ? inbox.templates : [];
}

/** One picker, shown in the window-closed notice when only a template may go, else in the
 * Template panel above the text field while that is open. */
function renderTemplatePicker(c, blocked) {
  const templates = templatesFor(c);
  picker.setTemplates(templates);
  const inWindow = c.window_open !== false && !noteMode && templates.length > 0;
  if (!inWindow) templateOpen = false;
  const toggle = $('#composer-template-toggle');
  show(toggle, inWindow);
  toggle.setAttribute('aria-expanded', String(templateOpen));
  toggle.classList.toggle('active', templateOpen);
  const box = $('#template-picker');
  const home = blocked ? $('#window-closed') : $('#composer-template');
  if (box.parentElement !== home) home.append(box);
  show(box, templates.length > 0 && (blocked || templateOpen));
  show($('#composer-template'), !blocked && templateOpen);
}

function toggleTemplate(open = !templateOpen) {
  const c = activeConv();
  if (!c) return;
  templateOpen = open;
  renderTemplatePicker(c, $('#composer-input').disabled);
  // The first parameter to fill in (the choice of template is often the first one).
  if (templateOpen) ($('#template-params input') || $('#template-select')).focus();
}

async function sendTemplate() {
  const c = activeConv();
  const { template: tpl, parameters } = picker.value();
  if (!c || !tpl) return;
  const missing = picker.firstMissing();
  if (missing) {
    toast(t('composer.fill_params'), 'error');
    missing.focus();
    return;
  }
  const button = $('#template-send');
  button.disabled = true;
  try {
    const msg = await api('POST', convPath(c.id, '/template'), { name: tpl.name, language: tpl.language, parameters, client_id: uuid() });
    if (msg?.id && state.activeId === c.id) addMessage(msg, { mine: true });
    picker.clear();
    toast(t('composer.template_sent'));
    if (templateOpen && state.activeId === c.id) {
      toggleTemplate(false);
      $('#composer-input').focus();
    }
  } catch (e) {
    showError(e, e.status === 404 ? t('composer.no_templates') : t('composer.template_not_sent'));
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
  picker = templatePicker({ select: $('#template-select'), params: $('#template-params'), preview: $('#template-preview'), idPrefix: 'template' });
  $('#template-send').addEventListener('click', sendTemplate);
  $('#composer-template-toggle').addEventListener('click', () => toggleTemplate());
  // Escape in the Template panel closes it and gives the focus back to its button.
  $('#composer-template').addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    toggleTemplate(false);
    $('#composer-template-toggle').focus();
  });
}
