// mbind(2) sets the NUMA policy of [addr, addr+len) ("EFAULT: ... there was an unmapped hole in
// the specified memory range"); get_mempolicy(2) with MPOL_F_ADDR returns the policy of the VMA
// containing addr. mbind splits VMAs and merges neighbours of equal policy (mbind_range).
import { describe, expect, it } from 'vitest';
import { EFAULT, EINVAL } from '../../model/index.js';
import { A, K, Seq, err, ok, oneVma } from './helpers.js';

describe('mbind', () => {
  it('sets the policy of part of a VMA, splitting it, and merges back', () => {
    const s = new Seq(oneVma(3));
    expect(s.do({ op: 'mbind', pid: 1, addr: A + K, len: K, policy: 'bind:0' })).toEqual(ok);
    expect(s.maps(1)).toHaveLength(3);
    expect(s.do({ op: 'get_mempolicy', pid: 1, addr: A + K })).toEqual({ kind: 'policy', policy: 'bind:0' });
    expect(s.do({ op: 'get_mempolicy', pid: 1, addr: A })).toEqual({ kind: 'policy', policy: 'default' });
    s.do({ op: 'mbind', pid: 1, addr: A + K, len: K, policy: 'default' });
    expect(s.maps(1)).toHaveLength(1);
  });

  it('a hole gives EFAULT and changes nothing; a bad policy is EINVAL', () => {
    const s = new Seq(oneVma(1));
    expect(s.do({ op: 'mbind', pid: 1, addr: A, len: 2 * K, policy: 'interleave' })).toEqual(err(EFAULT));
    expect(s.do({ op: 'get_mempolicy', pid: 1, addr: A })).toEqual({ kind: 'policy', policy: 'default' });
    expect(s.do({ op: 'mbind', pid: 1, addr: A, len: K, policy: 'bogus' })).toEqual(err(EINVAL));
  });
});

describe('get_mempolicy', () => {
  it('EFAULT where nothing is mapped', () => {
    expect(new Seq(oneVma(1)).do({ op: 'get_mempolicy', pid: 1, addr: 0x900000 })).toEqual(err(EFAULT));
  });
});
