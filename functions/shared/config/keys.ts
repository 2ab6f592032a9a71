import { type JSONPath, visit } from 'jsonc-parser';

/**
 * Keys that reach an object's prototype when a parser assigns them (`obj["__proto__"] = …`), so
 * `{"__proto__": {"mode": "enforce"}}` would read as an enforcing config without any own `mode` key.
 * `constructor` and `prototype` are refused with it: no config field is named so, and a merge or copy
 * of the document elsewhere must never meet them.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A JSON path as the config's messages write it: `selections[0].steward`, or `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  const text = path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  return text || '(root)';
}

function forbidden(where: string, key: string, line?: number): string {
  const at = line === undefined ? '' : ` (line ${line})`;
  return `${where}: key "${key}"${at} is not allowed — remove it (it can change what the whole object means)`;
}

/**
 * The key problems of config text: every forbidden key and every key given twice in one object, each
 * with its JSON path and line. JSON parsers keep the last of duplicate keys without a word, so a
 * protection written twice would silently lose its first value.
 */
export function keyProblems(text: string): string[] {
  const problems: string[] = [];
  /** The keys seen so far in each open object, innermost last (undefined for arrays). */
  const open: (Map<string, number> | undefined)[] = [];
  visit(
    text,
    {
      onObjectBegin: () => {
        open.push(new Map());
      },
      onObjectEnd: () => {
        open.pop();
      },
      onArrayBegin: () => {
        open.push(undefined);
      },
      onArrayEnd: () => {
        open.pop();
      },
      onObjectProperty: (key: string, _offset, _length, startLine, _startCharacter, pathSupplier) => {
        const where = formatPath(pathSupplier() as JSONPath);
        const line = startLine + 1;
        if (FORBIDDEN_KEYS.has(key)) problems.push(forbidden(where, key, line));
        const seen = open[open.length - 1];
        if (!seen) return;
        const first = seen.get(key);
        if (first === undefined) seen.set(key, line);
        else {
          const lines = first === line ? `line ${line}` : `lines ${first} and ${line}`;
          problems.push(`${where}: duplicate key "${key}" (${lines}) — keep one`);
        }
      },
    },
    { allowTrailingComma: true, disallowComments: false },
  );
  return problems;
}

/**
 * The forbidden keys of an already-parsed document, with their paths. `JSON.parse` makes `__proto__` an
 * own key, which this finds; a parser that assigned it instead left an object whose prototype is not
 * `Object.prototype`, which this reports too.
 */
export function prototypeProblems(doc: unknown, path: readonly PropertyKey[] = []): string[] {
  if (typeof doc !== 'object' || doc === null) return [];
  if (Array.isArray(doc)) return doc.flatMap((item, i) => prototypeProblems(item, [...path, i]));
  const problems: string[] = [];
  const proto = Object.getPrototypeOf(doc);
  if (proto !== Object.prototype && proto !== null) {
    problems.push(
      `${formatPath(path)}: not a plain JSON object (its prototype was replaced, e.g. by a "__proto__" key) — pass plain JSON`,
    );
  }
  for (const key of Object.keys(doc)) {
    if (FORBIDDEN_KEYS.has(key)) problems.push(forbidden(formatPath(path), key));
    else problems.push(...prototypeProblems((doc as Record<string, unknown>)[key], [...path, key]));
  }
  return problems;
}
