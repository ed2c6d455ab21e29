// The AI review of a conversation: the summary card and the score with its rubric (contact
// panel), the score in the thread header and on list rows, and the AI follow-up banner above
// the composer. Everything the review wrote is customer-derived text: rendered as text only.

import { api, convPath } from './api.js';
import { $, h, show } from './dom.js';
import { fullTime, parseTime, relTime } from './format.js';
import { activeConv, state, upsertConversation } from './store.js';
import { showError } from './ui.js';
import { t } from './i18n.js';

const CRITERIA = () => ({
  responsiveness: t('review.c.responsiveness'),
  resolution: t('review.c.resolution'),
  accuracy: t('review.c.accuracy'),
  empathy: t('review.c.empathy'),
  greeting_closing: t('review.c.greeting_closing'),
  clarity: t('review.c.clarity'),
});

/** The lead stages by their names. */
const STAGES = () => ({
  in_progress: t('stage.in_progress'),
  opportunity: t('stage.opportunity'),
  potential_customer: t('stage.potential_customer'),
  quote_request: t('stage.quote_request'),
  follow_up: t('stage.follow_up'),
  contacted: t('stage.contacted'),
  waiting_response: t('stage.waiting_response'),
  info_only: t('stage.info_only'),
  not_interested: t('stage.not_interested'),
  spam: t('stage.spam'),
});

/** good ≥ 80, fair ≥ 50, poor below. */
export function scoreClass(score) {
  if (score >= 80) return 'score-good';
  if (score >= 50) return 'score-fair';
  return 'score-poor';
}

/** "Responsiveness 25/25 — answered in 1 min" lines, for a tooltip. */
function rubricText(c) {
  return (c.quality_rubric || [])
    .map((r) => `${CRITERIA()[r.name] || r.name} ${r.score}/${r.weight} — ${r.note}`)
    .join('\n');
}

/** The score chip of a list row (nothing before the first review). */
export function scoreChip(c) {
  if (c.quality_score == null) return null;
  return h('span', {
    class: `score-chip ${scoreClass(c.quality_score)}`,
    title: `${t('review.score_of', { score: c.quality_score })}\n${rubricText(c)}`,
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
  el.title = `${t('review.score')}\n${rubricText(c)}`;
}

/** The review card of the contact panel: score, summary, rubric, suggested stage. */
export function renderReview(c) {
  const box = $('#review-body');
  if (c.quality_score == null || !c.reviewed_at) {
    const mins = Math.max(1, Math.round((state.dashboard?.review_after_secs ?? 600) / 60));
    box.replaceChildren(h('p', { class: 'muted small', text: t('review.not_yet', { mins }) }));
    return;
  }
  const at = parseTime(c.reviewed_at);
  const by = c.reviewed_by === 'offline' ? t('review.builtin') : (state.assistants.get(c.reviewed_by)?.name || c.reviewed_by);
  const stage = c.suggested_lead_stage && c.suggested_lead_stage !== c.lead_stage
    ? h('p', { class: 'review-stage small', text: `${t('review.suggested', { stage: STAGES()[c.suggested_lead_stage] || c.suggested_lead_stage })}${c.lead_stage ? t('review.person_chose') : ''}` })
    : null;
  box.replaceChildren(
    h('div', { class: 'review-head' },
      h('span', { class: `score-chip score-lg ${scoreClass(c.quality_score)}`, text: String(c.quality_score) }),
      h('span', { class: 'muted small', title: fullTime(at), text: t('review.reviewed', { when: relTime(at), by }) })),
    h('p', { class: 'review-summary', dir: 'auto', text: c.summary || '' }),
    h('details', { class: 'review-rubric' },
      h('summary', { text: t('review.breakdown') }),
      h('ul', {}, ...(c.quality_rubric || []).map((r) =>
        h('li', {},
          h('span', { class: 'rubric-name', text: CRITERIA()[r.name] || r.name }),
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
  $('#followup-banner-text').textContent = t(c.follow_up.source === 'ai' ? 'review.ai_follow_up_in' : 'review.follow_up_in', { when: inWords(at) });
  $('#followup-banner-text').title = `${fullTime(at)}${c.follow_up.reason ? `\n${c.follow_up.reason}` : ''}`;
}

/** "in 23 hours", "in 5 minutes", "in 2 days"; "due now" once the time has come. */
function inWords(at) {
  const mins = Math.round((at - new Date()) / 60000);
  if (mins <= 0) return t('review.due_now');
  if (mins < 60) return t('time.in_minutes', { count: mins });
  if (mins < 48 * 60) return t('time.in_hours', { count: Math.round(mins / 60) });
  return t('time.in_days', { count: Math.round(mins / 1440) });
}

async function cancelFromBanner() {
  const c = activeConv();
  if (!c) return;
  try {
    upsertConversation(await api('DELETE', convPath(c.id, '/follow-up')));
  } catch (e) {
    showError(e, t('followup.error_cancel'));
  }
}

export function bindReview() {
  $('#followup-banner-cancel').addEventListener('click', cancelFromBanner);
}
