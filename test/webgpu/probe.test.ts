// The child-process probe the CLI runs before it loads Dawn (src/backends/webgpu/probe.ts): it
// finds the adapter this machine has (SwiftShader in CI), holds what the native layer printed
// when there is none, and the gate it feeds keeps Dawn out of this process.
import { describe, expect, it } from 'vitest';
import { NO_ADAPTER, requestAdapter, setDawnGate } from '../../src/backends/webgpu/device.js';
import { probeDawn } from '../../src/backends/webgpu/probe.js';

async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

describe('probeDawn', () => {
  it('finds the adapter this machine has, with nothing from the native layer', async () => {
    const p = await probeDawn();
    expect(p.reason).toBeNull();
    expect(p.adapter?.name.length).toBeGreaterThan(0);
    expect(p.native).toBe('');
  });

  it.skipIf(process.platform !== 'linux')('without a Vulkan driver: no adapter, and the native lines kept for --verbose', async () => {
    const missing = '/nonexistent/no-such-driver.json';
    const p = await withEnv({ VK_ICD_FILENAMES: missing, VK_DRIVER_FILES: missing }, () => probeDawn());
    expect(p.adapter).toBeNull();
    expect(p.reason).toBe(NO_ADAPTER);
    expect(p.native).toMatch(/vkCreateInstance/);
  });
});

describe('the gate before Dawn is loaded', () => {
  it('answers requestAdapter() with its reason instead of loading Dawn', async () => {
    let asked = 0;
    setDawnGate(async () => {
      asked++;
      return 'no adapter (the gate said so)';
    });
    try {
      const [a, b] = await Promise.all([requestAdapter(), requestAdapter()]);
      expect(a).toBe('no adapter (the gate said so)');
      expect(b).toBe(a);
      expect(asked).toBe(1);
    } finally {
      setDawnGate(null);
    }
  });
});
