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
 * data-color (accent colour, any CSS colour), data-open="true" (start opened), data-lang
 * (`en`, `es`, `pt` or `hi`: the widget's language; without it, the first of the browser's
 * languages the widget speaks, else English). Every word the widget shows comes from the
 * catalogue below; the server is told the language, so its own texts (the handoff
 * acknowledgement, the satisfaction question) follow.
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

  // ------------------------------------------------------------------------------------------
  // Languages: one catalogue each, every visible string. `{name}` and `{n}` are filled in.

  var CATALOGUE = {
    en: {
      title: 'Chat with us',
      welcome: 'Hi! Ask us anything. Our assistant answers right away, and a person can join whenever you ask.',
      status: 'Our assistant replies instantly',
      chattingWith: 'Chatting with {name}',
      openChat: 'Open chat',
      closeChat: 'Close chat',
      typing: 'Assistant is typing',
      reconnecting: 'Reconnecting…',
      unreachable: 'Cannot reach the chat right now. Retrying…',
      placeholder: 'Write a message…',
      message: 'Message',
      send: 'Send',
      footer: 'Powered by Switchboard',
      assistant: 'Assistant',
      agent: 'Agent',
      anAgent: 'An agent',
      joined: '{name} joined the conversation',
      backWithAssistant: "You're back with the assistant",
      rate: 'Rate us from 1 to 5 stars',
      star: '{n} of 5',
      notSent: 'Not sent',
      retry: 'Retry',
      rateLimited: 'Too many messages; wait a few seconds',
      invalid: 'A message must be 1 to 4096 characters',
      undelivered: 'Your message could not be delivered; please try again',
      tooLarge: 'That message is too long',
    },
    es: {
      title: 'Chatea con nosotros',
      welcome: '¡Hola! Pregúntanos lo que quieras. Nuestro asistente responde al instante y una persona puede unirse cuando lo pidas.',
      status: 'Nuestro asistente responde al instante',
      chattingWith: 'Hablando con {name}',
      openChat: 'Abrir el chat',
      closeChat: 'Cerrar el chat',
      typing: 'El asistente está escribiendo',
      reconnecting: 'Reconectando…',
      unreachable: 'No podemos conectar con el chat ahora mismo. Reintentando…',
      placeholder: 'Escribe un mensaje…',
      message: 'Mensaje',
      send: 'Enviar',
      footer: 'Con la tecnología de Switchboard',
      assistant: 'Asistente',
      agent: 'Agente',
      anAgent: 'Un agente',
      joined: '{name} se ha unido a la conversación',
      backWithAssistant: 'Vuelves a hablar con el asistente',
      rate: 'Valóranos de 1 a 5 estrellas',
      star: '{n} de 5',
      notSent: 'No enviado',
      retry: 'Reintentar',
      rateLimited: 'Demasiados mensajes; espera unos segundos',
      invalid: 'Un mensaje debe tener entre 1 y 4096 caracteres',
      undelivered: 'No se pudo entregar tu mensaje; inténtalo de nuevo',
      tooLarge: 'El mensaje es demasiado largo',
    },
    pt: {
      title: 'Fale com a gente',
      welcome: 'Olá! Pergunte o que quiser. Nosso assistente responde na hora, e uma pessoa pode entrar na conversa quando você pedir.',
      status: 'Nosso assistente responde na hora',
      chattingWith: 'Conversando com {name}',
      openChat: 'Abrir o chat',
      closeChat: 'Fechar o chat',
      typing: 'O assistente está digitando',
      reconnecting: 'Reconectando…',
      unreachable: 'Não foi possível conectar ao chat agora. Tentando de novo…',
      placeholder: 'Escreva uma mensagem…',
      message: 'Mensagem',
      send: 'Enviar',
      footer: 'Desenvolvido com Switchboard',
      assistant: 'Assistente',
      agent: 'Atendente',
      anAgent: 'Um atendente',
      joined: '{name} entrou na conversa',
      backWithAssistant: 'Você voltou a falar com o assistente',
      rate: 'Avalie a gente de 1 a 5 estrelas',
      star: '{n} de 5',
      notSent: 'Não enviada',
      retry: 'Tentar de novo',
      rateLimited: 'Muitas mensagens; aguarde alguns segundos',
      invalid: 'Uma mensagem deve ter de 1 a 4096 caracteres',
      undelivered: 'Não foi possível entregar sua mensagem; tente de novo',
      tooLarge: 'A mensagem é longa demais',
    },
    hi: {
      title: 'हमसे चैट करें',
      welcome: 'नमस्ते! हमसे कुछ भी पूछें। हमारा सहायक तुरंत जवाब देता है, और आपके कहने पर कोई व्यक्ति भी बातचीत में जुड़ सकता है।',
      status: 'हमारा सहायक तुरंत जवाब देता है',
      chattingWith: '{name} से बात हो रही है',
      openChat: 'चैट खोलें',
      closeChat: 'चैट बंद करें',
      typing: 'सहायक लिख रहा है',
      reconnecting: 'फिर से जुड़ रहे हैं…',
      unreachable: 'अभी चैट से जुड़ नहीं पा रहे हैं। फिर से कोशिश कर रहे हैं…',
      placeholder: 'संदेश लिखें…',
      message: 'संदेश',
      send: 'भेजें',
      footer: 'Switchboard द्वारा संचालित',
      assistant: 'सहायक',
      agent: 'एजेंट',
      anAgent: 'एक एजेंट',
      joined: '{name} बातचीत में शामिल हुए',
      backWithAssistant: 'अब आप फिर से सहायक से बात कर रहे हैं',
      rate: '1 से 5 स्टार देकर हमें रेटिंग दें',
      star: '5 में से {n}',
      notSent: 'नहीं भेजा गया',
      retry: 'फिर से कोशिश करें',
      rateLimited: 'बहुत ज़्यादा संदेश; कुछ सेकंड रुकें',
      invalid: 'संदेश 1 से 4096 अक्षरों का होना चाहिए',
      undelivered: 'आपका संदेश नहीं पहुँच सका; कृपया फिर से कोशिश करें',
      tooLarge: 'संदेश बहुत लंबा है',
    },
  };

  /** The widget's language: `data-lang`, else the first of the browser's languages the widget
   *  speaks, else English. `tag` is what the server is told: the tag as given (`pt-BR`), or
   *  the browser's first language when the widget speaks none of them (the contact's profile
   *  shows it; the server's texts then use the default). */
  function pickLanguage() {
    var attr = script.getAttribute('data-lang');
    var list = attr ? [attr] : (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]);
    for (var i = 0; i < list.length; i++) {
      var primary = String(list[i] || '').toLowerCase().split(/[-_]/)[0];
      if (CATALOGUE.hasOwnProperty(primary)) return { lang: primary, tag: String(list[i]) };
    }
    return { lang: 'en', tag: list[0] ? String(list[0]) : null };
  }

  var LANGUAGE = pickLanguage();
  var T = CATALOGUE[LANGUAGE.lang];

  /** A catalogue string with its `{name}` / `{n}` filled in (names isolated, see isolate). */
  function t(key, values) {
    return T[key].replace(/\{(name|n)\}/g, function (_, k) {
      return k === 'name' ? isolate(values.name) : String(values.n);
    });
  }

  var HOST = new URL(script.src, location.href).origin;
  var INBOX = script.getAttribute('data-inbox') || 'website';
  var TITLE = script.getAttribute('data-title') || T.title;
  var WELCOME = script.getAttribute('data-welcome') || T.welcome;
  // At most one "typing" frame per this interval while the visitor types.
  var TYPING_EVERY_MS = 2000;
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
    typingSentAt: 0, // when the last "visitor is typing" frame went
    typingSent: false, // agents were told, and not yet that it stopped
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
    root.lang = LANGUAGE.lang;
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
    var status = el('div', 'sb-subtitle', T.status);
    status.id = 'sb-widget-status';
    headText.appendChild(title);
    headText.appendChild(status);
    var close = el('button', 'sb-close');
    close.id = 'sb-widget-close';
    close.type = 'button';
    close.setAttribute('aria-label', T.closeChat);
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
    typing.setAttribute('aria-label', T.typing);
    typing.hidden = true;
    typing.appendChild(el('span'));
    typing.appendChild(el('span'));
    typing.appendChild(el('span'));

    var conn = el('div', 'sb-conn', T.reconnecting);
    conn.id = 'sb-widget-conn';
    conn.hidden = true;

    var composer = el('div', 'sb-composer');
    var input = el('textarea', 'sb-input');
    input.id = 'sb-widget-input';
    input.rows = 1;
    input.maxLength = 4096;
    input.placeholder = T.placeholder;
    input.setAttribute('aria-label', T.message);
    var send = el('button', 'sb-send');
    send.id = 'sb-widget-send';
    send.type = 'button';
    send.setAttribute('aria-label', T.send);
    send.appendChild(icon('send'));
    composer.appendChild(input);
    composer.appendChild(send);

    var footer = el('div', 'sb-footer', T.footer);

    panel.appendChild(header);
    panel.appendChild(messages);
    panel.appendChild(typing);
    panel.appendChild(conn);
    panel.appendChild(composer);
    panel.appendChild(footer);

    var bubble = el('button', 'sb-bubble');
    bubble.id = 'sb-widget-bubble';
    bubble.type = 'button';
    bubble.setAttribute('aria-label', T.openChat);
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
    input.addEventListener('input', typingInput);
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
    ui.bubble.setAttribute('aria-label', open ? T.closeChat : T.openChat);
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
    if (author === 'assistant') return T.assistant;
    if (author === 'agent') return state.agentName || T.agent;
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
    row.setAttribute('aria-label', T.rate);
    for (var n = 1; n <= 5; n++) {
      var star = el('button', 'sb-csat-star', '★');
      star.type = 'button';
      star.setAttribute('data-score', String(n));
      star.setAttribute('aria-label', t('star', { n: n }));
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
    ui.status.textContent = name ? t('chattingWith', { name: name }) : T.status;
    if (!name) return;
    // A reply can arrive just before the news of who sent it: name those still unnamed.
    var labels = ui.messages.querySelectorAll('.sb-msg-agent .sb-msg-label');
    for (var i = 0; i < labels.length; i++) if (labels[i].textContent === T.agent) labels[i].textContent = name;
  }

  // ------------------------------------------------------------------------------------------
  // Sending

  function sendFromInput() {
    var text = ui.input.value.trim();
    if (!text) return;
    ui.input.value = '';
    autosize();
    stopTyping();
    sendText(text);
  }

  // The visitor's typing, shown to agents: a frame at most every TYPING_EVERY_MS while there is
  // text, and a stop when the field empties or the message goes.
  function typingInput() {
    if (!ui.input.value.trim()) return stopTyping();
    var now = Date.now();
    if (now - state.typingSentAt < TYPING_EVERY_MS) return;
    if (sendFrame({ type: 'typing' })) {
      state.typingSentAt = now;
      state.typingSent = true;
    }
  }

  function stopTyping() {
    if (!state.typingSent) return;
    state.typingSent = false;
    state.typingSentAt = 0;
    sendFrame({ type: 'typing', active: false });
  }

  /** Sends a frame that is worth nothing later (typing): dropped while disconnected. */
  function sendFrame(frame) {
    if (!state.ws || state.ws.readyState !== 1 || !state.ready) return false;
    state.ws.send(JSON.stringify(frame));
    return true;
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
        markFailed(p, errorText(frame));
        return;
      }
    }
    notice(errorText(frame), 'error');
  }

  /** The server's errors in the widget's language (its `message` is English). */
  function errorText(frame) {
    switch (frame.error) {
      case 'rate_limited': return T.rateLimited;
      case 'validation_failed': return T.invalid;
      case 'unavailable': return T.undelivered;
      case 'frame_too_large': return T.tooLarge;
      default: return T.notSent;
    }
  }

  function markFailed(p, reason) {
    p.failed = true;
    p.sent = false;
    p.el.classList.remove('sb-pending');
    p.el.classList.add('sb-failed');
    var old = p.el.querySelector('.sb-msg-error');
    if (old) old.parentNode.removeChild(old);
    var err = el('button', 'sb-msg-error', reason + ' · ' + T.retry);
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
      // Only what looks like a language tag (the server refuses one over 35 characters).
      if (LANGUAGE.tag && /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$/.test(LANGUAGE.tag) && LANGUAGE.tag.length <= 35) {
        profile.language = LANGUAGE.tag;
      }
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
      showConn(true, T.unreachable);
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
      state.typingSent = false; // a new socket starts with nobody told
      state.typingSentAt = 0;
      // Whatever was sent but not acknowledged goes again (same client_id) after reconnecting.
      for (var i = 0; i < state.pending.length; i++) if (!state.pending[i].failed) state.pending[i].sent = false;
      showConn(true, T.reconnecting);
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
        setAgent(f.name || T.anAgent);
        hideTyping();
        notice(t('joined', { name: f.name || T.anAgent }));
        break;
      case 'agent_left':
        setAgent(null);
        notice(T.backWithAssistant);
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
