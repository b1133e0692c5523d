/**
 * PostgreSQL URLs as Attune reads them: the server a connection really
 * reaches (query parameters override the URL's parts, as for the driver),
 * another database on the same server, and a form safe for logs.
 */
import { ConfigError } from './errors.js';

/** The parts of a PostgreSQL URL that Attune needs: the server the driver will actually connect to. */
export interface DatabaseUrlParts {
  /** A host name, an IP address, or a Unix socket folder (`?host=/var/run/postgresql`). */
  host: string;
  port: number;
  database: string;
  user: string | undefined;
}

/**
 * Validates a PostgreSQL URL; `setting` names it in the error. Query
 * parameters `host`, `port` and `user` override the URL's own parts, as they
 * do for the driver (pg-connection-string) and libpq, so the parts returned
 * name the server a connection really reaches.
 */
export function parseDatabaseUrl(text: string, setting = 'ATTUNE__DATABASE__URL'): DatabaseUrlParts {
  const parsed = parseUrl(text);
  if (!parsed) throw new ConfigError(setting, 'is not a valid URL; expected postgres://user@host:5432/database');
  const { url, hostless } = parsed;
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(setting, `must start with postgres:// or postgresql://, got '${url.protocol}//'`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new ConfigError(setting, 'names no database; expected postgres://user@host:5432/database');
  const host = url.searchParams.get('host') || (hostless ? '' : decodeURIComponent(url.hostname).replace(/^\[(.+)\]$/, '$1'));
  if (!host) throw new ConfigError(setting, 'names no host');
  const portText = url.searchParams.get('port') || url.port || '5432';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new ConfigError(setting, `has port '${portText}'; expected a number from 1 to 65535`);
  const user = url.searchParams.get('user') || (url.username ? decodeURIComponent(url.username) : undefined);
  return { host, port, database, user };
}

/** Stands in for the missing host of `postgres://user@/db?host=…` while WHATWG URL parses it, as the driver does. */
const STAND_IN_HOST = 'stand-in.invalid';

function parseUrl(text: string): { url: URL; hostless: boolean } | undefined {
  try {
    return { url: new URL(text), hostless: false };
  } catch {
    try {
      return { url: new URL(text.replace('@/', `@${STAND_IN_HOST}/`)), hostless: true };
    } catch {
      return undefined;
    }
  }
}

function formatUrl(url: URL, hostless: boolean): string {
  const text = url.toString();
  return hostless ? text.replace(`@${STAND_IN_HOST}/`, '@/') : text;
}

/** The same URL pointed at another database on the same server. */
export function withDatabase(urlText: string, database: string): string {
  const parsed = parseUrl(urlText);
  if (!parsed) throw new TypeError('withDatabase needs a valid URL');
  parsed.url.pathname = `/${encodeURIComponent(database)}`;
  return formatUrl(parsed.url, parsed.hostless);
}

/** The URL with any password (in the user part or a `?password=` parameter) replaced, safe for logs and messages. */
export function redactUrl(urlText: string): string {
  const parsed = parseUrl(urlText);
  if (!parsed) return '<unparseable url>';
  const { url, hostless } = parsed;
  if (url.password) url.password = '*****';
  if (url.searchParams.has('password')) url.searchParams.set('password', '*****');
  return formatUrl(url, hostless);
}
