// What each assistant answer rested on, under its bubble: the knowledge-base entry (its
// question as it was then) or the model that wrote it, and how sure it was; a "Mark wrong"
// button (POST /api/conversations/{id}/messages/{message_id}/wrong, with an optional reason)
// and, once marked, who marked it and an Undo. The mark's state comes from the thread's
// notes (answer_marked_wrong / answer_mark_cleared), so every agent sees it live.

import { api } from './api.js';
import { h } from './dom.js';
import { t, tn } from './i18n.js';
import { agentName, state } from './store.js';
import { toast } from './ui.js';

/** message id → { by, reason } while marked wrong. Filled from notes as they render: a
 * thread loads newest first, so a mark's note is known before an older answer renders. */
const marks = new Map();

/** A note about a mark: remembered, and the answer's line redrawn if it is on screen. */
export function noteMark(p) {
  if (!p?.message_id) return;
  if (p.event === 'answer_marked_wrong') marks.set(p.message_id, { by: p.by, reason: p.reason });
  else if (p.event === 'answer_mark_cleared') marks.delete(p.message_id);
  else return;
  const el = document.querySelector(`.answer-basis[data-answer-for="${CSS.escape(p.message_id)}"]`);
  if (el) el.replaceWith(basisLine(el.dataset.conversation, el.__message));
}

const pct = (c) => Math.round(c * 100);
const quoted = (q) => tn('answer.quoted', { question: h('bdi', { text: q }) });

/** "From the knowledge base: “…” · 88% sure", or the model and its own estimate. */
function source(p) {
  const entry = p.entry?.question ? quoted(p.entry.question) : null;
  const sure = p.confidence != null;
  if (p.answered_by === 'model') {
    const model = h('bdi', { text: p.model || t('answer.the_model') });
    return [
      ...(entry ? tn('answer.model_from', { model, entry: h('span', {}, entry) }) : tn('answer.model', { model })),
      sure ? t('answer.model_sure', { percent: pct(p.confidence) }) : '',
    ];
  }
  if (p.outcome === 'no_match') {
    return [
      t('answer.no_match'),
      ...(entry ? tn('answer.closest', { entry: h('span', {}, entry) }) : []),
      sure ? t('answer.match', { percent: pct(p.confidence) }) : '',
    ];
  }
  return [
    ...tn('answer.from_kb', { entry: h('span', {}, entry || '') }),
    sure ? t('answer.sure', { percent: pct(p.confidence) }) : '',
  ];
}

async function setMark(conversationId, m, wrong, reason) {
  const path = `/api/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(m.id)}/wrong`;
  try {
    if (wrong) await api('POST', path, reason ? { reason } : {});
    else await api('DELETE', path);
    noteMark({ event: wrong ? 'answer_marked_wrong' : 'answer_mark_cleared', message_id: m.id, by: state.me?.id, reason });
  } catch (e) {
    // Marked meanwhile by someone else: the note on its way says so.
    if (e.status === 409) return;
    toast(t(wrong ? 'answer.mark_failed' : 'answer.unmark_failed', { error: e.message }), 'error');
  }
}

function markForm(conversationId, m, line) {
  const reason = h('input', { class: 'input-sm', type: 'text', maxlength: 500, placeholder: t('answer.reason_placeholder'), 'aria-label': t('answer.reason_placeholder') });
  const form = h('form', { class: 'answer-mark-form' },
    reason,
    h('button', { class: 'btn btn-small btn-danger', type: 'submit', text: t('answer.mark_wrong') }),
    h('button', { class: 'btn btn-small', type: 'button', text: t('common.cancel'), onclick: () => form.replaceWith(line.__button) }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    // One request per mark: a second Enter while the first is on its way does nothing.
    if (form.dataset.busy) return;
    form.dataset.busy = '1';
    for (const el of form.elements) el.disabled = true;
    await setMark(conversationId, m, true, reason.value.trim());
    delete form.dataset.busy;
    for (const el of form.elements) el.disabled = false;
  });
  form.addEventListener('keydown', (e) => {
    // Letters typed here are text, not shortcuts; Escape cancels.
    e.stopPropagation();
    if (e.key === 'Escape') form.replaceWith(line.__button);
  });
  return { form, reason };
}

/** The line under an assistant answer, or null for messages that are not answers. */
export function basisLine(conversationId, m) {
  const p = m?.payload;
  if (m?.author !== 'assistant' || !p?.outcome) return null;
  const mark = marks.get(m.id);
  const line = h('div', { class: `answer-basis small${mark ? ' answer-wrong' : ''}`, dataset: { answerFor: m.id, conversation: conversationId } });
  line.__message = m;
  line.append(h('span', { class: 'answer-source' }, source(p)));
  if (mark) {
    const who = h('bdi', { text: mark.by === state.me?.id ? t('answer.you') : agentName(mark.by) || t('answer.an_agent') });
    const marked = mark.reason
      ? tn('answer.marked_by_reason', { who, reason: h('bdi', { text: mark.reason }) })
      : tn('answer.marked_by', { who });
    line.append(' · ', h('span', { class: 'answer-marked' }, marked),
      ' ', h('button', { class: 'link-btn', type: 'button', text: t('answer.undo'), onclick: (e) => { e.currentTarget.disabled = true; setMark(conversationId, m, false); } }));
    return line;
  }
  if (p.outcome !== 'answered') return line;
  const button = h('button', { class: 'link-btn answer-mark', type: 'button', text: t('answer.mark_wrong'), title: t('answer.mark_wrong_title') });
  line.__button = button;
  button.addEventListener('click', () => {
    const { form, reason } = markForm(conversationId, m, line);
    button.replaceWith(form);
    reason.focus();
  });
  line.append(' · ', button);
  return line;
}
