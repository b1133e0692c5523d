/**
 * Debian's chromium driven by playwright-core (no browser download). Flags
 * that work here headless, as root (no sandbox) and as an unprivileged user
 * alike; HOME and the profile live in a fresh temporary folder. Every page
 * records console errors and uncaught exceptions: the tests fail on any.
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.ATTUNE_CHROMIUM ?? '/usr/bin/chromium';

/** Where the run saves its screenshots (git-ignored: .attune/). */
export const SCREENSHOT_DIR = join(process.cwd(), '.attune', 'web-screenshots');

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (cold cache, empty session storage) at 1280×800 unless told otherwise. */
  newPage(options?: { width?: number; height?: number }): Promise<{ page: Page; context: BrowserContext; problems: string[] }>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const home = await mkdtemp(join(tmpdir(), 'attune-chromium-'));
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache') },
  });
  return {
    browser,
    async newPage(options = {}) {
      const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 800 } });
      const page = await context.newPage();
      // Well under the test's own time-out, so a failure names the step that waited.
      page.setDefaultTimeout(15_000);
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      // Which request failed, for the console's 'Failed to load resource' that names none.
      page.on('response', (response) => {
        if (response.status() >= 400) problems.push(`HTTP ${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}${response.request().headers().authorization === undefined ? "" : " (with a token)"}`);
      });
      return { page, context, problems };
    },
    async close() {
      await browser.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) });
}
