// Expands a canned response's variables for the open conversation. Pure: no DOM, no state.
// Known variables: {{contact.name}}, {{contact.first_name}}, {{contact.email}},
// {{contact.phone}}, {{agent.name}}. A missing value becomes an empty string; anything else
// in braces stays as written (so a typo shows instead of vanishing).

const VARIABLE = /\{\{\s*(contact\.name|contact\.first_name|contact\.email|contact\.phone|agent\.name)\s*\}\}/g;

/**
 * @param {string} text  the canned response's text
 * @param {{name?: string|null, email?: string|null, phone?: string|null}|null} contact
 * @param {{name?: string|null}|null} agent  the signed-in agent
 */
export function expandCanned(text, contact, agent) {
  const name = (contact?.name || '').trim();
  const values = {
    'contact.name': name,
    'contact.first_name': name.split(/\s+/)[0] || '',
    'contact.email': contact?.email || '',
    'contact.phone': contact?.phone || '',
    'agent.name': agent?.name || '',
  };
  return String(text).replace(VARIABLE, (_, key) => values[key]);
}
