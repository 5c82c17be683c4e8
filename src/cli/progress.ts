// A one-line progress bar on stderr, redrawn in place: only on a terminal (piped output and
// --json runs stay clean), at most ~10 redraws a second.
//   layer 3/5 ████████░░░░░░░░░░░░  42%  self_attn.q_proj   0:12 elapsed, ETA 0:17

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

export class ProgressBar {
  private readonly start = performance.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly stream: ProgressStream = process.stderr, readonly enabled = stream.isTTY === true) {}

  /** fraction in 0..1; head: 'layer 3/5'; detail: what runs now. */
  update(fraction: number, head: string, detail = '', force = false): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const line = formatProgressLine(fraction, head, detail, (now - this.start) / 1000);
    const width = Math.max(20, (this.stream.columns ?? 100) - 1);
    this.stream.write(`\r\x1b[2K${line.slice(0, width)}`);
    this.drawn = true;
  }

  /** Print a message above the bar (the bar is redrawn on the next update). */
  note(message: string): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(`${message}\n`);
    this.drawn = false;
  }

  /** Remove the bar. */
  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}

export function formatProgressLine(fraction: number, head: string, detail: string, elapsedS: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const cells = 20;
  const full = Math.round(f * cells);
  const bar = '█'.repeat(full) + '░'.repeat(cells - full);
  // ETA from the average rate so far; none until there is something to extrapolate from.
  const eta = f > 0.01 && f < 1 ? `, ETA ${formatDuration((elapsedS * (1 - f)) / f)}` : '';
  const pct = `${Math.floor(f * 100)}%`.padStart(4);
  return `${head} ${bar} ${pct}  ${detail ? `${detail}   ` : ''}${formatDuration(elapsedS)} elapsed${eta}`;
}

/** 75 → '1:15', 3725 → '1:02:05'. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
