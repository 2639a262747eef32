/**
 * `npm run openapi [-- --server-url URL]`: prints the OpenAPI 3.1 document of
 * the API (the one `npm start` serves at /openapi.json), e.g. for a deployed
 * API's URL, to generate a client or import it into an API tool.
 */
import { parseArgs } from 'node:util';
import { buildOpenApiDocument } from '../../shared/openapi';

const { values } = parseArgs({ options: { 'server-url': { type: 'string' } } });
process.stdout.write(`${JSON.stringify(buildOpenApiDocument({ serverUrl: values['server-url'] }), null, 2)}\n`);
