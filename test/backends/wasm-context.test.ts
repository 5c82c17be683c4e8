import { describe, expect, it } from 'vitest';
import { WasmContext } from '../../src/backends/wasm/context.js';

describe('wasm context', () => {
  it('round-trips tensors of every dtype through linear memory', async () => {
    const ctx = await WasmContext.create();
    const f = Float32Array.from({ length: 1000 }, () => Math.random() - 0.5);
    const u = Uint8Array.from({ length: 333 }, (_, i) => (i * 7) & 255);
    const n = Int32Array.from({ length: 77 }, (_, i) => i * -3);
    const tf = ctx.upload('f32', f);
    const tu = ctx.upload('u8', u);
    const tn = ctx.upload('i32', n);
    expect(await ctx.read(tf)).toEqual(f);
    expect(await ctx.read(tu)).toEqual(u);
    expect(await ctx.read(tn)).toEqual(n);
    expect(tf.ptr % 64).toBe(0);
    expect(tu.ptr % 64).toBe(0);
  });

  it('reuses freed blocks and merges neighbours instead of growing', async () => {
    const ctx = await WasmContext.create();
    const a = ctx.alloc('f32', 1 << 16);
    const b = ctx.alloc('f32', 1 << 16);
    const c = ctx.alloc('f32', 1 << 16);
    const guard = ctx.alloc('u8', 1);
    ctx.release(a);
    ctx.release(b);
    // a and b merged: a tensor of both their sizes fits where a was.
    const ab = ctx.alloc('f32', 1 << 17);
    expect(ab.ptr).toBe(a.ptr);
    const before = ctx.footprint;
    ctx.release(c);
    const again = ctx.alloc('f32', 1 << 16);
    expect(again.ptr).toBe(c.ptr);
    expect(ctx.footprint).toBe(before);
    ctx.release(guard);
  });

  it('grows memory for large tensors and keeps earlier contents', async () => {
    const ctx = await WasmContext.create();
    const small = ctx.upload('f32', Float32Array.of(1.5, -2.5, 3.25));
    const big = ctx.alloc('f32', 8 << 20);
    ctx.f32(big).fill(7);
    expect(await ctx.read(small)).toEqual(Float32Array.of(1.5, -2.5, 3.25));
    expect(ctx.footprint).toBeGreaterThanOrEqual(32 << 20);
  });
});
