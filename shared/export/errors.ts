import { DomainError } from '../domain/errors';

/** Only a released batch is exported: a collecting one can still gain sessions. */
export class BatchNotReleased extends DomainError {
  override name = 'BatchNotReleased';
  constructor(readonly batchId: string) {
    super(`Batch "${batchId}" is still collecting: only a released batch is exported.`);
  }
}
