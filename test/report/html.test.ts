/**
 * The HTML page, parsed by jsdom (always runs, no browser needed): it is one self-contained document, each
 * chart has as many bars and labels as the data, every SVG is titled and described, and strings from the
 * registry or the audit table render as text. test/report/browser.test.ts renders it in a real browser.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  bytesBars,
  CHART_IDS,
  escapeHtml,
  horizontalBars,
  type Report,
  renderHtml,
} from '../../functions/shared/report/index.js';
import { crowdedReport, fixtureReport, HOSTILE } from './fixture.js';

/** The little of the DOM the test reads (the project's type check has no "dom" lib; see package.json). */
interface Node {
  readonly textContent: string | null;
  readonly tagName: string;
  readonly attributes: ArrayLike<{ readonly name: string; readonly value: string }>;
  getAttribute(name: string): string | null;
  querySelector(selector: string): Node | null;
  querySelectorAll(selector: string): ArrayLike<Node>;
}
interface Dom {
  readonly window: { readonly document: Node & { getElementById(id: string): Node | null } };
}
const { JSDOM } = createRequire(import.meta.url)('jsdom') as {
  JSDOM: new (html: string) => Dom;
};

function parse(report: Report) {
  const html = renderHtml(report);
  const document = new JSDOM(html).window.document;
  const all = (selector: string, root: Node = document) => Array.from(root.querySelectorAll(selector));
  const texts = (selector: string) => all(selector).map((n) => n.textContent);
  return { html, document, all, texts };
}

describe('renderHtml', () => {
  it('writes one self-contained page: no script, no external resource, and a policy that forbids both', () => {
    // Prepare / Act
    const { document, all } = parse(fixtureReport());
    // Assess
    expect(all('script')).toHaveLength(0);
    expect(all('link, img, iframe, object, embed')).toHaveLength(0);
    const withUrls = all('*').filter((n) =>
      Array.from(n.attributes).some((a) => ['src', 'href', 'xlink:href'].includes(a.name)),
    );
    expect(withUrls).toHaveLength(0);
    expect(
      document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content'),
    ).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(document.querySelector('title')?.textContent).toBe('ECR Steward report: 123456789012 us-east-1');
  });

  it('draws one bar and one label per repository, largest first, when there are ten repositories or fewer', () => {
    // Prepare / Act
    const { texts, all } = parse(fixtureReport());
    // Assess
    const chart = `#${CHART_IDS.bytes}`;
    expect(all(`${chart} rect.bar`)).toHaveLength(2);
    expect(texts(`${chart} text.label`)).toEqual(['services/api', 'tools/ci']);
    expect(texts(`${chart} text.value`)).toEqual(['620 MiB', '9.54 MiB']);
    expect(all(`${chart} rect.bar`).map((r) => r.getAttribute('width'))).toEqual(['380.0', '5.8']);
  });

  it('draws the ten largest repositories and one "others" bar when there are more', () => {
    // Prepare / Act
    const { texts, all } = parse(crowdedReport());
    // Assess
    const chart = `#${CHART_IDS.bytes}`;
    expect(all(`${chart} rect.bar`)).toHaveLength(11);
    const labels = texts(`${chart} text.label`);
    expect(labels).toHaveLength(11);
    expect(labels.slice(0, 3)).toEqual(['services/api', HOSTILE.repository, 'team-12/app']);
    expect(labels.at(-1)).toBe('others (5)');
    expect(texts(`${chart} text.value`).at(-1)).toBe('277 MiB');
  });

  it('draws the five pull-age buckets with their counts', () => {
    // Prepare / Act
    const { texts, all } = parse(fixtureReport());
    // Assess
    const chart = `#${CHART_IDS.pullAge}`;
    expect(all(`${chart} rect.bar`)).toHaveLength(5);
    expect(texts(`${chart} text.label`)).toEqual([
      '0–7 days',
      '8–30 days',
      '31–90 days',
      '> 90 days',
      'never',
    ]);
    expect(texts(`${chart} text.value`)).toEqual(['1', '1', '1', '1', '2']);
  });

  it('draws one bar per day of the period, a value on the days with deletions', () => {
    // Prepare / Act
    const { texts, all } = parse(fixtureReport());
    // Assess: 2026-11-29 to 2026-12-06; deletions on 12-04 and 12-05.
    const chart = `#${CHART_IDS.reclaimed}`;
    expect(all(`${chart} rect.bar`)).toHaveLength(8);
    expect(texts(`${chart} text.label`)).toEqual([
      '11-29',
      '11-30',
      '12-01',
      '12-02',
      '12-03',
      '12-04',
      '12-05',
      '12-06',
    ]);
    expect(texts(`${chart} text.value`)).toEqual(['9.54 MiB', '42.9 MiB']);
    expect(texts(`${chart} .bar-group > title`)[6]).toBe('12-05: 42.9 MiB');
  });

  it('says the audit is not available instead of drawing an empty chart when the audit table was not read', () => {
    // Prepare / Act
    const { document } = parse(
      fixtureReport({ audit: { unavailable: 'no audit table: pass --audit-table' } }),
    );
    // Assess
    expect(document.getElementById(CHART_IDS.reclaimed)).toBeNull();
    expect(document.querySelector('body')?.textContent).toContain(
      'Not available: no audit table: pass --audit-table',
    );
  });

  it('titles and describes every chart for assistive technology', () => {
    // Prepare / Act
    const { all, document } = parse(fixtureReport());
    // Assess
    const charts = all('svg');
    expect(charts.map((c) => c.getAttribute('id'))).toEqual([
      CHART_IDS.bytes,
      CHART_IDS.pullAge,
      CHART_IDS.reclaimed,
    ]);
    for (const svg of charts) {
      expect(svg.getAttribute('role')).toBe('img');
      const [titleId, descId] = (svg.getAttribute('aria-labelledby') ?? '').split(' ');
      expect(document.getElementById(titleId!)?.tagName.toLowerCase()).toBe('title');
      expect(document.getElementById(descId!)?.textContent).not.toBe('');
    }
  });

  it('lists every repository in the table, with the totals in its footer', () => {
    // Prepare / Act
    const { all, texts } = parse(crowdedReport());
    // Assess
    expect(all('section table')[0]?.querySelectorAll('tbody tr')).toHaveLength(15);
    expect(texts('tfoot td')[0]).toBe('total (15)');
  });

  it('renders a hostile tag, principal and repository name as text, never as markup', () => {
    // Prepare / Act
    const { html, all, document } = parse(crowdedReport());
    // Assess: nothing they carry became an element, and the page shows them verbatim.
    expect(all('script, img')).toHaveLength(0);
    expect(all('svg svg')).toHaveLength(0);
    expect(all('[onerror], [onload]')).toHaveLength(0);
    const text = document.querySelector('body')?.textContent ?? '';
    expect(text).toContain(HOSTILE.tag);
    expect(text).toContain(HOSTILE.principal);
    expect(text).toContain(HOSTILE.repository);
    expect(html).not.toContain('<script');
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that can end text or an attribute', () => {
    // Act / Assess
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});

describe('horizontalBars', () => {
  it('says "no data" when there is nothing to draw', () => {
    // Act
    const svg = horizontalBars('x', 'Empty', 'nothing', []);
    // Assess
    expect(svg).toContain('<text class="empty" x="8" y="20">no data</text>');
    expect(svg).not.toContain('rect');
  });
});

describe('bytesBars', () => {
  it('adds no "others" bar when every repository is drawn', () => {
    // Act
    const bars = bytesBars(fixtureReport(), 2);
    // Assess
    expect(bars.map((b) => b.label)).toEqual(['services/api', 'tools/ci']);
  });
});
