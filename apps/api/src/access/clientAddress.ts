import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/**
 * The peers trusted by default to report a client's address: this host.
 * The portal's sign-in proxy (apps/web) calls the API at LPACS_API_URL,
 * by default http://127.0.0.1:4000, so on the same host the API sees it
 * as 127.0.0.1 (or ::1 when that URL names [::1]).
 */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = ['127.0.0.1', '::1'];

/** An IPv6 address's eight 16-bit groups; `text` must be one (isIP 6, no zone). */
function ipv6Groups(text: string): number[] {
  let head = text;
  const tail: number[] = [];
  // A dotted IPv4 in the last 32 bits (::ffff:10.0.0.1, ::10.0.0.1).
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
    ];
    tail.push((a << 8) | b, (c << 8) | d);
    head = text.slice(0, dotted.index);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const hex = (part: string) =>
    part ? part.split(':').map((g) => parseInt(g, 16)) : [];
  const gap = head.indexOf('::');
  if (gap < 0) return [...hex(head), ...tail];
  const left = hex(head.slice(0, gap));
  const right = [...hex(head.slice(gap + 2)), ...tail];
  return [
    ...left,
    ...new Array<number>(8 - left.length - right.length).fill(0),
    ...right,
  ];
}

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:0:0/96) stands for. */
function mappedIpv4(groups: number[]): string | undefined {
  if (groups.slice(0, 5).some((g) => g !== 0) || groups[5] !== 0xffff)
    return undefined;
  const [hi, lo] = [groups[6]!, groups[7]!];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** The shortest text of an IPv6 address (RFC 5952, as the WHATWG URL writes it). */
function ipv6Text(groups: number[]): string {
  const parts = groups.map((g) => g.toString(16)).join(':');
  return new URL(`http://[${parts}]`).hostname.slice(1, -1);
}

/**
 * An address as written by a socket or in X-Forwarded-For, in one
 * canonical form: an IPv4 address in dotted decimal, an IPv4-mapped IPv6
 * address as its IPv4 address, other IPv6 addresses in their shortest
 * form without a zone. A port (`10.0.0.1:5000`, `[2001:db8::1]:443`) is
 * dropped. Undefined for anything that is not an IP address.
 */
export function plainAddress(raw: string): string | undefined {
  let text = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  const withPort = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(text);
  if (bracketed) text = bracketed[1]!;
  else if (withPort) text = withPort[1]!;
  text = text.replace(/%.*$/, '');
  const version = isIP(text);
  if (version === 4) return text;
  if (version !== 6) return undefined;
  const groups = ipv6Groups(text.toLowerCase());
  return mappedIpv4(groups) ?? ipv6Text(groups);
}

/**
 * What the sign-in throttle counts an address as: an IPv4 address by
 * itself (an IPv4-mapped IPv6 address as that IPv4 address), an IPv6
 * address by its /64, since one subscriber or host is routinely given a
 * whole /64 and could otherwise try from 2^64 addresses. E.g.
 * 2001:db8:1:2:aaaa::1 and 2001:db8:1:2:bbbb::2 both count as
 * `2001:db8:1:2::/64`. Anything that is not an IP address counts as its
 * own text (at most 64 characters).
 */
export function addressGroup(address: string): string {
  const plain = plainAddress(address);
  if (!plain) return address.slice(0, 64);
  if (isIP(plain) === 4) return plain;
  const groups = ipv6Groups(plain);
  return `${ipv6Text([...groups.slice(0, 4), 0, 0, 0, 0])}/64`;
}

/**
 * The peers whose X-Forwarded-For is believed: each entry an address
 * (`127.0.0.1`, `::1`) or a range (`10.0.0.0/8`, `fd00::/8`); `none`
 * alone trusts no one. @throws Error naming an entry that is neither.
 */
export function trustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  if (entries.includes('none')) {
    if (entries.length === 1) return list;
    throw new Error('--trust-proxy none trusts no one: give it alone');
  }
  for (const entry of entries) {
    const [addr = '', bits, ...extra] = entry.split('/');
    const given = isIP(addr);
    const plain = given ? plainAddress(addr) : undefined;
    const version = plain ? isIP(plain) : 0;
    // An IPv4-mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps.
    const prefix =
      bits === undefined
        ? version === 4
          ? 32
          : 128
        : Number(bits) - (given === 6 && version === 4 ? 96 : 0);
    if (
      !plain ||
      extra.length ||
      (bits !== undefined && !/^\d{1,3}$/.test(bits)) ||
      prefix < 0 ||
      prefix > (version === 4 ? 32 : 128)
    )
      throw new Error(
        `--trust-proxy ${entry}: give an IP address or a range (127.0.0.1, ::1, 10.0.0.0/8), or none`,
      );
    const type = version === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(plain, type);
    else list.addSubnet(plain, prefix, type);
  }
  return list;
}

function trusted(list: BlockList, address: string): boolean {
  const version = isIP(address);
  return version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The address a request comes from. That is the connecting peer, unless
 * the peer is a trusted proxy: then X-Forwarded-For is read from its end
 * (each proxy appends the address it was called from), passing over
 * trusted proxies, and the first address that is not one is the client.
 * A malformed entry ends the walk at the proxy that sent it. From an
 * untrusted peer the header is the caller's own word and is ignored.
 */
export function clientAddress(
  req: IncomingMessage,
  proxies: BlockList,
): string {
  const peer = req.socket.remoteAddress ?? '';
  let address = plainAddress(peer) ?? peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  while (hops.length && trusted(proxies, address)) {
    const next = plainAddress(hops.pop()!);
    if (!next) break;
    address = next;
  }
  return address;
}
