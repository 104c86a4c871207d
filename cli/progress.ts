/**
 * The progress line on stderr (never on stdout, so never in --json output): executions so far (every
 * worker thread's, counted live through the pool's shared counters), the rate over the last seconds,
 * the violations found, and the ETA from the planned executions or the time limit. On a terminal it
 * is redrawn in place (at most every 100 ms); otherwise (a CI log, a pod's log) one line a minute.
 */
import type { CliIO } from './io.js';

export interface ProgressSample {
  readonly executions: number;
  readonly violations: number;
  /** Executions planned (when known). */
  readonly total?: number;
  /** Epoch ms at which the run stops (a time limit). */
  readonly deadline?: number;
  readonly label?: string;
}

const TTY_EVERY_MS = 100;
const LOG_EVERY_MS = 60_000;
const RATE_WINDOW_MS = 5_000;

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The line's text (without the bar): `12,345 executions · 1,234/s · 0 violations · ETA 1m05s`. */
export function progressText(s: ProgressSample, rate: number, now: number): string {
  const parts = [`${s.executions.toLocaleString('en-US')} executions`, `${Math.round(rate).toLocaleString('en-US')}/s`, `${s.violations} violation${s.violations === 1 ? '' : 's'}`];
  let eta: number | undefined;
  if (s.total !== undefined && rate > 0) eta = (Math.max(0, s.total - s.executions) / rate) * 1000;
  if (s.deadline !== undefined) eta = Math.min(eta ?? Infinity, Math.max(0, s.deadline - now));
  if (eta !== undefined && Number.isFinite(eta)) parts.push(`ETA ${formatDuration(eta)}`);
  if (s.label) parts.push(s.label);
  return parts.join(' · ');
}

export class Progress {
  private last = 0;
  private shown = false;
  private sampler: (() => ProgressSample) | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly history: { t: number; n: number }[] = [];
  private readonly t0 = Date.now();

  constructor(private readonly io: CliIO, private readonly width = 20) {}

  get enabled(): boolean {
    return true;
  }

  /** Start sampling: redrawn by a timer (work on worker threads) and by poke() (work on this thread). */
  start(sampler: () => ProgressSample): void {
    this.sampler = sampler;
    this.history.length = 0;
    this.history.push({ t: Date.now(), n: 0 });
    this.timer = setInterval(() => this.poke(), this.io.stderrIsTTY ? 250 : 5_000);
    this.timer.unref?.();
  }

  /** Redraw if it is time. */
  poke(force = false): void {
    if (this.sampler === null) return;
    const now = Date.now();
    const every = this.io.stderrIsTTY ? TTY_EVERY_MS : LOG_EVERY_MS;
    if (!(force && this.io.stderrIsTTY) && now - (this.last || this.t0) < every) return;
    this.last = now;
    const s = this.sampler();
    this.history.push({ t: now, n: s.executions });
    while (this.history.length > 2 && now - this.history[1]!.t >= RATE_WINDOW_MS) this.history.shift();
    const h0 = this.history[0]!;
    const rate = now > h0.t ? ((s.executions - h0.n) * 1000) / (now - h0.t) : 0;
    const text = progressText(s, rate, now);
    if (!this.io.stderrIsTTY) {
      this.io.stderr(`faultline: ${text} (${formatDuration(now - this.t0)})\n`);
      return;
    }
    let frac: number | undefined;
    if (s.total !== undefined && s.total > 0) frac = Math.min(1, s.executions / s.total);
    if (s.deadline !== undefined) frac = Math.max(frac ?? 0, Math.min(1, (now - this.t0) / Math.max(1, s.deadline - this.t0)));
    const bar = frac === undefined ? '' : `${'█'.repeat(Math.round(frac * this.width))}${'░'.repeat(this.width - Math.round(frac * this.width))} ${String(Math.floor(frac * 100)).padStart(3)}% `;
    this.io.stderr(`\r\x1b[2K${bar}${text}`.slice(0, 160));
    this.shown = true;
  }

  /** A one-off bar (explore): done of total, with a label. */
  update(done: number, total: number, label: string, force = false): void {
    if (this.sampler === null) this.sampler = () => ({ executions: this.cur.done, violations: 0, total: this.cur.total, label: this.cur.label });
    this.cur = { done, total, label };
    this.poke(force);
  }
  private cur = { done: 0, total: 0, label: '' };

  /** Stop the timer and erase the line (before printing normal output). */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.clear();
  }

  /** Erase the line (before printing normal output). */
  clear(): void {
    if (this.shown) this.io.stderr('\r\x1b[2K');
    this.shown = false;
  }
}
