// Without SharedArrayBuffer (a browser page that is not cross-origin isolated) a backend asked for
// several threads runs on one and says why, naming the two headers; prune() passes that on once
// as a progress message and in its report.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { resolveThreads, threadsUnavailable } from '../../src/backends/wasm/threads.js';
import { prune, type PruneProgress } from '../../src/prune.js';
import { DsnotInputError } from '../../src/validate.js';
import { calibrationWindows, HF, tempDir } from '../prune/helpers.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

function pageWithoutIsolation(): void {
  vi.stubGlobal('SharedArrayBuffer', undefined);
  vi.stubGlobal('crossOriginIsolated', false);
}

describe('one thread where threads cannot run', () => {
  it('names COOP/COEP when the page is not cross-origin isolated', async () => {
    pageWithoutIsolation();
    expect(threadsUnavailable()).toMatch(/Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp/);
    const b = await createWasmBackend({ threads: 2 });
    expect(b.threads).toBe(1);
    expect(b.threadsNote).toMatch(/^wasm runs on one thread instead of 2: SharedArrayBuffer needs a cross-origin isolated page/);
  });

  it('prune() says so once, in a progress message and in the report', async () => {
    pageWithoutIsolation();
    const messages: string[] = [];
    const report = await prune({
      model: HF, output: tempDir('dsnot-threads-'), calibration: { tokens: calibrationWindows(2, 32) }, refine: 'none',
      device: 'wasm', threads: 3, progress_callback: (p: PruneProgress) => p.message && messages.push(p.message),
    });
    expect(report.threads).toBe(1);
    expect(report.threadsNote).toMatch(/instead of 3/);
    expect(messages.filter((m) => m.includes('one thread instead of 3'))).toHaveLength(1);
  });

  it('threads must be auto or a whole number from 1 to 64', async () => {
    for (const bad of [0, 1.5, 65, -1, Number.NaN]) await expect(resolveThreads(bad)).rejects.toThrow(DsnotInputError);
    await expect(resolveThreads(3)).resolves.toBe(3);
  });
});
