// The contact panel's Referral section (Contact tab): where the person came from, from the
// `referral` of GET /api/contacts/{id} — the first touch and, when it differs, the latest.
// Ad texts, refs and UTM values are the advertiser's or a web page's: everything is set as
// text (h(), textContent), and only http(s) URLs become links, opened without a referrer.

import { $, h, show } from './dom.js';
import { fullTime, parseTime } from './format.js';
import { onPerson } from './profile.js';
import { t } from './i18n.js';

const KINDS = () => ({
  ctwa_ad: t('referral.ctwa_ad'),
  ctwa_post: t('referral.ctwa_post'),
  messenger_ad: t('referral.messenger_ad'),
  m_me: t('referral.m_me'),
  ig_me: t('referral.ig_me'),
  product: t('referral.product'),
  widget_utm: t('referral.widget_utm'),
});

/** A link only for an absolute http(s) URL; anything else is shown as text. */
function urlValue(url) {
  let parsed = null;
  try {
    parsed = new URL(url);
  } catch (e) { /* not a URL: text */ }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) return h('span', { text: url });
  return h('a', { href: parsed.href, target: '_blank', rel: 'noopener noreferrer', class: 'referral-link', text: url });
}

function row(label, value, isUrl = false) {
  if (value == null || value === '') return null;
  return h('div', { class: 'referral-row' },
    h('span', { class: 'muted', text: label }),
    isUrl ? urlValue(String(value)) : h('span', { dir: 'auto', text: String(value) }));
}

function card(title, r) {
  const product = [r.catalog_id, r.product_retailer_id].filter(Boolean).join(' / ');
  const clickIds = ['gclid', 'fbclid'].map((k) => (r.extra?.[k] ? `${k}: ${r.extra[k]}` : null)).filter(Boolean).join(' · ');
  return h('div', { class: 'referral-card', dataset: { referral: r.id, kind: r.kind } },
    h('div', { class: 'referral-top' },
      h('strong', { text: title }),
      h('span', { class: 'referral-kind', text: KINDS()[r.kind] || r.kind })),
    row(t('referral.headline'), r.headline),
    row(t('common.text'), r.body),
    row(t('referral.ad_id'), r.source_id),
    row(t('referral.click_id'), r.ctwa_clid),
    row(t('referral.ref'), r.ref),
    row(t('referral.product_row'), product),
    row(t('referral.source'), r.utm_source),
    row(t('referral.medium'), r.utm_medium),
    row(t('referral.campaign'), r.utm_campaign),
    row(t('referral.term'), r.utm_term),
    row(t('referral.content'), r.utm_content),
    row(t('referral.click_ids'), clickIds),
    row(t('referral.ad_link'), r.source_url, true),
    row(t('referral.landing_page'), r.landing_url, true),
    row(t('referral.chat_page'), r.page_url, true),
    row(t('referral.referrer'), r.referrer, true),
    row(t('broadcasts.when'), fullTime(parseTime(r.occurred_at))));
}

function render(person) {
  const r = person?.referral;
  const section = $('#referral-section');
  show(section, !!r);
  if (!r) {
    $('#referral-body').replaceChildren();
    return;
  }
  const cards = [card(t('referral.first_touch'), r.first)];
  if (r.latest && r.latest.id !== r.first.id) cards.push(card(t('referral.latest'), r.latest));
  $('#referral-body').replaceChildren(...cards);
}

export function bindReferral() {
  onPerson(render);
}
