/**
 * The HTML report in a real browser: Debian's chromium (CI installs it with apt-get), driven by playwright-core.
 * The page is loaded from a file:// URL as a person would open it; the test asserts what the browser drew (bars
 * and labels per chart, with a size on screen), that the page logged no error, made no request and opened no
 * dialog (a hostile tag or principal running as script would), and leaves a screenshot in .local/.
 * Never skipped: without the browser the test fails and says how to install it.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART_IDS, renderHtml } from '../../functions/shared/report/index.js';
import { ROOT } from '../cli/run-cli.js';
import { crowdedReport, HOSTILE } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(ROOT, '.local', 'report-browser');

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
});

interface Visit {
  readonly page: Page;
  readonly errors: string[];
  readonly requests: string[];
  readonly dialogs: string[];
}

/** Writes the page to a file and opens it, recording console errors, page errors, requests and dialogs. */
async function open(html: string, name: string): Promise<Visit> {
  await mkdir(OUT, { recursive: true });
  const file = join(OUT, `${name}.html`);
  await writeFile(file, html);
  const url = pathToFileURL(file).href;
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const visit: Visit = { page, errors: [], requests: [], dialogs: [] };
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') visit.errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => visit.errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    if (r.url() !== url) visit.requests.push(r.url());
  });
  page.on('dialog', async (d) => {
    visit.dialogs.push(d.message());
    await d.dismiss();
  });
  await page.goto(url, { waitUntil: 'load' });
  return visit;
}

describe('the HTML report in chromium', () => {
  it('draws every chart with the bars and labels of the data, with no error, request or dialog', async () => {
    // Prepare
    const report = crowdedReport();
    // Act
    const { page, errors, requests, dialogs } = await open(renderHtml(report), 'crowded');
    await page.screenshot({ path: join(OUT, 'crowded.png'), fullPage: true });
    // Assess: the bytes chart, ten repositories and "others".
    const bytes = page.locator(`#${CHART_IDS.bytes}`);
    await expect(bytes.locator('rect.bar').count()).resolves.toBe(11);
    const labels = await bytes.locator('text.label').allTextContents();
    expect(labels).toHaveLength(11);
    expect(labels.slice(0, 2)).toEqual(['services/api', HOSTILE.repository]);
    expect(labels.at(-1)).toBe('others (5)');
    // The pull-age histogram.
    const pull = page.locator(`#${CHART_IDS.pullAge}`);
    await expect(pull.locator('rect.bar').count()).resolves.toBe(5);
    await expect(pull.locator('text.label').allTextContents()).resolves.toEqual([
      '0–7 days',
      '8–30 days',
      '31–90 days',
      '> 90 days',
      'never',
    ]);
    await expect(pull.locator('text.value').allTextContents()).resolves.toEqual(['1', '1', '1', '1', '15']);
    // Reclaimed per day: eight days, values on the two with deletions.
    const reclaimed = page.locator(`#${CHART_IDS.reclaimed}`);
    await expect(reclaimed.locator('rect.bar').count()).resolves.toBe(8);
    await expect(reclaimed.locator('text.label').count()).resolves.toBe(8);
    await expect(reclaimed.locator('text.value').allTextContents()).resolves.toEqual([
      '9.54 MiB',
      '81.1 MiB',
    ]);
    // Drawn, not only present: the largest bar and the charts have a size on screen.
    const largest = await bytes.locator('rect.bar').first().boundingBox();
    expect(largest?.width).toBeGreaterThan(100);
    for (const id of Object.values(CHART_IDS)) {
      const box = await page.locator(`#${id}`).boundingBox();
      expect(box?.height, id).toBeGreaterThan(100);
    }
    // The hostile strings are text on the page, and nothing ran.
    // biome-ignore lint/performance/useDomNodeTextContent: what the browser renders as text is what a reader sees.
    const text = await page.locator('body').innerText();
    expect(text).toContain(HOSTILE.tag);
    expect(text).toContain(HOSTILE.principal);
    await expect(page.locator('script, img').count()).resolves.toBe(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  it('prints to PDF with every chart, as a print-friendly page should', async () => {
    // Prepare
    const { page, errors } = await open(renderHtml(crowdedReport()), 'print');
    // Act
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    // Assess
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await expect(page.locator('svg.chart').count()).resolves.toBe(3);
    expect(errors).toEqual([]);
    await page.close();
  });
});
