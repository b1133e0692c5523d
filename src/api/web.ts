/**
 * The web UI, served by the API at `/` from the package's `dist/web` (built
 * by `npm run build:web`): `index.html` with `Cache-Control: no-cache` (so a
 * new release is picked up at once), the content-hashed files under
 * `/assets/` cached for a year as immutable, and index.html for any other
 * path the UI routes itself (`/executions/42`). The API's own paths (`/api`,
 * `/docs`, `/healthz`, `/readyz`, `/metrics`) never fall back to the UI: an
 * unknown one is the API's JSON 404. Files are sent gzip-compressed when the
 * build left a `.gz` beside them and the browser accepts it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from '../errors.js';

/** Where the build puts the UI: `<package>/dist/web`, from src/api (tsx) and dist/api (built) alike. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/** Paths that belong to the API and never serve the UI. */
const API_PATHS = /^\/(?:api|docs|healthz|readyz|metrics)(?:[/?]|$)/;

const INDEX_CACHE = 'no-cache';
const ASSET_CACHE = 'public, max-age=31536000, immutable';

export interface WebOptions {
  /** The built UI; default DEFAULT_WEB_DIR. */
  dir?: string;
  /** Whether the API asks for a token: told to the page, which then shows the login form first instead of learning it from a 401. */
  authEnabled?: boolean;
}

/** index.html with the page's settings in a meta tag (no request, no inline script: the CSP stays strict). */
export function withSettings(html: string, settings: { auth: boolean }): string {
  return html.replace('<head>', `<head>\n    <meta name="attune-auth" content="${settings.auth ? 'on' : 'off'}" />`);
}

/** Registers `/`, `/assets/*` and the UI's fallback route (all public: the UI logs in through the API). */
export async function webRoutes(app: FastifyInstance, options: WebOptions = {}): Promise<void> {
  const dir = options.dir ?? DEFAULT_WEB_DIR;
  await app.register(fastifyStatic, { root: dir, serve: false, preCompressed: true });
  const built = () => existsSync(`${dir}/index.html`);
  const auth = options.authEnabled ?? true;

  const sendIndex = async (reply: FastifyReply) => {
    if (!built()) {
      return reply
        .code(404)
        .header('cache-control', INDEX_CACHE)
        .type('text/plain; charset=utf-8')
        .send('The web UI is not built in this installation: run `npm run build:web` (npm start does it), then reload. The API is at /api/v1 and its reference at /docs.\n');
    }
    const html = withSettings(await readFile(`${dir}/index.html`, 'utf8'), { auth });
    return reply.header('cache-control', INDEX_CACHE).type('text/html; charset=utf-8').send(html);
  };

  app.get('/', { config: { role: 'public' }, schema: { hide: true } }, async (_request, reply) => sendIndex(reply));

  app.get<{ Params: { '*': string } }>('/assets/*', { config: { role: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const file = request.params['*'];
    // A missing asset is a 404, never index.html: a stale page must not run HTML as a script.
    if (file === '' || file.includes('..') || !existsSync(`${dir}/assets/${file}`)) throw new NotFoundError('asset', 'path', `/assets/${file}`);
    return reply.header('cache-control', ASSET_CACHE).sendFile(`assets/${file}`, { cacheControl: false });
  });

  app.get('/*', { config: { role: 'public' }, schema: { hide: true } }, async (request: FastifyRequest, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    if (API_PATHS.test(path)) throw new NotFoundError('route', 'path', `${request.method} ${path}`);
    return sendIndex(reply);
  });
}
