/**
 * What an import may change. A released batch is announced to consumers and
 * must read the same forever, so a session in one is never changed by an
 * import, neither its fields nor its events: the line is skipped. A payload
 * search never goes into a batch, so a line that would mark a scheduled
 * session as one is rejected. Anything else (new sessions, new events and
 * field updates for a session of the collecting batch) is written.
 */
import type { Session } from '../schemas';
import { batchSeqOf, type Assignment, type CollectingPointer } from './model';

/** Why a line that would mark a scheduled session as a payload search is refused. */
export const PAYLOAD_SEARCH_RULE = 'a scheduled session cannot become a payload search';

export type ImportVerdict = { write: true } | { skip: string } | { reject: string };

/** True once the batch is released: every batch below the collecting pointer's, and the pointer's own once it carries a release. */
export function isReleased(batchId: string, pointer: CollectingPointer | undefined): boolean {
  const seq = batchSeqOf(batchId);
  if (seq === undefined || !pointer) return false;
  return seq < pointer.batchSeq || (seq === pointer.batchSeq && pointer.release !== undefined);
}

/** Why nothing may change a session at this assignment (it is in a released batch), or undefined when it may change. */
export function releasedReason(assignment: Assignment | undefined, pointer: CollectingPointer | undefined): string | undefined {
  return assignment && isReleased(assignment.batchId, pointer) ? `in released batch ${assignment.batchId}` : undefined;
}

/** The verdict on a line, given where its session sits now (if scheduled) and the collecting pointer. */
export function importVerdict(
  session: Session,
  assignment: Assignment | undefined,
  pointer: CollectingPointer | undefined,
): ImportVerdict {
  if (!assignment) return { write: true };
  const released = releasedReason(assignment, pointer);
  if (released) return { skip: released };
  if (session.is_payload_search) {
    return { reject: `session_id "${session.session_id}" is scheduled in batch ${assignment.batchId}: ${PAYLOAD_SEARCH_RULE}` };
  }
  return { write: true };
}
