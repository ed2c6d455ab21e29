// One message of the thread as an element: its bubble and author, ticks, attachments, links in
// its text, and system events said in the reader's words and time zone.

import { basisLine, noteMark } from './answer-basis.js';
import { mediaBlob } from './api.js';
import { csatEvent } from './csat.js';
import { h, icon } from './dom.js';
import { bdi, clockTime, dayLabel, fullTime, parseTime, whenLabel } from './format.js';
import { agentName, state } from './store.js';
import { toast } from './ui.js';
import { t, tn } from './i18n.js';

const TICKS = () => ({
  queued: ['◷', t('msg.queued')],
  sent: ['✓', t('msg.sent')],
  delivered: ['✓✓', t('msg.delivered')],
  read: ['✓✓', t('msg.read')],
  failed: ['⚠', t('msg.failed')],
});

/** Who wrote a message, for its bubble: text and nodes (an agent's name isolated). */
function authorLabel(m) {
  // Said on the business's behalf when a person is asked for, not by the assistant.
  if (m.payload?.automatic === 'handoff_ack') return t('msg.automatic_reply');
  if (m.author === 'assistant') {
    // Named when there are several; a knowledge-base answer given because the model failed says so.
    const name = state.assistants.size > 1 ? state.assistants.get(m.payload?.assistant)?.name : null;
    const fallback = m.payload?.answered_by === 'knowledge_base_fallback' ? t('msg.kb_fallback') : '';
    return `${name || t('msg.assistant')}${fallback}`;
  }
  if (m.author === 'agent') return m.agent_id === state.me?.id ? t('msg.you') : bdi(agentName(m.agent_id) || t('thread.agent'));
  return '';
}

// ---------------------------------------------------------------------------------------------
// System events ("Alice assigned this to Bob"), said from their payload in the reader's words
// and time zone. The stored text (names as they were, times in UTC) is the fallback.

/** Who did it: an agent's name (isolated), "you", or the system. */
function actor(id, { start = false } = {}) {
  if (!id) return 'Switchboard';
  if (id === state.me?.id) return start ? t('msg.you') : t('msg.you_lower');
  const name = state.agents.get(id)?.name;
  return name ? bdi(name) : start ? t('msg.an_agent_start') : t('msg.an_agent');
}

const withReason = (parts, reason) => (reason ? [...parts, t('msg.reason_sep'), bdi(reason)] : parts);

/** The event as text and nodes, or null when the payload is not one we know. */
function systemEvent(p) {
  if (!p || typeof p !== 'object' || typeof p.event !== 'string') return null;
  const by = p.by || null;
  switch (p.event) {
    case 'reopened':
      return [t('msg.ev.reopened'), p.to ? ` (${p.to})` : ''];
    case 'answer_marked_wrong':
      return withReason(tn('msg.ev.answer_marked_wrong', { who: actor(by, { start: true }) }), p.reason);
    case 'answer_mark_cleared':
      return tn('msg.ev.answer_mark_cleared', { who: actor(by, { start: true }) });
    case 'took_over':
      return tn('msg.ev.took_over', { who: actor(by, { start: true }) });
    case 'handed_back':
      return tn('msg.ev.handed_back', { who: actor(by, { start: true }) });
    case 'closed':
      return by ? tn('msg.ev.closed_by', { who: actor(by) }) : [t('msg.ev.closed_auto')];
    case 'reply_took_over':
      return tn('msg.ev.reply_took_over', { who: actor(by, { start: true }) });
    case 'assigned':
      if (!p.to) return null;
      if (!by) return tn('msg.ev.assigned_auto', { to: actor(p.to) });
      if (by === p.to) return tn(by === state.me?.id ? 'msg.ev.assigned_yourself' : 'msg.ev.assigned_themselves', { who: actor(by, { start: true }) });
      return tn('msg.ev.assigned', { who: actor(by, { start: true }), to: actor(p.to) });
    case 'unassigned':
      return tn('msg.ev.unassigned', { who: actor(by, { start: true }) });
    case 'claimed':
      return tn('msg.ev.claimed', { who: actor(by, { start: true }) });
    case 'follow_up_scheduled': {
      const at = parseTime(p.at);
      if (!at) return null;
      const what = by ? tn('msg.ev.follow_up_by', { who: actor(by, { start: true }), when: whenLabel(at) }) : tn('msg.ev.follow_up', { when: whenLabel(at) });
      return withReason(what, p.reason);
    }
    case 'follow_up_cancelled':
      return by ? tn('msg.ev.follow_up_cancelled_by', { who: actor(by, { start: true }) }) : [t('msg.ev.follow_up_cancelled')];
    case 'follow_up_due':
      return withReason([t('msg.ev.follow_up_due')], p.reason);
    case 'ai_follow_up_scheduled': {
      const at = parseTime(p.at);
      if (!at) return null;
      return withReason(tn('msg.ev.ai_follow_up', { when: whenLabel(at) }), p.reason);
    }
    case 'snoozed': {
      const at = parseTime(p.until);
      return tn('msg.ev.snoozed', { who: actor(by, { start: true }), until: at ? whenLabel(at) : t('msg.ev.until_customer') });
    }
    case 'unsnoozed':
      if (p.why === 'woken') return tn('msg.ev.woken', { who: actor(by, { start: true }) });
      return [p.why === 'customer_wrote' ? t('msg.ev.unsnoozed_customer') : t('msg.ev.unsnoozed')];
    default:
      return csatEvent(p, actor);
  }
}

/** The thread's line for a system event. Handoffs keep their stored text: it quotes the
 * customer's words (or counts the misses), which the payload does not carry. */
function systemText(m) {
  const p = m.payload;
  if (p?.event === 'handed_off' && m.text) return [m.text];
  return systemEvent(p) || [m.text ?? ''];
}

// ---------------------------------------------------------------------------------------------
// The element

/** `onRetry(clientId)` sends a failed message again. */
export function msgElement(m, onRetry) {
  const d = parseTime(m.sent_at);
  if (m.author === 'system') {
    noteMark(m.payload);
    return h('div', { class: 'msg msg-system', dataset: { id: m.id, event: m.payload?.event } },
      h('div', { class: 'msg-system-inner' },
        h('span', { class: 'msg-text' }, systemText(m)),
        h('time', { class: 'msg-time', title: fullTime(d), text: clockTime(d) })));
  }
  const classes = ['msg', `msg-${m.author}`];
  if (m.private) classes.push('msg-note');
  if (m._pending) classes.push('msg-pending');
  if (m._failed) classes.push('msg-failed');
  const undelivered = m.delivery_status === 'failed' && !m._pending;
  if (undelivered) classes.push('msg-undelivered');
  let label = authorLabel(m);
  if (m.private) label = [t('msg.private_note'), label];
  return h('div', { class: classes.join(' '), dataset: { id: m.id, clientId: m.client_id || undefined } },
    h('div', { class: 'msg-bubble' },
      label && h('div', { class: 'msg-author' }, label),
      attachment(m),
      messageText(m.text),
      h('div', { class: 'msg-meta' },
        m.segments > 1 && h('span', { class: 'msg-segments', title: t('msg.sms_parts'), text: t('msg.sms_count', { count: m.segments }) }),
        h('time', { class: 'msg-time', title: fullTime(d), text: clockTime(d) }),
        statusTick(m))),
    basisLine(m.conversation_id, m),
    undelivered && h('div', { class: 'msg-retry', text: t('msg.not_delivered', { reason: m.failure_reason || t('msg.unknown_error') }) }),
    m._failed && h('div', { class: 'msg-retry' },
      h('span', { text: m._error || t('msg.not_sent') }),
      m._retry && h('button', { class: 'link-btn', type: 'button', text: t('msg.retry'), onclick: () => onRetry(m.client_id) })));
}

function isImage(m) {
  return ['image', 'sticker'].includes(m.kind) || /^image\//.test(m.media_mime || '');
}

function attachment(m) {
  // The provider's file could not be fetched; the reason says whether it is tried again.
  if (m.media_error) return h('div', { class: 'msg-file msg-file-error', role: 'note', text: t('msg.attachment_error', { error: m.media_error }) });
  if (m.media_pending) return h('div', { class: 'msg-file muted', text: t('msg.attachment_downloading') });
  if (m.kind === 'location' && m.payload && Number.isFinite(+m.payload.latitude) && Number.isFinite(+m.payload.longitude)) {
    const lat = +m.payload.latitude;
    const lon = +m.payload.longitude;
    return h('a', { class: 'msg-file', href: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`, target: '_blank', rel: 'noopener noreferrer', text: `${t('msg.location')} ${lat.toFixed(5)}, ${lon.toFixed(5)}${m.payload.name ? ` · ${m.payload.name}` : ''}` });
  }
  if (!m.media_url || !/^\/api\/files\//.test(m.media_url)) return null;
  const name = m.media_filename || (isImage(m) ? t('msg.image') : t('msg.kind_attachment', { kind: m.kind || t('msg.file') }));
  if (isImage(m)) {
    const img = h('img', { class: 'msg-image', alt: name });
    const box = h('button', { class: 'msg-image-box', type: 'button', title: t('msg.open_full'), onclick: () => openFile(m) }, img);
    mediaBlob(m.media_url).then((src) => { img.src = src; }, () => box.replaceWith(h('div', { class: 'msg-file muted', text: t('msg.image_unavailable') })));
    return box;
  }
  // Audio, video and documents open in a new tab from a blob (the CSP allows no media sources).
  return h('button', { class: 'msg-file', type: 'button', title: m.media_mime || '', onclick: () => openFile(m) }, icon('download', 'icon icon-xs'), h('span', { text: name }));
}

async function openFile(m) {
  try {
    const url = await mediaBlob(m.media_url);
    const a = h('a', { href: url, target: '_blank', rel: 'noopener' });
    if (!isImage(m) && !/^(audio|video)\//.test(m.media_mime || '')) a.download = m.media_filename || 'attachment';
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    toast(t('msg.error_open_file', { error: e.message }), 'error');
  }
}

/** The text, with http(s) links made clickable; every piece is still a text node. */
function messageText(text) {
  const el = h('div', { class: 'msg-text', dir: 'auto' });
  const source = String(text ?? '');
  let last = 0;
  for (const match of source.matchAll(/\bhttps?:\/\/[^\s<>"']+/gi)) {
    const url = match[0].replace(/[.,;:!?)\]]+$/, '');
    el.append(source.slice(last, match.index));
    el.append(h('a', { href: url, target: '_blank', rel: 'noopener noreferrer nofollow', text: url }));
    last = match.index + url.length;
  }
  el.append(source.slice(last));
  return el;
}

function statusTick(m) {
  if (m._pending && !m._failed) return h('span', { class: 'msg-sending', text: t('msg.sending') });
  const status = m.delivery_status;
  if (!status || m.private || m.author === 'customer') return null;
  const [glyph, label] = TICKS()[status] || ['', status];
  const title = status === 'failed' ? t('msg.failed_reason', { reason: m.failure_reason || t('msg.unknown_error') }) : label;
  return h('span', { class: `msg-status tick-${status}`, dataset: { status }, title, 'aria-label': title, text: glyph });
}

export function daySeparator(d) {
  return h('div', { class: 'day-sep', role: 'separator' }, h('span', { text: dayLabel(d) }));
}
