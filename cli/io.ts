/** What a command needs from its surroundings: injectable for in-process tests. */
export interface CliIO {
  /** Write to standard output (text as given: add the newlines yourself). */
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Standard error is a terminal (progress bars). */
  readonly stderrIsTTY: boolean;
  /** Relative paths are resolved against this directory. */
  readonly cwd: string;
}

/** Bad usage or bad input: printed as one line `faultline: <message>`, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;

/** One line: the first line of a message, without trailing blanks. */
export function oneLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? s;
  return line.trim();
}

/** Quote a path for a shell one-liner when it needs it. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
