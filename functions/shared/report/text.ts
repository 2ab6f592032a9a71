/**
 * The report as text: an aligned table for a terminal (`--format table`) and Markdown (`--format md`). Both
 * read the same cells (`repositoryCells`, `summaryLines`), so the two never disagree on a figure.
 */
import { humanBytes } from '../runtime/format.js';
import {
  type LargeImage,
  PULL_AGE_BUCKETS,
  PULL_AGE_LABELS,
  type Report,
  type RepositoryRow,
  type VerdictCounts,
} from './model.js';

/** USD with cents, or `n/a` when the region has no price. */
export function usd(value: number | null): string {
  return value === null ? 'n/a' : `$${value.toFixed(2)}`;
}

/** A price per GB-month: cents, or up to four decimals for a negotiated rate (`$0.10`, `$0.0925`). */
export function unitPrice(value: number): string {
  return `$${value.toFixed(4).replace(/0{1,2}$/, '')}`;
}

/** `1 image`, `3 images`. */
export function plural(n: number, noun: string): string {
  if (n === 1) return `1 ${noun}`;
  return `${n} ${noun.endsWith('y') ? `${noun.slice(0, -1)}ies` : `${noun}s`}`;
}

/** A share as a percentage with one decimal. */
export function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** `PASS 3 · FAIL 1 · PENDING 0 · unscanned 2` */
export function verdictText(v: VerdictCounts): string {
  return `PASS ${v.PASS} · FAIL ${v.FAIL} · PENDING ${v.PENDING} · unscanned ${v.unscanned}`;
}

/** The columns of the repositories table, in order. */
export const REPOSITORY_COLUMNS = [
  'repository',
  'images',
  'standard',
  'archive',
  'reclaimable',
  'cost/month',
  'never pulled',
  'untagged',
  'gate pass/fail/pend/none',
  'reclaimed',
] as const;

/** One repository's cells, as every renderer prints them. */
export function repositoryCells(r: RepositoryRow): string[] {
  return [
    r.name,
    String(r.images),
    humanBytes(r.standardBytes),
    humanBytes(r.archiveBytes),
    r.reclaimableBytes === null ? '—' : `${humanBytes(r.reclaimableBytes)} (${r.reclaimableImages})`,
    usd(r.monthlyCost),
    String(r.neverPulled),
    r.images === 0 ? '0' : `${r.untagged} (${percent(r.untagged / r.images)})`,
    r.verdicts ? `${r.verdicts.PASS}/${r.verdicts.FAIL}/${r.verdicts.PENDING}/${r.verdicts.unscanned}` : '—',
    r.reclaimed ? `${humanBytes(r.reclaimed.bytes)} (${r.reclaimed.deletes})` : '—',
  ];
}

/** The totals row of the repositories table. */
export function totalCells(report: Report): string[] {
  const t = report.totals;
  const audit = report.audit.available ? report.audit : undefined;
  return [
    `total (${t.repositories})`,
    String(t.images),
    humanBytes(t.standardBytes),
    humanBytes(t.archiveBytes),
    `${humanBytes(t.reclaimableBytes)} (${t.reclaimableImages})`,
    usd(t.monthlyCost),
    String(t.neverPulled),
    `${t.untagged} (${percent(t.untaggedShare)})`,
    t.verdicts ? `${t.verdicts.PASS}/${t.verdicts.FAIL}/${t.verdicts.PENDING}/${t.verdicts.unscanned}` : '—',
    audit ? `${humanBytes(audit.bytes)} (${audit.deletes})` : '—',
  ];
}

/** The header line: which registry, which repositories, when. */
export function headline(report: Report): string {
  const scope =
    report.scope === 'all'
      ? `all ${plural(report.totals.repositories, 'repository')}`
      : `${plural(report.totals.repositories, 'selected repository')}`;
  return `ECR registry ${report.registryId} in ${report.region}: ${scope}, ${report.generatedAt}`;
}

/** The lines under the table: prices, plan, pull age, untagged, verdicts, reclaimed, warnings. */
export function summaryLines(report: Report): string[] {
  const t = report.totals;
  const lines: string[] = [];
  const price = report.price;
  lines.push(
    'reason' in price
      ? `Prices: ${price.reason}`
      : `Prices: standard ${unitPrice(price.standardPerGbMonth)} and archive ${unitPrice(price.archivePerGbMonth)} per GB-month (${price.source === 'config' ? 'config report.prices' : 'built-in, aws.amazon.com/ecr/pricing'})`,
  );
  lines.push(
    `Current plan: would expire ${plural(t.reclaimableImages, 'image')} (${humanBytes(t.reclaimableBytes)}, ${usd(t.reclaimableMonthlyCost)} a month) and archive ${humanBytes(t.archivableBytes)}` +
      (t.repositoriesWithoutPlan > 0
        ? `; ${plural(t.repositoriesWithoutPlan, 'repository')} without a plan`
        : ''),
  );
  lines.push(
    `Last pull: ${PULL_AGE_BUCKETS.map((b) => `${PULL_AGE_LABELS[b]} ${t.pullAge[b]}`).join(' · ')}`,
  );
  lines.push(`Untagged: ${t.untagged} of ${plural(t.images, 'image')} (${percent(t.untaggedShare)})`);
  lines.push(
    report.verdicts.available === false
      ? `Gate verdicts: not available (${report.verdicts.reason})`
      : `Gate verdicts: ${verdictText(t.verdicts ?? { PASS: 0, FAIL: 0, PENDING: 0, unscanned: t.images })}`,
  );
  lines.push(
    report.audit.available === false
      ? `Reclaimed: not available (${report.audit.reason})`
      : `Reclaimed since ${report.audit.since}: ${plural(report.audit.deletes, 'delete')}, ${humanBytes(report.audit.bytes)}`,
  );
  return lines;
}

const largestCells = (i: LargeImage): string[] => [
  humanBytes(i.bytes),
  i.repository,
  i.tags.join(' ') || '<untagged>',
  `${i.digest.slice(0, 19)}…`,
  i.storage,
  i.pushedAt.slice(0, 10),
  i.lastPulledAt?.slice(0, 10) ?? 'never',
];
const LARGEST_COLUMNS = ['size', 'repository', 'tags', 'digest', 'storage', 'pushed', 'last pulled'];
const PRINCIPAL_COLUMNS = ['principal', 'deletes', 'bytes'];

/** Columns padded to their widest cell (numbers right-aligned), two spaces apart. */
function aligned(header: readonly string[], rows: readonly string[][], numeric: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const NUMERIC_REPOSITORY_COLUMNS = new Set([1, 2, 3, 4, 5, 6, 7, 9]);

/** `--format table`: the report for a terminal. */
export function renderTable(report: Report): string {
  const parts = [
    headline(report),
    '',
    aligned(
      REPOSITORY_COLUMNS,
      [...report.repositories.map(repositoryCells), totalCells(report)],
      NUMERIC_REPOSITORY_COLUMNS,
    ),
    '',
    ...summaryLines(report),
  ];
  if (report.audit.available && report.audit.byPrincipal.length > 0)
    parts.push(
      '',
      'Deletes by principal:',
      aligned(
        PRINCIPAL_COLUMNS,
        report.audit.byPrincipal.map((p) => [p.principal, String(p.deletes), humanBytes(p.bytes)]),
        new Set([1, 2]),
      ),
    );
  if (report.largest.length > 0)
    parts.push(
      '',
      'Largest images:',
      aligned(LARGEST_COLUMNS, report.largest.map(largestCells), new Set([0])),
    );
  if (report.warnings.length > 0) parts.push('', 'Warnings:', ...report.warnings.map((w) => `  ${w}`));
  return `${parts.join('\n')}\n`;
}

/** A Markdown cell: pipes escaped, line breaks folded, and HTML-significant characters as entities. */
export function mdCell(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('|', '\\|')
    .replaceAll(/\r?\n/g, ' ');
}

function mdTable(header: readonly string[], rows: readonly string[][]): string {
  const row = (cells: readonly string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [row(header), `|${header.map(() => ' --- ').join('|')}|`, ...rows.map(row)].join('\n');
}

/** `--format md`: the report as Markdown (a pull request, a wiki page). */
export function renderMarkdown(report: Report): string {
  const parts = [
    `# ${mdCell(headline(report))}`,
    '',
    mdTable(REPOSITORY_COLUMNS, [
      ...report.repositories.map(repositoryCells),
      totalCells(report).map((c) => `**${c}**`),
    ]),
    '',
    ...summaryLines(report).map((l) => `- ${mdCell(l)}`),
  ];
  if (report.audit.available && report.audit.byPrincipal.length > 0)
    parts.push(
      '',
      '## Deletes by principal',
      '',
      mdTable(
        PRINCIPAL_COLUMNS,
        report.audit.byPrincipal.map((p) => [p.principal, String(p.deletes), humanBytes(p.bytes)]),
      ),
    );
  if (report.largest.length > 0)
    parts.push('', '## Largest images', '', mdTable(LARGEST_COLUMNS, report.largest.map(largestCells)));
  if (report.warnings.length > 0)
    parts.push('', '## Warnings', '', ...report.warnings.map((w) => `- ${mdCell(w)}`));
  return `${parts.join('\n')}\n`;
}
