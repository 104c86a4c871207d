/**
 * The regression corpus: every counterexample kept in test/regressions/ replays, through
 * `faultline replay`, to the verdict it records. A file of a bug or a finding replays its
 * violation's property (exit 1, reproduced); a file that records `"expected": "pass"` is a false
 * alarm that was triaged and fixed (a correct generation once flagged it): its replay must pass
 * (exit 0, the run passes, same schedule). A file that no longer gives its verdict, or no longer
 * parses, fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '../cli/backend.js';
import { run } from './cli/fake.js';

const DIR = join(import.meta.dirname, 'regressions');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

describe('regression corpus (test/regressions)', () => {
  it('holds the zoo\'s minimal counterexamples', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const f of files) {
    it(`${f} replays to its recorded verdict`, async () => {
      const recorded = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { violation: { property: string }; schedule: string; expected?: 'pass' };
      const r = await run(['replay', f, '--json'], { cwd: DIR, backend: defaultBackend });
      expect(r.err).toBe('');
      const j = JSON.parse(r.out) as { reproduced: boolean; status: string; violation?: { property: string }; schedule: string };
      if (recorded.expected === 'pass') {
        expect(r.code, `${f} is a fixed false alarm: its replay must pass`).toBe(0);
        expect(j.reproduced).toBe(false);
        expect(j.status).toBe('pass');
      } else {
        expect(r.code).toBe(1);
        expect(j.reproduced).toBe(true);
        expect(j.violation!.property).toBe(recorded.violation.property);
      }
      expect(j.schedule).toBe(recorded.schedule);
    });
  }
});

describe('regression corpus: minimal stories', () => {
  for (const f of files) {
    it(`${f}: at most 3 tasks`, () => {
      const cx = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { tasks: number };
      expect(cx.tasks).toBeLessThanOrEqual(3);
    });
  }
});
