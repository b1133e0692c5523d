/**
 * Which addresses the http runner refuses: link-local ones (169.254.0.0/16,
 * fe80::/10), where cloud metadata services answer (169.254.169.254,
 * fd00:ec2::254), in any spelling (IPv4-mapped IPv6 too). Checked on the
 * URL's host, on every address its name resolves to, and on every redirect.
 * Loopback and private networks are allowed.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const BLOCKED = new BlockList();
BLOCKED.addSubnet('169.254.0.0', 16, 'ipv4');
BLOCKED.addSubnet('fe80::', 10, 'ipv6');
BLOCKED.addAddress('fd00:ec2::254', 'ipv6');

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a9fe:a9fe`, `::ffff:169.254.169.254`), if it is one. */
function mappedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower) ?? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return undefined;
  const high = Number.parseInt(hex[1]!, 16);
  const low = Number.parseInt(hex[2]!, 16);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/** True when `address` (an IP literal, brackets allowed) is link-local or a metadata address. */
export function isBlockedAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(bare);
  if (family === 0) return false;
  if (family === 6) {
    const mapped = mappedIpv4(bare);
    if (mapped !== undefined) return BLOCKED.check(mapped, 'ipv4');
    return BLOCKED.check(bare.split('%')[0]!, 'ipv6');
  }
  return BLOCKED.check(bare, 'ipv4');
}

/** Raised (through the request) when a host is or resolves to a refused address. */
export class BlockedAddressError extends Error {
  readonly code = 'ATTUNE_ADDRESS_REFUSED';
  constructor(host: string, address: string) {
    super(
      host === address
        ? `refused to call ${address}: link-local and cloud metadata addresses are not allowed`
        : `refused to call ${host}: it resolves to ${address}, a link-local or cloud metadata address`,
    );
  }
}

/** A resolver with `dns.lookup`'s `all: true` form. */
export type Resolver = (hostname: string, options: LookupOptions & { all: true }, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/** A `lookup` for http.request that refuses a name when any address it resolves to is refused. */
export function guardedLookup(resolver: Resolver = dnsLookup as unknown as Resolver): LookupFunction {
  return ((hostname: string, options: LookupOptions, callback: (...args: unknown[]) => void) => {
    resolver(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error);
      const blocked = addresses.find((entry) => isBlockedAddress(entry.address));
      if (blocked) return callback(new BlockedAddressError(hostname, blocked.address));
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }));
      if (options.all) return callback(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as LookupFunction;
}
