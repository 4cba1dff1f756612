// Gatehouse console: one vanilla module, no dependencies. Every page is built with DOM calls
// (textContent, never innerHTML), talks to the JSON API with the HttpOnly session cookie, and
// sends the session's CSRF token on every state-changing call.

const state = { caller: null, csrf: null, tenant: null, tenants: [] };
const PAGE = 50;
const SEVERITIES = ['critical', 'high', 'medium', 'low'];

// ---- DOM helpers ---------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const main = () => document.getElementById('main');

function show(title, ...content) {
  document.title = `${title} · Gatehouse console`;
  const m = main();
  m.replaceChildren(h('h1', {}, title), ...content);
  m.focus();
}

function announce(text) {
  const s = document.getElementById('status');
  s.textContent = text;
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => { s.textContent = ''; }, 6000);
}

const when = (t) => (t ? new Date(t).toLocaleString() : '—');
const badge = (cls, text) => h('span', { class: `badge ${cls}` }, text);

function table(headers, rows, caption) {
  return h('table', {},
    caption ? h('caption', { class: 'muted' }, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.length
      ? rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))
      : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'Nothing here.'))));
}

// ---- API -----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (res.status === 401 && !path.startsWith('/console/session')) {
    state.caller = null;
    renderSignIn('Your session has ended; sign in again.');
    throw new ApiError(res.status, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// The query string of a tenant-scoped call: the operator names the tenant it looks at.
function qs(params = {}) {
  const p = new URLSearchParams();
  if (state.caller?.kind === 'operator' && state.tenant) p.set('tenant_id', state.tenant);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

// ---- session -------------------------------------------------------------------------------

function renderSignIn(message) {
  document.getElementById('top').hidden = true;
  const key = h('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true,
    'aria-describedby': 'key-help' });
  const err = h('p', { id: 'signin-error', class: 'error', role: 'alert' }, message || '');
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to Gatehouse'),
    h('div', { class: 'field' },
      h('label', { for: 'key' }, 'Operator or tenant API key'),
      key,
      h('p', { id: 'key-help', class: 'muted' },
        'The key is exchanged once for a session cookie; it is not kept in this browser.')),
    err,
    h('button', { type: 'submit', id: 'signin' }, 'Sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      const s = await api('/console/session', { method: 'POST', body: { key: key.value } });
      key.value = '';
      await started(s);
      if (!location.hash.startsWith('#/') || location.hash === '#/signin') location.hash = '#/inventory';
      else route();
    } catch (ex) {
      err.textContent = ex.status === 401 ? 'That key was not accepted.' : ex.message;
      key.focus();
    }
  });
  document.title = 'Sign in · Gatehouse console';
  main().replaceChildren(form);
  key.focus();
}

async function started(session) {
  state.caller = session.caller;
  state.csrf = session.csrf_token;
  document.getElementById('top').hidden = false;
  const who = document.getElementById('who');
  const switcher = document.getElementById('tenant-switcher');
  if (state.caller.kind === 'operator') {
    who.textContent = 'Operator';
    const list = await api('/v1/tenants?limit=1000');
    state.tenants = list.data.map((t) => t.id);
    const select = document.getElementById('tenant');
    select.replaceChildren(...list.data.map((t) => h('option', { value: t.id }, `${t.name} (${t.id})`)));
    const saved = sessionStorage.getItem('gatehouse.tenant');
    state.tenant = state.tenants.includes(saved) ? saved : state.tenants[0] || null;
    if (state.tenant) select.value = state.tenant;
    switcher.hidden = false;
  } else {
    who.textContent = `Tenant ${state.caller.tenant_id}`;
    state.tenant = state.caller.tenant_id;
    switcher.hidden = true;
  }
}

async function signOut() {
  try {
    await api('/console/session', { method: 'DELETE' });
  } catch (ex) {
    announce(`Sign-out failed: ${ex.message}`);
    return;
  }
  state.caller = null;
  state.csrf = null;
  sessionStorage.removeItem('gatehouse.tenant');
  location.hash = '#/signin';
  renderSignIn('You are signed out.');
}

// ---- inventory -----------------------------------------------------------------------------

async function inventory(params) {
  const q = params.get('q') || '';
  const status = params.get('status') || '';
  const provider = params.get('provider') || '';
  const minRisk = params.get('min_risk') || '';
  const cursor = params.get('cursor') || '';
  const search = h('input', { id: 'q', name: 'q', type: 'search', value: q, placeholder: 'e-mail address, or part of an e-mail or name' });
  const statusSel = h('select', { id: 'status-filter', name: 'status' },
    ['', 'active', 'suspended', 'deprovisioned', 'locked', 'staged'].map((s) =>
      h('option', { value: s, selected: s === status }, s || 'any')));
  const providerIn = h('input', { id: 'provider-filter', name: 'provider', value: provider, placeholder: 'okta, entra…' });
  const riskIn = h('input', { id: 'risk-filter', name: 'min_risk', type: 'number', min: 0, max: 100, value: minRisk, placeholder: '0–100' });
  const form = h('form', { class: 'row', role: 'search', 'aria-label': 'Search the inventory' },
    h('div', { class: 'field' }, h('label', { for: 'q' }, 'Search people'), search),
    h('div', { class: 'field' }, h('label', { for: 'status-filter' }, 'An account in state'), statusSel),
    h('div', { class: 'field' }, h('label', { for: 'provider-filter' }, 'An account at provider'), providerIn),
    h('div', { class: 'field' }, h('label', { for: 'risk-filter' }, 'Risk at least'), riskIn),
    h('button', { type: 'submit', id: 'search' }, 'Search'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    if (search.value) p.set('q', search.value);
    if (statusSel.value) p.set('status', statusSel.value);
    if (providerIn.value) p.set('provider', providerIn.value);
    if (riskIn.value) p.set('min_risk', riskIn.value);
    location.hash = `#/inventory?${p}`;
  });
  const results = h('div', { id: 'results', 'aria-live': 'polite' }, h('p', {}, 'Loading…'));
  show('Inventory', form, results);
  // An e-mail address is looked up in the e-mail index; anything else is a substring search.
  const byEmail = q.includes('@') ? { email: q.trim() } : { q };
  const page = await api(`/v1/identities${qs({ ...byEmail, status, provider, min_risk: minRisk, cursor, limit: PAGE })}`);
  const rows = page.data.map((p) => [
    h('a', { href: `#/identity/${encodeURIComponent(p.id)}` }, p.display_name || p.emails[0] || p.id),
    (p.emails || []).join(', ') || '—',
    p.accounts.length
      ? h('ul', { class: 'accounts' }, p.accounts.map((a) => h('li', {},
        h('strong', {}, a.provider), ' ', a.login || a.id, ' ', badge(`st-${a.status}`, a.status))))
      : h('span', { class: 'muted' }, 'no accounts'),
    String(p.risk_score ?? 0), when(p.last_login_at),
  ]);
  const nav = h('div', { class: 'row' });
  if (cursor) nav.append(h('button', { type: 'button', class: 'secondary', onclick: () => history.back() }, 'Previous page'));
  if (page.next_cursor) {
    const p = new URLSearchParams(params);
    p.set('cursor', page.next_cursor);
    nav.append(h('button', { type: 'button', id: 'next-page', onclick: () => { location.hash = `#/inventory?${p}`; } }, 'Next page'));
  }
  results.replaceChildren(
    table(['Name', 'E-mails', 'Accounts by provider', 'Risk', 'Last sign-in'], rows,
      `${page.data.length} ${page.data.length === 1 ? 'person' : 'people'} on this page${page.next_cursor ? '; more on the next' : ''}`),
    nav);
}

// ---- identity ------------------------------------------------------------------------------

async function identity(id, isUser) {
  show('Identity', h('p', {}, 'Loading…'));
  let person;
  if (isUser) {
    const u = await api(`/v1/users/${encodeURIComponent(id)}`);
    person = { display_name: u.display_name || u.login, emails: [u.email].filter(Boolean), risk_score: u.risk_score, users: [u] };
  } else {
    person = await api(`/v1/identities/${encodeURIComponent(id)}`);
  }
  const users = person.users || [];
  const signins = [];
  const detections = [];
  for (const u of users) {
    const [s, d] = await Promise.all([
      api(`/v1/signins${qs({ user_id: u.id, limit: 200 })}`),
      api(`/v1/detections${qs({ user_id: u.id, limit: 200 })}`),
    ]);
    signins.push(...s.data);
    detections.push(...d.data);
  }
  signins.sort((a, b) => (a.time < b.time ? 1 : -1));
  detections.sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || (a.created_at < b.created_at ? 1 : -1));
  const evidence = new Set(detections.flatMap((d) => d.evidence || []));
  const byId = new Map(signins.map((s) => [s.id, s]));
  const name = person.display_name || (person.emails || [])[0] || id;

  const summary = h('div', { class: 'card' }, h('dl', { class: 'kv' },
    h('dt', {}, 'E-mail'), h('dd', {}, (person.emails || []).join(', ') || '—'),
    h('dt', {}, 'Risk score'), h('dd', { id: 'risk-score' }, String(person.risk_score ?? 0)),
    h('dt', {}, 'Accounts'), h('dd', {}, String(users.length)),
    h('dt', {}, 'Last sign-in'), h('dd', {}, when(users.map((u) => u.last_login_at).filter(Boolean).sort().pop()))));
  const accounts = table(['Provider', 'Login', 'State', 'MFA', 'Risk', 'Last sign-in', 'Actions'],
    users.map((u) => [u.provider, u.login || u.external_id, badge(`st-${u.status}`, u.status),
      u.mfa_enrolled === null || u.mfa_enrolled === undefined ? '—' : (u.mfa_enrolled ? 'enrolled' : 'not enrolled'),
      String(u.risk_score ?? 0), when(u.last_login_at),
      h('a', { href: `#/actions?user_id=${encodeURIComponent(u.id)}` }, 'Actions')]));

  const dets = h('div', { id: 'detections' }, detections.length
    ? detections.map((d) => detectionCard(d, byId))
    : h('p', { class: 'muted' }, 'No detections.'));

  const timeline = h('ol', { class: 'timeline', 'aria-label': 'Sign-in timeline, newest first' },
    signins.slice(0, 200).map((s) => {
      const failed = s.outcome === 'failure';
      return h('li', { class: `${failed ? 'failure' : ''} ${evidence.has(s.id) ? 'detected' : ''}` },
        h('strong', {}, when(s.time)), ' ',
        badge(`st-${s.outcome}`, failed ? 'failed' : s.outcome), ' ',
        evidence.has(s.id) ? badge('sev-medium', 'in a detection') : null, ' ',
        [s.provider, s.ip, [s.city, s.country].filter(Boolean).join(', '), s.reason].filter(Boolean).join(' · '));
    }));
  show(name,
    summary,
    h('h2', {}, 'Accounts across providers'), accounts,
    h('h2', {}, 'Detections'), dets,
    h('h2', {}, 'Risk score over time'), riskChart(person.risk_history || [], person.risk_score ?? 0),
    h('h2', {}, 'Detections over time'), detectionChart(detections),
    h('div', { class: 'grid2' },
      h('section', { 'aria-labelledby': 'tl' }, h('h2', { id: 'tl' }, `Sign-ins (${signins.length})`),
        signins.length ? timeline : h('p', { class: 'muted' }, 'No sign-ins.')),
      h('section', { 'aria-labelledby': 'mp' }, h('h2', { id: 'mp' }, 'Sign-in locations'), signinMap(signins))));
}

function detectionCard(d, signinsById) {
  const rows = (d.evidence || []).map((id) => {
    const s = signinsById?.get(id);
    return h('li', {}, s ? `${when(s.time)} · ${s.outcome} · ${s.ip || ''} ${s.reason || ''}` : h('code', {}, id));
  });
  return h('article', { class: 'card detection', 'aria-label': `${d.severity} ${d.kind} detection` },
    h('p', {}, badge(`sev-${d.severity}`, d.severity), ' ', h('strong', {}, d.kind), ' ',
      h('span', { class: 'muted' }, `${when(d.first_seen)} – ${when(d.last_seen)}`)),
    h('p', { class: 'explanation' }, d.explanation),
    d.user_id ? h('p', {}, h('a', { href: `#/user/${encodeURIComponent(d.user_id)}` }, 'Open the account')) : null,
    h('details', {}, h('summary', {}, `Evidence: ${rows.length} events`), h('ul', {}, rows)));
}

// The person's risk score over time, as an SVG polyline: a point each time a detection changed
// it, then a dashed line to the score now (scores decay between points).
function riskChart(history, now) {
  if (!history.length) return h('p', { id: 'risk-chart', class: 'muted' }, 'No change of risk score recorded yet.');
  const times = history.map((p) => Date.parse(p.time));
  const lo = times[0]; const hi = Math.max(Date.now(), times[times.length - 1]); const span = Math.max(hi - lo, 1);
  const x = (t) => 15 + ((t - lo) / span) * 175;
  const y = (score) => 55 - (score / 100) * 50;
  const points = history.map((p, i) => `${x(times[i]).toFixed(2)},${y(p.score).toFixed(2)}`).join(' ');
  const last = history[history.length - 1];
  const dots = history.map((p, i) => svg('circle', { class: 'point', cx: x(times[i]), cy: y(p.score), r: 1.2 },
    svg('title', {}, `${p.score} at ${when(p.time)}`)));
  const chart = svg('svg', { id: 'risk-chart', class: 'chart risk-chart', viewBox: '0 0 200 65', role: 'img',
    'aria-label': `Risk score over time: ${history.length} ${history.length === 1 ? 'change' : 'changes'} from ${when(lo)}, last ${last.score} at ${when(last.time)}; ${now} now` },
  svg('line', { class: 'axis', x1: 15, y1: 55, x2: 195, y2: 55 }),
  svg('line', { class: 'axis', x1: 15, y1: 5, x2: 15, y2: 55 }),
  svg('text', { x: 3, y: 57 }, '0'), svg('text', { x: 3, y: 7 }, '100'),
  svg('text', { x: 15, y: 62 }, when(lo)), svg('text', { x: 150, y: 62 }, 'now'),
  svg('polyline', { class: 'risk', points }),
  svg('line', { class: 'risk-now', x1: x(times[times.length - 1]), y1: y(last.score), x2: x(hi), y2: y(now) },
    svg('title', {}, `${now} now`)),
  dots);
  return h('div', {}, chart,
    h('details', {}, h('summary', {}, `Risk history: ${history.length} ${history.length === 1 ? 'point' : 'points'}`),
      table(['When', 'Score'], history.slice().reverse().map((p) => [when(p.time), String(p.score)]))));
}

// Severity of each detection over time, as an SVG bar chart.
function detectionChart(detections) {
  if (!detections.length) return h('p', { class: 'muted' }, 'No detections to chart.');
  const weight = { low: 1, medium: 2, high: 3, critical: 4 };
  const times = detections.map((d) => Date.parse(d.last_seen));
  const lo = Math.min(...times); const hi = Math.max(...times); const span = Math.max(hi - lo, 1);
  const bars = detections.map((d, i) => {
    const x = 10 + ((times[i] - lo) / span) * 180;
    const height = weight[d.severity] * 10;
    return svg('rect', { class: 'bar', x: x - 1.5, y: 50 - height, width: 3, height },
      svg('title', {}, `${d.kind} (${d.severity}) ${when(d.last_seen)}`));
  });
  return svg('svg', { class: 'chart', viewBox: '0 0 200 60', role: 'img',
    'aria-label': `${detections.length} detections from ${when(lo)} to ${when(hi)}, bar height is severity` },
  svg('line', { class: 'axis', x1: 5, y1: 50, x2: 195, y2: 50 }),
  svg('text', { x: 5, y: 57 }, when(lo)), svg('text', { x: 140, y: 57 }, when(hi)), bars);
}

// An equirectangular dot map: longitude → x, latitude → y; failures in red.
function signinMap(signins) {
  const located = signins.filter((s) => typeof s.latitude === 'number' && typeof s.longitude === 'number');
  const grid = [];
  for (let x = 0; x <= 360; x += 30) grid.push(svg('line', { class: 'grid', x1: x, y1: 0, x2: x, y2: 180 }));
  for (let y = 0; y <= 180; y += 30) grid.push(svg('line', { class: 'grid', x1: 0, y1: y, x2: 360, y2: y }));
  const dots = located.map((s) => svg('circle', {
    class: s.outcome === 'failure' ? 'bad' : 'ok', cx: s.longitude + 180, cy: 90 - s.latitude, r: 2.5,
  }, svg('title', {}, `${[s.city, s.country].filter(Boolean).join(', ')} ${s.outcome} ${when(s.time)}`)));
  const places = new Map();
  for (const s of signins) {
    const key = [s.city, s.country].filter(Boolean).join(', ') || 'unknown location';
    const p = places.get(key) || { ok: 0, failed: 0 };
    if (s.outcome === 'failure') p.failed += 1; else p.ok += 1;
    places.set(key, p);
  }
  return h('div', {},
    svg('svg', { class: 'map', viewBox: '0 0 360 180', role: 'img',
      'aria-label': `${located.length} located sign-ins on a world map; failures in red` }, grid, dots),
    h('ul', { 'aria-label': 'Sign-ins by location' },
      [...places].map(([k, v]) => h('li', {}, `${k}: ${v.ok} succeeded, ${v.failed} failed`))));
}

// ---- detections ----------------------------------------------------------------------------

async function detectionsPage(params) {
  const severity = params.get('severity') || '';
  const sel = h('select', { id: 'severity', name: 'severity' },
    ['', ...SEVERITIES].map((s) => h('option', { value: s, selected: s === severity }, s || 'any')));
  sel.addEventListener('change', () => { location.hash = sel.value ? `#/detections?severity=${sel.value}` : '#/detections'; });
  const list = h('div', {}, h('p', {}, 'Loading…'));
  show('Detections', h('div', { class: 'row' }, h('div', { class: 'field' }, h('label', { for: 'severity' }, 'Severity'), sel)), list);
  const page = await api(`/v1/detections${qs({ severity, limit: 200, cursor: params.get('cursor') })}`);
  const sections = SEVERITIES.map((sev) => {
    const of = page.data.filter((d) => d.severity === sev);
    return of.length ? h('section', { 'aria-label': `${sev} severity` }, h('h2', {}, `${sev[0].toUpperCase()}${sev.slice(1)} (${of.length})`),
      of.map((d) => detectionCard(d))) : null;
  }).filter(Boolean);
  list.replaceChildren(...(sections.length ? sections : [h('p', { class: 'muted' }, 'No detections.')]));
}

// ---- actions -------------------------------------------------------------------------------

async function actionsPage(params) {
  const userId = params.get('user_id') || '';
  const list = h('div', {}, h('p', {}, 'Loading…'));
  show('Actions', list);
  const page = await api(`/v1/actions${qs({ user_id: userId, limit: 200 })}`);
  const decide = async (a, verb) => {
    try {
      const done = await api(`/v1/actions/${encodeURIComponent(a.id)}/${verb}`, { method: 'POST' });
      announce(`${a.action} ${verb === 'approve' ? 'approved' : 'rejected'}: now ${done.status}`);
    } catch (ex) {
      announce(`Could not ${verb}: ${ex.message}`);
    }
    await actionsPage(params);
  };
  const rows = page.data.map((a) => [
    a.action, badge(`st-${a.status}`, a.status),
    h('a', { href: `#/user/${encodeURIComponent(a.user_id)}` }, a.user_id),
    a.requested_by, when(a.created_at), a.error || a.result || '',
    a.status === 'awaiting_approval'
      ? h('span', { class: 'row' },
        h('button', { type: 'button', class: 'approve', 'aria-label': `Approve ${a.action} for ${a.user_id}`, onclick: () => decide(a, 'approve') }, 'Approve'),
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Reject ${a.action} for ${a.user_id}`, onclick: () => decide(a, 'reject') }, 'Reject'))
      : '',
  ]);
  const audit = page.data.flatMap((a) => (a.history || []).map((t) => ({ ...t, action: a })))
    .sort((x, y) => (x.at < y.at ? 1 : -1));
  list.replaceChildren(
    h('p', { class: 'muted' }, `${page.data.filter((a) => a.status === 'awaiting_approval').length} awaiting approval`),
    table(['Action', 'State', 'Account', 'Requested by', 'Created', 'Result', 'Decision'], rows),
    h('h2', {}, 'Audit trail'),
    table(['When', 'Action', 'Account', 'Became', 'Why / who'],
      audit.map((t) => [when(t.at), t.action.action, t.action.user_id, badge(`st-${t.to}`, t.to), t.cause])));
}

// ---- integrations --------------------------------------------------------------------------

async function integrationsPage() {
  const list = h('div', {}, h('p', {}, 'Loading…'));
  show('Integrations', list);
  const page = await api(`/v1/integrations${qs({ limit: 200 })}`);
  list.replaceChildren(...(page.data.length ? page.data.map(integrationCard) : [h('p', { class: 'muted' }, 'No integrations.')]));
}

function integrationCard(i) {
  const result = h('p', { 'aria-live': 'polite' });
  const test = async () => {
    result.textContent = 'Testing…';
    try {
      const r = await api(`/v1/integrations/${encodeURIComponent(i.id)}/test`, { method: 'POST' });
      result.textContent = r.ok ? `Connection works${r.principal ? ` (as ${r.principal})` : ''}. ${(r.notes || []).join(' ')}` : `Connection failed. ${(r.notes || []).join(' ')}`;
    } catch (ex) {
      result.textContent = `Connection failed: ${ex.message}`;
    }
  };
  const sync = async () => {
    try {
      await api(`/v1/integrations/${encodeURIComponent(i.id)}/sync`, { method: 'POST' });
      result.textContent = 'Sync started.';
    } catch (ex) {
      result.textContent = `Could not start a sync: ${ex.message}`;
    }
  };
  const counts = Object.entries(i.sync?.counts || {}).map(([k, v]) => `${k}: ${v}`).join(', ') || '—';
  const jobs = Object.entries(i.sync?.jobs || {}).map(([k, j]) => [k, when(j.last_run_at), when(j.last_success_at), j.last_error || '', String(j.records ?? '')]);
  let hook = null;
  if (i.ingest?.url) {
    const fieldId = `hook-${i.id}`;
    const input = h('input', { id: fieldId, class: 'wide', readonly: true, value: `${location.origin}${i.ingest.url}` });
    const copy = async () => {
      try { await navigator.clipboard.writeText(input.value); } catch { input.select(); document.execCommand('copy'); }
      announce('Event-hook URL copied (add the integration\'s ingest token to it).');
    };
    hook = h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: fieldId }, 'Event-hook URL'), input),
      h('button', { type: 'button', class: 'secondary', onclick: copy, 'aria-label': `Copy the event-hook URL of ${i.id}` }, 'Copy'));
  }
  return h('article', { class: 'card', 'aria-label': `${i.type} integration ${i.id}` },
    h('h2', {}, `${i.type} · `, h('code', {}, i.id), ' ', badge(`st-${i.status}`, i.status)),
    h('dl', { class: 'kv' },
      h('dt', {}, 'Last run'), h('dd', {}, when(i.sync?.last_run_at)),
      h('dt', {}, 'Last success'), h('dd', {}, when(i.sync?.last_success_at)),
      h('dt', {}, 'Last error'), h('dd', { class: i.sync?.last_error ? 'error' : '' }, i.sync?.last_error || 'none'),
      h('dt', {}, 'Counts'), h('dd', {}, counts)),
    jobs.length ? h('details', {}, h('summary', {}, 'Jobs'), table(['Job', 'Last run', 'Last success', 'Last error', 'Records'], jobs)) : null,
    hook,
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'test', onclick: test, 'aria-label': `Test the connection of ${i.id}` }, 'Test connection'),
      h('button', { type: 'button', class: 'secondary', onclick: sync, 'aria-label': `Sync ${i.id} now` }, 'Sync now')),
    result);
}

// ---- routing -------------------------------------------------------------------------------

async function route() {
  if (!state.caller) { renderSignIn(); return; }
  const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : 'inventory';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const [page, arg] = path.split('/');
  for (const a of document.querySelectorAll('.top nav a')) {
    if (a.getAttribute('href') === `#/${page}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    if (state.caller.kind === 'operator' && !state.tenant) {
      show('No tenants', h('p', {}, 'Create a tenant with the API first (docs/API.md).'));
      return;
    }
    switch (page) {
      case 'identity': await identity(decodeURIComponent(arg || ''), false); break;
      case 'user': await identity(decodeURIComponent(arg || ''), true); break;
      case 'detections': await detectionsPage(params); break;
      case 'actions': await actionsPage(params); break;
      case 'integrations': await integrationsPage(); break;
      default: await inventory(params);
    }
  } catch (ex) {
    if (ex.status !== 401) show('Something went wrong', h('p', { class: 'error', role: 'alert' }, ex.message));
  }
}

async function boot() {
  document.getElementById('logout').addEventListener('click', signOut);
  document.getElementById('tenant').addEventListener('change', (e) => {
    state.tenant = e.target.value;
    sessionStorage.setItem('gatehouse.tenant', state.tenant);
    if (location.hash.startsWith('#/identity') || location.hash.startsWith('#/user')) location.hash = '#/inventory';
    else route();
  });
  document.getElementById('skip').addEventListener('click', (e) => { e.preventDefault(); main().focus(); });
  window.addEventListener('hashchange', () => { if (location.hash.startsWith('#/')) route(); });
  try {
    const res = await fetch('/console/session', { credentials: 'same-origin' });
    if (res.ok) await started(await res.json());
  } catch { /* not signed in */ }
  route();
}

boot();
