// The "degraded" banner: shown while the server answers but cannot reach its database (a
// request got 503, or /readyz says not ready), so agents know their changes are not being
// saved right now instead of finding out one failed click at a time. Hidden again as soon as
// /readyz says ready.

import { $ } from './dom.js';

const CHECK_EVERY_MS = 30_000; // while all is well
const RETRY_EVERY_MS = 3_000; // while degraded
let timer = null;
let degraded = false;

function setDegraded(on) {
  if (on === degraded) return;
  degraded = on;
  const banner = $('#degraded-banner');
  if (banner) banner.hidden = !on;
}

async function check() {
  clearTimeout(timer);
  let ready = true;
  try {
    const res = await fetch('/readyz', { cache: 'no-store' });
    // 503 while stopping is a restart, which the websocket's reconnect covers: only a
    // database that does not answer is shown.
    if (res.status === 503) {
      const body = await res.json().catch(() => null);
      ready = !(body && /^(database|writer)/.test(body.reason || ''));
    }
  } catch {
    // The server itself is unreachable: the connection indicator already says so.
  }
  setDegraded(!ready);
  timer = setTimeout(check, degraded ? RETRY_EVERY_MS : CHECK_EVERY_MS);
}

/** Starts the periodic check (after sign-in). */
export function watchHealth() {
  check();
}

/** A request was answered 503: look now rather than at the next tick. */
export function noteUnavailable() {
  check();
}
