import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** A response whose body is already JSON text. */
export const jsonTextResponse = (statusCode: number, body: string): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body,
});

export const jsonResponse = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 =>
  jsonTextResponse(statusCode, JSON.stringify(body));
