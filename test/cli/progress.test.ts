// The terminal progress bar: its line (layer i/N, bar, percentage, elapsed, ETA), redraws in
// place on a TTY only, and nothing at all on a pipe.
import { describe, expect, it } from 'vitest';
import { formatDuration, formatProgressLine, ProgressBar } from '../../src/cli/progress.js';

describe('formatProgressLine', () => {
  it('shows the bar, the percentage, elapsed time and the ETA extrapolated from the rate so far', () => {
    expect(formatProgressLine(0.25, 'layer 2/8', 'prune self_attn.q_proj', 30))
      .toBe('layer 2/8 █████░░░░░░░░░░░░░░░  25%  prune self_attn.q_proj   0:30 elapsed, ETA 1:30');
  });
  it('has no ETA before there is a rate, nor once done', () => {
    expect(formatProgressLine(0, 'embed', '', 1)).toBe('embed ░░░░░░░░░░░░░░░░░░░░   0%  0:01 elapsed');
    expect(formatProgressLine(1, 'done', '', 3725)).toBe('done ████████████████████ 100%  1:02:05 elapsed');
  });
  it('clamps nonsense fractions', () => {
    expect(formatProgressLine(NaN, 'x', '', 0)).toContain('  0%');
    expect(formatProgressLine(7, 'x', '', 0)).toContain('100%');
  });
  it('formats durations', () => {
    expect([0, 59.4, 75, 3600, 3725].map(formatDuration)).toEqual(['0:00', '0:59', '1:15', '1:00:00', '1:02:05']);
  });
});

describe('ProgressBar', () => {
  const stream = (isTTY: boolean) => {
    const out: string[] = [];
    return { out, isTTY, columns: 60, write: (s: string) => out.push(s) > 0 };
  };
  it('redraws one line in place on a terminal, cut to its width, and clears it when done', () => {
    const s = stream(true);
    const bar = new ProgressBar(s);
    bar.update(0.5, 'layer 1/2', 'a detail that is long enough to be cut at the terminal width', true);
    bar.done();
    expect(s.out[0].startsWith('\r\x1b[2Klayer 1/2 ██████████')).toBe(true);
    expect(s.out[0].length).toBe('\r\x1b[2K'.length + 59);
    expect(s.out[1]).toBe('\r\x1b[2K');
  });
  it('prints notes above the bar', () => {
    const s = stream(true);
    const bar = new ProgressBar(s);
    bar.update(0.1, 'x', '', true);
    bar.note('resuming after layer 3 of 5');
    expect(s.out.slice(1)).toEqual(['\r\x1b[2K', 'resuming after layer 3 of 5\n']);
  });
  it('writes nothing when stderr is not a terminal', () => {
    const s = stream(false);
    const bar = new ProgressBar(s);
    bar.update(0.5, 'layer 1/2', '', true);
    bar.done();
    expect(s.out).toEqual([]);
  });
});
