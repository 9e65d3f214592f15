/**
 * Recordings are fetched by the server from a URL a user names, so a URL must not reach what only the server can
 * reach: loopback, private networks, link-local (cloud metadata endpoints live at 169.254.169.254), carrier-grade NAT,
 * unique-local IPv6 and the like. Every address a host name resolves to is checked, at every redirect hop, and again by
 * the lookup the connection itself uses (`publicOnlyLookup`): a name that answers a public address to the check and a
 * private one to the connection (DNS rebinding) is refused, because the address connected to is the one checked.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { NonRetriableError, RetryAfterError } from '../errors';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** Whether an IP address is one the public internet cannot route to (IPv4-mapped IPv6 is judged as IPv4). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** How host names are resolved (dns.lookup's all-addresses form); replaceable to prove rebinding is caught. */
export type Resolver = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, options, callback) => dnsLookup(hostname, options, callback);

/** Raised from inside a connection's lookup when the name resolves to a non-public address. */
export class PrivateAddressError extends NonRetriableError {}

function privateAddressError(host: string): PrivateAddressError {
  return new PrivateAddressError(`the recording's URL points to a private or local address (${host}); only public addresses are fetched (RECORDING_ALLOW_PRIVATE_URLS)`);
}

/**
 * A `lookup` for http(s).request that resolves the name once and hands the connection only public addresses: the
 * check and the connection can never see different answers.
 */
export function publicOnlyLookup(resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { family: options.family, hints: options.hints, all: true, verbatim: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      if (addresses.length === 0 || addresses.some((a) => isPrivateAddress(a.address))) return callback(privateAddressError(hostname), '', 0);
      if (options.all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/** Refuses a URL whose host is, or resolves to, a non-public address. */
export async function assertPublicUrl(url: URL, resolve?: Resolver): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    try {
      const found = resolve
        ? await new Promise<LookupAddress[]>((ok, fail) => resolve(host, { all: true, verbatim: true }, (err, all) => (err ? fail(err) : ok(all))))
        : await lookup(host, { all: true, verbatim: true });
      addresses = found.map((a) => a.address);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOTFOUND') throw new NonRetriableError(`the recording's host ${host} does not exist`);
      throw new RetryAfterError(`the recording's host ${host} could not be resolved: ${code ?? (err as Error).message}`, 2000);
    }
  }
  if (addresses.length === 0 || addresses.some(isPrivateAddress)) throw privateAddressError(host);
}
