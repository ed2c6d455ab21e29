/*
 * Switchboard website chat widget.
 *
 *   <script src="https://HOST/widget.js" data-inbox="website" data-title="Demo Store"></script>
 *
 * Runs on other people's pages, so: a classic script wrapped in one function (no globals but a
 * load guard), every class and id prefixed `sb-`, no shadow DOM, no external resources except
 * HOST/widget.css, and every call goes to HOST (the script's own origin). Text from the server is
 * only ever inserted with textContent / text nodes.
 *
 * Optional attributes: data-title (header), data-welcome (first line shown to a new visitor),
 * data-color (accent colour, any CSS colour), data-open="true" (start opened).
 */
(function () {
  'use strict';

  var script = document.currentScript || findOwnScript();
  if (!script || window.__sbWidgetLoaded) return;
  window.__sbWidgetLoaded = true;

  function findOwnScript() {
    var all = document.getElementsByTagName('script');
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(?:[?#]|$)/.test(all[i].src)) return all[i];
    }
    return null;
  }

  var HOST = new URL(script.src, location.href).origin;
  var INBOX = script.getAttribute('data-inbox') || 'website';
  var TITLE = script.getAttribute('data-title') || 'Chat with us';
  var WELCOME = script.getAttribute('data-welcome') || 'Hi! Ask us anything. Our assistant answers right away, and a person can join whenever you ask.';
  var COLOR = script.getAttribute('data-color');
  var TOKEN_KEY = 'sb-visitor-' + INBOX;
  var OPEN_KEY = 'sb-open-' + INBOX;
  var FIRST_TOUCH_KEY = 'sb-first-touch-' + INBOX;
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var ICONS = {
    chat: 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z',
    close: 'M18 6L6 18M6 6l12 12',
    down: 'M6 9l6 6 6-6',
    send: 'M22 2L11 13M22 2l-7 20-4-9-9-4 20-7z',
  };

  // ------------------------------------------------------------------------------------------
  // State

  var state = {
    token: storageGet(localStorage, TOKEN_KEY),
    conversationId: null,
    agentName: null,
    started: false,
    open: false,
    unread: 0,
    ws: null,
    attempts: 0,
    retryTimer: 0,
    pingTimer: 0,
    seen: {}, // message id → element, so echoes and refreshed history never duplicate
    pending: [], // my unconfirmed messages: {clientId, text, el, id, sent, failed}
    typingTimer: 0,
  };

  // Storage can throw (Safari private mode, blocked third-party storage): the chat still works.
  function storageGet(store, key) {
    try { return store.getItem(key); } catch (e) { return null; }
  }
  function storageSet(store, key, value) {
    try {
      if (value == null) store.removeItem(key); else store.setItem(key, value);
    } catch (e) { /* not persisted */ }
  }

  // ------------------------------------------------------------------------------------------
  // DOM helpers

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    return node;
  }

  /** A name inside a sentence, isolated (FSI…PDI): bidi controls in it (U+202E…) cannot
   *  reorder the words around it. */
  function isolate(text) {
    return '\u2068' + String(text) + '\u2069';
  }

  function icon(name) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('class', 'sb-icon');
    svg.setAttribute('aria-hidden', 'true');
    var path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = '';
    for (var i = 0; i < 16; i++) hex += (b[i] < 16 ? '0' : '') + b[i].toString(16);
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' + hex.slice(16, 20) + '-' + hex.slice(20);
  }

  /** Server times are UTC without a zone. */
  function parseTime(s) {
    if (!s) return new Date();
    var t = String(s).replace(/(\.\d{3})\d+/, '$1');
    if (!/(Z|[+-]\d\d:?\d\d)$/i.test(t)) t += 'Z';
    var d = new Date(t);
    return isNaN(d.getTime()) ? new Date() : d;
  }

  function clock(d) {
    return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  }

  // ------------------------------------------------------------------------------------------
  // Building the UI

  var ui = {};

  function build() {
    var root = el('div', 'sb-widget');
    root.id = 'sb-widget';
    root.hidden = true; // shown once widget.css is in, so the page never flashes unstyled parts
    if (COLOR) root.style.setProperty('--sb-accent', COLOR);

    var panel = el('div', 'sb-panel');
    panel.id = 'sb-widget-panel';
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', TITLE);
    panel.hidden = true;

    var header = el('div', 'sb-header');
    var headText = el('div', 'sb-header-text');
    var title = el('div', 'sb-title', TITLE);
    title.id = 'sb-widget-title';
    var status = el('div', 'sb-subtitle', 'Our assistant replies instantly');
    status.id = 'sb-widget-status';
    headText.appendChild(title);
    headText.appendChild(status);
    var close = el('button', 'sb-close');
    close.id = 'sb-widget-close';
    close.type = 'button';
    close.setAttribute('aria-label', 'Close chat');
    close.appendChild(icon('close'));
    header.appendChild(headText);
    header.appendChild(close);

    var messages = el('div', 'sb-messages');
    messages.id = 'sb-widget-messages';
    messages.setAttribute('role', 'log');
    messages.setAttribute('aria-live', 'polite');
    messages.appendChild(el('div', 'sb-welcome', WELCOME));

    var typing = el('div', 'sb-typing');
    typing.id = 'sb-widget-typing';
    typing.setAttribute('aria-label', 'Assistant is typing');
    typing.hidden = true;
    typing.appendChild(el('span'));
    typing.appendChild(el('span'));
    typing.appendChild(el('span'));

    var conn = el('div', 'sb-conn', 'Reconnecting…');
    conn.id = 'sb-widget-conn';
    conn.hidden = true;

    var composer = el('div', 'sb-composer');
    var input = el('textarea', 'sb-input');
    input.id = 'sb-widget-input';
    input.rows = 1;
    input.maxLength = 4096;
    input.placeholder = 'Write a message…';
    input.setAttribute('aria-label', 'Message');
    var send = el('button', 'sb-send');
    send.id = 'sb-widget-send';
    send.type = 'button';
    send.setAttribute('aria-label', 'Send');
    send.appendChild(icon('send'));
    composer.appendChild(input);
    composer.appendChild(send);

    var footer = el('div', 'sb-footer', 'Powered by Switchboard');

    panel.appendChild(header);
    panel.appendChild(messages);
    panel.appendChild(typing);
    panel.appendChild(conn);
    panel.appendChild(composer);
    panel.appendChild(footer);

    var bubble = el('button', 'sb-bubble');
    bubble.id = 'sb-widget-bubble';
    bubble.type = 'button';
    bubble.setAttribute('aria-label', 'Open chat');
    bubble.setAttribute('aria-expanded', 'false');
    bubble.setAttribute('aria-controls', 'sb-widget-panel');
    var chatIcon = icon('chat');
    chatIcon.setAttribute('class', 'sb-icon sb-icon-chat');
    var downIcon = icon('down');
    downIcon.setAttribute('class', 'sb-icon sb-icon-down');
    var badge = el('span', 'sb-unread', '0');
    badge.id = 'sb-widget-unread';
    badge.hidden = true;
    bubble.appendChild(chatIcon);
    bubble.appendChild(downIcon);
    bubble.appendChild(badge);

    root.appendChild(panel);
    root.appendChild(bubble);
    document.body.appendChild(root);

    ui = { root: root, panel: panel, status: status, messages: messages, typing: typing, conn: conn,
      input: input, send: send, bubble: bubble, badge: badge, close: close };

    bubble.addEventListener('click', function () { setOpen(!state.open); });
    close.addEventListener('click', function () { setOpen(false); });
    send.addEventListener('click', sendFromInput);
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        sendFromInput();
      }
    });
    input.addEventListener('input', autosize);
    panel.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') {
        setOpen(false);
        bubble.focus();
      }
    });
  }

  function loadStyles(done) {
    var link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = HOST + '/widget.css';
    var finished = false;
    function finish() {
      if (finished) return;
      finished = true;
      done();
    }
    link.onload = finish;
    link.onerror = finish;
    setTimeout(finish, 3000);
    (document.head || document.documentElement).appendChild(link);
  }

  function autosize() {
    ui.input.style.height = 'auto';
    ui.input.style.height = Math.min(ui.input.scrollHeight, 120) + 'px';
  }

  function setOpen(open) {
    state.open = open;
    ui.panel.hidden = !open;
    ui.root.classList.toggle('sb-is-open', open);
    ui.bubble.setAttribute('aria-expanded', String(open));
    ui.bubble.setAttribute('aria-label', open ? 'Close chat' : 'Open chat');
    storageSet(sessionStorage, OPEN_KEY, open ? '1' : null);
    if (open) {
      setUnread(0);
      start();
      scrollToEnd();
      // On phones the keyboard would cover the panel as it opens; focus only with a real pointer.
      if (!window.matchMedia || !window.matchMedia('(max-width: 480px)').matches) ui.input.focus();
    }
  }

  function setUnread(n) {
    state.unread = n;
    ui.badge.textContent = String(n);
    ui.badge.hidden = n === 0;
  }

  function scrollToEnd() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  // ------------------------------------------------------------------------------------------
  // Messages

  function labelFor(author) {
    if (author === 'assistant') return 'Assistant';
    if (author === 'agent') return state.agentName || 'Agent';
    return null;
  }

  function messageEl(author, text, sentAt) {
    var node = el('div', 'sb-msg sb-msg-' + author);
    node.setAttribute('data-author', author);
    var label = labelFor(author);
    if (label) node.appendChild(el('div', 'sb-msg-label', label));
    var bubble = el('div', 'sb-msg-bubble');
    bubble.appendChild(el('div', 'sb-msg-text', text));
    node.appendChild(bubble);
    node.appendChild(el('div', 'sb-msg-meta', clock(parseTime(sentAt))));
    return node;
  }

  /** Shows a server message once, whether it came with the history, live, or as my own echo. */
  function showMessage(m, quiet) {
    if (!m || !m.id || state.seen[m.id]) return;
    if (m.author === 'customer' && claimPending(m)) return;
    var node = messageEl(m.author, m.text, m.sent_at);
    node.setAttribute('data-id', m.id);
    state.seen[m.id] = node;
    // Once the visitor writes again, an earlier survey's stars are spent.
    if (m.author === 'customer') closeSurveys();
    if (m.payload && m.payload.automatic === 'csat_survey') addStars(node);
    var stick = isNearEnd();
    ui.messages.appendChild(node);
    if (m.author !== 'customer') {
      hideTyping();
      if (!state.open && !quiet) setUnread(state.unread + 1);
    }
    if (stick || m.author === 'customer') scrollToEnd();
  }

  /** The satisfaction survey: five stars under its question. A tap sends the rating as the
   *  visitor's own message ("★★★★ 4/5", stars every font has), which the server reads as the rating. */
  function addStars(node) {
    var row = el('div', 'sb-csat');
    row.setAttribute('role', 'group');
    row.setAttribute('aria-label', 'Rate us from 1 to 5 stars');
    for (var n = 1; n <= 5; n++) {
      var star = el('button', 'sb-csat-star', '★');
      star.type = 'button';
      star.setAttribute('data-score', String(n));
      star.setAttribute('aria-label', n + ' of 5');
      star.addEventListener('click', rate);
      row.appendChild(star);
    }
    node.querySelector('.sb-msg-bubble').appendChild(row);
  }

  function rate(e) {
    var n = Number(e.currentTarget.getAttribute('data-score'));
    var row = e.currentTarget.parentNode;
    var stars = row.querySelectorAll('button');
    for (var i = 0; i < stars.length; i++) if (i < n) stars[i].classList.add('sb-on');
    sendText(new Array(n + 1).join('\u2605') + ' ' + n + '/5');
  }

  function closeSurveys() {
    var stars = ui.messages.querySelectorAll('.sb-csat button');
    for (var i = 0; i < stars.length; i++) stars[i].disabled = true;
  }

  /** My own message coming back: it confirms the copy already on screen instead of adding one. */
  function claimPending(m) {
    for (var i = 0; i < state.pending.length; i++) {
      var p = state.pending[i];
      if (!p.id && p.text === String(m.text).trim()) {
        confirmPending(p, m.id);
        return true;
      }
    }
    return false;
  }

  function confirmPending(p, id) {
    if (state.seen[id] && state.seen[id] !== p.el) {
      // Both copies are on screen (echo arrived first and did not match): keep one.
      p.el.parentNode && p.el.parentNode.removeChild(p.el);
    } else {
      p.id = id;
      p.el.setAttribute('data-id', id);
      p.el.classList.remove('sb-pending', 'sb-failed');
      state.seen[id] = p.el;
      var err = p.el.querySelector('.sb-msg-error');
      if (err) err.parentNode.removeChild(err);
    }
    p.failed = false;
  }

  function notice(text, kind) {
    var node = el('div', 'sb-notice' + (kind ? ' sb-notice-' + kind : ''), text);
    var stick = isNearEnd();
    ui.messages.appendChild(node);
    if (stick) scrollToEnd();
    return node;
  }

  function isNearEnd() {
    var m = ui.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }

  function showTyping() {
    // While the assistant is answering (no person on the line), a typing hint says it is coming.
    if (state.agentName) return;
    ui.typing.hidden = false;
    scrollToEnd();
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, 8000);
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    ui.typing.hidden = true;
  }

  function setAgent(name) {
    state.agentName = name || null;
    ui.status.textContent = name ? 'Chatting with ' + isolate(name) : 'Our assistant replies instantly';
    if (!name) return;
    // A reply can arrive just before the news of who sent it: name those still unnamed.
    var labels = ui.messages.querySelectorAll('.sb-msg-agent .sb-msg-label');
    for (var i = 0; i < labels.length; i++) if (labels[i].textContent === 'Agent') labels[i].textContent = name;
  }

  // ------------------------------------------------------------------------------------------
  // Sending

  function sendFromInput() {
    var text = ui.input.value.trim();
    if (!text) return;
    ui.input.value = '';
    autosize();
    sendText(text);
  }

  function sendText(text) {
    closeSurveys();
    var p = { clientId: uuid(), text: text, el: null, id: null, sent: false, failed: false };
    p.el = messageEl('customer', text, new Date().toISOString());
    p.el.classList.add('sb-pending');
    p.el.setAttribute('data-client-id', p.clientId);
    state.pending.push(p);
    ui.messages.appendChild(p.el);
    scrollToEnd();
    start();
    flush();
  }

  /** Sends every unconfirmed message the socket has not taken yet (in order). */
  function flush() {
    if (!state.ws || state.ws.readyState !== 1 || !state.ready) return;
    for (var i = 0; i < state.pending.length; i++) {
      var p = state.pending[i];
      if (p.sent || p.failed) continue;
      // The client_id makes a resend after a reconnect count once on the server.
      var frame = { type: 'message', text: p.text, client_id: p.clientId };
      if (!state.conversationId) frame.attribution = attribution();
      state.ws.send(JSON.stringify(frame));
      p.sent = true;
      showTyping();
    }
  }

  function onAck(frame) {
    for (var i = 0; i < state.pending.length; i++) {
      var p = state.pending[i];
      if (p.clientId === frame.client_id) {
        confirmPending(p, frame.message_id);
        state.pending.splice(i, 1);
        return;
      }
    }
  }

  /** Errors answer frames in order: the oldest message still waiting is the one refused. */
  function onError(frame) {
    hideTyping();
    for (var i = 0; i < state.pending.length; i++) {
      var p = state.pending[i];
      if (p.sent && !p.failed) {
        if (p.id) continue; // already delivered (its echo came back); the error is for a later one
        markFailed(p, frame.message || 'Not sent');
        return;
      }
    }
    if (frame.message) notice(frame.message, 'error');
  }

  function markFailed(p, reason) {
    p.failed = true;
    p.sent = false;
    p.el.classList.remove('sb-pending');
    p.el.classList.add('sb-failed');
    var old = p.el.querySelector('.sb-msg-error');
    if (old) old.parentNode.removeChild(old);
    var err = el('button', 'sb-msg-error', reason + ' · Retry');
    err.type = 'button';
    err.addEventListener('click', function () {
      p.failed = false;
      p.el.classList.remove('sb-failed');
      p.el.classList.add('sb-pending');
      if (err.parentNode) err.parentNode.removeChild(err);
      flush();
    });
    p.el.appendChild(err);
  }

  // ------------------------------------------------------------------------------------------
  // What the browser tells the agents about the visitor: language and time zone (the
  // server reads the browser, OS and device from the User-Agent header).
  function browserProfile() {
    var profile = {};
    try {
      if (navigator.language) profile.language = String(navigator.language).slice(0, 64);
      var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (tz) profile.time_zone = String(tz).slice(0, 64);
    } catch (e) { /* an old browser: nothing to tell */ }
    return profile;
  }

  // How the visitor arrived: the first page of this browser session (sessionStorage, so it is
  // the first touch even after they browsed on), its referrer and campaign parameters. Sent
  // with the messages that may start the conversation, with the page the chat starts on; the
  // server keeps it only when it names a campaign or another site, and bounds every field.
  var ATTRIBUTION_PARAMS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'utm_id', 'gclid', 'fbclid'];
  var MAX_URL = 2048;

  function boundedUrl(u) {
    u = String(u || '');
    return u && u.length <= MAX_URL && /^https?:\/\//i.test(u) ? u : null;
  }

  function captureFirstTouch() {
    if (storageGet(sessionStorage, FIRST_TOUCH_KEY)) return;
    var touch = { landing_url: boundedUrl(location.href), referrer: boundedUrl(document.referrer), params: {} };
    try {
      var query = new URLSearchParams(location.search);
      for (var i = 0; i < ATTRIBUTION_PARAMS.length; i++) {
        var v = query.get(ATTRIBUTION_PARAMS[i]);
        if (v) touch.params[ATTRIBUTION_PARAMS[i]] = v.slice(0, 256);
      }
    } catch (e) { /* an old browser: no parameters */ }
    storageSet(sessionStorage, FIRST_TOUCH_KEY, JSON.stringify(touch));
  }

  function attribution() {
    var touch = {};
    try { touch = JSON.parse(storageGet(sessionStorage, FIRST_TOUCH_KEY) || '{}') || {}; } catch (e) { touch = {}; }
    var a = { page_url: boundedUrl(location.href), params: touch.params || {} };
    if (touch.landing_url) a.landing_url = touch.landing_url;
    if (touch.referrer) a.referrer = touch.referrer;
    if (!a.page_url) delete a.page_url;
    return a;
  }

  function sessionBody() {
    var body = browserProfile();
    if (state.token) body.visitor_token = state.token;
    return body;
  }

  function profileQuery() {
    var p = browserProfile();
    var q = '';
    if (p.language) q += '&language=' + encodeURIComponent(p.language);
    if (p.time_zone) q += '&time_zone=' + encodeURIComponent(p.time_zone);
    return q;
  }

  // Server: session (history) and the live socket

  function start() {
    if (state.started) return;
    state.started = true;
    refreshSession().then(connect, function () {
      state.started = false;
      showConn(true, 'Cannot reach the chat right now. Retrying…');
      scheduleRetry(start);
    });
  }

  /** Who I am and what was said: kept token so history survives reloads; called on every reconnect. */
  function refreshSession() {
    return fetch(HOST + '/widget/' + encodeURIComponent(INBOX) + '/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(sessionBody()),
    }).then(function (res) {
      if (!res.ok) throw new Error('session ' + res.status);
      return res.json();
    }).then(function (data) {
      state.token = data.visitor_token;
      storageSet(localStorage, TOKEN_KEY, state.token);
      state.conversationId = data.conversation_id || null;
      setAgent(data.agent && data.agent.name);
      var list = data.messages || [];
      for (var i = 0; i < list.length; i++) showMessage(list[i], true);
      scrollToEnd();
    });
  }

  function connect() {
    clearTimeout(state.retryTimer);
    var url = HOST.replace(/^http/, 'ws') + '/widget/' + encodeURIComponent(INBOX) + '/ws?visitor_token=' + encodeURIComponent(state.token) + profileQuery();
    var ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      scheduleRetry(reconnect);
      return;
    }
    state.ws = ws;
    state.ready = false;
    ws.onmessage = function (e) {
      var frame;
      try { frame = JSON.parse(e.data); } catch (err) { return; }
      onFrame(frame);
    };
    ws.onclose = function () {
      if (state.ws !== ws) return;
      state.ws = null;
      state.ready = false;
      clearInterval(state.pingTimer);
      // Whatever was sent but not acknowledged goes again (same client_id) after reconnecting.
      for (var i = 0; i < state.pending.length; i++) if (!state.pending[i].failed) state.pending[i].sent = false;
      showConn(true, 'Reconnecting…');
      scheduleRetry(reconnect);
    };
  }

  function reconnect() {
    refreshSession().then(connect, function () { scheduleRetry(reconnect); });
  }

  function scheduleRetry(fn) {
    var delay = Math.min(30000, 1000 * Math.pow(2, state.attempts++)) * (0.6 + Math.random() * 0.4);
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(fn, delay);
  }

  function showConn(on, text) {
    ui.conn.hidden = !on;
    if (text) ui.conn.textContent = text;
  }

  function onFrame(f) {
    switch (f.type) {
      case 'hello':
        state.attempts = 0;
        state.ready = true;
        if (f.conversation_id) state.conversationId = f.conversation_id;
        showConn(false);
        clearInterval(state.pingTimer);
        state.pingTimer = setInterval(function () {
          if (state.ws && state.ws.readyState === 1) state.ws.send('{"type":"ping"}');
        }, 25000);
        flush();
        break;
      case 'message':
        showMessage(f.message, false);
        break;
      case 'ack':
        onAck(f);
        break;
      case 'agent_joined':
        setAgent(f.name || 'An agent');
        hideTyping();
        notice(isolate(f.name || 'An agent') + ' joined the conversation');
        break;
      case 'agent_left':
        setAgent(null);
        notice("You're back with the assistant");
        break;
      case 'error':
        onError(f);
        break;
      default:
        break;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Boot

  function boot() {
    captureFirstTouch();
    build();
    loadStyles(function () { ui.root.hidden = false; });
    // A returning visitor connects at once so replies that arrive while the panel is closed
    // still show as unread on the bubble; a new visitor connects when they open the chat.
    if (state.token) start();
    if (storageGet(sessionStorage, OPEN_KEY) === '1' || script.getAttribute('data-open') === 'true') setOpen(true);
  }

  if (document.body) boot();
  else document.addEventListener('DOMContentLoaded', boot);
})();
