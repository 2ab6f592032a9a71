import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';

/** The config the commands read when neither `--config` nor $ECR_STEWARD_CONFIG names one. */
export const DEFAULT_CONFIG_PATH = 'examples/steward.config.jsonc';

/** Exit codes shared by every command. Scripts and CI branch on them, so they are part of the interface. */
export const EXIT = {
  ok: 0,
  /** The command ran and found a problem (an invalid policy, a failed gate). */
  findings: 1,
  /** The command could not run: bad usage, a missing or malformed input file. */
  badInput: 2,
  /** An unexpected failure: a bug in ecr-steward (sysexits' EX_SOFTWARE), never to be mistaken for findings. */
  internal: 70,
} as const;

/**
 * An error meant for the person at the terminal: `main` prints its message (no stack trace) and exits
 * with `exitCode`. Anything else that escapes a command is a bug and is reported as such.
 */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT.badInput) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/**
 * Thrown by a command that has already printed its findings (an invalid policy, a failed gate) and only
 * needs `main` to exit with `exitCode`. Throwing rather than calling `process.exit` lets stdout drain.
 */
export class ExitWith extends Error {
  readonly exitCode: number;

  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitWith';
    this.exitCode = exitCode;
  }
}

/**
 * Reads a UTF-8 text file, turning the usual file-system failures into one-line `CliError`s.
 * `label` names where the path came from (e.g. `--images`), so the message points at the option to fix.
 */
export async function readTextFile(path: string, label: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory, not a file'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : (e as Error).message;
    throw new CliError(`${label} ${path}: cannot read the file: ${why}`);
  }
}

/**
 * Parses JSON text; a syntax error becomes a one-line `CliError` with the line and column. Node 20's own
 * message has neither for most errors, and quotes the source around the error, newlines included.
 */
export function parseJsonText(text: string, path: string, label: string): unknown {
  // Editors on Windows like to prepend a byte-order mark, which JSON.parse rejects.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw new CliError(`${label} ${path}: the file is empty; expected JSON`);
  try {
    return JSON.parse(body);
  } catch (e) {
    const located = locateJsonError(body);
    const why = located
      ? `${located.what} at line ${lineColumn(body, located.offset)}`
      : oneLine((e as Error).message);
    throw new CliError(`${label} ${path}: not valid JSON: ${why}`);
  }
}

/** Escapes line breaks so a message quoting file content stays on one line. */
export function oneLine(message: string): string {
  return message.replace(/\r?\n/g, '\\n');
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Finds the first syntax error of JSON text: a small recursive-descent scan of the JSON grammar, run only
 * after `JSON.parse` has failed. Returns undefined if it finds none (then the caller falls back to V8's message).
 */
function locateJsonError(text: string): { offset: number; what: string } | undefined {
  let i = 0;
  class Found extends Error {}
  const fail = (): never => {
    throw new Found();
  };
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r'))
      i++;
  };
  const expect = (char: string): void => {
    ws();
    if (text[i] !== char) fail();
    i++;
  };
  const string = (): void => {
    i++; // the opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      i += c === 0x5c ? 2 : 1;
    }
    fail();
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          ws();
          if (text[i] !== '"') fail();
          string();
          expect(':');
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') {
      string();
      return;
    }
    JSON_NUMBER.lastIndex = i;
    if (JSON_NUMBER.test(text)) {
      i = JSON_NUMBER.lastIndex;
      return;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return undefined;
  } catch (e) {
    if (!(e instanceof Found)) throw e;
    const what = i >= text.length ? 'unexpected end of file' : `unexpected ${JSON.stringify(text[i])}`;
    return { offset: Math.min(i, text.length), what };
  }
}

/** Reads and parses a JSON file, with one-line errors for a missing file and for bad JSON. */
export async function readJsonFile(path: string, label: string): Promise<unknown> {
  return parseJsonText(await readTextFile(path, label), path, label);
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `${line}, column ${column}`;
}

/**
 * Parses `value` with a zod schema; on failure throws a `CliError` that says what the file should be
 * (`expected`) and names the first offending fields by their JSON path.
 */
export function parseWithSchema<S extends z.ZodType>(
  schema: S,
  value: unknown,
  path: string,
  label: string,
  expected: string,
): z.output<S> {
  // reportInput: the offending value is needed to tell "missing" from "wrong type".
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw new CliError(`${label} ${path}: not ${expected}: ${describeZodIssues(result.error.issues)}`);
}

/** At most this many issues are spelled out: the first few are enough to fix a file, and the rest are usually the same. */
const MAX_ISSUES = 3;

/** Formats zod issues as `path: message` clauses, e.g. `imageDetails[3].imagePushedAt: is required`. */
export function describeZodIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, MAX_ISSUES).map((issue) => {
    const where = formatJsonPath(issue.path);
    return `${where === '' ? '(top level)' : where}: ${describeIssue(issue)}`;
  });
  const more = issues.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    return `expected ${issue.expected}, got ${kindOf(issue.input)}`;
  }
  if (issue.code === 'unrecognized_keys') {
    return `unknown ${issue.keys.length > 1 ? 'properties' : 'property'} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling)`;
  }
  return issue.message;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** `['imageDetails', 3, 'imageTags', 0]` → `imageDetails[3].imageTags[0]`. */
export function formatJsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

export { humanBytes } from '../functions/shared/runtime/format.js';

/**
 * Parses `--now`: an ISO-8601 date (midnight UTC) or date-time with `Z` or an offset. Free-form dates and
 * times without a zone are refused: `Date.parse` reads them in the local time zone, so the same command
 * would plan differently on another machine.
 */
export function parseIsoTime(value: string, label: string): Date {
  const ms = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)
    ? Date.parse(value)
    : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new CliError(
      `${label} ${JSON.stringify(value)}: not an ISO-8601 time with a time zone (e.g. 2026-11-01T00:00:00Z)`,
    );
  }
  return new Date(ms);
}

/**
 * The ecr-steward package's folder (a checkout, or where npm installed it): the nearest folder above this
 * module holding a package.json. Found by walking up because this module runs from cli/util.ts under tsx and
 * from dist/cli.mjs or dist/chunks/ once bundled.
 */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** The ecr-steward package's version (package.json), for `--version` and the user agent. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

/** A stream `writeJson` writes to: stdout, or a test's collector. */
export interface JsonSink {
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Elements of a top-level array serialised per write: about 40 KB of a plan's decisions. Small on purpose: a
 * string over V8's regular object size (128 KB) is allocated in the large-object space, which only a full
 * collection frees, so slices of 1,000 decisions (430 KB each) piled up to most of the 43 MB again.
 */
const JSON_SLICE = 100;

/**
 * Writes `JSON.stringify(value, null, 2)` and a newline to `out`, byte for byte, without ever holding the whole
 * text: a 100,000-image plan is 43 MB of JSON, and one string of it (plus its UTF-8 copy on the way out) was a
 * third of the plan command's memory. A plain object's keys are written one by one, and an array among its
 * values a slice of elements at a time; everything else goes through `JSON.stringify` itself (a key as a one-key
 * object), so what a value serialises to (`toJSON`, skipped `undefined`s, escapes) is V8's, never a copy of its rules. Each slice is
 * serialised nested two levels deep (`[[…slice]]`), which gives its elements exactly the indentation they have
 * inside the object, with no re-indenting pass. Waits for `drain` when the stream asks it to.
 */
export async function writeJson(value: unknown, out: JsonSink): Promise<void> {
  const write = async (chunk: string): Promise<void> => {
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve));
  };
  const streamable =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function';
  if (!streamable) {
    await write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  let first = true;
  for (const [key, v] of Object.entries(value)) {
    const big =
      Array.isArray(v) && v.length > JSON_SLICE && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
    if (!big) {
      // As a one-key object: JSON.stringify decides whether the key is written at all, and indents the value.
      const text = JSON.stringify({ [key]: v }, null, 2);
      if (text === '{}') continue;
      await write((first ? '{\n' : ',\n') + text.slice('{\n'.length, -'\n}'.length));
      first = false;
      continue;
    }
    await write(`${first ? '{\n' : ',\n'}  ${JSON.stringify(key)}: [\n`);
    first = false;
    for (let i = 0; i < v.length; i += JSON_SLICE) {
      const text = JSON.stringify([v.slice(i, i + JSON_SLICE)], null, 2);
      await write((i === 0 ? '' : ',\n') + text.slice('[\n  [\n'.length, -'\n  ]\n]'.length));
    }
    await write('\n  ]');
  }
  await write(first ? '{}\n' : '\n}\n');
}
