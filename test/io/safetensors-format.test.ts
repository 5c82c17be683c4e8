// The format itself: header layout byte for byte against files written by other tools, and the
// in-memory decode on every file the project carries.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeHeader } from '../../src/io/safetensors.js';

const HF_MODEL = 'test/fixtures/stories260K-hf/model.safetensors';

describe('safetensors format', () => {
  it('re-encodes the header of a file written by Python safetensors byte for byte', () => {
    const bytes = new Uint8Array(readFileSync(HF_MODEL));
    const { header } = decodeSafetensors(bytes);
    // Tensors come back in the order of their bytes; the metadata object has a null prototype.
    const again = encodeHeader(header.tensors, { ...header.metadata });
    expect(again.length).toBe(header.dataStart);
    expect(Buffer.from(again).equals(Buffer.from(bytes.subarray(0, header.dataStart)))).toBe(true);
    // The format's rules, checked directly: u64 LE length, '{' first, space padding to 8.
    const n = Number(new DataView(again.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(again[8]).toBe(0x7b);
    const text = new TextDecoder().decode(again.subarray(8));
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(text.slice(text.lastIndexOf('}') + 1))).toBe(true);
  });

  it('decodes every test vector under the strict checks (no holes, no overlaps)', () => {
    const dir = 'test/fixtures/vectors/';
    const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const bytes = new Uint8Array(readFileSync(dir + f));
      const { header } = decodeSafetensors(bytes);
      expect(header.tensors.length, f).toBeGreaterThan(0);
      // Tiling: each tensor starts where the previous one ended, the last ends at the file's end.
      let at = 0;
      for (const t of header.tensors) {
        expect(t.begin, `${f} ${t.name}`).toBe(at);
        at = t.end;
      }
      expect(header.dataStart + at).toBe(bytes.length);
      expect(typeof header.metadata.config).toBe('string');
    }
  });
});
