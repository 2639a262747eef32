/**
 * Lets a test stand between the handlers and DynamoDB: one SDK middleware on
 * a DocumentClient that hands every call to the test's interceptor, which may
 * let it through, hold it, run other requests first, or crash instead.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoCall {
  /** The low-level command name, e.g. "UpdateItemCommand". */
  command: string;
  /** The input as the data layer wrote it (before marshalling). */
  input: Record<string, any>;
}

export type Interceptor = (call: DynamoCall, send: () => Promise<unknown>) => Promise<unknown>;

/** What a crashed handler throws: not a DynamoDB error, so nothing in the code treats it as a normal outcome. */
export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
}

export interface CallInterceptor {
  /** Sets (or with undefined, clears) the interceptor for the calls that follow. */
  use(interceptor: Interceptor | undefined): void;
  /**
   * The k-th call from now (1-based) crashes: `before` it is sent (it never
   * happens), or `after` it is answered (it happened, the handler died before
   * learning so). Fires once.
   */
  crashAt(k: number, when: 'before' | 'after'): { fired(): boolean };
}

export function interceptCalls(client: DynamoDBDocumentClient, name = 'testCallInterceptor'): CallInterceptor {
  let current: Interceptor | undefined;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const interceptor = current;
      if (!interceptor) return next(args);
      const call = { command: context.commandName ?? 'unknown', input: args.input as Record<string, any> };
      return (await interceptor(call, () => next(args))) as Awaited<ReturnType<typeof next>>;
    },
    { step: 'initialize', name },
  );
  return {
    use(interceptor) {
      current = interceptor;
    },
    crashAt(k, when) {
      let seen = 0;
      let fired = false;
      current = async (call, send) => {
        seen += 1;
        if (fired || seen !== k) return send();
        fired = true;
        // Even a call that failed (a lost condition, say) has happened: the handler dies all the same.
        if (when === 'after') await send().catch(() => undefined);
        throw new SimulatedCrash(`crashed ${when} call ${k} (${call.command})`);
      };
      return { fired: () => fired };
    },
  };
}
