// The contact panel's Referral section (Contact tab): where the person came from, from the
// `referral` of GET /api/contacts/{id} — the first touch and, when it differs, the latest.
// Ad texts, refs and UTM values are the advertiser's or a web page's: everything is set as
// text (h(), textContent), and only http(s) URLs become links, opened without a referrer.

import { $, h, show } from './dom.js';
import { fullTime, parseTime } from './format.js';
import { onPerson } from './profile.js';

const KINDS = {
  ctwa_ad: 'Click-to-WhatsApp ad',
  ctwa_post: 'Click-to-WhatsApp post',
  messenger_ad: 'Messenger / Instagram ad',
  m_me: 'm.me link',
  ig_me: 'ig.me link',
  product: 'Catalog product',
  widget_utm: 'Website visit',
};

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
      h('span', { class: 'referral-kind', text: KINDS[r.kind] || r.kind })),
    row('Headline', r.headline),
    row('Text', r.body),
    row('Ad id', r.source_id),
    row('Click id', r.ctwa_clid),
    row('Ref', r.ref),
    row('Product', product),
    row('Source', r.utm_source),
    row('Medium', r.utm_medium),
    row('Campaign', r.utm_campaign),
    row('Term', r.utm_term),
    row('Content', r.utm_content),
    row('Click ids', clickIds),
    row('Ad link', r.source_url, true),
    row('Landing page', r.landing_url, true),
    row('Chat page', r.page_url, true),
    row('Referrer', r.referrer, true),
    row('When', fullTime(parseTime(r.occurred_at))));
}

function render(person) {
  const r = person?.referral;
  const section = $('#referral-section');
  show(section, !!r);
  if (!r) {
    $('#referral-body').replaceChildren();
    return;
  }
  const cards = [card('First touch', r.first)];
  if (r.latest && r.latest.id !== r.first.id) cards.push(card('Latest', r.latest));
  $('#referral-body').replaceChildren(...cards);
}

export function bindReferral() {
  onPerson(render);
}
