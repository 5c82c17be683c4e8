// Device selection and robustness: 'webgpu' on the CI adapter (SwiftShader), 'auto' refusing a
// software adapter, both without any Vulkan driver (a child process), device loss mid-call, and
// buffer reuse across calls of the same shape.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { acquireBackend, deviceSelectionNote } from '../../src/backends/select.js';
import { GpuDeviceLostError, requestAdapter, adapterIsFallback } from '../../src/backends/webgpu/device.js';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';
import { pruneLayer } from '../../src/layer.js';
import { dsnotCase, runDsnot } from './dsnot-case.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('device selection', () => {
  it("'webgpu' runs on the adapter this machine has (SwiftShader in CI) and says so", async () => {
    const b = await acquireBackend('webgpu');
    expect(b.kind).toBe('webgpu');
    expect(b.adapterName.length).toBeGreaterThan(0);
    const adapter = await requestAdapter();
    if (typeof adapter === 'string') throw new Error(adapter);
    expect(b.isFallbackAdapter).toBe(adapterIsFallback(adapter));
  });

  it("'auto' takes WebGPU only on a hardware adapter, else wasm with the reason", async () => {
    const adapter = await requestAdapter();
    if (typeof adapter === 'string') throw new Error(adapter);
    const b = await acquireBackend('auto');
    if (adapterIsFallback(adapter)) {
      expect(b.kind).toBe('wasm');
      expect(deviceSelectionNote()).toMatch(/software WebGPU adapter/);
    } else {
      expect(b.kind).toBe('webgpu');
      expect(deviceSelectionNote()).toBeNull();
    }
  });

  it("without any GPU driver: 'auto' → wasm with a message, 'webgpu' → a clear error", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsnot-noadapter-'));
    try {
      // Bundled next to node_modules' owner so that the optional 'webgpu' package still resolves.
      const outfile = join(root, 'node_modules', '.cache', `dsnot-no-adapter-${process.pid}.mjs`);
      await build({
        entryPoints: [join(root, 'test/webgpu/no-adapter.child.ts')], bundle: true, platform: 'node',
        format: 'esm', external: ['webgpu'], outfile, logLevel: 'silent',
      });
      const child = spawnSync(process.execPath, [outfile], {
        env: { ...process.env, VK_ICD_FILENAMES: join(dir, 'no-such-driver.json'), VK_DRIVER_FILES: join(dir, 'no-such-driver.json') },
        encoding: 'utf8', timeout: 60_000,
      });
      rmSync(outfile, { force: true });
      const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) throw new Error(`child printed no result (status ${child.status}): ${child.stderr.slice(-2000)}`);
      const r = JSON.parse(line.slice(7));
      expect(r.autoKind).toBe('wasm');
      expect(r.note).toMatch(/device 'auto' runs on wasm: WebGPU unavailable: requestAdapter\(\) returned null/);
      expect(child.stderr).toMatch(/dsnot: device 'auto' runs on wasm/);
      expect(r.webgpu).toMatch(/^WebGpuUnavailableError: WebGPU unavailable: requestAdapter\(\) returned null/);
      expect(r.layerAutoDevice).toBe('wasm');
      expect(r.layerWebgpu).toMatch(/^WebGpuUnavailableError/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a GPUDevice of the caller', () => {
  it('is used as it is (its own limits: the default 128 MiB binding) and not destroyed by dispose()', async () => {
    const adapter = await requestAdapter();
    if (typeof adapter === 'string') throw new Error(adapter);
    const device = await adapter.requestDevice();
    const b = await createWebGpuBackend({ device });
    expect(b.device).toBe(device);
    const c = dsnotCase({ rows: 8, cols: 96, sparsity: 0.5, seed: 7 });
    const got = await runDsnot(b, c);
    const wasm = await runDsnot(await acquireBackend('wasm'), c);
    expect(got.mask).toEqual(wasm.mask);
    expect(got.cycles).toBe(wasm.cycles);
    b.dispose();
    // Still usable by its owner.
    const buf = device.createBuffer({ size: 16, usage: 1 | 8 /* MAP_READ | COPY_DST */ });
    await buf.mapAsync(1);
    expect(buf.getMappedRange().byteLength).toBe(16);
    device.destroy();
  });
});

describe('robustness', () => {
  it('a device lost during dsnot gives GpuDeviceLostError, not a hang', async () => {
    const b = await createWebGpuBackend();
    const c = dsnotCase({ rows: 64, cols: 512, sparsity: 0.5, seed: 5 });
    const running = runDsnot(b, c);
    b.device.destroy();
    await expect(running).rejects.toBeInstanceOf(GpuDeviceLostError);
    await expect(b.read(b.alloc('f32', 4))).rejects.toThrow(/WebGPU device lost before a readback/);
    expect(b.lostReason).toMatch(/destroyed/);
  });

  it('buffers are reused across calls of the same shape (no growth)', async () => {
    const b = await createWebGpuBackend();
    try {
      const c = dsnotCase({ rows: 8, cols: 96, sparsity: 0.5, seed: 6 });
      const stats = { scalerRow: c.columns.sqrtScaler.map((x) => x * x), sumMetricRow: c.columns.sum64, var: c.columns.varPow };
      const layer = { weight: c.w, rows: c.rows, cols: c.cols, stats, sparsity: 0.5, init: 'wanda' as const, dsnot: { guard: false }, backend: b };
      await pruneLayer(layer);
      const after1 = { ...b.footprint };
      await pruneLayer(layer);
      expect(b.footprint).toEqual(after1);
      expect(b.footprint.live).toBe(0);
      expect(b.footprint.pooled).toBeGreaterThan(0);
    } finally {
      b.dispose();
    }
  });
});
