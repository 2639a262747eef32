/**
 * Runs a benchmark step in a child process and waits for its one answer over
 * IPC. Children inherit the tsx loader (fork passes process.execArgv), get an
 * environment of their own (the handlers read TABLE_NAME at load) and have
 * their stdout discarded: the handlers log and emit metrics there as they do
 * in Lambda, so that cost is measured without flooding the bench's table.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface Worker<T> {
  child: ChildProcess;
  /** The first message the child sends. */
  answer: Promise<T>;
}

export function startWorker<T>(file: string, env: Record<string, string>, args: string[] = []): Worker<T> {
  const child = fork(path.join(__dirname, file), args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const answer = new Promise<T>((resolve, reject) => {
    child.once('message', (message) => resolve(message as T));
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`${file} exited (${code ?? signal}) before answering`)));
  });
  return { child, answer };
}

/** Runs a worker to completion: its answer, once it has exited. */
export async function runWorker<T>(file: string, env: Record<string, string>, args: string[] = []): Promise<T> {
  const { child, answer } = startWorker<T>(file, env, args);
  const result = await answer;
  if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  return result;
}

/** Sends the result of a worker's step to its parent and ends the process once it is delivered. */
export function answerParent(run: () => Promise<unknown>): void {
  run().then(
    (result) => process.send!(result, () => process.exit(0)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
