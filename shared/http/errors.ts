/**
 * The one mapping from errors to HTTP answers. A client always gets
 * {"error": {"code", "message"}}; never a raw error or a stack trace.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  BatchNotFound,
  InvalidRequest,
  NoCollectingBatch,
  ServiceUnavailable,
  SessionNotFound,
} from '../domain/errors';
import { BatchNotReleased } from '../export/errors';
import { jsonResponse } from './response';

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1;

/** A body that is not JSON by content type, not UTF-8, or encoded: 415. */
export class UnsupportedMediaType extends Error {
  override name = 'UnsupportedMediaType';
}

interface HttpAnswer {
  status: number;
  code: string;
  message: string;
}

const DOMAIN_ANSWERS: Array<[new (...args: never[]) => Error, number, string]> = [
  [InvalidRequest, 400, 'invalid_request'],
  [SessionNotFound, 404, 'session_not_found'],
  [BatchNotFound, 404, 'batch_not_found'],
  [NoCollectingBatch, 404, 'no_collecting_batch'],
  [BatchNotReleased, 409, 'batch_not_released'],
  [ServiceUnavailable, 503, 'service_unavailable'],
  [UnsupportedMediaType, 415, 'unsupported_media_type'],
];

export function answerFor(error: unknown): HttpAnswer {
  for (const [type, status, code] of DOMAIN_ANSWERS) {
    if (error instanceof type) return { status, code, message: error.message };
  }
  return { status: 500, code: 'internal_error', message: 'Something went wrong on our side.' };
}

export function errorResponse(answer: HttpAnswer): APIGatewayProxyStructuredResultV2 {
  const response = jsonResponse(answer.status, { error: { code: answer.code, message: answer.message } });
  if (answer.status === 503) response.headers = { ...response.headers, 'retry-after': String(RETRY_AFTER_SECONDS) };
  return response;
}
