/**
 * Checks HTTP answers against the OpenAPI document the server serves: the
 * operation by method and path template, the response by its exact status,
 * the JSON body against that response's schema (ajv, JSON Schema 2020-12 as
 * OpenAPI 3.1 uses) and the headers it marks required. Thin glue on purpose:
 * the OpenAPI 3.1 response validators on npm come tied to a server framework
 * or an HTTP client, not to a plain fetch answer.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { buildOpenApiDocument, type OpenApiDocument } from '../../shared/openapi';

export interface HttpExchange {
  method: string;
  /** The request's pathname, without the query string. */
  path: string;
  status: number;
  headers: Headers;
  body: unknown;
}

/** One sentence per broken promise of the contract; empty when the answer keeps it. */
export type ContractCheck = (exchange: HttpExchange) => string[];

interface ResponseObject {
  headers?: Record<string, { required?: boolean }>;
}

interface OperationObject {
  operationId: string;
  responses: Record<string, ResponseObject>;
}

const DOCUMENT_ID = 'openapi.json';

const jsonPointerPart = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** `{name}` in a template matches any one path segment. */
const matchesTemplate = (template: string, path: string) => {
  const want = template.split('/');
  const got = path.split('/');
  return want.length === got.length && want.every((part, i) => /^\{.+\}$/.test(part) || part === got[i]);
};

export function contractCheckFor(document: OpenApiDocument): ContractCheck {
  // Strict, so a sloppy schema in the document fails here; the document's own
  // top-level keys are declared as keywords so the whole of it can be added as one schema.
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  ajv.addVocabulary(Object.keys(document));
  ajv.addSchema(document, DOCUMENT_ID);

  // Compiled on first use: `$ref` into the document keeps its components resolvable.
  const validators = new Map<string, ValidateFunction>();
  const validatorAt = (pointer: string) => {
    let validate = validators.get(pointer);
    if (!validate) validators.set(pointer, (validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` })));
    return validate;
  };
  const bodyProblems = (pointer: string, body: unknown, exchange: string) => {
    const validate = validatorAt(pointer);
    return validate(body) ? [] : [`${exchange}: the body breaks ${pointer}: ${ajv.errorsText(validate.errors, { dataVar: 'body' })}`];
  };

  const paths = document.paths as Record<string, Record<string, OperationObject>>;
  return ({ method, path, status, headers, body }) => {
    const exchange = `${method} ${path} → ${status}`;
    const template = Object.keys(paths).find((t) => matchesTemplate(t, path));
    const operation = template === undefined ? undefined : paths[template]?.[method.toLowerCase()];
    // No such operation (the server's 404 route_not_found): only the error shape is promised.
    if (template === undefined || !operation) return bodyProblems('/components/schemas/Error', body, exchange);

    const response = operation.responses[status];
    if (!response) {
      const documented = Object.keys(operation.responses).join(', ');
      return [`${exchange}: status ${status} is not documented for ${operation.operationId} (documented: ${documented})`];
    }
    const missingHeaders = Object.entries(response.headers ?? {})
      .filter(([name, header]) => header.required && !headers.has(name))
      .map(([name]) => `${exchange}: the documented header ${name} is missing`);
    const pointer = ['', 'paths', template, method.toLowerCase(), 'responses', String(status), 'content', 'application/json', 'schema']
      .map(jsonPointerPart)
      .join('/');
    return [...missingHeaders, ...bodyProblems(pointer, body, exchange)];
  };
}

let builtDocumentCheck: ContractCheck | undefined;

/**
 * The check against the document as built, for answers that never cross a
 * socket (handlers invoked in process); test/http/openapi.test.ts shows the
 * served document is this same one.
 */
export const checkAgainstBuiltDocument: ContractCheck = (exchange) =>
  (builtDocumentCheck ??= contractCheckFor(buildOpenApiDocument()))(exchange);
