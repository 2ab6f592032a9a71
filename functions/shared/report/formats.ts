// Its own module, with nothing else: the CLI's `report --format` registration lists these without loading the
// report's code.

/** The formats `ecr-steward report --format` offers. */
export const REPORT_FORMATS = ['table', 'json', 'md', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
