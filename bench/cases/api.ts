/**
 * The HTTP API against a bare Fastify route running the same SQL (issue 11:
 * requests/s at least 0.8 of the bare route's).
 *
 * - api.execution-get: `GET /api/v1/executions/:id` of the seeded table
 *   (100,000 executions over 1,000 actions).
 * - api.execution-list: `GET /api/v1/executions?status=succeeded&action=<ref>&limit=50`
 *   over the four busiest actions (about 1,500–3,000 executions each).
 *
 * The Attune side is buildApp as users run it: authentication on, a real
 * Bearer token of a viewer identity looked up on every request, helmet,
 * CORS, response schemas, secret masking. Two things are off: the rate
 * limit (600 requests a minute would answer 429 within a round) and request
 * logging (silent logger, as in the other cases that start an app).
 *
 * The baseline is a bare `Fastify()` with one route per case that sends the
 * very statements buildApp sent for the same request (captured once with
 * the recording executor: the token lookup, the execution(s), the action's
 * parameter schema), masks the secret parameters, and serialises the same
 * JSON with JSON.stringify. `verify` checks both bodies are equal.
 *
 * Both apps listen on loopback and are called with real HTTP by the same
 * client (node:http, one keep-alive socket each), one request at a time, and
 * both query through the bench's one connection: concurrency 1, so
 * requests/s is 1/mean latency and p50/p99 are per request; statements per
 * request are counted for both sides.
 */
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { defaults } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { ApiTokenRepository, hashToken } from '../../src/repositories/api-tokens.js';
import { IdentityRepository } from '../../src/repositories/identities.js';
import type { BenchCase } from '../harness.js';
import { cycle, spread, type BenchContext } from '../context.js';

const LOGIN = 'bench-api-viewer';
const PAGE = 50;
/** Actions the list case cycles over: the busiest of the seeded skew. */
const LIST_ACTIONS = 4;
const MASKED = '********';

interface Scene {
  api: { port: number; agent: http.Agent };
  bare: { port: number; agent: http.Agent };
  authorization: string;
  firstId: number;
  executionCount: number;
  actionRefs: string[];
}

/** The JSON body of one GET on loopback; rejects on any status but 200. */
function get(port: number, agent: http.Agent, path: string, authorization: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, method: 'GET', agent, headers: { authorization } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode !== 200) reject(new Error(`GET ${path} answered ${response.statusCode}: ${text.slice(0, 200)}`));
        else resolve(JSON.parse(text));
      });
    });
    request.on('error', reject);
    request.end();
  });
}

/** `params` with every property the schema marks secret shown as `********`. */
function masked(params: Record<string, unknown> | null, schema: { properties?: Record<string, { secret?: boolean }> } | null): Record<string, unknown> | null {
  if (params === null) return null;
  const properties = schema?.properties;
  if (!properties) return params;
  let out: Record<string, unknown> | undefined;
  for (const name in properties) {
    if (properties[name]?.secret === true && name in params) {
      out ??= { ...params };
      out[name] = MASKED;
    }
  }
  return out ?? params;
}

/** An execution row as the API shows it: no pgid, no keyset columns, secrets masked. */
function shown(row: Record<string, unknown>, schemas: Map<number, unknown>): Record<string, unknown> {
  const { pgid: _pgid, attune_key_0: _k0, attune_key_1: _k1, ...rest } = row;
  rest.params = masked(rest.params as Record<string, unknown> | null, (schemas.get(Number(rest.action_id)) ?? null) as never);
  return rest;
}

export function apiCases(ctx: BenchContext): BenchCase[] {
  const { db } = ctx;
  let scene: Promise<Scene> | undefined;
  const apps: FastifyInstance[] = [];

  const build = async (): Promise<Scene> => {
    const identity = (await IdentityRepository.findByLogin(db, LOGIN)) ?? (await IdentityRepository.create(db, { login: LOGIN, role: 'viewer' }));
    const { token } = await ApiTokenRepository.create(db, { identityId: identity.id, name: 'bench api' });
    const authorization = `Bearer ${token}`;

    const config = defaults();
    config.api.rateLimitMax = 0;
    const app = await buildApp({ db, config, logger: createLogger('silent') });
    await app.listen({ host: '127.0.0.1', port: 0 });
    apps.push(app);
    const apiPort = (app.server.address() as AddressInfo).port;
    const api = { port: apiPort, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) };

    const bounds = await db.query<{ first: string; count: string }>('SELECT min(id) AS first, count(*) AS count FROM executions');
    const firstId = Number(bounds.rows[0]!.first);
    const busiest = await db.query<{ action_ref: string }>(
      `SELECT action_ref FROM executions WHERE status = 'succeeded' GROUP BY action_ref ORDER BY count(*) DESC, action_ref LIMIT ${LIST_ACTIONS}`,
    );
    const actionRefs = busiest.rows.map((row) => row.action_ref);

    // The statements buildApp sends, captured from one request of each kind.
    const sqlOf = async (path: string): Promise<string[]> => (await ctx.exec.capture(() => get(api.port, api.agent, path, authorization))).map((q) => q.text);
    const [tokenSql, executionSql, actionSql] = await sqlOf(`/api/v1/executions/${firstId}`);
    const listSql = (await sqlOf(`/api/v1/executions?status=succeeded&action=${encodeURIComponent(actionRefs[0]!)}&limit=${PAGE}`))[1];
    if (!tokenSql?.includes('api_tokens') || !executionSql?.includes('FROM executions') || !actionSql?.includes('FROM actions') || !listSql?.includes('ORDER BY')) {
      throw new Error('api bench: the statements buildApp sends are not the expected token, execution and action lookups');
    }

    const bare = Fastify();
    const tokenHash = (authorization: string | undefined) => hashToken((authorization ?? '').replace(/^Bearer\s+/i, ''));
    const actionSchemas = async (rows: Record<string, unknown>[]): Promise<Map<number, unknown>> => {
      const ids = [...new Set(rows.map((row) => Number(row.action_id)))];
      const found = await Promise.all(ids.map((id) => db.query(actionSql, [id])));
      return new Map(found.map((r, k) => [ids[k]!, r.rows[0]?.param_schema]));
    };
    bare.get<{ Params: { id: string } }>('/executions/:id', async (request, reply) => {
      await db.query(tokenSql, [tokenHash(request.headers.authorization)]);
      const row = (await db.query(executionSql, [Number(request.params.id)])).rows[0] as Record<string, unknown>;
      const schemas = await actionSchemas([row]);
      return reply.type('application/json').send(JSON.stringify({ data: shown(row, schemas) }));
    });
    bare.get<{ Querystring: { status: string; action: string; limit: string } }>('/executions', async (request, reply) => {
      await db.query(tokenSql, [tokenHash(request.headers.authorization)]);
      const limit = Number(request.query.limit);
      const rows = (await db.query(listSql, [[request.query.status], request.query.action, limit + 1, 0])).rows as Record<string, unknown>[];
      const page = rows.slice(0, limit);
      const schemas = await actionSchemas(page);
      const last = page[page.length - 1];
      const nextCursor = rows.length > limit && last ? Buffer.from(JSON.stringify(['execution', last.attune_key_0, last.attune_key_1])).toString('base64url') : null;
      return reply.type('application/json').send(JSON.stringify({ data: page.map((row) => shown(row, schemas)), next_cursor: nextCursor }));
    });
    await bare.listen({ host: '127.0.0.1', port: 0 });
    apps.push(bare);
    // Nothing waits for these servers at the end of the run.
    for (const a of apps) a.server.unref();
    return {
      api,
      bare: { port: (bare.server.address() as AddressInfo).port, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) },
      authorization,
      firstId,
      executionCount: Number(bounds.rows[0]!.count),
      actionRefs,
    };
  };
  const sceneOf = () => (scene ??= build());

  const executionPath = (s: Scene, i: number) => `/executions/${s.firstId + spread(i, s.executionCount)}`;
  const listPath = (s: Scene, i: number) => `/executions?status=succeeded&action=${encodeURIComponent(cycle(s.actionRefs, i))}&limit=${PAGE}`;

  const apiGet = async (path: (s: Scene, i: number) => string, i: number) => {
    const s = await sceneOf();
    return get(s.api.port, s.api.agent, `/api/v1${path(s, i)}`, s.authorization);
  };
  const bareGet = async (path: (s: Scene, i: number) => string, i: number) => {
    const s = await sceneOf();
    return get(s.bare.port, s.bare.agent, path(s, i), s.authorization);
  };

  /** Both sides answer operations 0–2 with the same body (a next_cursor only in shape: both present or both null). */
  const sameBodies = (path: (s: Scene, i: number) => string) => async (): Promise<string | null> => {
    for (let i = 0; i < 3; i++) {
      const a = (await apiGet(path, i)) as { data: unknown; next_cursor?: unknown };
      const b = (await bareGet(path, i)) as { data: unknown; next_cursor?: unknown };
      if (!isDeepStrictEqual(a.data, b.data)) return `operation ${i}: the API's body differs from the bare route's`;
      if ((a.next_cursor === null) !== (b.next_cursor === null)) return `operation ${i}: next_cursor present on one side only`;
    }
    return null;
  };

  const target = { label: 'API ≥ 0.80× bare Fastify', min: 0.8 };
  return [
    {
      name: 'api.execution-get',
      group: 'executions',
      title: 'GET /api/v1/executions/:id over HTTP (buildApp, Bearer token checked, secrets masked), one at a time',
      baselineTitle: 'bare Fastify route on loopback sending the same three statements, same JSON',
      target,
      maxOpsPerRound: 200,
      setup: async () => void (await sceneOf()),
      verify: sameBodies(executionPath),
      repo: (i) => apiGet(executionPath, i),
      baseline: (i) => bareGet(executionPath, i),
    },
    {
      name: 'api.execution-list',
      group: 'executions',
      title: `GET /api/v1/executions?status=succeeded&action=<ref>&limit=${PAGE} over HTTP (${LIST_ACTIONS} busiest actions), one at a time`,
      baselineTitle: 'bare Fastify route on loopback sending the same statements, same JSON',
      target,
      cycle: LIST_ACTIONS,
      maxOpsPerRound: 100,
      setup: async () => void (await sceneOf()),
      verify: sameBodies(listPath),
      repo: (i) => apiGet(listPath, i),
      baseline: (i) => bareGet(listPath, i),
    },
  ];
}
