// The AI review of a conversation: the summary card and the score with its rubric (contact
// panel), the score in the thread header and on list rows, and the AI follow-up banner above
// the composer. Everything the review wrote is customer-derived text: rendered as text only.

import { api, convPath } from './api.js';
import { $, h, show } from './dom.js';
import { fullTime, parseTime, relTime } from './format.js';
import { activeConv, state, upsertConversation } from './store.js';
import { showError } from './ui.js';

const CRITERIA = {
  responsiveness: 'First response time',
  resolution: 'Resolution',
  accuracy: 'Accuracy',
  empathy: 'Tone and empathy',
  greeting_closing: 'Greeting and closing',
  clarity: 'Clarity',
};

const STAGES = {
  in_progress: 'In progress',
  opportunity: 'Opportunity',
  potential_customer: 'Potential customer',
  quote_request: 'Quote request',
  follow_up: 'Follow-up',
  contacted: 'Contacted',
  waiting_response: 'Waiting response',
  info_only: 'Info only',
  not_interested: 'Not interested',
  spam: 'Spam',
};

/** good ≥ 80, fair ≥ 50, poor below. */
export function scoreClass(score) {
  if (score >= 80) return 'score-good';
  if (score >= 50) return 'score-fair';
  return 'score-poor';
}

/** "Responsiveness 25/25 — answered in 1 min" lines, for a tooltip. */
function rubricText(c) {
  return (c.quality_rubric || [])
    .map((r) => `${CRITERIA[r.name] || r.name} ${r.score}/${r.weight} — ${r.note}`)
    .join('\n');
}

/** The score chip of a list row (nothing before the first review). */
export function scoreChip(c) {
  if (c.quality_score == null) return null;
  return h('span', {
    class: `score-chip ${scoreClass(c.quality_score)}`,
    title: `AI review score ${c.quality_score}/100\n${rubricText(c)}`,
    text: String(c.quality_score),
  });
}

/** The score in the thread header; its tooltip is the rubric. */
export function renderThreadScore(c) {
  const el = $('#thread-score');
  const reviewed = c.quality_score != null;
  show(el, reviewed);
  if (!reviewed) return;
  el.className = `score-chip ${scoreClass(c.quality_score)}`;
  el.textContent = `${c.quality_score}/100`;
  el.title = `AI review score\n${rubricText(c)}`;
}

/** The review card of the contact panel: score, summary, rubric, suggested stage. */
export function renderReview(c) {
  const box = $('#review-body');
  if (c.quality_score == null || !c.reviewed_at) {
    const mins = Math.max(1, Math.round((state.dashboard?.review_after_secs ?? 600) / 60));
    box.replaceChildren(h('p', { class: 'muted small', text: `Not reviewed yet: conversations are reviewed about ${mins} min after their last message.` }));
    return;
  }
  const at = parseTime(c.reviewed_at);
  const by = c.reviewed_by === 'offline' ? 'built-in reviewer' : (state.assistants.get(c.reviewed_by)?.name || c.reviewed_by);
  const stage = c.suggested_lead_stage && c.suggested_lead_stage !== c.lead_stage
    ? h('p', { class: 'review-stage small', text: `Suggested stage: ${STAGES[c.suggested_lead_stage] || c.suggested_lead_stage}${c.lead_stage ? ' (a person chose another)' : ''}` })
    : null;
  box.replaceChildren(
    h('div', { class: 'review-head' },
      h('span', { class: `score-chip score-lg ${scoreClass(c.quality_score)}`, text: String(c.quality_score) }),
      h('span', { class: 'muted small', title: fullTime(at), text: `Reviewed ${relTime(at)} by the ${by}` })),
    h('p', { class: 'review-summary', dir: 'auto', text: c.summary || '' }),
    h('details', { class: 'review-rubric' },
      h('summary', { text: 'Score breakdown' }),
      h('ul', {}, ...(c.quality_rubric || []).map((r) =>
        h('li', {},
          h('span', { class: 'rubric-name', text: CRITERIA[r.name] || r.name }),
          h('span', { class: 'rubric-score', text: `${r.score}/${r.weight}` }),
          h('span', { class: 'rubric-note muted', dir: 'auto', text: r.note }))))),
    stage,
  );
}

/** "AI follow-up in 23 hours" with Cancel, above the composer, while one is scheduled. */
export function renderFollowUpBanner(c) {
  const banner = $('#followup-banner');
  const at = parseTime(c?.follow_up?.at);
  show(banner, !!at);
  if (!at) return;
  const who = c.follow_up.source === 'ai' ? 'AI follow-up' : 'Follow-up';
  $('#followup-banner-text').textContent = `${who} ${inWords(at)}`;
  $('#followup-banner-text').title = `${fullTime(at)}${c.follow_up.reason ? `\n${c.follow_up.reason}` : ''}`;
}

/** "in 23 hours", "in 5 minutes", "in 2 days"; "due now" once the time has come. */
function inWords(at) {
  const mins = Math.round((at - new Date()) / 60000);
  if (mins <= 0) return 'due now';
  const n = (count, unit) => `in ${count} ${unit}${count === 1 ? '' : 's'}`;
  if (mins < 60) return n(mins, 'minute');
  if (mins < 48 * 60) return n(Math.round(mins / 60), 'hour');
  return n(Math.round(mins / 1440), 'day');
}

async function cancelFromBanner() {
  const c = activeConv();
  if (!c) return;
  try {
    upsertConversation(await api('DELETE', convPath(c.id, '/follow-up')));
  } catch (e) {
    showError(e, 'Could not cancel the follow-up');
  }
}

export function bindReview() {
  $('#followup-banner-cancel').addEventListener('click', cancelFromBanner);
}
