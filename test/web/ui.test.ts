/**
 * The web UI in a real browser (Debian's chromium through playwright-core)
 * against Attune with every role running in this process: log in, run
 * core.local from its form and watch the output arrive, a webhook-fired
 * execution appearing without a reload, a rule tested against an event, an
 * inquiry answered, a rule toggled. Any console error fails the test.
 * Screenshots of the main pages go to .attune/web-screenshots/.
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type TestBrowser } from './browser.js';
import { startStack, type Stack } from './stack.js';

/** What a cold load of the login page may transfer: about 85 KiB today (docs/web-ui.md), with room for growth but not for a doubling. */
const COLD_LOAD_BUDGET_BYTES = 128 * 1024;

let stack: Stack;
let browser: TestBrowser;
let problems: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

afterEach(() => {
  // A console error or an uncaught exception in any page fails the test that caused it.
  const seen = problems;
  problems = [];
  expect(seen).toEqual([]);
});

/** A fresh page, logged in through the form. */
async function loggedIn(options: { width?: number } = {}): Promise<Page> {
  const opened = await browser.newPage(options);
  problems = opened.problems;
  const { page } = opened;
  await page.goto(stack.url);
  await page.getByLabel('Login').fill(stack.login);
  await page.getByLabel('Password').fill(stack.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  return page;
}

/** A link of the main navigation. */
function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

describe('the web UI', { timeout: 60_000 }, () => {
  it('logs in with the password; the token stays out of the URL; a wrong password says so', async () => {
    const opened = await browser.newPage();
    problems = opened.problems;
    const { page } = opened;
    await page.goto(stack.url);
    await page.getByLabel('Login').fill(stack.login);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('login or password is wrong');
    // The 401 of a wrong password is the one error the browser reports: expected here.
    problems.splice(0, problems.length, ...problems.filter((p) => !p.includes('401')));

    await page.getByLabel('Password').fill(stack.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    expect(page.url()).toBe(`${stack.url}/`);
    const stored = await page.evaluate("sessionStorage.getItem('attune.token')");
    expect(stored).toMatch(/^attn_/);
    expect(await page.evaluate('document.cookie')).toBe('');
    await page.getByRole('heading', { name: 'Live workers' }).waitFor();
    await screenshot(page, 'dashboard');
    await opened.context.close();
  });

  it('runs core.local from the form generated from its schema, with the output arriving live', async () => {
    const page = await loggedIn();
    await nav(page, 'Actions').click();
    await page.getByRole('link', { name: 'core.local', exact: true }).click();
    // Validated before sending: the required cmd left empty is refused in the page.
    await page.getByRole('button', { name: 'Run' }).click();
    await expect(page.getByText('cmd is required').isVisible()).resolves.toBe(true);
    const gate = join(tmpdir(), `attune-web-gate-${process.pid}-${Date.now()}`);
    await page.getByLabel(/^cmd/).fill(`echo first-line; while [ ! -e ${gate} ]; do sleep 0.05; done; echo second-line`);
    await screenshot(page, 'action-run-form');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.waitForURL(/\/executions\/\d+$/);
    const output = page.getByTestId('output');
    await output.getByText('first-line').waitFor();
    // The first line is on screen while the command still waits for the gate.
    expect(await output.textContent()).not.toContain('second-line');
    // The status comes from its own (debounced) reload, not from the output stream: wait for it rather than read it once.
    await page.getByRole('heading', { level: 1 }).getByText('running').waitFor();
    await writeFile(gate, '');
    await output.getByText('second-line').waitFor();
    await page.getByRole('heading', { level: 1 }).getByText('succeeded').waitFor();
    await rm(gate, { force: true });
    await screenshot(page, 'execution');
    await page.context().close();
  });

  it('shows a webhook-fired execution in the list without a reload, with its chain', async () => {
    const page = await loggedIn();
    await nav(page, 'Executions').click();
    await page.getByRole('heading', { name: 'Executions' }).waitFor();
    await page.evaluate('window.notReloaded = true');
    // examples.deploy_approval: the deploy webhook runs core.ask.
    const fired = await stack.api('POST', '/api/v1/webhooks/deploy', { version: '1.4.2' });
    expect(fired.status, JSON.stringify(fired.data)).toBe(202);
    const row = page.getByRole('row').filter({ hasText: 'core.ask' });
    await row.first().waitFor();
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    await row.first().getByRole('link').first().click();
    const chain = page.getByRole('navigation', { name: 'Chain' });
    await chain.getByRole('link', { name: 'examples.deploy_approval' }).waitFor();
    // event → rule / enforcement → this execution, each a link.
    await chain.getByRole('link', { name: /^#\d+$/ }).nth(1).waitFor();
    await chain.getByRole('link', { name: /^#\d+$/ }).first().click();
    await page.getByRole('heading', { name: /^Event #\d+$/ }).waitFor();
    await page.getByRole('link', { name: 'examples.deploy_approval' }).waitFor();
    await page.goto(`${stack.url}/executions`);
    await page.getByRole('row').filter({ hasText: 'core.ask' }).first().waitFor();
    await screenshot(page, 'executions');
    await page.context().close();
  });

  it('tests a rule against a stored event and against a pasted payload', async () => {
    const fired = await stack.api('POST', '/api/v1/webhooks/deploy', { version: '2.0.0' });
    expect(fired.status).toBe(202);
    const page = await loggedIn();
    await page.goto(`${stack.url}/rules/examples.deploy_approval`);
    await page.getByRole('heading', { name: 'Test against an event' }).waitFor();
    await page.getByLabel(/^Event of/).waitFor();
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    const result = page.getByTestId('rule-test-result');
    await result.getByText('The rule matches').waitFor();
    await expect(result.getByRole('row').filter({ hasText: 'trigger.body.version' }).textContent()).resolves.toContain('✔ matched');
    // The parameters core.ask would get, rendered from the newest event.
    await expect(result.locator('pre').textContent()).resolves.toContain('"title": "Deploy version 2.0.0?"');
    await screenshot(page, 'rule-test');

    await page.getByLabel('a payload').check();
    await page.getByLabel('Payload (JSON)').fill('{"body": {}}');
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await result.getByText('The rule does not match').waitFor();
    await expect(result.getByRole('row').filter({ hasText: 'trigger.body.version' }).textContent()).resolves.toContain('✘ not matched');
    await page.getByLabel('Payload (JSON)').fill('{not json');
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await page.getByText('The payload is not JSON').waitFor();
    await page.context().close();
  });

  it('answers an inquiry through the form generated from its schema', async () => {
    const page = await loggedIn();
    await nav(page, 'Inquiries').click();
    await page.getByRole('heading', { name: 'Waiting for an answer' }).waitFor();
    const fired = await stack.api('POST', '/api/v1/webhooks/deploy', { version: '3.0.0' });
    expect(fired.status).toBe(202);
    let id: number | undefined;
    await expect
      .poll(async () => {
        const pending = await stack.api('GET', '/api/v1/inquiries');
        id = pending.data.data.find((q: { response_schema: { title?: string } }) => q.response_schema.title === 'Deploy version 3.0.0?')?.id;
        return id;
      }, { timeout: 15_000 })
      .toBeDefined();
    // It appears in the open page without a reload.
    await page.locator(`a[href="/inquiries/${id}"]`).first().click();
    await page.getByText('Deploy version 3.0.0?').waitFor();
    await page.getByLabel(/^approved/).check();
    await page.getByLabel(/^comment/).fill('ship it');
    await screenshot(page, 'inquiry');
    await page.getByRole('button', { name: 'Send response' }).click();
    await page.getByRole('heading', { level: 1 }).getByText('responded').waitFor();
    const stored = await stack.api('GET', `/api/v1/inquiries/${id}`);
    expect(stored.data.data.response).toEqual({ approved: true, comment: 'ship it' });
    await page.context().close();
  });

  it('disables and enables a rule from the list', async () => {
    const page = await loggedIn();
    await nav(page, 'Rules').click();
    const toggle = page.getByRole('switch', { name: 'examples.health_check_timer enabled' });
    const before = await toggle.isChecked();
    await toggle.click();
    await expect.poll(() => toggle.isChecked()).toBe(!before);
    expect((await stack.api('GET', '/api/v1/rules/examples.health_check_timer')).data.data.enabled).toBe(!before);
    await toggle.click();
    await expect.poll(() => toggle.isChecked()).toBe(before);
    expect((await stack.api('GET', '/api/v1/rules/examples.health_check_timer')).data.data.enabled).toBe(before);
    await screenshot(page, 'rules');
    await page.context().close();
  });

  it('lists packs and keys with secrets masked, and sets and deletes a key', async () => {
    expect((await stack.api('PUT', '/api/v1/keys/system.web_test_secret', { value: 's3cret-value-123', secret: true })).status).toBe(201);
    const page = await loggedIn();
    await nav(page, 'Packs').click();
    await page.getByRole('link', { name: 'examples' }).waitFor();
    await screenshot(page, 'packs');
    await nav(page, 'Keys').click();
    const secretRow = page.getByRole('row').filter({ hasText: 'system.web_test_secret' });
    await expect(secretRow.textContent()).resolves.toContain('********');
    expect(await page.content()).not.toContain('s3cret-value-123');
    await secretRow.getByRole('button', { name: 'Reveal' }).click();
    await secretRow.getByText('s3cret-value-123').waitFor();
    await page.getByLabel('Key', { exact: true }).fill('system.web_test_plain');
    await page.getByLabel('Value').fill('42');
    await page.getByRole('button', { name: 'Set' }).click();
    await page.getByRole('row').filter({ hasText: 'system.web_test_plain' }).waitFor();
    expect((await stack.api('GET', '/api/v1/keys/system.web_test_plain')).data.data.value).toBe(42);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete system.web_test_plain' }).click();
    await page.getByRole('row').filter({ hasText: 'system.web_test_plain' }).waitFor({ state: 'detached' });
    await page.context().close();
  });

  it('loads within its byte budget with a cold cache (time reported), and works at 375 px with the menu', async () => {
    const opened = await browser.newPage({ width: 375, height: 740 });
    problems = opened.problems;
    const { page } = opened;
    await page.goto(stack.url);
    await page.getByLabel('Login').waitFor();
    // Navigation timing of this first, cold load: from the request to the load event, and the bytes it took.
    const timing = await page.evaluate<{ load: number; transferred: number }>(`(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const resources = performance.getEntriesByType('resource').reduce((sum, r) => sum + r.transferSize, 0);
      return { load: nav.loadEventEnd, transferred: nav.transferSize + resources };
    })()`);
    console.log(`cold load on loopback: ${Math.round(timing.load)} ms, ${Math.round(timing.transferred / 1024)} KiB transferred`);
    // The time is reported, not asserted: on a shared, loaded machine a wall-clock bound fails with no bug. What makes a
    // cold load slow on loopback is its weight, and that is deterministic: the page, its script and its styles, compressed.
    expect(timing.transferred).toBeGreaterThan(0);
    expect(timing.transferred).toBeLessThan(COLD_LOAD_BUDGET_BYTES);
    // Keyboard only: the fields are labelled and in order.
    // The login field has the focus on arrival.
    await page.keyboard.type(stack.login);
    await page.keyboard.press('Tab');
    await page.keyboard.type(stack.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    // No sideways scrolling of the page itself on a phone.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.getByRole('button', { name: 'Menu' }).click();
    await nav(page, 'Executions').click();
    await page.getByRole('heading', { name: 'Executions' }).waitFor();
    await screenshot(page, 'narrow-executions');
    await page.goto(`${stack.url}/no/such/page`);
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    await opened.context.close();
  });
});

describe('screenshots', () => {
  it('were written for the main pages', () => {
    for (const name of ['dashboard', 'execution', 'executions', 'action-run-form', 'rules', 'packs']) {
      expect(existsSync(join(process.cwd(), '.attune', 'web-screenshots', `${name}.png`)), name).toBe(true);
    }
  });
});
