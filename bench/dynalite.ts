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
  const port = await new Promise<number>((resolve, reject) => {
    const onMessage = (message: unknown) => {
      const port = (message as { port?: unknown } | null)?.port;
      if (typeof port !== 'number') return;
      child.off('message', onMessage).off('exit', onExit);
      resolve(port);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`dynalite's process ended before it listened (exit code ${code})`));
    };
    child.on('message', onMessage).once('exit', onExit);
  });
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
