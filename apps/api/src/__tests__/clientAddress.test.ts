import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addressGroup,
  plainAddress,
  trustedProxies,
} from '../access/clientAddress';

describe('addressGroup (what the sign-in throttle counts an address as)', () => {
  it('puts IPv6 addresses of one /64 together, and no others', () => {
    // The first four groups are the /64: 2001:db8:1:2.
    assert.equal(addressGroup('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressGroup('2001:db8:1:2:bbbb::2'), '2001:db8:1:2::/64');
    assert.equal(
      addressGroup('2001:db8:1:2:ffff:ffff:ffff:ffff'),
      '2001:db8:1:2::/64',
    );
    assert.equal(addressGroup('2001:db8:1:3::1'), '2001:db8:1:3::/64');
    // The same /64 written long, in capitals, with a zone or a port.
    assert.equal(
      addressGroup('2001:0DB8:0001:0002:0000:0000:0000:0001'),
      '2001:db8:1:2::/64',
    );
    assert.equal(addressGroup('fe80::1%eth0'), 'fe80::/64');
    assert.equal(addressGroup('[2001:db8:1:2::7]:443'), '2001:db8:1:2::/64');
    // A zero group inside the prefix: 2001:db8:0:2 is not 2001:db8:2.
    assert.equal(addressGroup('2001:db8:0:2::9'), '2001:db8:0:2::/64');
  });

  it('counts an IPv4-mapped IPv6 address as its IPv4 address', () => {
    assert.equal(addressGroup('::ffff:10.0.0.1'), '10.0.0.1');
    // ffff:0a00:0001 is 10.0.0.1 in hex (0x0a = 10).
    assert.equal(addressGroup('::ffff:a00:1'), '10.0.0.1');
    assert.equal(addressGroup('0:0:0:0:0:ffff:c0a8:0101'), '192.168.1.1');
    assert.equal(addressGroup('10.0.0.1'), '10.0.0.1');
    // IPv4 addresses are not grouped: each counts alone.
    assert.equal(addressGroup('10.0.0.2'), '10.0.0.2');
  });

  it('keeps what is not an address as it is, cut to 64 characters', () => {
    assert.equal(addressGroup('not-an-address'), 'not-an-address');
    assert.equal(addressGroup('x'.repeat(100)), 'x'.repeat(64));
  });
});

describe('plainAddress', () => {
  it('writes an address one way, the port and zone dropped', () => {
    assert.equal(plainAddress(' 10.0.0.1 '), '10.0.0.1');
    assert.equal(plainAddress('10.0.0.1:5000'), '10.0.0.1');
    assert.equal(plainAddress('::FFFF:127.0.0.1'), '127.0.0.1');
    assert.equal(plainAddress('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(plainAddress('[2001:db8::1]:8443'), '2001:db8::1');
    assert.equal(plainAddress('unknown'), undefined);
    assert.equal(plainAddress('010.0.0.1'), undefined);
  });
});

describe('trustedProxies (--trust-proxy)', () => {
  it('takes addresses and ranges', () => {
    const list = trustedProxies(['127.0.0.1', '10.30.0.0/16', 'fd00::/8']);
    assert.equal(list.check('127.0.0.1', 'ipv4'), true);
    assert.equal(list.check('127.0.0.2', 'ipv4'), false);
    assert.equal(list.check('10.30.255.1', 'ipv4'), true);
    assert.equal(list.check('10.31.0.1', 'ipv4'), false);
    assert.equal(list.check('fdab::1', 'ipv6'), true);
    assert.equal(list.check('fe80::1', 'ipv6'), false);
  });

  it('trusts no one with none', () => {
    const list = trustedProxies(['none']);
    assert.equal(list.check('127.0.0.1', 'ipv4'), false);
    assert.equal(list.check('::1', 'ipv6'), false);
  });

  it('refuses what is not an address or a range', () => {
    for (const bad of ['localhost', '10.0.0.1:80', '10.0.0.0/33', '::/129'])
      assert.throws(
        () => trustedProxies([bad]),
        new RegExp(`^Error: --trust-proxy ${bad}: give an IP address`),
      );
    assert.throws(
      () => trustedProxies(['none', '10.0.0.1']),
      /--trust-proxy none trusts no one: give it alone/,
    );
  });
});
