/**
 * Recordings are fetched by the server from a URL a user names, so a URL must not reach what only the server can
 * reach. The check is an allow-list: only ordinary public unicast passes. IPv4 is refused in every special-purpose
 * range of the IANA registry (loopback, private, link-local — cloud metadata endpoints live at 169.254.169.254 —
 * carrier-grade NAT, benchmarking, documentation, multicast, reserved) and at Azure's platform endpoint; IPv6 must be
 * global unicast (2000::/3) outside its special-purpose blocks, and an IPv4-mapped address is judged by the IPv4
 * address it carries. Translation prefixes that lead to an IPv4 address chosen by the sender (NAT64, 6to4, Teredo,
 * IPv4-compatible) are refused outright. Every address a host name resolves to is checked, at every redirect hop, and
 * again by the lookup the connection itself uses (`publicOnlyLookup`): a name that answers a public address to the
 * check and a private one to the connection (DNS rebinding) is refused, because the address connected to is the one
 * checked.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { NonRetriableError, RetryAfterError } from '../errors';

/** IPv4 ranges that are not ordinary public unicast (IANA IPv4 special-purpose registry, plus Azure's wireserver). */
const refusedV4 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['168.63.129.16', 32], // Azure's platform endpoint (wireserver: DNS, health probes, VM agent)
  ['169.254.0.0', 16], // link-local, cloud metadata endpoints
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 (broadcast)
] as const) {
  refusedV4.addSubnet(net, prefix, 'ipv4');
}

/** The only IPv6 space with ordinary public addresses; all else (::1, fc00::/7, fe80::/10, ff00::/8, 64:ff9b::/96 …) is refused. */
const globalUnicastV6 = new BlockList();
globalUnicastV6.addSubnet('2000::', 3, 'ipv6');

/** Special-purpose blocks inside 2000::/3. */
const refusedV6 = new BlockList();
for (const [net, prefix] of [
  ['2001::', 23], // IETF protocol assignments, Teredo (2001::/32) included
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: the IPv4 address is the sender's choice
  ['3fff::', 20], // documentation
] as const) {
  refusedV6.addSubnet(net, prefix, 'ipv6');
}

/** The eight 16-bit groups of an IPv6 address in any textual form (a trailing dotted IPv4 included), or null. */
function ipv6Groups(address: string): number[] | null {
  let text = address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail, ...more] = text.split('::');
  if (more.length > 0) return null;
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...Array<number>(tail === undefined ? 0 : missing).fill(0), ...right];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/** Whether an IP address is ordinary public unicast, the only kind a user's URL may reach. */
export function isPublicAddress(address: string): boolean {
  if (isIP(address) === 4) return !refusedV4.check(address, 'ipv4');
  // A zone (fe80::1%eth0) only ever accompanies link-local and similar scoped addresses; dropping it keeps the judgement.
  const unscoped = address.replace(/%[^%]*$/, '');
  if (isIP(unscoped) !== 6) return false;
  const groups = ipv6Groups(unscoped);
  if (!groups) return false;
  // ::ffff:0:0/96, IPv4-mapped: the connection goes to the IPv4 address inside, so that is what is judged.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6]!, groups[7]!];
    return isPublicAddress(`${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`);
  }
  const canonical = groups.map((g) => g.toString(16)).join(':');
  return globalUnicastV6.check(canonical, 'ipv6') && !refusedV6.check(canonical, 'ipv6');
}

/** Whether an IP address is one a user's URL must not reach (anything but ordinary public unicast, non-IPs too). */
export function isPrivateAddress(address: string): boolean {
  return !isPublicAddress(address);
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
