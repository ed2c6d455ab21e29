// Notifications: a browser notification and a short sound when a customer is handed to a
// person or writes in one of my conversations — each on or off in my own setting (kept with my
// account: PUT /api/agents/me/notifications), chosen in the bell's panel. The tab's focus is
// respected: nothing while I am looking at that very conversation, a browser notification
// only while the tab is not in front (the toast and the bell say it otherwise).

import { api } from './api.js';
import { $, show } from './dom.js';
import { displayName, parseTime } from './format.js';
import { state } from './store.js';
import { showError, toast } from './ui.js';
import { t } from './i18n.js';

/** Events replayed after a reconnection are old news: only what just happened rings. */
const FRESH_MS = 60_000;

const supported = () => typeof window.Notification === 'function';
const inFront = () => document.visibilityState === 'visible' && document.hasFocus();
const settings = () => state.me?.notifications || { desktop: false, sound: false };

let audio = null;

/** Two short notes, made here (no sound file to fetch). */
function chime() {
  try {
    audio = audio || new AudioContext();
    const start = audio.currentTime;
    [880, 1320].forEach((freq, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.08, start + i * 0.12);
      gain.gain.exponentialRampToValueAtTime(0.001, start + i * 0.12 + 0.11);
      osc.connect(gain).connect(audio.destination);
      osc.start(start + i * 0.12);
      osc.stop(start + i * 0.12 + 0.12);
    });
  } catch {
    /* no audio output: the notification and the toast still say it */
  }
}

function tell(conversationId, title, body) {
  if (inFront() && state.activeId === conversationId) return;
  const { desktop, sound } = settings();
  if (sound) chime();
  if (!desktop || inFront() || !supported() || Notification.permission !== 'granted') return;
  try {
    const n = new Notification(title, { body, tag: `conversation-${conversationId}` });
    n.onclick = () => {
      window.focus();
      location.hash = `#/c/${encodeURIComponent(conversationId)}`;
      n.close();
    };
  } catch {
    /* some browsers allow notifications only from a service worker: the toast remains */
  }
}

/** handoff.requested: a customer waits for a person. */
export function notifyHandoff(ev) {
  const c = ev.conversation;
  if (!c) return;
  tell(ev.conversation_id, t('notify.wants_person', { name: displayName(c) }), c.last_message_preview || '');
}

/** message.created: a customer wrote in a conversation assigned to me. */
export function notifyMessage(conversationId, m) {
  if (m?.author !== 'customer') return;
  const c = state.convs.get(conversationId);
  if (!c || c.assignee_id !== state.me?.id) return;
  const at = parseTime(m.created_at);
  if (at && Date.now() - at.getTime() > FRESH_MS) return;
  tell(conversationId, displayName(c), m.text || t('notify.attachment'));
}

/** The two checkboxes in the bell's panel, from my setting. */
export function renderNotifySettings() {
  const { desktop, sound } = settings();
  $('#notify-desktop').checked = desktop;
  $('#notify-sound').checked = sound;
  show($('#notify-desktop-wrap'), supported());
}

// Saves go one after another, each with the boxes as they were when clicked, and only the
// last one's answer redraws them: two quick clicks used to race, and the first answer could
// untick the second box (and store it unticked).
let saving = Promise.resolve();
let latest = 0;

function save() {
  const want = { desktop: $('#notify-desktop').checked, sound: $('#notify-sound').checked };
  const mine = ++latest;
  saving = saving.then(() => store(want, mine));
  return saving;
}

async function store(want, mine) {
  const before = settings();
  if (want.desktop && !before.desktop && supported() && Notification.permission !== 'granted') {
    // Asked from this click, as browsers require.
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') {
      want.desktop = false;
      toast(t('notify.blocked'), 'error');
    }
  }
  try {
    const stored = await api('PUT', '/api/agents/me/notifications', want);
    state.me.notifications = stored;
    if (stored.sound && !before.sound) chime(); // what it will sound like
  } catch (e) {
    showError(e, t('notify.error_save'));
  }
  if (mine === latest) renderNotifySettings();
}

export function bindNotify() {
  $('#notify-desktop').addEventListener('change', save);
  $('#notify-sound').addEventListener('change', save);
}
