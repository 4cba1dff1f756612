// Drives the Gatehouse console in headless Chromium (Debian's /usr/bin/chromium, through
// playwright-core): sign in, switch tenant, see the people in the inventory, find a user, open
// the identity, see the detection and the risk chart, approve the pending action, check
// integrations, sign out. Saves a screenshot of each page.
// Also checks accessibility basics (labels, landmarks, keyboard reach) and that no page breaks
// the Content-Security-Policy.
//
// usage: node console.mjs <base-url> <key> <screenshot-dir> <login-to-find> [tenant-id]
// Exits non-zero with a message on the first failed check.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, key, shots, login, tenant] = process.argv.slice(2);
if (!base || !key || !shots || !login) {
  console.error('usage: node console.mjs <base-url> <key> <screenshot-dir> <login-to-find> [tenant-id]');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const profile = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

const problems = [];
let step = 0;
async function shot(page, name) {
  step += 1;
  const file = join(shots, `${String(step).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}

// Every visible form control has a label; the page has its landmarks.
async function accessible(page, where) {
  const issues = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.closest('[hidden]') || el.type === 'hidden') continue;
      const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      if (!named) out.push(`unlabelled ${el.tagName.toLowerCase()}#${el.id}`);
    }
    for (const el of document.querySelectorAll('button')) {
      if (!(el.textContent.trim() || el.getAttribute('aria-label'))) out.push('button without a name');
    }
    if (!document.querySelector('main')) out.push('no <main> landmark');
    if (!document.querySelector('h1')) out.push('no <h1>');
    if (!document.documentElement.lang) out.push('no lang on <html>');
    return out;
  });
  check(issues.length === 0, `${where}: ${issues.join(', ')}`);
}

// Time from asking for a page (a hash change) to its content being shown.
async function timed(page, hash, ready) {
  const started = Date.now();
  await page.evaluate((h) => { location.hash = h; }, hash);
  await ready();
  return Date.now() - started;
}

const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));

  // Sign in, with the keyboard only.
  const loaded = Date.now();
  await page.goto(`${base}/console`);
  const keyField = page.getByLabel('Operator or tenant API key');
  await keyField.waitFor();
  console.log(`sign-in page shown in ${Date.now() - loaded} ms`);
  await accessible(page, 'sign-in');
  const focused = () => page.evaluate(() => document.activeElement?.id);
  check(await focused() === 'key', 'the key field has the focus on load');
  await page.keyboard.press('Tab');
  check(await focused() === 'signin', 'Tab reaches the Sign in button');
  await page.keyboard.press('Shift+Tab');
  check(await focused() === 'key', 'Shift+Tab goes back to the key field');
  await shot(page, 'signin');
  await keyField.focus();
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Inventory' }).waitFor();
  check(await page.getByRole('navigation', { name: 'Main' }).isVisible(), 'main navigation shown');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'gh_session');
  check(session && session.httpOnly && session.sameSite === 'Strict', `session cookie flags: ${JSON.stringify(session && { httpOnly: session.httpOnly, sameSite: session.sameSite })}`);
  check(!(await page.evaluate(() => document.cookie)).includes('gh_session'), 'scripts cannot read the session cookie');

  if (tenant) {
    const switcher = page.getByLabel('Tenant');
    check(await switcher.isVisible(), 'operator sees the tenant switcher');
    await switcher.selectOption(tenant);
    await page.getByRole('heading', { name: 'Inventory' }).waitFor();
  }
  await page.locator('#results table').waitFor();
  await accessible(page, 'inventory');
  // The inventory lists people: each with their accounts by provider and state, risk, last sign-in.
  const headers = await page.locator('#results thead th').allInnerTexts();
  check(JSON.stringify(headers) === JSON.stringify(['Name', 'E-mails', 'Accounts by provider', 'Risk', 'Last sign-in']),
    `inventory columns: ${headers.join(', ')}`);
  check(await page.locator('#results caption', { hasText: /(people|person) on this page/ }).isVisible(), 'the inventory counts people');
  const firstAccount = page.locator('#results tbody tr ul.accounts li').first();
  check(/^okta /.test(await firstAccount.innerText()), `an account shows its provider: ${await firstAccount.innerText()}`);
  check((await firstAccount.locator('.badge').count()) === 1, 'an account shows its state');
  check((await page.locator('#results tbody tr a[href^="#/identity/idn_"]').count()) > 0, 'rows link to identity pages');

  // Find the user: type in the search box, press Enter.
  const inventoryMs = await timed(page, `#/inventory?q=${encodeURIComponent(login)}`,
    () => page.locator('#results tbody tr', { hasText: login }).first().waitFor());
  console.log(`inventory search shown in ${inventoryMs} ms`);
  check(inventoryMs < 1000, `inventory page in ${inventoryMs} ms (< 1 s)`);
  await page.getByLabel('Search people').fill('');
  await page.getByLabel('Search people').focus();
  await page.keyboard.type(login);
  await page.keyboard.press('Enter');
  const row = page.locator('#results tbody tr', { hasText: login }).first();
  await row.waitFor();
  await shot(page, 'inventory');

  // Open the identity with the keyboard.
  await row.getByRole('link').first().focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Accounts across providers' }).waitFor();
  const detection = page.locator('#detections article', { hasText: 'brute_force' }).first();
  await detection.waitFor();
  check((await page.locator('.timeline li.failure').count()) > 0, 'failed sign-ins are marked on the timeline');
  check(await page.locator('svg.map').isVisible(), 'the sign-in map is shown');
  check((await detection.locator('.explanation').innerText()).length > 10, 'the detection explains itself');
  // The detection raised the person's risk: a point of the risk chart.
  const riskChart = page.locator('svg#risk-chart');
  check(await riskChart.isVisible(), 'the risk score over time is charted');
  const riskPoints = (await riskChart.locator('polyline.risk').getAttribute('points')).trim().split(/\s+/);
  check(riskPoints.length >= 1 && (await riskChart.locator('circle.point').count()) === riskPoints.length,
    `one dot per point of the risk history (${riskPoints.length})`);
  check(/Risk score over time: \d+ changes? /.test(await riskChart.getAttribute('aria-label')), 'the risk chart has a text alternative');
  await accessible(page, 'identity');
  await shot(page, 'identity');

  // Detections by severity.
  const detectionsMs = await timed(page, '#/detections', () => page.locator('article.detection').first().waitFor());
  console.log(`detections shown in ${detectionsMs} ms`);
  await accessible(page, 'detections');
  await shot(page, 'detections');

  // Approve the pending disable_account.
  await timed(page, '#/actions', () => page.getByRole('heading', { name: 'Audit trail' }).waitFor());
  const approve = page.getByRole('button', { name: /^Approve disable_account/ }).first();
  await approve.waitFor();
  await accessible(page, 'actions');
  await shot(page, 'actions-pending');
  await approve.focus();
  await page.keyboard.press('Enter');
  await page.locator('#status', { hasText: 'approved' }).waitFor();
  await page.locator('td', { hasText: /approved by/ }).first().waitFor();
  await shot(page, 'actions-approved');

  // Integrations: sync status, the event-hook URL, a connection test.
  await timed(page, '#/integrations', () => page.getByRole('button', { name: /^Test the connection/ }).first().waitFor());
  check(await page.getByLabel('Event-hook URL').first().isVisible(), 'the event-hook URL is shown');
  await page.getByRole('button', { name: /^Test the connection/ }).first().click();
  await page.getByText(/Connection works|Connection failed/).first().waitFor();
  await accessible(page, 'integrations');
  await shot(page, 'integrations');

  // Sign out: the session is gone server-side too.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Operator or tenant API key').waitFor();
  const after = await page.evaluate(async () => (await fetch('/v1/users', { credentials: 'same-origin' })).status);
  check(after === 401, `the API refuses the signed-out session (got ${after})`);
  await shot(page, 'signed-out');

  check(problems.length === 0, `browser problems: ${problems.join(' | ')}`);
  console.log('console browser test passed');
} catch (err) {
  failed = true;
  console.error(err.stack || String(err));
  try {
    const page = context.pages()[0];
    if (page) await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true });
  } catch { /* best effort */ }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
