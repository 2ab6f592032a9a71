/**
 * The registry report (issue 14 §1), pure: the model (`summarizeRepository`, `summarizeDeletions`,
 * `buildReport`), the price table, and the renderers. The reads live in functions/shared/adapters/report-reader.ts.
 */

import type { ReportFormat } from './formats.js';
import { renderHtml } from './html.js';
import type { Report } from './model.js';
import { renderMarkdown, renderTable } from './text.js';

export { REPORT_FORMATS, type ReportFormat } from './formats.js';
export * from './html.js';
export * from './model.js';
export * from './prices.js';
export * from './text.js';

/** The report in one format. */
export function renderReport(report: Report, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'md':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
    default:
      return renderTable(report);
  }
}
