// Writing first: the "New" dialog (button in the list header, key `c`) starts a conversation
// with a customer through `POST /api/conversations`. It offers the inboxes that can start one
// (`start_with`), the customer's name, their phone (or, on API and widget inboxes, phone or
// email), and the first message: an approved template with its parameters and a live
// preview, or text where no service window applies (SMS, the API channel). The server's
// refusals show next to the field they are about; on success the new conversation opens.

import { api } from './api.js';
import { $, h, show } from './dom.js';
import { on, state, upsertConversation } from './store.js';
import { templatePicker } from './template-picker.js';
import { navigate } from './thread.js';
import { t } from './i18n.js';

const CHANNEL_LABELS = () => ({ whatsapp: 'WhatsApp', twilio: 'SMS / WhatsApp (Twilio)', api: 'API', widget: t('segments.website_widget') });
const FIELDS = ['name', 'phone', 'email', 'template', 'text'];

let picker = null;
let returnFocus = null;
let sending = false;

/** The inboxes `POST /api/conversations` can start a conversation in. */
function startable() {
  return [...(state.inboxes?.values() || [])].filter((i) => i.start_with);
}

const selectedInbox = () => startable().find((i) => i.id === $('#nc-inbox').value) || null;

/** Whether the first message must be a template: WhatsApp, and Twilio over WhatsApp. */
function needsTemplate(inbox) {
  if (!inbox) return false;
  return inbox.start_needs_template || (inbox.channel === 'twilio' && $('#nc-network').value === 'whatsapp');
}

const kind = () => document.querySelector('input[name="nc-kind"]:checked')?.value || 'template';

// ---------------------------------------------------------------------------------------------
// Phone numbers, checked as the server normalises them (src/providers/phone.rs): a `tel:` or
// `whatsapp:` prefix and the separators ` -.()` go; `+` or `00` starts an international number
// of 8–15 digits not starting with 0. A national number takes the inbox's default country
// code, which only the server knows: it decides those.

const PHONE_MIN = 8;
const PHONE_MAX = 15;

/** `{ e164 }` for an international number, `{ national: true }` for one the server completes,
 * `{ error }` with the server's wording otherwise. */
export function checkPhone(raw) {
  const s = raw.trim().replace(/^(whatsapp|tel):/i, '').trim();
  let out = '';
  for (const c of s) {
    if (c >= '0' && c <= '9') out += c;
    else if (c === '+' && !out) out += c;
    else if (!'-.()'.includes(c) && !/\s/.test(c)) {
      return { error: t('newconv.phone_bad_char', { c }) };
    }
  }
  if (!out || out === '+') return { error: t('newconv.phone_empty') };
  let digits;
  if (out.startsWith('+')) digits = out.slice(1);
  else if (out.startsWith('00')) digits = out.slice(2);
  else return { national: true };
  if (digits.startsWith('0')) return { error: t('newconv.phone_zero') };
  if (digits.length < PHONE_MIN) return { error: t('newconv.phone_short', { n: digits.length, min: PHONE_MIN }) };
  if (digits.length > PHONE_MAX) return { error: t('newconv.phone_long', { n: digits.length, max: PHONE_MAX }) };
  return { e164: `+${digits}` };
}

function renderPhoneHint() {
  const raw = $('#nc-phone').value;
  const hint = $('#nc-phone-hint');
  if (!raw.trim()) {
    hint.textContent = selectedInbox()?.start_with === 'phone'
      ? t('newconv.phone_hint')
      : '';
    return;
  }
  const r = checkPhone(raw);
  hint.textContent = r.e164 ? t('newconv.phone_e164', { number: r.e164 }) : r.national ? t('newconv.phone_national') : '';
}

// ---------------------------------------------------------------------------------------------
// Errors next to their field

function setError(field, message) {
  const el = $(`#nc-${field}-error`);
  el.textContent = message || '';
  show(el, !!message);
  const input = { name: '#nc-name', phone: '#nc-phone', email: '#nc-email', text: '#nc-text', template: '#nc-template' }[field];
  if (input) {
    if (message) $(input).setAttribute('aria-invalid', 'true');
    else $(input).removeAttribute('aria-invalid');
  }
}

function clearErrors() {
  for (const f of FIELDS) setError(f, '');
  show($('#nc-error'), false);
}

/** Which field a server refusal is about, from its wording (`phone`: …, template …). */
function fieldOf(message) {
  const m = String(message);
  if (/^`phone`|needs `phone`/.test(m)) return 'phone';
  if (/give `phone` or `email`/.test(m)) return $('#nc-email-wrap').hidden ? 'phone' : 'email';
  if (/^`email`/.test(m)) return 'email';
  if (/^`name`/.test(m)) return 'name';
  if (/^`text`/.test(m)) return 'text';
  if (/template|parameter/i.test(m)) return 'template';
  return null;
}

function showServerError(e) {
  const field = fieldOf(e.message);
  const message = e.message || t('newconv.refused');
  if (field && !($(`#nc-${field}-error`).previousElementSibling?.hidden)) {
    setError(field, message);
    focusField(field);
  } else {
    $('#nc-error').textContent = message;
    show($('#nc-error'), true);
  }
}

function focusField(field) {
  const el = field === 'template' ? picker.firstMissing() || $('#nc-template') : $(`#nc-${field}`);
  el?.focus();
}

// ---------------------------------------------------------------------------------------------
// The form

function renderInboxes() {
  const inboxes = startable();
  show($('#new-conv-open'), inboxes.length > 0);
  const select = $('#nc-inbox');
  const keep = select.value;
  select.replaceChildren(...inboxes.map((i) =>
    h('option', { value: i.id, text: `${i.name || i.id} · ${CHANNEL_LABELS()[i.channel] || i.channel}` })));
  if (inboxes.some((i) => i.id === keep)) select.value = keep;
  syncForm();
}

/** Shows the fields the chosen inbox takes. */
function syncForm() {
  const inbox = selectedInbox();
  const phoneOnly = inbox?.start_with === 'phone';
  show($('#nc-network-wrap'), inbox?.channel === 'twilio');
  show($('#nc-email-wrap'), !phoneOnly);
  $('#nc-phone-label').textContent = phoneOnly ? t('newconv.phone_number') : t('newconv.phone_or_email');
  const templates = inbox?.templates || [];
  picker.setTemplates(templates);
  const template = needsTemplate(inbox);
  // Where text may start the conversation, the agent chooses; a template needs one to exist.
  show($('#nc-kind'), !template && templates.length > 0);
  if (!templates.length) document.querySelector('input[name="nc-kind"][value="text"]').checked = true;
  else if (template) document.querySelector('input[name="nc-kind"][value="template"]').checked = true;
  const useTemplate = template || (templates.length > 0 && kind() === 'template');
  show($('#nc-template-wrap'), useTemplate && templates.length > 0);
  show($('#nc-text-wrap'), !useTemplate);
  if (template && !templates.length) setError('template', t('newconv.no_template'));
  else setError('template', '');
  renderPhoneHint();
}

function requestBody() {
  const inbox = selectedInbox();
  const body = { inbox: inbox.id };
  const name = $('#nc-name').value.trim();
  if (name) body.name = name;
  const phone = $('#nc-phone').value.trim();
  if (phone) body.phone = phone;
  if (!$('#nc-email-wrap').hidden && $('#nc-email').value.trim()) body.email = $('#nc-email').value.trim();
  if (inbox.channel === 'twilio') body.network = $('#nc-network').value;
  if ($('#nc-template-wrap').hidden) {
    body.text = $('#nc-text').value;
  } else {
    const { template, parameters } = picker.value();
    if (template) {
      body.template = template.name;
      body.language = template.language;
    }
    body.parameters = parameters;
  }
  return body;
}

/** What can be told before asking the server: the first field that is wrong, or null. */
function checkLocally() {
  const phone = $('#nc-phone').value;
  const emailAllowed = !$('#nc-email-wrap').hidden;
  const email = $('#nc-email').value.trim();
  if (phone.trim()) {
    const r = checkPhone(phone);
    if (r.error) return ['phone', `\`phone\`: ${r.error}`];
  } else if (!emailAllowed || !email) {
    return ['phone', emailAllowed ? t('newconv.give_phone_or_email') : t('newconv.give_phone')];
  }
  if (emailAllowed && email && !email.includes('@')) return ['email', t('newconv.bad_email')];
  if (!$('#nc-template-wrap').hidden) {
    const missing = picker.firstMissing();
    if (missing) return ['template', t('newconv.fill_in', { what: missing.placeholder || t('newconv.every_parameter') })];
  } else if (!$('#nc-text').value.trim()) {
    return ['text', t('newconv.write_first')];
  }
  return null;
}

async function submit(e) {
  e.preventDefault();
  if (sending || !selectedInbox()) return;
  clearErrors();
  const wrong = checkLocally();
  if (wrong) {
    setError(wrong[0], wrong[1]);
    focusField(wrong[0]);
    return;
  }
  sending = true;
  $('#nc-submit').disabled = true;
  try {
    const started = await api('POST', '/api/conversations', requestBody());
    const conv = started.conversation;
    upsertConversation(conv);
    returnFocus = null;
    $('#new-conv-dialog').close();
    resetForm();
    navigate(`#/c/${encodeURIComponent(conv.id)}`);
    // The thread opens: the keyboard goes to it (its composer when the window allows text).
    setTimeout(() => {
      const input = $('#composer-input');
      if (!input.disabled) input.focus();
      else ($(`#conv-list .conv-item[data-id="${CSS.escape(conv.id)}"]`) || $('#thread'))?.focus?.();
    }, 0);
  } catch (err) {
    if (err.status >= 400 && err.status < 500 && err.status !== 401) showServerError(err);
    else {
      $('#nc-error').textContent = t('newconv.error_start', { error: err.message });
      show($('#nc-error'), true);
    }
  } finally {
    sending = false;
    $('#nc-submit').disabled = false;
  }
}

function resetForm() {
  $('#nc-name').value = '';
  $('#nc-phone').value = '';
  $('#nc-email').value = '';
  $('#nc-text').value = '';
  picker.clear();
  clearErrors();
  renderPhoneHint();
}

/** Opens the dialog (the "New" button, key `c`); the focus returns where it was on close. */
export function openNewConversation() {
  const dialog = $('#new-conv-dialog');
  if (dialog.open || !startable().length) return;
  returnFocus = document.activeElement instanceof HTMLElement && document.activeElement !== document.body
    ? document.activeElement : $('#new-conv-open');
  renderInboxes();
  clearErrors();
  dialog.showModal();
  (startable().length > 1 ? $('#nc-inbox') : $('#nc-name')).focus();
}

export function bindNewConversation() {
  picker = templatePicker({ select: $('#nc-template'), params: $('#nc-params'), preview: $('#nc-preview'), idPrefix: 'nc' });
  on('inboxes', renderInboxes);
  $('#new-conv-open').addEventListener('click', openNewConversation);
  $('#nc-inbox').addEventListener('change', () => {
    clearErrors();
    syncForm();
  });
  $('#nc-network').addEventListener('change', syncForm);
  for (const r of document.querySelectorAll('input[name="nc-kind"]')) r.addEventListener('change', syncForm);
  $('#nc-phone').addEventListener('input', () => {
    setError('phone', '');
    renderPhoneHint();
  });
  $('#nc-email').addEventListener('input', () => setError('email', ''));
  $('#nc-params').addEventListener('input', () => setError('template', ''));
  $('#new-conv-form').addEventListener('submit', submit);
  $('#nc-cancel').addEventListener('click', () => $('#new-conv-dialog').close());
  // Escape (the dialog's cancel) and Cancel close it; the focus goes back where it was.
  $('#new-conv-dialog').addEventListener('close', () => {
    const to = returnFocus;
    returnFocus = null;
    if (to?.isConnected) to.focus();
  });
}
