/**
 * dynalite in a process of its own (bench/dynalite-process.mjs) for a benchmark's local cloud: DynamoDB's
 * work then runs on the second core, as the service runs apart from its callers, instead of taking turns with
 * the emulator and the proxy on the benchmark's event loop.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface DynaliteProcess {
  /** dynalite's endpoint (`http://127.0.0.1:<port>`). */
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts dynalite's process and waits for the port it listens on. */
export async function startDynaliteProcess(): Promise<DynaliteProcess> {
  const child = fork(fileURLToPath(new URL('./dynalite-process.mjs', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Plain node: the parent's tsx loader is not needed for a .mjs file.
    execArgv: [],
  });
  const { port } = await reply<{ port: number }>(child, 'port');
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

/** The next message from dynalite's process that carries `key`; rejects if the process ends first. */
export function reply<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (typeof message !== 'object' || message === null || !(key in message)) return;
      child.off('message', onMessage).off('exit', onExit);
      resolve(message as T);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`dynalite's process ended (exit code ${code}) before it answered "${key}"`));
    };
    child.on('message', onMessage).once('exit', onExit);
  });
}
