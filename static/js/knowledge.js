// The Knowledge page (#/knowledge): GET /api/reports/knowledge-base for a period and an inbox.
// The questions the assistant could not answer, most frequent first, with the entry that came
// closest (the one to improve) and links to the conversations; and the answers agents marked
// wrong, per entry or model, with their reasons. The page to improve the knowledge base from.

import { api } from './api.js';
import { $, h, show } from './dom.js';
import { parseTime, whenLabel } from './format.js';
import { formatNumber, t, tn } from './i18n.js';
import { fillInboxSelect, setPeriod } from './reports.js';
import { agentName } from './store.js';
import { currentPage, routePanes } from './ui.js';

const onPage = () => currentPage() === 'knowledge';
let loaded = 0; // the latest request's number: an older answer is dropped

const setPreset = (days) => setPeriod($('#kb-from'), $('#kb-to'), days);

function query() {
  const p = new URLSearchParams();
  if ($('#kb-from').value) p.set('from', $('#kb-from').value);
  if ($('#kb-to').value) p.set('to', $('#kb-to').value);
  if ($('#kb-inbox').value) p.set('inbox', $('#kb-inbox').value);
  return `/api/reports/knowledge-base?${p}`;
}

function route() {
  const on = onPage();
  show($('#knowledge-page'), on);
  routePanes();
  $('#nav-knowledge').classList.toggle('active', on);
  if (!on) return;
  if (!$('#kb-from').value && !$('#kb-to').value) setPreset(30);
  fillInboxSelect($('#kb-inbox'));
  load();
}

async function load() {
  const n = ++loaded;
  show($('#kb-loading'), true);
  show($('#kb-error'), false);
  $('#knowledge-page').setAttribute('aria-busy', 'true');
  try {
    const r = await api('GET', query());
    if (n === loaded) render(r);
  } catch (e) {
    if (n !== loaded) return;
    $('#kb-error').textContent = t('kb.load_failed', { error: e.message });
    show($('#kb-error'), true);
  } finally {
    if (n === loaded) {
      show($('#kb-loading'), false);
      $('#knowledge-page').removeAttribute('aria-busy');
    }
  }
}

const card = (id, label, value) => h('div', { class: 'report-card', dataset: { figure: id } },
  h('div', { class: 'report-card-label', text: label }),
  h('div', { class: 'report-card-value', text: typeof value === 'number' ? formatNumber(value) : value }));

const conversationLinks = (ids) => ids.map((id, i) =>
  h('a', { href: `#/c/${encodeURIComponent(id)}`, text: `#${i + 1}`, title: t('kb.open_conversation'), class: 'kb-conv' }));

const entryLabel = (e) => (e ? h('bdi', { text: e.question || e.id }) : h('span', { class: 'muted', text: t('kb.no_entry') }));

function render(r) {
  const asked = r.answered + r.unanswered;
  const share = asked ? formatNumber(r.unanswered / asked, { style: 'percent', maximumFractionDigits: 1 }) : '—';
  $('#kb-cards').replaceChildren(
    card('answered', t('kb.answered'), r.answered),
    card('unanswered', t('kb.unanswered'), r.unanswered),
    card('unanswered_share', t('kb.unanswered_share'), share),
    card('marked_wrong', t('kb.marked_wrong'), r.marked_wrong));
  show($('#kb-truncated'), r.truncated);

  const rows = r.questions.map((q) => h('tr', {},
    h('td', {}, h('bdi', { text: q.question })),
    h('td', { class: 'num', text: formatNumber(q.count) }),
    h('td', { text: whenLabel(parseTime(q.last_asked_at)) }),
    h('td', {}, entryLabel(q.closest_entry)),
    h('td', {}, ...conversationLinks(q.conversations))));
  $('#kb-questions').replaceChildren(...(rows.length ? rows
    : [h('tr', {}, h('td', { colspan: 5, class: 'muted', text: t('kb.all_answered') }))]));

  const wrong = r.wrong.map((w) => h('tr', {},
    h('td', {}, w.entry ? entryLabel(w.entry) : h('span', {}, tn('kb.model', { model: h('bdi', { text: w.model || '' }) }))),
    h('td', { class: 'num', text: formatNumber(w.count) }),
    h('td', {}, h('ul', { class: 'kb-examples' }, ...w.examples.map((x) => h('li', {},
      h('bdi', { text: x.question }),
      x.reason ? [' — ', h('em', {}, h('bdi', { text: x.reason }))] : [],
      ' ', h('span', { class: 'muted', text: t('kb.marked_by_when', { who: agentName(x.marked_by) || t('answer.an_agent'), when: whenLabel(parseTime(x.marked_at)) }) }),
      ' ', h('a', { href: `#/c/${encodeURIComponent(x.conversation_id)}`, text: t('kb.open') })))))));
  $('#kb-wrong').replaceChildren(...(wrong.length ? wrong
    : [h('tr', {}, h('td', { colspan: 3, class: 'muted', text: t('kb.none_wrong') }))]));
}

export function bindKnowledge() {
  $('#kb-form').addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });
  for (const b of document.querySelectorAll('[data-kb-preset]')) {
    b.addEventListener('click', () => {
      setPreset(Number(b.dataset.kbPreset));
      load();
    });
  }
  window.addEventListener('hashchange', route);
}

/** After sign-in: the page if the address names it. */
export function startKnowledge() {
  show($('#nav-knowledge'), true);
  route();
}
