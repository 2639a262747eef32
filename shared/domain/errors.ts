/**
 * Domain errors. They know nothing of HTTP: shared/http/errors.ts maps each
 * one to a status and an error code in one place.
 */
export class DomainError extends Error {}

// Names are spelled out, not taken from the class: bundles are minified, and
// Step Functions catches errors by name.
export class InvalidRequest extends DomainError {
  override name = 'InvalidRequest';
}

export class SessionNotFound extends DomainError {
  override name = 'SessionNotFound';
  constructor(readonly sessionId: string) {
    super(`No session with session_id "${sessionId}".`);
  }
}

export class BatchNotFound extends DomainError {
  override name = 'BatchNotFound';
  constructor(readonly batchId: string) {
    super(`No batch with batch_id "${batchId}".`);
  }
}

export class NoCollectingBatch extends DomainError {
  override name = 'NoCollectingBatch';
  constructor() {
    super('No batch is collecting: nothing was scheduled since the last release.');
  }
}

/**
 * The store could not do its part in time: throttled past the SDK's retries,
 * unreachable, too much contention, or a request past its deadline. Safe to
 * retry; a client sees 503 with Retry-After.
 */
export class ServiceUnavailable extends DomainError {
  override name = 'ServiceUnavailable';
  constructor(
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}
