/**
 * Runs the bundled functions like Lambda does: one warm execution environment (a child process) per
 * function, invocations one at a time, the template's environment, a timeout, and a kill that crashes the
 * environment mid-invocation (the next invocation starts cold).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionDef } from './template.js';

const HOST = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lambda-host.cjs');

export interface InvokeResult {
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { name: string; message: string };
  readonly killed?: boolean;
  readonly durationMs: number;
}

interface Env {
  child: ChildProcess;
  ready: Promise<void>;
  pending: Map<number, (r: InvokeResult) => void>;
}

export class FunctionPool {
  private readonly envs = new Map<string, Env>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly logs: WriteStream;
  private nextId = 1;
  readonly invocations = new Map<string, number>();
  /** Structured (JSON) log lines of the functions, newest last, for scenarios and tests to read. */
  readonly logRecords: { at: number; functionId: string; record: Record<string, unknown> }[] = [];
  readonly coldStarts = new Map<string, number>();

  constructor(
    private readonly defs: ReadonlyMap<string, FunctionDef>,
    private readonly baseEnv: Record<string, string>,
    logDir: string,
    /** The local cloud's clock, as an offset from the real one (ms): every invocation runs on it. */
    private readonly clockOffsetMs: () => number = () => 0,
  ) {
    mkdirSync(logDir, { recursive: true });
    this.logs = createWriteStream(path.join(logDir, 'functions.log'), { flags: 'a' });
  }

  /** Invocations asked for and not yet answered (queued behind another of their function's, or running). */
  get active(): number {
    return this.activeCount;
  }
  private activeCount = 0;

  /** Invokes a function; invocations of one function run one after another. */
  invoke(functionId: string, event: unknown): Promise<InvokeResult> {
    const previous = this.chains.get(functionId) ?? Promise.resolve();
    this.activeCount++;
    const run = previous
      .then(() => this.invokeNow(functionId, event))
      .finally(() => {
        this.activeCount--;
      });
    this.chains.set(
      functionId,
      run.catch(() => undefined),
    );
    return run;
  }

  /** Crashes the function's execution environment now (its in-flight invocation fails as killed). */
  kill(functionId: string): void {
    const env = this.envs.get(functionId);
    if (!env) return;
    this.envs.delete(functionId);
    env.child.kill('SIGKILL');
    for (const resolve of env.pending.values())
      resolve({
        ok: false,
        killed: true,
        error: { name: 'Killed', message: 'execution environment killed' },
        durationMs: 0,
      });
    env.pending.clear();
  }

  /** Which functions are running an invocation right now. */
  busy(): string[] {
    return [...this.envs].filter(([, e]) => e.pending.size > 0).map(([id]) => id);
  }

  async close(): Promise<void> {
    for (const id of [...this.envs.keys()]) this.kill(id);
    await new Promise<void>((resolve) => this.logs.end(resolve));
  }

  private environment(functionId: string): Env {
    const existing = this.envs.get(functionId);
    if (existing) return existing;
    const def = this.defs.get(functionId);
    if (!def) throw new Error(`no function ${functionId} in the template`);
    this.coldStarts.set(functionId, (this.coldStarts.get(functionId) ?? 0) + 1);
    const child = fork(HOST, [], {
      env: {
        ...this.baseEnv,
        ...def.environment,
        AWS_LAMBDA_FUNCTION_NAME: functionId,
        LOCAL_LAMBDA_BUNDLE: path.join(def.bundleDir, def.handlerFile),
        LOCAL_LAMBDA_EXPORT: def.handlerExport,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: ['--enable-source-maps'],
    });
    const prefix = (line: string) => `${new Date().toISOString()} ${functionId} ${line}`;
    for (const stream of [child.stdout, child.stderr]) {
      // A pipe delivers chunks, not lines: a line cut between two chunks is held until its end arrives.
      // (Decoded as UTF-8 by the stream, so a character cut between two chunks is not garbled either.)
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line) continue;
          this.logs.write(`${prefix(line)}\n`);
          if (line.startsWith('{')) {
            try {
              this.logRecords.push({
                at: Date.now(),
                functionId,
                record: JSON.parse(line) as Record<string, unknown>,
              });
              if (this.logRecords.length > 20_000) this.logRecords.splice(0, 5_000);
            } catch {
              // a log line that only looks like JSON: kept in the file only
            }
          }
        }
      });
    }
    const pending = new Map<number, (r: InvokeResult) => void>();
    const ready = new Promise<void>((resolve, reject) => {
      child.on(
        'message',
        (msg: {
          type: string;
          id?: number;
          ok?: boolean;
          result?: unknown;
          error?: { name: string; message: string };
        }) => {
          if (msg.type === 'ready') resolve();
          else if (msg.type === 'init-error')
            reject(new Error(`${functionId} failed to start: ${msg.error?.message}`));
          else if (msg.type === 'result' && msg.id !== undefined) {
            const done = pending.get(msg.id);
            pending.delete(msg.id);
            done?.({ ok: msg.ok === true, result: msg.result, error: msg.error, durationMs: 0 });
          }
        },
      );
      child.on('exit', () => {
        if (this.envs.get(functionId)?.child === child) this.envs.delete(functionId);
        for (const r of pending.values())
          r({
            ok: false,
            killed: true,
            error: { name: 'Exited', message: 'execution environment exited' },
            durationMs: 0,
          });
        pending.clear();
        reject(new Error(`${functionId} exited during start`));
      });
    });
    ready.catch(() => undefined);
    const env = { child, ready, pending };
    this.envs.set(functionId, env);
    return env;
  }

  private async invokeNow(functionId: string, event: unknown): Promise<InvokeResult> {
    const def = this.defs.get(functionId)!;
    const started = Date.now();
    const env = this.environment(functionId);
    try {
      await env.ready;
    } catch (e) {
      return {
        ok: false,
        error: { name: 'InitError', message: (e as Error).message },
        durationMs: Date.now() - started,
      };
    }
    this.invocations.set(functionId, (this.invocations.get(functionId) ?? 0) + 1);
    const id = this.nextId++;
    const timeoutMs = def.timeoutSeconds * 1000;
    const result = await new Promise<InvokeResult>((resolve) => {
      const timer = setTimeout(() => {
        this.kill(functionId);
        resolve({
          ok: false,
          error: { name: 'Timeout', message: `Task timed out after ${def.timeoutSeconds} seconds` },
          durationMs: timeoutMs,
        });
      }, timeoutMs);
      env.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      env.child.send({ type: 'invoke', id, event, timeoutMs, clockOffsetMs: this.clockOffsetMs() });
    });
    return { ...result, durationMs: Date.now() - started };
  }
}
