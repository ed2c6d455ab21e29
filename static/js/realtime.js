// The realtime connection: one websocket, resumed from the last seq after a drop, or told to
// reload everything when the gap cannot be replayed. Events are numbered by the server; each is
// applied once and handed to the listener given to listen(), which knows what they mean.

import { api } from './api.js';
import { $ } from './dom.js';
import { on, setMe, setSeesAll, state } from './store.js';
import { t } from './i18n.js';

let ws = null;
let lastSeq = null;
let resuming = null; // {since, seen, max} between a resume request and its answer
let attempts = 0;
let retryTimer = 0;
let lastHeard = 0;
let listener = { onEvent() {}, onReload() {}, onHello() {} };

/** `onEvent(frame)` for each new event, `onReload()` after a gap, `onHello()` on each connection. */
export function listen(callbacks) {
  listener = callbacks;
}

on('session-end', () => {
  if (ws) {
    const socket = ws;
    ws = null;
    socket.close();
  }
});

function setConn(connState) {
  const el = $('#conn-status');
  const labels = { connecting: t('topbar.connecting'), live: t('conn.live'), syncing: t('conn.syncing'), offline: t('conn.offline') };
  el.dataset.state = connState;
  el.title = labels[connState];
  $('.conn-label', el).textContent = labels[connState];
}

export function sendWs(frame) {
  if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
}

export function connectWs() {
  clearTimeout(retryTimer);
  if (!state.token) return;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${proto}//${location.host}/api/ws?token=${encodeURIComponent(state.token)}`);
  ws = socket;
  setConn(lastSeq == null ? 'connecting' : 'offline');
  socket.onmessage = (e) => {
    if (ws !== socket) return;
    lastHeard = Date.now();
    let frame;
    try {
      frame = JSON.parse(e.data);
    } catch {
      return;
    }
    onFrame(frame);
  };
  socket.onclose = (e) => {
    if (ws !== socket) return;
    ws = null;
    setConn('offline');
    // Closed by the server for access (1008): a new role reloads the dashboard for it; a
    // revoked token (deactivated, password reset) shows the login page at once (a logout
    // here is already doing so).
    if (e.code === 1008 && e.reason === 'role changed') {
      location.reload();
      return;
    }
    if (e.code === 1008 && e.reason !== 'logged out') api('GET', '/api/auth/me').catch(() => {});
    scheduleReconnect();
  };
}

/** The browser is back online: connect now rather than at the next retry. */
export function reconnectIfClosed() {
  if (!ws && state.token) connectWs();
}

/** Exponential backoff with jitter, so a restarted server is not hit by every tab at once. */
function scheduleReconnect() {
  const attempt = attempts++;
  const delay = Math.min(30000, 1000 * 2 ** attempt) * (0.6 + Math.random() * 0.4);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connectWs, delay);
  // A socket that keeps failing may mean the token was revoked: a REST call tells (401 → login).
  if (attempt >= 1) api('GET', '/api/auth/me').catch(() => {});
}

/** Every 25 s: a ping, or a fresh start when the server has been silent too long. */
export function keepAlive() {
  if (ws?.readyState !== WebSocket.OPEN) return;
  if (Date.now() - lastHeard > 75000) {
    ws.close(); // silent for too long: assume the connection is dead and start over
    ws = null;
    setConn('offline');
    scheduleReconnect();
    return;
  }
  sendWs({ type: 'ping' });
}

function onFrame(f) {
  switch (f.type) {
    case 'hello':
      setSeesAll(!!f.sees_all);
      if (f.agent) setMe({ ...state.me, ...f.agent });
      attempts = 0;
      if (lastSeq == null) {
        lastSeq = f.latest;
        setConn('live');
      } else if (f.latest < lastSeq) {
        // The server restarted and numbers events afresh: what we missed cannot be replayed.
        lastSeq = f.latest;
        setConn('live');
        listener.onReload();
      } else {
        // Live events can arrive before the replay (they are pushed from the moment of hello),
        // so until "resumed" events are deduplicated by seq rather than by "highest seen".
        resuming = { since: lastSeq, seen: new Set(), max: lastSeq };
        sendWs({ type: 'resume', since: lastSeq });
        setConn('syncing');
      }
      if (state.activeId) sendWs({ type: 'viewing', conversation_id: state.activeId });
      listener.onHello();
      return;
    case 'resumed':
      lastSeq = Math.max(lastSeq ?? 0, resuming?.max ?? 0, f.latest ?? 0);
      resuming = null;
      setConn('live');
      return;
    case 'reload':
      resuming = null;
      lastSeq = f.latest;
      setConn('live');
      listener.onReload();
      return;
    case 'pong':
      return;
    case 'error':
      console.warn('websocket error frame', f);
      return;
    default:
      break;
  }
  if (typeof f.seq === 'number') {
    if (resuming) {
      if (f.seq <= resuming.since || resuming.seen.has(f.seq)) return;
      resuming.seen.add(f.seq);
      resuming.max = Math.max(resuming.max, f.seq);
    } else {
      if (lastSeq != null && f.seq <= lastSeq) return; // already applied
      lastSeq = f.seq;
    }
  }
  try {
    listener.onEvent(f);
  } catch (e) {
    console.error('event handling failed', f.type, e);
  }
}
