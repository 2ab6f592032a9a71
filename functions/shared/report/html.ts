/**
 * The report as one self-contained HTML page (`--format html`): inline CSS and inline SVG charts, no script,
 * no font, no image and no link to fetch, so it opens offline, reads with JavaScript off and prints. A
 * Content-Security-Policy of `default-src 'none'` makes that a rule the browser enforces: even a string that
 * slipped through unescaped could neither run nor call out. Every string from the registry or the audit table
 * (repository names, tags, principals) goes through `escapeHtml`.
 */
import { humanBytes } from '../runtime/format.js';
import { PULL_AGE_BUCKETS, PULL_AGE_LABELS, type Report } from './model.js';
import {
  headline,
  percent,
  plural,
  REPOSITORY_COLUMNS,
  repositoryCells,
  summaryLines,
  totalCells,
  usd,
  verdictText,
} from './text.js';

/** Text for HTML and SVG content and attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const e = escapeHtml;

/** One bar of a chart. */
export interface Bar {
  readonly label: string;
  readonly value: number;
  /** The value as printed on the bar. */
  readonly text: string;
}

/** The ids of the page's charts (tests and readers find them by id). */
export const CHART_IDS = {
  bytes: 'chart-bytes',
  pullAge: 'chart-pull-age',
  reclaimed: 'chart-reclaimed',
} as const;

/** Repositories drawn one by one in the bytes chart; the rest share one "others" bar. */
export const TOP_REPOSITORIES = 10;

/** A label cut to `max` characters with an ellipsis (the full text stays in the bar's <title>). */
function cut(label: string, max: number): string {
  return label.length <= max ? label : `${label.slice(0, max - 1)}…`;
}

function svgOpen(id: string, width: number, height: number, title: string, desc: string): string {
  return (
    `<svg id="${id}" class="chart" role="img" viewBox="0 0 ${width} ${height}" width="100%" ` +
    `preserveAspectRatio="xMinYMin meet" aria-labelledby="${id}-title ${id}-desc" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${id}-title">${e(title)}</title><desc id="${id}-desc">${e(desc)}</desc>`
  );
}

/** Horizontal bars, one a row: the label left, the bar, the value at its end. */
export function horizontalBars(id: string, title: string, desc: string, bars: readonly Bar[]): string {
  const rowHeight = 26;
  const labelWidth = 230;
  const plot = 380;
  const width = labelWidth + plot + 110;
  const height = Math.max(1, bars.length) * rowHeight + 8;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const rows = bars.map((b, i) => {
    const y = 4 + i * rowHeight;
    const w = b.value <= 0 ? 0 : Math.max(1, (b.value / max) * plot);
    return (
      `<g class="bar-group"><title>${e(`${b.label}: ${b.text}`)}</title>` +
      `<text class="label" x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${e(cut(b.label, 34))}</text>` +
      `<rect class="bar" x="${labelWidth}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 8}"/>` +
      `<text class="value" x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 16}">${e(b.text)}</text></g>`
    );
  });
  const empty = bars.length === 0 ? `<text class="empty" x="8" y="20">no data</text>` : '';
  return `${svgOpen(id, width, height + 12, title, desc)}${rows.join('')}${empty}</svg>`;
}

/**
 * Vertical bars along an axis: the value above each bar (for every bar, or only the non-zero ones when
 * `valueLabels` says so: thirty narrow days cannot all carry one) and the label under it (every `labelEvery`th).
 */
export function verticalBars(
  id: string,
  title: string,
  desc: string,
  bars: readonly Bar[],
  options: { readonly valueLabels?: 'all' | 'non-zero'; readonly labelEvery?: number } = {},
): string {
  const width = 720;
  const top = 24;
  const plot = 180;
  const height = top + plot + 40;
  const step = (width - 20) / Math.max(1, bars.length);
  const barWidth = Math.max(2, step * 0.7);
  const max = Math.max(1, ...bars.map((b) => b.value));
  const every = options.labelEvery ?? 1;
  const groups = bars.map((b, i) => {
    const h = b.value <= 0 ? 0 : Math.max(1, (b.value / max) * plot);
    const x = 10 + i * step + (step - barWidth) / 2;
    const cx = (x + barWidth / 2).toFixed(1);
    const showValue = options.valueLabels !== 'non-zero' || b.value > 0;
    const showLabel = i % every === 0 || i === bars.length - 1;
    return (
      `<g class="bar-group"><title>${e(`${b.label}: ${b.text}`)}</title>` +
      `<rect class="bar" x="${x.toFixed(1)}" y="${(top + plot - h).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}"/>` +
      (showValue
        ? `<text class="value" x="${cx}" y="${(top + plot - h - 5).toFixed(1)}" text-anchor="middle">${e(b.text)}</text>`
        : '') +
      (showLabel
        ? `<text class="label" x="${cx}" y="${top + plot + 18}" text-anchor="middle">${e(b.label)}</text>`
        : '') +
      '</g>'
    );
  });
  const axis = `<line class="axis" x1="10" y1="${top + plot}" x2="${width - 10}" y2="${top + plot}"/>`;
  return `${svgOpen(id, width, height, title, desc)}${axis}${groups.join('')}</svg>`;
}

/** The bytes chart's bars: the largest repositories, then one "others" bar for the rest (when there are any). */
export function bytesBars(report: Report, top = TOP_REPOSITORIES): Bar[] {
  const total = (r: { standardBytes: number; archiveBytes: number }) => r.standardBytes + r.archiveBytes;
  const shown = report.repositories.slice(0, top);
  const rest = report.repositories.slice(top);
  const bars = shown.map((r) => ({ label: r.name, value: total(r), text: humanBytes(total(r)) }));
  if (rest.length > 0) {
    const bytes = rest.reduce((n, r) => n + total(r), 0);
    bars.push({ label: `others (${rest.length})`, value: bytes, text: humanBytes(bytes) });
  }
  return bars;
}

/** The pull-age histogram's bars, one per bucket. */
export function pullAgeBars(report: Report): Bar[] {
  return PULL_AGE_BUCKETS.map((b) => ({
    label: PULL_AGE_LABELS[b],
    value: report.totals.pullAge[b],
    text: String(report.totals.pullAge[b]),
  }));
}

/** The reclaimed-bytes chart's bars, one per day of the period (empty when the audit was not read). */
export function reclaimedBars(report: Report): Bar[] {
  if (!report.audit.available) return [];
  return report.audit.byDay.map((d) => ({
    label: d.day.slice(5),
    value: d.bytes,
    text: d.bytes === 0 ? '0 B' : humanBytes(d.bytes),
  }));
}

const STYLE = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --bar: #2f6fb3; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta, .note { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.card .v { font-size: 20px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot td { font-weight: 600; border-top: 2px solid var(--ink); }
code { font-size: 12px; }
.chart { max-width: 100%; height: auto; display: block; }
.chart .bar { fill: var(--bar); }
.chart .label, .chart .value, .chart .empty { font-size: 12px; fill: var(--ink); }
.chart .value { fill: var(--muted); }
.chart .axis { stroke: var(--muted); stroke-width: 1; }
ul.lines { padding-left: 18px; }
@media print {
  main { max-width: none; padding: 0; }
  section, .chart, tr { break-inside: avoid; page-break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`;

function table(
  header: readonly string[],
  rows: readonly string[][],
  numeric: ReadonlySet<number>,
  foot?: readonly string[],
): string {
  const cell = (tag: 'td' | 'th', c: string, i: number) =>
    `<${tag}${numeric.has(i) ? ' class="n"' : ''}>${e(c)}</${tag}>`;
  return (
    `<table><thead><tr>${header.map((h, i) => cell('th', h, i)).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`).join('') +
    `</tbody>${foot ? `<tfoot><tr>${foot.map((c, i) => cell('td', c, i)).join('')}</tr></tfoot>` : ''}</table>`
  );
}

const card = (k: string, v: string, note?: string) =>
  `<div class="card"><div class="k">${e(k)}</div><div class="v">${e(v)}</div>${note ? `<div class="note">${e(note)}</div>` : ''}</div>`;

/** `--format html`: the whole page. */
export function renderHtml(report: Report): string {
  const t = report.totals;
  const bytes = bytesBars(report);
  const pull = pullAgeBars(report);
  const reclaimed = reclaimedBars(report);
  const title = `ECR Steward report: ${report.registryId} ${report.region}`;
  const cards = [
    card('repositories', String(t.repositories), `${t.managedRepositories} managed`),
    card('images', String(t.images), `${t.archivedImages} archived`),
    card('stored', humanBytes(t.standardBytes + t.archiveBytes), `archive ${humanBytes(t.archiveBytes)}`),
    card('cost a month', usd(t.monthlyCost), 'storage at ECR prices'),
    card(
      'reclaimable now',
      humanBytes(t.reclaimableBytes),
      `${plural(t.reclaimableImages, 'image')}, ${usd(t.reclaimableMonthlyCost)} a month`,
    ),
    card('never pulled', String(t.neverPulled), `untagged ${percent(t.untaggedShare)}`),
  ];
  const reclaimedSection = report.audit.available
    ? verticalBars(
        CHART_IDS.reclaimed,
        `Bytes reclaimed per day since ${report.audit.since.slice(0, 10)}`,
        `Deletions recorded in the audit table, by UTC day: ${report.audit.deletes} deletes, ${humanBytes(report.audit.bytes)} in all.`,
        reclaimed,
        { valueLabels: 'non-zero', labelEvery: Math.max(1, Math.ceil(reclaimed.length / 10)) },
      )
    : `<p class="note">Not available: ${e(report.audit.reason)}</p>`;
  const principals =
    report.audit.available && report.audit.byPrincipal.length > 0
      ? table(
          ['principal', 'deletes', 'bytes'],
          report.audit.byPrincipal.map((p) => [p.principal, String(p.deletes), humanBytes(p.bytes)]),
          new Set([1, 2]),
        )
      : `<p class="note">${report.audit.available ? 'No deletions recorded in the period.' : 'Not available.'}</p>`;
  const verdicts =
    report.verdicts.available && t.verdicts
      ? `<p>${e(verdictText(t.verdicts))}</p>`
      : `<p class="note">Not available${report.verdicts.available ? '' : `: ${e(report.verdicts.reason)}`}</p>`;
  const largest = table(
    ['size', 'repository', 'tags', 'digest', 'storage', 'pushed', 'last pulled'],
    report.largest.map((i) => [
      humanBytes(i.bytes),
      i.repository,
      i.tags.join(' ') || '<untagged>',
      `${i.digest.slice(0, 19)}…`,
      i.storage,
      i.pushedAt.slice(0, 10),
      i.lastPulledAt?.slice(0, 10) ?? 'never',
    ]),
    new Set([0]),
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header><h1>ECR registry report</h1><p class="meta">${e(headline(report))}</p></header>
<section aria-label="totals"><div class="cards">${cards.join('')}</div></section>
<section><h2>Bytes by repository</h2>${horizontalBars(
    CHART_IDS.bytes,
    'Stored bytes by repository',
    `The ${Math.min(TOP_REPOSITORIES, report.repositories.length)} largest repositories by stored bytes (standard and archive)${report.repositories.length > TOP_REPOSITORIES ? ', then the others together' : ''}.`,
    bytes,
  )}</section>
<section><h2>Last pull</h2>${verticalBars(
    CHART_IDS.pullAge,
    'Images by time since their last pull',
    `How many images were last pulled 0–7, 8–30, 31–90 or more than 90 days ago, or never: ${pull.map((b) => `${b.label} ${b.text}`).join(', ')}.`,
    pull,
  )}</section>
<section><h2>Reclaimed over time</h2>${reclaimedSection}</section>
<section><h2>Repositories</h2>${table(
    REPOSITORY_COLUMNS,
    report.repositories.map(repositoryCells),
    new Set([1, 2, 3, 4, 5, 6, 7, 9]),
    totalCells(report),
  )}</section>
<section><h2>Summary</h2><ul class="lines">${summaryLines(report)
    .map((l) => `<li>${e(l)}</li>`)
    .join('')}</ul></section>
<section><h2>Largest images</h2>${largest}</section>
<section><h2>Gate verdicts</h2>${verdicts}</section>
<section><h2>Deletes by principal</h2>${principals}</section>
${report.warnings.length > 0 ? `<section><h2>Warnings</h2><ul class="lines">${report.warnings.map((w) => `<li>${e(w)}</li>`).join('')}</ul></section>` : ''}
<footer><p class="note">Sizes are ECR's imageSizeInBytes (compressed; a layer shared by two images counts for both), so stored bytes and cost are an upper bound of what ECR bills. Reclaimable: what the current lifecycle plan (ECR rules and Steward protections) would expire now.</p></footer>
</main>
</body>
</html>
`;
}
