// The approved-template picker, one for the composer and one for the new-conversation dialog:
// a select of an inbox's templates, a labelled field per `{{n}}` parameter, and a live preview
// of the text as the customer will read it. It fills elements the page already has (built
// with h(), so template bodies and parameters only ever become text).

import { $$, h } from './dom.js';
import { t } from './i18n.js';

/** What each positional parameter means: the inbox's names for them (the server wants exactly
 * one value per name), else one per `{{n}}`. */
export function templateParams(tpl) {
  if (Array.isArray(tpl?.parameters)) {
    return tpl.parameters.map((p, i) => (typeof p === 'string' && p ? p : t('template.parameter', { n: i + 1 })));
  }
  const n = Math.max(0, ...[...String(tpl?.body || '').matchAll(/\{\{\s*(\d+)\s*\}\}/g)].map((m) => Number(m[1])));
  return Array.from({ length: n }, (_, i) => t('template.parameter', { n: i + 1 }));
}

/** The body with `{{n}}` replaced by the n-th value (left as is while empty). */
export function renderTemplate(t, values) {
  return String(t?.body || '').replace(/\{\{\s*(\d+)\s*\}\}/g, (all, n) => values[Number(n) - 1] || all);
}

/**
 * A picker over `select`, `params` (a container) and `preview`. `setTemplates(list)` shows an
 * inbox's templates (keeping the choice and typed values when the list is the same);
 * `value()` is `{ template, parameters }`; `firstMissing()` the first empty parameter field.
 */
export function templatePicker({ select, params, preview, idPrefix }) {
  let templates = [];
  let key = '';

  const inputs = () => $$('input[data-index]', params);
  const selected = () => templates[Number(select.value) || 0] || null;

  function renderPreview() {
    const t = selected();
    preview.textContent = t ? renderTemplate(t, inputs().map((i) => i.value)) : '';
  }

  function renderParams() {
    const t = selected();
    params.replaceChildren(...(t ? templateParams(t) : []).map((label, i) => {
      const id = `${idPrefix}-param-${i + 1}`;
      return h('label', { class: 'template-param', for: id },
        h('span', { class: 'template-param-label', text: `{{${i + 1}}} ${label}` }),
        h('input', {
          id, class: 'input-sm', type: 'text', maxlength: '1024', dir: 'auto', required: true,
          placeholder: label, dataset: { index: String(i) }, oninput: renderPreview,
        }));
    }));
    renderPreview();
  }

  select.addEventListener('change', renderParams);

  return {
    setTemplates(list) {
      const next = Array.isArray(list) ? list : [];
      const nextKey = next.map((t) => `${t.name}/${t.language}`).join(',');
      if (nextKey === key) return;
      key = nextKey;
      templates = next;
      select.replaceChildren(...templates.map((t, i) => h('option', { value: String(i), text: `${t.name} (${t.language})` })));
      renderParams();
    },
    get count() {
      return templates.length;
    },
    value() {
      return { template: selected(), parameters: inputs().map((i) => i.value.trim()) };
    },
    firstMissing() {
      return inputs().find((i) => !i.value.trim()) || null;
    },
    clear() {
      for (const i of inputs()) i.value = '';
      renderPreview();
    },
  };
}
