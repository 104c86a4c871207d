/** A one-line progress bar on stderr, drawn only when stderr is a terminal. */
import type { CliIO } from './io.js';

export class Progress {
  private last = 0;
  private shown = false;
  constructor(private readonly io: CliIO, private readonly width = 30) {}

  get enabled(): boolean {
    return this.io.stderrIsTTY;
  }

  /** Redraw (at most every 100 ms unless `force`). */
  update(done: number, total: number, label: string, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const full = Math.round(frac * this.width);
    const bar = '█'.repeat(full) + '░'.repeat(this.width - full);
    this.io.stderr(`\r\x1b[2K${bar} ${String(Math.floor(frac * 100)).padStart(3)}% ${label.slice(0, 60)}`);
    this.shown = true;
  }

  /** Erase the bar (before printing normal output). */
  clear(): void {
    if (this.shown) this.io.stderr('\r\x1b[2K');
    this.shown = false;
  }
}
