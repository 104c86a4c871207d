/**
 * Drawing one value of a fast-check arbitrary from a seed, deterministically, and keeping the
 * fast-check Value (with its shrink context) so the value can be shrunk later the way fast-check
 * shrinks a failing property's input.
 *
 * No bias: fast-check's bias (small values and edge cases first, growing with the run index)
 * belongs to properties run from run 0; a workload generator states its own distributions
 * (small counts, shared targets) and draws them as stated, whatever the seed.
 */
import fc from 'fast-check';

/**
 * A pure-rand RandomGenerator (fast-check's source of randomness) over sfc32, the generator
 * impl/rt/prng.ts uses: seeded by one 32-bit integer, so a scenario is a function of its seed.
 */
class Sfc32 {
  constructor(private a: number, private b: number, private c: number, private d: number) {}
  static seeded(seed: number): Sfc32 {
    const g = new Sfc32(0x9e3779b9 | 0, 0x243f6a88 | 0, 0xb7e15162 | 0, seed | 0);
    for (let i = 0; i < 12; i++) g.next();
    return g;
  }
  clone(): Sfc32 {
    return new Sfc32(this.a, this.b, this.c, this.d);
  }
  /** A value in [-2^31, 2^31 - 1] (pure-rand's contract). */
  next(): number {
    const { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    this.d = (d + 1) | 0;
    this.a = b ^ (b >>> 9);
    this.b = (c + (c << 3)) | 0;
    this.c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t;
  }
  getState(): readonly number[] {
    return [this.a, this.b, this.c, this.d];
  }
}

/** fast-check's Random, seeded. */
export function seededRandom(seed: number): fc.Random {
  return new fc.Random(Sfc32.seeded(seed));
}

/** The Value (value and shrink context) `arb` draws for `seed`. */
export function drawValue<T>(arb: fc.Arbitrary<T>, seed: number): fc.Value<T> {
  return arb.generate(seededRandom(seed), undefined);
}

/** The value `arb` draws for `seed`. */
export function draw<T>(arb: fc.Arbitrary<T>, seed: number): T {
  return drawValue(arb, seed).value;
}

/**
 * An integer in [lo, lo + weights.length) drawn with the given relative weights (weights[i] for
 * lo + i). Built as a map over one integer, so it shrinks toward lo through every value between.
 */
export function weightedInt(lo: number, weights: readonly number[]): fc.Arbitrary<number> {
  const cum: number[] = [];
  let total = 0;
  for (const w of weights) cum.push((total += w));
  return fc.integer({ min: 0, max: total - 1 }).map((x) => {
    let i = 0;
    while (x >= cum[i]!) i++;
    return lo + i;
  });
}

/** true with probability p; shrinks toward false. */
export function chance(p: number): fc.Arbitrary<boolean> {
  const scale = 1000;
  const t = Math.max(0, Math.min(scale, Math.round(p * scale)));
  return fc.integer({ min: 0, max: scale - 1 }).map((x) => x >= scale - t);
}

/** One of xs with the given weights; shrinks toward xs[0]. */
export function weighted<T>(entries: readonly (readonly [T, number])[]): fc.Arbitrary<T> {
  return weightedInt(0, entries.map((e) => e[1])).map((i) => entries[i]![0]);
}
