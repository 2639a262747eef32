/**
 * The body rules of every handler that takes a JSON body, as one middy
 * middleware: no query string, JSON by content type, UTF-8, not compressed,
 * then the JSON text itself (shared/json-text.ts). It replaces
 * @middy/http-json-body-parser, whose content-type check is case- and
 * space-sensitive and ignores charset and content-encoding; the media type is
 * parsed by the `content-type` package (jshttp), the rest is this glue.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parse as parseMediaType } from 'content-type';
import { InvalidRequest } from '../domain/errors';
import { parseJsonText } from '../json-text';
import { UnsupportedMediaType } from './errors';

/** application/json, or a structured +json type (RFC 6839) such as application/vnd.api+json. */
const JSON_MEDIA_TYPE = /^application\/([^/]+\+)?json$/;

/** A value from the request in a message: quoted, and short enough to read. */
const quoted = (value: string) => JSON.stringify(value.slice(0, 60));

export function jsonBody(): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    before: async (request) => {
      const event = request.event;
      // One rule with GET's unknown parameters: an endpoint that takes a body takes no query parameter.
      if (event.rawQueryString) {
        const [name] = Object.keys(event.queryStringParameters ?? {});
        throw new InvalidRequest(
          name === undefined
            ? 'This endpoint takes no query string: send its input in the JSON body.'
            : `Unknown query parameter ${quoted(name)}: this endpoint takes its input in the JSON body only.`,
        );
      }
      // Header names arrive lower-cased (API Gateway payload v2, and the local adapter).
      const { type, parameters } = parseMediaType(event.headers['content-type'] ?? '');
      if (!JSON_MEDIA_TYPE.test(type)) throw new UnsupportedMediaType('The body must be JSON (content-type: application/json).');
      const charset = parameters.charset;
      if (charset !== undefined && charset.toLowerCase() !== 'utf-8') {
        throw new UnsupportedMediaType(`The body must be JSON in UTF-8; charset ${quoted(charset)} is not supported.`);
      }
      const encoding = event.headers['content-encoding']?.trim().toLowerCase();
      if (encoding && encoding !== 'identity') {
        throw new UnsupportedMediaType(`The body must not be encoded; content-encoding ${quoted(encoding)} is not supported.`);
      }

      if (event.body === undefined) throw new InvalidRequest('The body is missing: send a JSON object.');
      const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString() : event.body;
      const parsed = parseJsonText(text);
      // Not JSON.parse's own message: it quotes the input.
      if ('syntaxError' in parsed) throw new InvalidRequest('The body is not valid JSON.');
      if ('repeatedKey' in parsed) {
        throw new InvalidRequest(`The body names the key ${quoted(parsed.repeatedKey)} twice; send each key once.`);
      }
      (event as { body?: unknown }).body = parsed.value;
    },
  };
}
