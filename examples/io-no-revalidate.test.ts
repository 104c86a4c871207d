/**
 * A locking idea checked from a user's test file: io-no-revalidate (the article's first design
 * question answered the unsafe way — a fault that slept on file I/O with no lock installs the page
 * without retrying; faultline's zoo has it as a variant on v6.7). The property runs the directed
 * family unmap-during-io under check's schedule portfolio; it must fail, and the failure must say
 * what a fast-check user needs: the seed and path that replay it, and the counterexample file.
 */
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { family, mmProperty } from 'faultline';

const counterexamples = mkdtempSync(join(tmpdir(), 'faultline-example-'));

describe('io-no-revalidate (a variant from the zoo)', () => {
  it('fails with seed, path and a counterexample file', () => {
    const property = mmProperty({ variant: 'io-no-revalidate', workload: family('unmap-during-io'), counterexamples });
    let message = '';
    try {
      fc.assert(property, { seed: 7, numRuns: 500 });
    } catch (e) {
      const err = e as Error & { cause?: Error };
      message = `${err.message}\n${err.cause?.message ?? ''}`;
    }
    expect(message).toMatch(/\{ seed: 7, path: "[0-9:]+", endOnFailure: true \}/);
    expect(message).toMatch(/pte-outside-vma|kasan/);
    const file = /counterexample: (\S+\.json)/.exec(message)?.[1];
    expect(file).toBeDefined();
    expect(existsSync(file!)).toBe(true);
  });
});
