// Voice notes: the microphone button, shown only where the inbox takes audio
// (`attachments.audio_types` of GET /api/inboxes) in a type this browser can record
// (MediaRecorder.isTypeSupported), and only when the browser has a microphone API. Recording
// shows a live indicator with the elapsed time, Stop (sends the note as an audio attachment)
// and Cancel (drops it); Escape cancels too.
//
// Chromium records Opus in WebM or MP4 (no Ogg, and no AAC in builds without proprietary codecs);
// Firefox records Ogg/Opus. WhatsApp, Twilio and Meta do not take WebM, so Chromium sends
// `audio/mp4` (Opus in an MP4 container), a type every channel lists; Firefox sends `audio/ogg`
// to WhatsApp and Twilio.

import { attachFile, clearAttachment, hasAttachment, rulesFor, sendAttachment } from './attach.js';
import { $, show } from './dom.js';
import { activeConv } from './store.js';
import { toast } from './ui.js';
import { t } from './i18n.js';

const MAX_SECONDS = 300;

/** Recordable variants of each audio type a channel lists. */
const VARIANTS = {
  'audio/ogg': ['audio/ogg;codecs=opus', 'audio/ogg'],
  'audio/mp4': ['audio/mp4', 'audio/mp4;codecs=opus', 'audio/mp4;codecs=mp4a.40.2'],
  'audio/mpeg': ['audio/mpeg'],
  'audio/aac': ['audio/aac'],
  'audio/wav': ['audio/wav'],
};
const EXTENSIONS = { 'audio/ogg': 'ogg', 'audio/mp4': 'm4a', 'audio/mpeg': 'mp3', 'audio/aac': 'aac', 'audio/wav': 'wav' };

const microphoneApi = () => !!(navigator.mediaDevices?.getUserMedia && window.MediaRecorder);

/** The first type the channel takes that this browser records: [recorder type, sent type]. */
export function recordingType(audioTypes) {
  if (!microphoneApi()) return null;
  for (const sent of audioTypes || []) {
    for (const variant of VARIANTS[sent] || [sent]) {
      if (MediaRecorder.isTypeSupported(variant)) return [variant, sent];
    }
  }
  return null;
}

let rec = null; // { recorder, stream, chunks, started, timer, cancelled, sent }

/** Shows the button where a voice note can be recorded and sent (not in note mode). */
export function renderVoice(c, { note, blocked }) {
  const rules = rulesFor(c);
  const button = $('#composer-voice');
  show(button, !!rules && !!recordingType(rules.audio_types));
  button.disabled = note || blocked || !!rec;
  button.title = note ? t('voice.note_no_voice') : t('composer.record_voice_note');
}

function elapsed() {
  const s = Math.floor((Date.now() - rec.started) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function tick() {
  if (!rec) return;
  $('#voice-time').textContent = elapsed();
  if ((Date.now() - rec.started) / 1000 >= MAX_SECONDS) stopRecording();
}

function finish() {
  if (!rec) return;
  clearInterval(rec.timer);
  rec.stream.getTracks().forEach((t) => t.stop());
  rec = null;
  show($('#voice-rec'), false);
  const c = activeConv();
  if (c) renderVoice(c, { note: false, blocked: c.window_open === false });
  $('#composer-input').focus();
}

export async function startRecording() {
  const c = activeConv();
  const kind = c && recordingType(rulesFor(c)?.audio_types);
  if (!kind || rec) return;
  if (hasAttachment()) {
    toast(t('voice.file_waiting'), 'error');
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    toast(t('voice.no_mic', { error: e.message || e.name }), 'error');
    return;
  }
  const [recorderType, sentType] = kind;
  const recorder = new MediaRecorder(stream, { mimeType: recorderType });
  rec = { recorder, stream, chunks: [], started: Date.now(), cancelled: false, conv: c.id };
  recorder.addEventListener('dataavailable', (e) => {
    if (e.data?.size) rec?.chunks.push(e.data);
  });
  recorder.addEventListener('stop', async () => {
    const done = rec;
    finish();
    if (!done || done.cancelled) return;
    const blob = new Blob(done.chunks, { type: sentType });
    const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-');
    const file = new File([blob], `voice-note-${stamp}.${EXTENSIONS[sentType] || 'audio'}`, { type: sentType });
    const conv = activeConv();
    if (!conv || conv.id !== done.conv) return;
    if (attachFile(file, { voice: true })) {
      const result = await sendAttachment(conv, '');
      if (!result.sent) clearAttachment();
    }
  });
  recorder.start(250);
  rec.timer = setInterval(tick, 250);
  $('#voice-time').textContent = '0:00';
  show($('#voice-rec'), true);
  $('#composer-voice').disabled = true;
  $('#voice-stop').focus();
}

export function stopRecording() {
  if (rec && rec.recorder.state !== 'inactive') rec.recorder.stop();
}

export function cancelRecording() {
  if (!rec) return;
  rec.cancelled = true;
  if (rec.recorder.state !== 'inactive') rec.recorder.stop();
  else finish();
}

export function bindVoice() {
  const button = $('#composer-voice');
  button.addEventListener('click', startRecording);
  $('#voice-stop').addEventListener('click', stopRecording);
  $('#voice-cancel').addEventListener('click', cancelRecording);
  $('#voice-rec').addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      cancelRecording();
    }
  });
}
