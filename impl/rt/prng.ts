/**
 * A small seedable PRNG (sfc32). The only source of randomness in impl/: schedulers own one,
 * nothing else may call Math.random. The state is kept as int32 (small integers to V8), so a
 * draw allocates nothing.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9 | 0;
    this.b = 0x243f6a88 | 0;
    this.c = 0xb7e15162 | 0;
    this.d = seed | 0;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  next(): number {
    return this.int32() >>> 0;
  }

  /**
   * An integer in [0, n), from 31 bits of one draw (n ≤ 2^31; the modulo bias is below n/2^31).
   * 31 bits keep the modulo an integer operation (a uint32 would make it a float fmod).
   */
  below(n: number): number {
    return n <= 1 ? 0 : (this.int32() >>> 1) % n;
  }

  private int32(): number {
    const a = this.a;
    const b = this.b;
    const c = this.c;
    const d = this.d;
    const t = (((a + b) | 0) + d) | 0;
    this.d = (d + 1) | 0;
    this.a = b ^ (b >>> 9);
    this.b = (c + (c << 3)) | 0;
    this.c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t;
  }
}
