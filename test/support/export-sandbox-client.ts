/** Starts and drives an export sandbox (export-sandbox.ts): a warm container that answers one invocation at a time. */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { SandboxAnswer, SandboxConfig } from './export-sandbox';

export interface ExportSandbox {
  child: ChildProcess;
  /** Invokes the export with `remainingMs` on the clock; rejects with the error the function threw, or with Lambda.Unknown if it died. */
  invoke(payload: unknown, remainingMs: number): Promise<unknown>;
  /** Peak and current resident memory of the container, MiB. */
  stats(): Promise<{ peakRssMb: number; rssMb: number }>;
  /** SIGKILL, as Lambda stops a function: no cleanup runs. */
  kill(): void;
  stop(): Promise<void>;
}

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

export async function startExportSandbox(config: SandboxConfig, env: Record<string, string> = {}): Promise<ExportSandbox> {
  const child = fork(path.join(__dirname, 'export-sandbox.ts'), [JSON.stringify(config)], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code, signal) => reject(new Error(`The export sandbox exited (${code ?? signal}) before it was ready`)));
  });

  const ask = (message: unknown) =>
    new Promise<SandboxAnswer>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(named('Lambda.Unknown', 'The function is not running.'));
      const onExit = () => reject(named('Lambda.Unknown', 'The function died before it answered (killed).'));
      child.once('exit', onExit);
      child.once('message', (answer: SandboxAnswer) => {
        child.off('exit', onExit);
        resolve(answer);
      });
      child.send(message as object);
    });

  return {
    child,
    async invoke(payload, remainingMs) {
      const answer = await ask({ invoke: payload, remainingMs });
      if ('error' in answer) throw named(answer.error.name, answer.error.message);
      if (!('result' in answer)) throw new Error('Unexpected answer from the sandbox');
      return answer.result;
    },
    async stats() {
      const answer = await ask({ stats: true });
      if (!('stats' in answer)) throw new Error('Unexpected answer from the sandbox');
      return answer.stats;
    },
    kill: () => void child.kill('SIGKILL'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.disconnect();
      await exited;
    },
  };
}
