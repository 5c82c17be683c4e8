// The safetensors writer: byte-identical round trips, the input's layout, and nothing under a
// final name unless the whole file was written.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Llama2cReader } from '../../src/io/llama2c.js';
import { copySideFiles, llamaConfigJson, openModel } from '../../src/io/model.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { planFromReader, SafetensorsWriter } from '../../src/io/safetensors-writer.js';
import { BlobSink, openSink, type Sink, type SinkFile } from '../../src/io/sink.js';
import { MemorySource, openSource } from '../../src/io/source.js';
import { WriterError } from '../../src/io/errors.js';
import { modelSpecFromConfig } from '../../src/models/config.js';
import { tempDir as makeTempDir } from '../support/temp-dir.js';
import { shuffled, syntheticModel } from './helpers.js';

const tempDir = () => makeTempDir('dsnot-io-');

async function sinkAsSource(sink: BlobSink): Promise<MemorySource> {
  return new MemorySource(new Map(await Promise.all([...sink.files.keys()].map(async (f) => [f, await sink.bytes(f)] as const))));
}

/** Read every tensor as float32 and write it back, in a shuffled order (positional writes). */
async function rewrite(reader: SafetensorsReader | Llama2cReader, sink: Sink, seed: number): Promise<void> {
  const writer = new SafetensorsWriter(sink, planFromReader(reader));
  for (const t of shuffled(reader.tensors, seed)) await writer.writeFloat32(t.name, await reader.readFloat32(t.name));
  await writer.finish();
}

describe('safetensors writer round trips', () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    for (const shards of [1, 3]) {
      it(`${dtype}, ${shards === 1 ? 'single file' : `${shards} shards`}: write(read(x)) is byte-identical, files and index`, async () => {
        const files = syntheticModel(dtype, shards, shards * 10 + dtype.length);
        const reader = await SafetensorsReader.open(new MemorySource(files));
        expect(reader.tensors.length).toBe(30);
        const sink = new BlobSink();
        await rewrite(reader, sink, 3);
        const weightFiles = [...files.keys()].filter((f) => f !== 'config.json').sort();
        expect([...sink.files.keys()].sort()).toEqual(weightFiles);
        for (const f of weightFiles) expect(Buffer.from(await sink.bytes(f)).equals(Buffer.from(files.get(f)!)), f).toBe(true);
      });
    }
  }

  it('to disk through a path sink: the HF fixture rewritten is identical, side files copied', async () => {
    const out = tempDir();
    const model = await openModel('test/fixtures/stories260K-hf');
    const sink = await openSink(out);
    await rewrite(model.reader as SafetensorsReader, sink, 5);
    await copySideFiles(model.source, sink, model.sideFiles);
    await model.close();
    expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.model', 'tokenizer_config.json']);
    for (const f of readdirSync(out)) {
      expect(readFileSync(join(out, f)).equals(readFileSync(join('test/fixtures/stories260K-hf', f))), f).toBe(true);
    }
  });

  it('a llama2.c checkpoint written as safetensors is the HF conversion, byte for byte', async () => {
    for (const file of ['stories260K.bin', 'stories260K_v1.bin']) {
      const reader = await Llama2cReader.open(await openSource('test/fixtures/stories260K'), file);
      const sink = new BlobSink();
      await rewrite(reader, sink, 9);
      const expected = readFileSync('test/fixtures/stories260K-hf/model.safetensors');
      expect(Buffer.from(await sink.bytes('model.safetensors')).equals(expected), file).toBe(true);
      // And its config.json equals the fixture's (as parsed: key order is not meaningful).
      const config = JSON.parse(readFileSync('test/fixtures/stories260K-hf/config.json', 'utf8'));
      expect(llamaConfigJson(reader.spec)).toEqual(config);
      expect(modelSpecFromConfig(llamaConfigJson(reader.spec))).toEqual({ ...reader.spec, modelType: 'llama' });
      await reader.close();
    }
  });

  it('converts F32 → F16 and BF16 when asked, keeping names and shard layout', async () => {
    const files = syntheticModel('F32', 2, 4);
    const reader = await SafetensorsReader.open(new MemorySource(files));
    for (const floatDtype of ['F16', 'BF16'] as const) {
      const sink = new BlobSink();
      const writer = new SafetensorsWriter(sink, planFromReader(reader, { floatDtype }));
      for (const t of reader.tensors) await writer.writeFloat32(t.name, await reader.readFloat32(t.name));
      await writer.finish();
      const out = await SafetensorsReader.open(await sinkAsSource(sink));
      expect(out.layout.shards.map((s) => s.file)).toEqual(reader.layout.shards.map((s) => s.file));
      for (const t of reader.tensors) {
        expect(out.info(t.name)!.dtype).toBe(floatDtype);
        const a = await reader.readFloat32(t.name);
        const b = await out.readFloat32(t.name);
        for (let i = 0; i < a.length; i++) {
          if (Number.isNaN(a[i])) expect(Number.isNaN(b[i])).toBe(true);
          else if (!Number.isFinite(a[i]) || Math.abs(a[i]) > 60000) continue;
          else expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(Math.abs(a[i]) * (floatDtype === 'F16' ? 2 ** -11 : 2 ** -8) + 2 ** -24);
        }
      }
      const index = JSON.parse(new TextDecoder().decode(await sink.bytes('model.safetensors.index.json')));
      const totalF32 = reader.tensors.reduce((a, t) => a + t.byteLength, 0);
      expect(index.metadata.total_size).toBe(totalF32 / 2);
    }
  });
});

/** A sink around a path sink that fails on the n-th write (a full disk, a killed tab). */
function failingSink(inner: Sink, failAt: number): Sink {
  let writes = 0;
  return {
    location: inner.location,
    async create(name, size): Promise<SinkFile> {
      const f = await inner.create(name, size);
      return {
        write: async (b, p) => {
          if (++writes === failAt) throw new Error('ENOSPC: no space left on device (simulated)');
          return f.write(b, p);
        },
        commit: () => f.commit(),
        abort: () => f.abort(),
      };
    },
  };
}

describe('the writer never leaves a half file under a final name', () => {
  const files = syntheticModel('F16', 3, 11);

  it('abandoned half way (the process dies): only hidden partial files exist', async () => {
    const out = tempDir();
    const reader = await SafetensorsReader.open(new MemorySource(files));
    const writer = new SafetensorsWriter(await openSink(out), planFromReader(reader));
    for (const t of reader.tensors.slice(0, 20)) await writer.writeFloat32(t.name, await reader.readFloat32(t.name));
    const names = readdirSync(out);
    expect(names.length).toBe(2); // the first 20 tensors live in the first two shards
    expect(names.every((n) => n.startsWith('.') && n.endsWith('.partial'))).toBe(true);
    await writer.abort();
    expect(readdirSync(out)).toEqual([]);
  });

  it('a failing write, then abort: nothing new, and an existing file keeps its old contents', async () => {
    const out = tempDir();
    const old = 'previous model, must survive';
    writeFileSync(join(out, 'model-00002-of-00003.safetensors'), old);
    const reader = await SafetensorsReader.open(new MemorySource(files));
    const writer = new SafetensorsWriter(failingSink(await openSink(out), 12), planFromReader(reader));
    await expect((async () => {
      for (const t of reader.tensors) await writer.writeFloat32(t.name, await reader.readFloat32(t.name));
    })()).rejects.toThrow(/ENOSPC/);
    await writer.abort();
    expect(readdirSync(out), readdirSync(out).join()).toEqual(['model-00002-of-00003.safetensors']);
    expect(readFileSync(join(out, 'model-00002-of-00003.safetensors'), 'utf8')).toBe(old);
  });

  it('finish() with a tensor missing commits nothing and says which', async () => {
    const out = tempDir();
    const reader = await SafetensorsReader.open(new MemorySource(files));
    const writer = new SafetensorsWriter(await openSink(out), planFromReader(reader));
    for (const t of reader.tensors.slice(1)) await writer.writeFloat32(t.name, await reader.readFloat32(t.name));
    await expect(writer.finish()).rejects.toThrow(new RegExp(`never written.*${reader.tensors[0].name.replaceAll('.', '\\.')}`));
    await writer.abort();
    expect(readdirSync(out)).toEqual([]);
  });

  it('an AbortSignal stops the writes; abort() cleans up', async () => {
    const out = tempDir();
    const reader = await SafetensorsReader.open(new MemorySource(files));
    const writer = new SafetensorsWriter(await openSink(out), planFromReader(reader));
    const ac = new AbortController();
    const t0 = reader.tensors[0];
    await writer.writeFloat32(t0.name, await reader.readFloat32(t0.name), { signal: ac.signal });
    ac.abort();
    const t1 = reader.tensors[1];
    await expect(writer.writeFloat32(t1.name, await reader.readFloat32(t1.name), { signal: ac.signal })).rejects.toThrow();
    await writer.abort();
    expect(readdirSync(out)).toEqual([]);
  });

  it('rejects wrong sizes, unknown names and double writes with a WriterError', async () => {
    const reader = await SafetensorsReader.open(new MemorySource(files));
    const writer = new SafetensorsWriter(new BlobSink(), planFromReader(reader));
    const t = reader.tensors[0];
    await expect(writer.writeFloat32(t.name, new Float32Array(3))).rejects.toThrow(WriterError);
    await expect(writer.writeBytes('no.such.tensor', new Uint8Array(4))).rejects.toThrow(/not in the write plan/);
    await writer.writeFloat32(t.name, await reader.readFloat32(t.name));
    await expect(writer.writeFloat32(t.name, await reader.readFloat32(t.name))).rejects.toThrow(/already written/);
    await writer.abort();
  });
});
