// The Reports page (#/reports): GET /api/reports/summary for a period (presets 7/30/90 days or
// chosen dates), an agent and an inbox. Figure cards, a plain-SVG bar chart of conversations
// opened and resolved per day, per-agent and per-inbox tables, and a CSV download (fetched
// with the bearer token and saved from a blob). Every number is the API's, only formatted.

import { api, ApiError } from './api.js';
import { $, h, show } from './dom.js';
import { state } from './store.js';
import { currentPage, routePanes } from './ui.js';
import { formatNumber, t } from './i18n.js';

const SVG = 'http://www.w3.org/2000/svg';
const onPage = () => currentPage() === 'reports';
let loaded = 0; // the latest request's number: an older answer is dropped

/** A duration in seconds as "45 s", "3 min", "2 h 5 min", "1 d 4 h"; "—" without one. */
export function formatDuration(s) {
  if (s == null) return '—';
  if (s < 60) return t('duration.s', { s });
  const min = Math.round(s / 60);
  if (min < 60) return t('duration.min', { min });
  const hours = Math.floor(min / 60);
  if (hours < 24) return min % 60 ? t('duration.h_min', { h: hours, min: min % 60 }) : t('duration.h', { h: hours });
  const days = Math.floor(hours / 24);
  return hours % 24 ? t('duration.d_h', { d: days, h: hours % 24 }) : t('duration.d', { d: days });
}

/** A rate as "30%" with its "12 of 40"; "—" without a denominator. */
export function formatRate(r) {
  if (!r || r.rate == null) return { value: '—', detail: t('reports.none_to_count') };
  return {
    value: formatNumber(r.rate, { style: 'percent', maximumFractionDigits: 1 }),
    detail: t('reports.n_of_m', { n: r.numerator, m: r.denominator }),
  };
}

const isoDay = (d) => d.toISOString().slice(0, 10);

/** Sets a period's date fields to the last `days` days, today included (the Knowledge page's too). */
export function setPeriod(fromInput, toInput, days) {
  const to = new Date();
  const from = new Date(to.getTime() - (days - 1) * 86400000);
  fromInput.value = isoDay(from);
  toInput.value = isoDay(to);
}

const setPreset = (days) => setPeriod($('#rp-from'), $('#rp-to'), days);

/** Fills an inbox filter with "All inboxes" and every inbox, keeping its choice. */
export function fillInboxSelect(sel) {
  const keep = sel.value;
  const inboxes = [...(state.inboxes?.values() || [])];
  sel.replaceChildren(h('option', { value: '', text: t('reports.all_inboxes') }),
    ...inboxes.map((i) => h('option', { value: i.id, text: i.name || i.id })));
  sel.value = keep;
}

function query(format) {
  const p = new URLSearchParams();
  if ($('#rp-from').value) p.set('from', $('#rp-from').value);
  if ($('#rp-to').value) p.set('to', $('#rp-to').value);
  if ($('#rp-agent').value) p.set('agent', $('#rp-agent').value);
  if ($('#rp-inbox').value) p.set('inbox', $('#rp-inbox').value);
  if (format) p.set('format', format);
  return `/api/reports/summary?${p}`;
}

function fillFilters() {
  const agentSel = $('#rp-agent');
  const keepAgent = agentSel.value;
  const agents = [...(state.agents?.values() || [])];
  agentSel.replaceChildren(h('option', { value: '', text: t('reports.all_agents') }),
    ...agents.map((a) => h('option', { value: a.id, text: a.name })));
  agentSel.value = keepAgent;
  fillInboxSelect($('#rp-inbox'));
}

function routeReports() {
  const on = onPage();
  show($('#reports-page'), on);
  routePanes();
  $('#nav-reports').classList.toggle('active', on);
  if (on) {
    if (!$('#rp-from').value && !$('#rp-to').value) setPreset(30);
    fillFilters();
    loadReport();
  }
}

async function loadReport() {
  const n = ++loaded;
  show($('#rp-loading'), true);
  show($('#rp-error'), false);
  $('#reports-page').setAttribute('aria-busy', 'true');
  try {
    const r = await api('GET', query());
    if (n !== loaded) return;
    render(r);
  } catch (e) {
    if (n !== loaded) return;
    $('#rp-error').textContent = t('reports.error_load', { error: e.message });
    show($('#rp-error'), true);
  } finally {
    if (n === loaded) {
      show($('#rp-loading'), false);
      $('#reports-page').removeAttribute('aria-busy');
    }
  }
}

function card(id, label, value, detail) {
  return h('div', { class: 'report-card', dataset: { figure: id } },
    h('div', { class: 'report-card-label', text: label }),
    h('div', { class: 'report-card-value', text: value }),
    h('div', { class: 'report-card-detail muted small', text: detail }));
}

function render(r) {
  const tot = r.totals;
  const fr = tot.first_response;
  const res = tot.resolution;
  const hand = formatRate(tot.handoff_rate);
  const assist = formatRate(tot.assistant_resolution_rate);
  const overConversations = t('reports.over_conversations', { count: fr.count });
  const overResolutions = t('reports.over_resolutions', { count: res.count });
  $('#rp-cards').replaceChildren(
    card('opened', t('reports.opened'), formatNumber(tot.opened), t('reports.opened_detail')),
    card('resolved', t('reports.resolved'), formatNumber(tot.resolved), t('reports.resolved_detail')),
    card('first-response-median', t('reports.first_response_median'), formatDuration(fr.median_seconds), overConversations),
    card('first-response-p90', t('reports.first_response_p90_long'), formatDuration(fr.p90_seconds), overConversations),
    card('resolution-median', t('reports.resolution_median'), formatDuration(res.median_seconds), overResolutions),
    card('resolution-p90', t('reports.resolution_p90'), formatDuration(res.p90_seconds), overResolutions),
    card('handoff-rate', t('reports.handoff_rate'), hand.value, hand.detail),
    card('assistant-resolution-rate', t('reports.assistant_resolution_rate'), assist.value, assist.detail),
  );
  renderChart(r.days);
  renderAgents(r.agents);
  renderInboxes(r.inboxes);
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** Opened vs resolved per day: one group of two bars per day, each with a <title>. */
function renderChart(days) {
  const totalOpened = days.reduce((a, d) => a + d.opened, 0);
  const totalResolved = days.reduce((a, d) => a + d.resolved, 0);
  const max = Math.max(1, ...days.map((d) => Math.max(d.opened, d.resolved)));
  const height = 160;
  const group = 24;
  const bar = 9;
  const width = Math.max(days.length, 1) * group; // the period fills the width
  const first = days[0]?.date;
  const last = days[days.length - 1]?.date;
  const chart = svg('svg', {
    class: 'report-chart',
    viewBox: `0 0 ${width} ${height + 20}`,
    width: '100%',
    height: height + 20,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': t('reports.chart_label', { first, last, opened: totalOpened, resolved: totalResolved }),
  });
  chart.append(svg('line', { x1: 0, y1: height, x2: width, y2: height, class: 'report-axis' }));
  days.forEach((d, i) => {
    const x = i * group + 3;
    const hOpened = (d.opened / max) * (height - 10);
    const hResolved = (d.resolved / max) * (height - 10);
    const g = svg('g', { class: 'report-day', 'data-date': d.date },
      svg('title', {}, t('reports.chart_day', { date: d.date, opened: d.opened, resolved: d.resolved })),
      svg('rect', { class: 'bar-opened', x, y: height - hOpened, width: bar, height: hOpened }),
      svg('rect', { class: 'bar-resolved', x: x + bar + 1, y: height - hResolved, width: bar, height: hResolved }));
    chart.append(g);
  });
  const table = h('table', { class: 'visually-hidden' },
    h('caption', { text: t('reports.chart_caption') }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('reports.day') }), h('th', { scope: 'col', text: t('reports.opened') }), h('th', { scope: 'col', text: t('reports.resolved') }))),
    h('tbody', {}, ...days.map((d) => h('tr', {},
      h('th', { scope: 'row', text: d.date }), h('td', { text: String(d.opened) }), h('td', { text: String(d.resolved) })))));
  // The scale and the period in words under the bars (text inside a stretched SVG would be
  // stretched with it); screen readers have the table.
  const axis = h('div', { class: 'report-chart-axis muted', 'aria-hidden': 'true' },
    h('span', { text: first || '' }), h('span', { text: t('reports.highest_bar', { max }) }), h('span', { text: last || '' }));
  $('#rp-chart').replaceChildren(chart, axis, table);
}

function cell(text) {
  return h('td', { text });
}

function renderAgents(agents) {
  const rows = agents.map((a) => h('tr', { dataset: { agent: a.id } },
    h('th', { scope: 'row', dir: 'auto', text: a.name }),
    cell(formatNumber(a.conversations)),
    cell(formatNumber(a.resolved)),
    cell(formatDuration(a.first_response.median_seconds)),
    cell(formatDuration(a.first_response.p90_seconds))));
  $('#rp-agents').replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 5, class: 'muted', text: t('reports.no_agents') }))]));
}

function renderInboxes(inboxes) {
  const rows = inboxes.map((i) => {
    const rate = formatRate(i.handoff_rate);
    return h('tr', { dataset: { inbox: i.id } },
      h('th', { scope: 'row', dir: 'auto', text: i.name }),
      cell(formatNumber(i.opened)),
      cell(formatNumber(i.resolved)),
      cell(rate.value === '—' ? '—' : `${rate.value} (${rate.detail})`));
  });
  $('#rp-inboxes').replaceChildren(...rows);
}

/** The CSV needs the bearer token: fetched, then saved from a blob: URL. */
async function downloadCsv() {
  show($('#rp-error'), false);
  try {
    const res = await fetch(query('csv'), { headers: { Authorization: `Bearer ${state.token}` } });
    if (!res.ok) {
      let message = res.statusText;
      try {
        message = (await res.json()).message || message;
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, 'csv', message);
    }
    const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '')?.[1] || 'report.csv';
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    $('#rp-error').textContent = t('reports.error_csv', { error: e.message });
    show($('#rp-error'), true);
  }
}

export function bindReports() {
  $('#rp-form').addEventListener('submit', (e) => {
    e.preventDefault();
    loadReport();
  });
  for (const b of document.querySelectorAll('[data-preset]')) {
    b.addEventListener('click', () => {
      setPreset(Number(b.dataset.preset));
      loadReport();
    });
  }
  $('#rp-csv').addEventListener('click', downloadCsv);
  window.addEventListener('hashchange', routeReports);
}

/** After sign-in: the page if the address names it. */
export function startReports() {
  show($('#nav-reports'), true);
  routeReports();
}
