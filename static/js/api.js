// The API client: JSON calls with the session's token, the files behind attachments, and the
// one refetch several modules share.

import { endSession, removeConversation, state, upsertConversation } from './store.js';
import { t } from './i18n.js';
import { noteUnavailable } from './degraded.js';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

/** JSON call to the server; a 401 anywhere means the session is over: back to the login page. */
export async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network', t('api.network'));
  }
  if (res.status === 401 && path !== '/api/auth/login') {
    endSession(t('api.session_ended'));
    throw new ApiError(401, 'unauthorized', t('api.signed_out'));
  }
  if (res.status === 503) noteUnavailable();
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    /* an empty or non-JSON body */
  }
  if (!res.ok) throw new ApiError(res.status, data?.error || `http_${res.status}`, data?.message || res.statusText);
  return data;
}

export const convPath = (id, rest = '') => `/api/conversations/${encodeURIComponent(id)}${rest}`;

/** Fetches a conversation again into the store; one no longer visible is removed. */
export async function refreshConversation(id) {
  try {
    upsertConversation(await api('GET', convPath(id)));
  } catch (e) {
    if (e.status === 404) removeConversation(id, t('api.not_visible'));
  }
}

// Attachments. Files need the Authorization header, so they are fetched and shown from blob:
// URLs (which the page's CSP allows for images), never linked directly.

const blobCache = new Map(); // media url → Promise<object URL>

export function mediaBlob(url) {
  if (!blobCache.has(url)) {
    const p = fetch(url, { headers: { Authorization: `Bearer ${state.token}` } }).then((res) => {
      if (!res.ok) throw new ApiError(res.status, 'file', `HTTP ${res.status}`);
      return res.blob();
    }).then((blob) => URL.createObjectURL(blob));
    p.catch(() => blobCache.delete(url));
    blobCache.set(url, p);
  }
  return blobCache.get(url);
}
