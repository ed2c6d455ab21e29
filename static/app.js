// Switchboard agent dashboard: the entry module, which wires the others together.
//
// Plain ES modules with no build step and no external resources: the server embeds them all
// (static/app.js and static/js/*.js). Rule that every module follows: text that comes from the
// server (customer messages, names, tags, reasons…) reaches the DOM only through textContent or
// text nodes, via h() (js/dom.js). No markup is ever built from strings, so a customer writing
// `<img onerror=…>` just sees those characters.
//
//   js/dom.js       h(), $/$$, icons, debounce, uuid
//   js/format.js    times, bidi isolation, names, channels, avatars
//   js/store.js     the shared state, its mutations and subscriptions
//   js/api.js       the API client
//   js/realtime.js  the websocket: resume, reload
//   js/list.js      the conversation list
//   js/thread.js    the open conversation: routing, header, typing, read state
//   js/messages.js  its messages: order, paging, sending
//   js/message.js   one message: bubble, attachments, system events
//   js/composer.js  replies, notes, SMS parts, templates
//   js/contact.js   the contact panel
//   js/contact-segments.js  the panel's segments and unsubscribe button
//   js/segments.js  the Segments page (#/segments)
//   js/broadcasts.js  the Broadcasts page (#/broadcasts); broadcast-detail.js the open one
//   js/contact-broadcasts.js  the panel's broadcasts
//   js/reports.js     the Reports page (#/reports): figures, chart, tables, CSV
//   js/knowledge.js   the Knowledge page (#/knowledge): unanswered questions, wrong answers
//   js/agents.js    the Agents page (#/agents, admins): add, roles, deactivate, passwords
//   js/account.js   Your account (#/account): my name and password
//   js/answer-basis.js  under each assistant answer: its entry or model, confidence, Mark wrong
//   js/bulk.js      selecting several conversations and acting on them at once
//   js/keys.js      keyboard shortcuts and their help sheet
//   js/new-conversation.js  the New dialog: write first, with a template
//   js/template-picker.js   the approved-template picker (composer and New dialog)
//   js/csat.js      satisfaction: list chip, thread events, the panel's stars
//   js/topbar.js    badge, availability, handoff bell
//   js/session.js   sign in and out, start
//   js/ui.js        toasts, confirmation, panes

import { $, hydrateIcons } from './js/dom.js';
import { bindComposer } from './js/composer.js';
import { bindContact, renderFollowUp } from './js/contact.js';
import { bindReview, renderFollowUpBanner } from './js/review.js';
import { bindSnooze, renderSnoozeBanner, toggleSnoozeMenu } from './js/snooze.js';
import { bindNotify, notifyHandoff, notifyMessage } from './js/notify.js';
import { bindSegments } from './js/segments.js';
import { bindBroadcasts } from './js/broadcasts.js';
import { bindBulk } from './js/bulk.js';
import { bindKeys } from './js/keys.js';
import { bindCanned } from './js/canned.js';
import { bindKnowledge } from './js/knowledge.js';
import { bindAgents } from './js/agents.js';
import { bindAccount } from './js/account.js';
import { bindReports } from './js/reports.js';
import { bindNewConversation } from './js/new-conversation.js';
import { bindList, refreshListTimes, reloadList } from './js/list.js';
import { applyStatus, applyUpdate, bindMessages, removeMessage } from './js/messages.js';
import { keepAlive, listen, reconnectIfClosed } from './js/realtime.js';
import { bindSession, loadAgents, readTokenFromUrl, showLogin, startApp } from './js/session.js';
import {
  TOKEN_KEY, activeConv, endSession, loseSight, removeConversation, setAvailabilityOf, setToken, setViewers, state,
  upsertConversation,
} from './js/store.js';
import {
  bindThread, onMessageCreated, onTyping, reloadThread, renderAssignee, renderViewers, toggleMenu,
} from './js/thread.js';
import { addHandoff, bindTopbar, refreshBadge, setBadgeFrom, toggleBell } from './js/topbar.js';
import { setView, showError } from './js/ui.js';
import { loadLanguage, t } from './js/i18n.js';

/** What each pushed event changes. */
function handleEvent(f) {
  switch (f.type) {
    case 'message.created':
      onMessageCreated(f.conversation_id, f.message);
      notifyMessage(f.conversation_id, f.message);
      break;
    case 'message.status':
      if (f.conversation_id === state.activeId) applyStatus(f);
      break;
    case 'message.updated':
      // A downloaded attachment arrived, or its download failed.
      if (f.conversation_id === state.activeId && f.message) applyUpdate(f.message);
      break;
    case 'message.deleted':
      // A stored echo turned out to be our own send (merged into it): drop the copy.
      if (f.conversation_id === state.activeId) removeMessage(f.message_id);
      break;
    case 'conversation.created':
    case 'conversation.updated':
      upsertConversation(f.conversation, { live: true });
      break;
    case 'conversation.deleted':
      removeConversation(f.conversation_id, t('thread.was_deleted'));
      break;
    case 'conversation.hidden':
      // Reassigned to someone else: I no longer see it (nor get its updates).
      loseSight(f.conversation_id, f.assignee_name || state.agents.get(f.assignee_id)?.name);
      break;
    case 'handoff.requested':
      upsertConversation(f.conversation, { live: true });
      addHandoff(f);
      notifyHandoff(f);
      break;
    case 'badge':
      setBadgeFrom(f.counts);
      break;
    case 'typing':
      onTyping(f);
      break;
    case 'presence':
      if (Array.isArray(f.viewers)) {
        setViewers(f.conversation_id, f.viewers);
        if (f.conversation_id === state.activeId) renderViewers();
      } else if (f.agent_id) {
        if (!setAvailabilityOf(f.agent_id, f.availability)) loadAgents(); // a new agent
        if (activeConv()) renderAssignee(activeConv());
      }
      break;
    default:
      break;
  }
}

/** After a too-long disconnection: refetch the list and the open thread. */
function reloadEverything() {
  reloadList();
  refreshBadge();
  reloadThread();
}

/** Relative times age: refresh their text in place every half minute. */
function refreshTimes() {
  refreshListTimes();
  if (activeConv()) {
    renderFollowUp(activeConv());
    renderFollowUpBanner(activeConv());
    renderSnoozeBanner(activeConv());
  }
}

function bindEvents() {
  bindSession();
  bindTopbar();
  $('#nav-inbox').addEventListener('click', () => setView('list'));
  bindList();
  bindThread();
  bindMessages();
  bindComposer();
  bindContact();
  bindReview();
  bindSnooze();
  bindNotify();
  bindSegments();
  bindBroadcasts();
  bindBulk();
  bindKeys();
  bindCanned();
  bindReports();
  bindKnowledge();
  bindAgents();
  bindAccount();
  bindNewConversation();

  // Popovers close on an outside click or Escape.
  document.addEventListener('click', (e) => {
    if (!e.target.closest('.bell-wrap')) toggleBell(false);
    if (!e.target.closest('#menu-button, #menu')) toggleMenu(false);
    if (!e.target.closest('.snooze-wrap')) toggleSnoozeMenu(false);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    toggleBell(false);
    toggleMenu(false);
    toggleSnoozeMenu(false);
  });
  window.addEventListener('online', reconnectIfClosed);
  window.addEventListener('storage', (e) => {
    // Logged out in another tab.
    if (e.key === TOKEN_KEY && !e.newValue && state.token) endSession();
  });
}

async function main() {
  // "Sign in" pressed before the dashboard is ready (its language still loading) is kept and
  // sent once it is, not submitted as a plain form, which would reload the page.
  let earlySignIn = false;
  const holdSignIn = (e) => {
    e.preventDefault();
    earlySignIn = true;
  };
  $('#login-form').addEventListener('submit', holdSignIn);
  await loadLanguage();
  hydrateIcons();
  bindEvents();
  $('#login-form').removeEventListener('submit', holdSignIn);
  listen({ onEvent: handleEvent, onReload: reloadEverything, onHello: refreshBadge });
  readTokenFromUrl();
  setInterval(refreshTimes, 30000);
  setInterval(keepAlive, 25000);
  setToken(localStorage.getItem(TOKEN_KEY));
  const message = sessionStorage.getItem('sb-login-message');
  sessionStorage.removeItem('sb-login-message');
  if (!state.token) {
    showLogin(message);
    if (earlySignIn) $('#login-form').requestSubmit();
    return;
  }
  try {
    await startApp();
  } catch (e) {
    if (e.status !== 401) {
      // The server is unreachable: keep the shell and let the websocket retry.
      showError(e, t('app.error_start'));
    }
  }
}

main();
