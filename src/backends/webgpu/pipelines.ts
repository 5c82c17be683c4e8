// Compute pipelines and dispatch, for every WGSL kernel family (pruning now, forward pass later).
//
// * Sources come from gpu/*.wgsl (embedded by scripts/build-assets.mjs). A line
//   `// #import name` pulls in gpu/name.wgsl once (shared helpers such as numerics).
// * Pipelines are cached by shader name + entry point + override constants.
// * A Batch records dispatches into one command encoder with their small uniform blocks and
//   submits them together; `grid` spreads large 1-D launches over two dimensions.
import { WGSL } from '../../generated/wgsl.js';
import { BUFFER_USAGE } from './store.js';

const extraSources = new Map<string, string>();

/** Add a WGSL source under a name (tests, or kernels that are generated). */
export function registerShader(name: string, source: string): void {
  extraSources.set(name, source);
}

function sourceOf(name: string): string {
  const src = extraSources.get(name) ?? WGSL[name];
  if (src === undefined) throw new Error(`no WGSL source named '${name}' (gpu/${name}.wgsl)`);
  return src;
}

/** The source with its `// #import` lines replaced by the imported files (each once, dependencies first). */
export function resolveImports(name: string): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  const visit = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    const src = sourceOf(n);
    for (const m of src.matchAll(/^\/\/ #import (\w+)\s*$/gm)) visit(m[1]);
    parts.push(`// ---- ${n} ----\n${src}`);
  };
  visit(name);
  return parts.join('\n');
}

export type Constants = Record<string, number>;
export type Bindings = Record<number, GPUBuffer | GPUBufferBinding>;

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

  module(name: string): GPUShaderModule {
    let m = this.modules.get(name);
    if (!m) {
      m = this.device.createShaderModule({ label: name, code: resolveImports(name) });
      this.modules.set(name, m);
    }
    return m;
  }

  get(shader: string, entryPoint: string, constants: Constants = {}): GPUComputePipeline {
    const key = `${shader}:${entryPoint}:${JSON.stringify(constants, Object.keys(constants).sort())}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.device.createComputePipeline({
        label: `${shader}.${entryPoint}`,
        layout: 'auto',
        compute: { module: this.module(shader), entryPoint, constants },
      });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Compiler messages of a shader (errors and warnings), for tests and debugging. */
  async messages(name: string): Promise<string[]> {
    const info = await this.module(name).getCompilationInfo();
    return info.messages.map((m) => `${name}:${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`);
  }
}

/** Workgroup counts for n workgroups: [x, y] with x ≤ the per-dimension limit. Kernels use wid.x + wid.y * nwg.x. */
export function grid(n: number, maxPerDim: number): [number, number] {
  if (n <= maxPerDim) return [Math.max(n, 1), 1];
  const y = Math.ceil(n / maxPerDim);
  if (y > maxPerDim) throw new RangeError(`a launch of ${n} workgroups exceeds the device's grid`);
  return [Math.ceil(n / y), y];
}

/** Dispatches recorded into one command encoder, submitted together. */
export class Batch {
  private readonly encoder: GPUCommandEncoder;
  private readonly temporaries: GPUBuffer[] = [];

  constructor(private readonly device: GPUDevice, private readonly cache: PipelineCache, label = 'dsnot') {
    this.encoder = device.createCommandEncoder({ label });
  }

  /** A small uniform block holding `words` (u32/i32/f32 bit patterns), freed after submit. */
  uniform(words: ArrayLike<number> | ArrayBuffer): GPUBuffer {
    const bytes = words instanceof ArrayBuffer ? new Uint8Array(words) : new Uint8Array(Uint32Array.from(words as ArrayLike<number>).buffer);
    const size = Math.max(16, Math.ceil(bytes.length / 16) * 16);
    const buf = this.device.createBuffer({ size, usage: BUFFER_USAGE.UNIFORM, mappedAtCreation: true });
    new Uint8Array(buf.getMappedRange()).set(bytes);
    buf.unmap();
    this.temporaries.push(buf);
    return buf;
  }

  dispatch(shader: string, entryPoint: string, bindings: Bindings, workgroups: [number, number?, number?], constants?: Constants): void {
    const pipeline = this.cache.get(shader, entryPoint, constants);
    const entries: GPUBindGroupEntry[] = Object.entries(bindings).map(([binding, res]) => ({
      binding: Number(binding),
      resource: 'buffer' in res ? res : { buffer: res },
    }));
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.encoder.beginComputePass({ label: `${shader}.${entryPoint}` });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1);
    pass.end();
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  submit(): void {
    this.device.queue.submit([this.encoder.finish()]);
    // Destroying a buffer that submitted work still uses is valid: it is freed once that work completes.
    for (const b of this.temporaries) b.destroy();
  }
}
