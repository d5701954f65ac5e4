/**
 * The API's description, from the schemas that validate it: routes declare
 * zod schemas (params, querystring, body; see validate.ts for how they
 * validate), and @fastify/swagger collects every route registered after
 * `installOpenApi` into one OpenAPI 3.1 document, served at /openapi.json,
 * with Swagger UI at /docs from the package's own files (no CDN: it works
 * offline). Nothing is listed by hand: a new route file appears in the
 * document as soon as it is registered, its path parameters and tag derived
 * from its URL, and every route documents the one error shape (errors.ts).
 * Only the two UIs (the docs page and the queue dashboard: their pages,
 * assets and private APIs) are left out.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorCodes } from '../../errors.js';
import { DASHBOARD_PATH } from './dashboard.js';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/** The UIs (this docs page, the queue dashboard, the forest page's assets): their pages, assets and private APIs are not part of the API. */
export const UNDOCUMENTED_PREFIXES: readonly string[] = [DOCS_PATH, DASHBOARD_PATH, '/page'];

export const isUndocumented = (url: string): boolean => UNDOCUMENTED_PREFIXES.some((p) => url === p || url.startsWith(`${p}/`));

/** Every failure, whatever the route: `{ error: { code, message, details } }` (ForkpointError.toJSON). */
export const errorReply = z
  .object({
    error: z.object({
      code: z.enum(Object.values(ErrorCodes) as [string, ...string[]]).describe('stable; switch on this, never on the message'),
      message: z.string().describe('one line for a person'),
      details: z
        .record(z.string(), z.unknown())
        .describe('`field` names the refused field, `in` where it was (params, query, body), `retryAfterSeconds` goes with a Retry-After header'),
    }),
  })
  .meta({ id: 'Error', description: 'The one error shape of every route' });

const asJson = (description: string) => ({ description, content: { 'application/json': { schema: errorReply } } });
const documentedErrors = {
  '4XX': asJson('refused, nothing changed: bad input (400, details.field), no token (401), not allowed (403), unknown id (404), conflict (409), unusable file (422)'),
  '5XX': asJson('not done now: busy or stopping (503, with Retry-After), no space (507), a fault (500)'),
};
/** A route that does not describe its answer yet still says it has one. */
const undescribedAnswer = z.unknown().describe('the answer (not described in this document)');

const zodTransform = createJsonSchemaTransform({ skipList: [] });

/** `/api/boxes/:id/clones` → `boxes`; `/readyz` → `service`. */
function tagOf(url: string): string {
  const m = /^\/api\/([^/]+)/.exec(url);
  return m ? m[1]! : 'service';
}

type TransformInput = Parameters<typeof zodTransform>[0];

/** What each route contributes to the document: its own schemas, plus the error shape and a tag. */
function transform(input: TransformInput): ReturnType<typeof zodTransform> {
  if (isUndocumented(input.url)) return { schema: { hide: true }, url: input.url };
  const schema = (input.schema ?? {}) as Record<string, unknown> & { response?: Record<string, unknown>; tags?: string[] };
  const answers = schema.response ?? {};
  const success = Object.keys(answers).some((status) => status.startsWith('2')) ? {} : { 200: undescribedAnswer };
  const withErrors = { ...schema, tags: schema.tags ?? [tagOf(input.url)], response: { ...success, ...documentedErrors, ...answers } };
  return zodTransform({ ...input, schema: withErrors } as TransformInput);
}

export interface OpenApiOptions {
  version: string;
  /** A token is configured: say how to send it. */
  authenticated: boolean;
}

/** Before any route: @fastify/swagger sees only routes registered after it. */
export async function installOpenApi(app: FastifyInstance, o: OpenApiOptions): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'forkpoint',
        version: o.version,
        description:
          'qcow2 base disks for micro-VM sandboxes. Mutations answer 202 with the queued job (poll `links.self`, stream `links.events`), or with `?wait=1` 200 and the result. Every error is `{ error: { code, message, details } }`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'the service token (serve --token / FORKPOINT_TOKEN)' },
          basic: { type: 'http', scheme: 'basic', description: 'any user name, the token as password (for browsers)' },
        },
      },
      // Without a token the loopback service answers its own user and root with no credentials (auth.ts).
      security: o.authenticated ? [{ bearer: [] }, { basic: [] }] : [],
    },
    transform,
    transformObject: createJsonSchemaTransformObject({}),
  });
}

/** After the routes: the document and the docs page (its own assets, a strict same-origin CSP). */
export async function serveOpenApi(app: FastifyInstance): Promise<void> {
  app.get(OPENAPI_PATH, { schema: { tags: ['service'], summary: 'this document' } }, async () => app.swagger());
  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PATH,
    staticCSP: true,
    // The package's default allows fonts and styles from any https: host and upgrades to https
    // (which breaks a plain-HTTP service reached by address): only our own origin here.
    transformStaticCSP: (header) => header.replace(/ https:/g, '').replace(/ validator\.swagger\.io/g, '').replace(/ ?upgrade-insecure-requests;/g, ''),
    uiConfig: { validatorUrl: null, deepLinking: true },
  });
}
