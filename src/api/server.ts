/**
 * The api role: the HTTP API listening on ATTUNE__API__HOST and
 * ATTUNE__API__PORT. `stop` closes gracefully: no new connections, requests
 * in flight finish, then the server is gone.
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Role } from '../roles.js';
import { buildApp, type BuildAppOptions } from './app.js';

/** The api role, and where it listens once started. */
export interface ApiRole extends Role {
  /** `http://host:port` once started (the real port when configured as 0); undefined before. */
  url(): string | undefined;
  /** The Fastify instance once started. */
  app(): FastifyInstance | undefined;
}

/** Builds the api role; nothing is opened until `start`. */
export function createApiRole(options: BuildAppOptions): ApiRole {
  let app: FastifyInstance | undefined;
  let url: string | undefined;
  return {
    name: 'api',
    async start() {
      app = await buildApp(options);
      await app.listen({ host: options.config.api.host, port: options.config.api.port });
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      url = `http://${host}:${address.port}`;
      app.log.info({ url, openapi: `${url}/api/v1/openapi.json`, docs: `${url}/docs` }, 'API listening');
    },
    async stop() {
      const closing = app;
      app = undefined;
      url = undefined;
      if (closing) await closing.close();
    },
    url: () => url,
    app: () => app,
  };
}
