/**
 * `buildApp`: Attune's HTTP API as a Fastify instance, ready for `inject()`
 * in tests or `listen()` in the api role (src/api/server.ts). Routes live
 * under /api/v1, one module per resource in routes/; /healthz, /readyz and
 * /metrics sit at the root; the OpenAPI document, generated from the route
 * schemas, is at /api/v1/openapi.json and browsable at /docs.
 */
import { randomUUID } from 'node:crypto';
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { pino } from 'pino';
import Fastify, {
  LogController,
  type FastifyServerOptions,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
  type RouteOptions,
} from 'fastify';
import type { AttuneConfig } from '../config.js';
import { SecretCipher } from '../crypto/secrets.js';
import type { Executor } from '../db/pool.js';
import { RateLimitedError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { metrics as processMetrics, type AttuneMetrics } from '../metrics.js';
import { hashToken } from '../repositories/api-tokens.js';
import { bearerToken, installAuthentication } from './auth/authenticate.js';
import { installErrorHandling } from './errors.js';
import { healthRoutes } from './health.js';
import { metricsRoutes } from './metrics.js';
import { installResponseHeaders } from './security-headers.js';
import { ENTITY_SCHEMAS } from './entities.js';
import { ErrorBody } from './schemas.js';
import { actionRoutes } from './routes/actions.js';
import { authRoutes } from './routes/auth.js';
import { enforcementRoutes } from './routes/enforcements.js';
import { eventRoutes } from './routes/events.js';
import { executionRoutes } from './routes/executions.js';
import { identityRoutes } from './routes/identities.js';
import { inquiryRoutes } from './routes/inquiries.js';
import { keyRoutes } from './routes/keys.js';
import { packRoutes } from './routes/packs.js';
import { ruleRoutes } from './routes/rules.js';
import { tokenRoutes } from './routes/tokens.js';
import { triggerRoutes } from './routes/triggers.js';
import { workerRoutes } from './routes/workers.js';
import { statsRoutes } from './routes/stats.js';
import { webRoutes } from './web.js';
import { streamRoutes } from './routes/stream.js';
import { webhookRoutes } from './routes/webhooks.js';

/** The prefix of every resource route. */
export const API_PREFIX = '/api/v1';

/** What the routes share. */
export interface ApiContext {
  db: Executor;
  config: AttuneConfig;
  /** Encrypts and decrypts secret keys and pack configuration; undefined without ATTUNE__SECURITY__ENCRYPTION_KEY. */
  cipher: SecretCipher | undefined;
  metrics: AttuneMetrics;
}

/** The Fastify instance routes are written against (TypeBox schemas give the handlers their types). */
export type ApiInstance = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** A module of routes for one resource. */
export type RouteModule = (app: ApiInstance, ctx: ApiContext) => void | Promise<void>;

export interface BuildAppOptions {
  /** A pool (or any executor) on the Attune database. */
  db: Executor;
  config: AttuneConfig;
  /** Default: a logger at the configured level with Attune's redaction. */
  logger?: Logger;
  /** Default: the process's metrics (src/metrics.ts). */
  metrics?: AttuneMetrics;
  /** More resource routes, registered under /api/v1 with the same conventions (the engine's routes). */
  routes?: RouteModule[];
  /** Where /readyz reads the migration files; default the package's own. */
  migrationsDir?: string;
  /** The built web UI served at /; default the package's dist/web (src/api/web.ts). */
  webDir?: string;
}

const RESOURCE_ROUTES: RouteModule[] = [
  authRoutes,
  packRoutes,
  actionRoutes,
  triggerRoutes,
  ruleRoutes,
  eventRoutes,
  enforcementRoutes,
  executionRoutes,
  inquiryRoutes,
  keyRoutes,
  identityRoutes,
  tokenRoutes,
  workerRoutes,
  statsRoutes,
  streamRoutes,
  webhookRoutes,
];

/** A request id as a client may send it in X-Request-Id: short, printable, no spaces. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Query parameters whose values never reach a log line. */
const SECRET_QUERY_PARAMS = /([?&](?:token|password|secret|key|api_key|access_token|ticket)=)[^&]*/gi;

/** The request URL for logs, secret-looking query values replaced. */
export function redactedUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMS, '$1[redacted]');
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The rate-limit key: the bearer token (hashed: the limiter's store never holds a token), else the client address. */
function rateLimitKey(request: FastifyRequest): string {
  const token = bearerToken(request);
  return token === undefined ? `ip:${request.ip}` : `token:${hashToken(token).toString('base64url')}`;
}

type ChildLoggerFactory = NonNullable<FastifyServerOptions['childLoggerFactory']>;
const CHINDINGS = pino.symbols.chindingsSym;
/** The field of every log line that names the request. */
const REQUEST_ID_LABEL = 'request_id';
const NO_BINDINGS = Object.freeze({});

function hasOwnKeys(object: object): boolean {
  for (const key in object) if (Object.hasOwn(object, key)) return true;
  return false;
}

/**
 * A request's logger: the app's with the request id bound. pino's
 * `child(bindings, {})` (Fastify's default) rebuilds the formatters and runs
 * each bound value through the redaction (a wildcard path makes it inspect
 * every value): a few µs per request for a request id, which is not a
 * redacted path and holds none. Here the id is appended to the serialized
 * bindings of a plain child, the same text pino writes; anything else (route
 * logger options, a logger that is not pino) goes through pino.
 */
const requestLogger: ChildLoggerFactory = (logger, bindings, opts) => {
  const id = (bindings as Record<string, unknown>)[REQUEST_ID_LABEL];
  if (typeof id !== 'string' || hasOwnKeys(opts)) return logger.child(bindings, opts);
  const child = logger.child(NO_BINDINGS) as unknown as Record<symbol, unknown>;
  const chindings = child[CHINDINGS];
  if (typeof chindings !== 'string') return logger.child(bindings, opts);
  child[CHINDINGS] = `${chindings},"${REQUEST_ID_LABEL}":${JSON.stringify(id)}`;
  return child as unknown as ReturnType<ChildLoggerFactory>;
};

/** Builds the API. Nothing listens until the caller does (`server.ts`); `app.close()` releases it. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { db, config } = options;
  const logger = options.logger ?? createLogger(config.log.level);
  const ctx: ApiContext = { db, config, cipher: SecretCipher.fromConfig(config.security), metrics: options.metrics ?? processMetrics() };

  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.api.bodyLimitBytes,
    trustProxy: config.api.trustProxy,
    requestIdHeader: false,
    // Through the log controller: the top-level options are deprecated (FSTDEP023/024 at every start).
    logController: new LogController({ requestIdLogLabel: REQUEST_ID_LABEL, disableRequestLogging: true }),
    childLoggerFactory: requestLogger,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The plain instance, for helpers that need no schema types.
  const base = app as unknown as FastifyInstance;
  installErrorHandling(base);
  app.addSchema(ErrorBody);
  for (const schema of ENTITY_SCHEMAS) app.addSchema(schema);

  // The first onRequest hook: security headers and the request id on every response, the authentication's 401 and 403 included.
  installResponseHeaders(base);
  // Before any plugin's onRoute hook: declares public plugin routes and the rate limits of write routes.
  installAuthentication(base, { db, enabled: config.security.enableAuth });
  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.config?.rateLimit !== undefined || config.api.rateLimitMax === 0) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.some((method) => WRITE_METHODS.has(method))) return;
    route.config = {
      ...route.config,
      rateLimit: { max: config.api.rateLimitMax, timeWindow: config.api.rateLimitWindowSeconds * 1000, keyGenerator: rateLimitKey },
    };
  });

  // One log line per request, at info, without headers or bodies (the request id is in every line).
  // Callback-style hook: an async hook costs every request a promise and a microtask turn for nothing awaited.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    ctx.metrics.httpRequestDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, seconds);
    // The line (and its URL redaction) only built when info is logged.
    const log = request.log as Partial<Logger>;
    if (typeof log.isLevelEnabled !== 'function' || log.isLevelEnabled('info')) {
      request.log.info(
        { method: request.method, url: redactedUrl(request.url), route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        'request',
      );
    }
    done();
  });

  if (config.api.corsOrigins.length > 0) {
    const any = config.api.corsOrigins.includes('*');
    await app.register(fastifyCors, {
      origin: any ? true : config.api.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'Last-Event-ID'],
      exposedHeaders: ['X-Request-Id', 'Retry-After'],
      maxAge: 600,
    });
  }
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => new RateLimitedError(`too many requests: at most ${context.max} per ${context.after}; try again later`),
  });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Attune API',
        version: '1',
        description: 'Event-driven automation on PostgreSQL. Conventions, authentication and errors: docs/api.md.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token or a login token' } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => {
      const role = route.config?.role;
      const transformed = { ...(schema ?? {}) } as Record<string, unknown>;
      if (role !== undefined && role !== 'public') {
        transformed.security = [{ bearer: [] }];
        transformed.description = `${typeof transformed.description === 'string' ? `${transformed.description}\n\n` : ''}Needs the ${role} role.`;
      }
      return { schema: transformed, url };
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' }, staticCSP: false });

  await app.register(async (root) => {
    const typed = root as unknown as ApiInstance;
    await healthRoutes(typed, ctx, options.migrationsDir === undefined ? {} : { migrationsDir: options.migrationsDir });
    await metricsRoutes(typed, ctx);
  });
  await app.register(
    async (api) => {
      const typed = api as unknown as ApiInstance;
      typed.get('/openapi.json', { config: { role: 'public' }, schema: { hide: true } }, async () => app.swagger());
      for (const routes of [...RESOURCE_ROUTES, ...(options.routes ?? [])]) await routes(typed, ctx);
    },
    { prefix: API_PREFIX },
  );
  // The web UI at / (after the API, so its fallback never shadows an API route).
  await webRoutes(base, { authEnabled: config.security.enableAuth, ...(options.webDir === undefined ? {} : { dir: options.webDir }) });

  if (!config.security.enableAuth && !isLoopback(config.api.host)) {
    logger.warn(
      { host: config.api.host },
      'authentication is off (ATTUNE__SECURITY__ENABLE_AUTH=false) and the API listens beyond loopback: anyone who can reach it acts as admin',
    );
  }
  return base;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
