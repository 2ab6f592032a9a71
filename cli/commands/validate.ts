import { ConfigError, parseConfig } from '../../functions/shared/config/load.js';
import { configWarnings } from '../../functions/shared/config/warnings.js';
import { formatPolicyError, validatePolicyText } from '../../functions/shared/lifecycle/index.js';
import { type AlarmSummary, alarmList, hubAlarmList } from '../../lib/constructs/alarm-list.js';
import { CliError, EXIT, ExitWith, oneLine, readTextFile } from '../util.js';

export interface ValidateOptions {
  readonly policy?: string;
  readonly config?: string;
  readonly format: 'text' | 'json';
}

/**
 * What `ecr-steward validate` does. Its options and help are in cli/register/validate.ts, which loads this module
 * only when the command runs.
 */
export async function validateCommand(opts: ValidateOptions) {
  if (opts.config !== undefined) return validateConfigFile(opts.config, opts.format);
  if (opts.policy !== undefined) return validatePolicyFile(opts.policy, opts.format);
  throw new CliError('validate needs --policy FILE or --config FILE');
}

async function validatePolicyFile(file: string, format: ValidateOptions['format']): Promise<void> {
  // The raw text, not re-serialised JSON: ECR's length limits apply to exactly what is submitted.
  const result = validatePolicyText(await readTextFile(file, '--policy'));
  if (format === 'json') {
    const errors = result.errors.map((e) => ({ path: e.path, rule: e.rule ?? null, message: e.message }));
    process.stdout.write(`${JSON.stringify({ valid: result.valid, errors }, null, 2)}\n`);
  } else if (result.valid) {
    const n = result.policy.rules.length;
    process.stdout.write(`${file}: valid ECR lifecycle policy (${n} rule${n === 1 ? '' : 's'})\n`);
  } else {
    // Errors go to stderr, one per line prefixed with the file, like a compiler's, so editors can jump to them.
    for (const error of result.errors)
      process.stderr.write(`${file}: ${oneLine(formatPolicyError(error))}\n`);
  }
  if (!result.valid) throw new ExitWith(EXIT.findings);
}

async function validateConfigFile(file: string, format: ValidateOptions['format']): Promise<void> {
  const text = await readTextFile(file, '--config');
  let errors: readonly string[] = [];
  let warnings: readonly string[] = [];
  let summary = '';
  let alarms: readonly AlarmSummary[] = [];
  let hubAlarms: readonly AlarmSummary[] = [];
  try {
    const config = parseConfig(text, file);
    warnings = configWarnings(config).map(oneLine);
    const n = config.selections.length;
    summary = `${file}: valid ECR Steward config (${n} selection${n === 1 ? '' : 's'}, mode ${config.mode})`;
    alarms = alarmList(config);
    if (config.organization) hubAlarms = hubAlarmList();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    errors = e.issues.map(oneLine);
  }
  if (format === 'json') {
    process.stdout.write(
      `${JSON.stringify({ valid: errors.length === 0, errors, warnings, alarms, ...(hubAlarms.length > 0 ? { hubAlarms } : {}) }, null, 2)}\n`,
    );
  } else {
    for (const error of errors) process.stderr.write(`${file}: ${error}\n`);
    for (const warning of warnings) process.stderr.write(`warning: ${file}: ${warning}\n`);
    if (errors.length === 0)
      process.stdout.write(
        `${summary}\n${formatAlarms(alarms)}${hubAlarms.length > 0 ? formatAlarms(hubAlarms, 'hub alarms', "the hub's alerts topic") : ''}`,
      );
  }
  if (errors.length > 0) throw new ExitWith(EXIT.findings);
}

/** `alarms: N — …` and one line per alarm: name, what it watches, when it goes off. */
function formatAlarms(alarms: readonly AlarmSummary[], title = 'alarms', topic = 'the alerts topic'): string {
  const lines = alarms.map((a) => `  ${a.name}: ${a.what} — ${a.threshold}\n`);
  return `${title}: ${alarms.length} — each notifies ${topic}\n${lines.join('')}`;
}
