// Path, Blob and directory-handle sources and sinks, and how openModel finds a model in them.
import { readFileSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, Llama2cError, ModelIOError, SourceError } from '../../src/io/errors.js';
import { loadLlama2cTokenizer, openModel } from '../../src/io/model.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { planFromReader, SafetensorsWriter } from '../../src/io/safetensors-writer.js';
import { openSink } from '../../src/io/sink.js';
import { MemorySource, openSource } from '../../src/io/source.js';
import { tempDir as makeTempDir } from '../support/temp-dir.js';
import { syntheticModel } from './helpers.js';

const tempDir = () => makeTempDir('dsnot-src-');

/** A minimal in-memory FileSystemDirectoryHandle (the parts the source and sink use). */
class FakeDir {
  readonly kind = 'directory';
  readonly files = new Map<string, Uint8Array>();
  constructor(readonly name: string, private readonly withMove: boolean) {}
  async getFileHandle(name: string, opts?: { create?: boolean }): Promise<unknown> {
    if (!this.files.has(name)) {
      if (!opts?.create) throw Object.assign(new Error(`${name} not found`), { name: 'NotFoundError' });
      this.files.set(name, new Uint8Array());
    }
    let current = name;
    const dir = this;
    const handle: Record<string, unknown> = {
      kind: 'file',
      get name() { return current; },
      getFile: async () => new File([dir.files.get(current)! as BlobPart], current),
      createWritable: async () => {
        let swap = new Uint8Array(0);
        return {
          write: async ({ position, data }: { position: number; data: Uint8Array }) => {
            if (position + data.length > swap.length) {
              const grown = new Uint8Array(position + data.length);
              grown.set(swap);
              swap = grown;
            }
            swap.set(data, position);
          },
          close: async () => { dir.files.set(current, swap); },
          abort: async () => {},
        };
      },
    };
    if (this.withMove) {
      handle.move = async (to: string) => {
        dir.files.set(to, dir.files.get(current)!);
        dir.files.delete(current);
        current = to;
      };
    }
    return handle;
  }
  async removeEntry(name: string): Promise<void> {
    if (!this.files.delete(name)) throw Object.assign(new Error('gone'), { name: 'NotFoundError' });
  }
  async *values(): AsyncIterable<{ kind: string; name: string }> {
    for (const name of this.files.keys()) yield { kind: 'file', name };
  }
}

describe('path source', () => {
  it('a folder lists its files; a file path points at its entry and sees its siblings', async () => {
    const dir = await openSource('test/fixtures/stories260K');
    expect(dir.entry).toBeNull();
    expect(await dir.list()).toEqual(['REFERENCE.md', 'SOURCE.md', 'stories260K.bin', 'stories260K_v1.bin', 'tok512.bin']);
    const file = await openSource('test/fixtures/stories260K/tok512.bin');
    expect(file.entry).toBe('tok512.bin');
    expect(await file.read('tok512.bin', 0, 4)).toEqual(new Uint8Array(readFileSync('test/fixtures/stories260K/tok512.bin').subarray(0, 4)));
    expect(await file.size('stories260K.bin')).toBe(1_056_540);
    await dir.close();
    await file.close();
  });

  it('refuses names outside the folder, reads past the end, missing paths and use after close', async () => {
    const src = await openSource('test/fixtures/stories260K-hf');
    for (const bad of ['../stories260K/tok512.bin', '/etc/passwd', 'a/b', '..', '', 'x\\y']) {
      await expect(src.read(bad, 0, 1), bad).rejects.toThrow(/plain file name/);
    }
    await expect(src.read('config.json', 480, 10)).rejects.toThrow(/runs past the end of the 486-byte file/);
    await expect(src.read('config.json', -1, 1)).rejects.toThrow(/bad read range/);
    await expect(src.read('missing.json', 0, 1)).rejects.toThrow(/cannot open \(ENOENT\)/);
    expect(await src.size('missing.json')).toBeNull();
    await src.close();
    await expect(src.read('config.json', 0, 1)).rejects.toThrow(/closed/);
    await expect(openSource('/no/such/dir')).rejects.toThrow(SourceError);
    await expect(openSource(42 as never)).rejects.toThrow(/cannot open 42/);
  });

  it('honours an AbortSignal', async () => {
    const src = await openSource('test/fixtures/stories260K-hf');
    const ac = new AbortController();
    ac.abort();
    await expect(src.read('config.json', 0, 10, { signal: ac.signal })).rejects.toThrow(/abort/i);
    await src.close();
  });
});

describe('Blob and directory-handle sources', () => {
  it('a File of a llama2.c checkpoint opens as a model; a Blob of safetensors without config.json does not', async () => {
    const bin = readFileSync('test/fixtures/stories260K/stories260K.bin');
    const m = await openModel(new File([bin], 'stories260K.bin'));
    expect(m.format).toBe('llama2c');
    expect(m.spec.numLayers).toBe(5);
    const hf = readFileSync('test/fixtures/stories260K-hf/model.safetensors');
    await expect(openModel(new Blob([hf]))).rejects.toThrow(/no config.json beside model.safetensors/);
    const src = await openSource(new Blob([hf]));
    const r = await SafetensorsReader.open(src);
    expect(r.tensors.length).toBe(47);
    await expect(src.read('other', 0, 1)).rejects.toThrow(/single file/);
  });

  it('reads a folder through a FileSystemDirectoryHandle and writes one through the sink (with and without move())', async () => {
    for (const withMove of [true, false]) {
      const input = new FakeDir('in', withMove);
      for (const [name, bytes] of syntheticModel('BF16', 2, 5)) input.files.set(name, bytes);
      const model = await openModel(input as unknown as FileSystemDirectoryHandle);
      expect(model.format).toBe('safetensors');
      expect(model.sideFiles).toEqual(['config.json']);
      const output = new FakeDir('out', withMove);
      const writer = new SafetensorsWriter(await openSink(output as unknown as FileSystemDirectoryHandle), planFromReader(model.reader));
      for (const t of model.reader.tensors) await writer.writeBytes(t.name, await model.reader.readBytes(t.name));
      await writer.finish();
      for (const [name, bytes] of input.files) {
        if (name === 'config.json') continue;
        expect(output.files.get(name), `${name} move=${withMove}`).toEqual(bytes);
      }
      expect([...output.files.keys()].some((n) => n.includes('partial') || n.includes('probe'))).toBe(false);

      // Aborted half way: nothing under any final name.
      const aborted = new FakeDir('out2', withMove);
      const w2 = new SafetensorsWriter(await openSink(aborted as unknown as FileSystemDirectoryHandle), planFromReader(model.reader));
      await w2.writeBytes(model.reader.tensors[0].name, await model.reader.readBytes(model.reader.tensors[0].name));
      await w2.abort();
      expect([...aborted.files.keys()]).toEqual([]);
    }
  });
});

describe('openModel', () => {
  it('finds the model in a folder, or says what is wrong', async () => {
    const hf = await openModel('test/fixtures/stories260K-hf');
    expect([hf.format, hf.spec.modelType, hf.reader.tensors.length]).toEqual(['safetensors', 'llama', 47]);
    await hf.close();

    await expect(openModel('test/fixtures/stories260K')).rejects.toThrow(/several llama2.c checkpoints \(stories260K.bin, stories260K_v1.bin\)/);
    const one = await openModel('test/fixtures/stories260K/stories260K_v1.bin');
    expect(one.format).toBe('llama2c');
    expect(one.llama2cTokenizerFile).toBe('tok512.bin');
    const tok = await loadLlama2cTokenizer(one.source, one.llama2cTokenizerFile!, one.spec.vocabSize);
    expect(tok.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
    await one.close();

    await expect(openModel('test/fixtures/stories260K/tok512.bin')).rejects.toThrow(Llama2cError);
    await expect(openModel('test/fixtures/vectors')).rejects.toThrow(/no model found/);
    const d = tempDir();
    writeFileSync(join(d, 'pytorch_model.bin'), 'not a llama2.c file');
    await expect(openModel(d)).rejects.toThrow(/PyTorch pickle files are not read/);
    const e = tempDir();
    copyFileSync('test/fixtures/stories260K-hf/model.safetensors', join(e, 'model.safetensors'));
    await expect(openModel(e)).rejects.toThrow(ConfigError);
    writeFileSync(join(e, 'config.json'), '{"model_type": "bert"}');
    await expect(openModel(e)).rejects.toThrow(/unsupported model_type "bert"/);
    writeFileSync(join(e, 'config.json'), '{"model_type": ');
    await expect(openModel(e)).rejects.toThrow(ConfigError);
  });

  it('opens a sharded model on disk and a single shard by name', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'm'));
    for (const [name, bytes] of syntheticModel('F16', 3, 2)) writeFileSync(join(d, 'm', name), bytes);
    const m = await openModel(join(d, 'm'));
    expect(m.reader.layout.shards.map((s) => s.file)).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
    expect(m.spec.layers.length).toBe(3);
    await m.close();
    const shard = await openSource(join(d, 'm', 'model-00002-of-00003.safetensors'));
    const r = await SafetensorsReader.open(shard, { file: shard.entry! });
    expect(r.tensors.length).toBe(10);
    await r.close();
    await expect(openModel(new MemorySource(new Map()))).rejects.toThrow(ModelIOError);
  });
});
