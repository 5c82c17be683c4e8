// The llama2.c tokenizer (`tokenizer.bin`, `tok512.bin`): encode and decode exactly as run.c
// does. File: int32 max_token_length, then per id: float32 score, int32 length, the bytes.
//
// run.c's encoder merges, over and over, the adjacent pair whose concatenation is a vocab entry
// with the highest score (the leftmost on ties), rescanning the sequence each time: quadratic.
// Here the same greedy order comes from a heap keyed (score desc, position asc) over a linked
// list, so the 800 KB TinyStories text encodes in well under a second with identical ids.
import { TokenizerError } from './errors.js';

export const BOS_ID = 1;
export const EOS_ID = 2;

export interface EncodeOptions {
  /** Prepend BOS (id 1). Default true. */
  bos?: boolean;
  /** Append EOS (id 2). Default false. */
  eos?: boolean;
}

export class Llama2cTokenizer {
  readonly vocabSize: number;
  readonly maxTokenLength: number;
  readonly bosId = BOS_ID;
  readonly eosId = EOS_ID;
  private readonly pieces: Uint8Array[];
  private readonly scores: Float32Array;
  /** Piece bytes (as a latin1 string, one char per byte) → lowest id with those bytes. */
  private readonly ids = new Map<string, number>();
  private readonly pairs = new Map<number, number>();

  constructor(bytes: Uint8Array, vocabSize?: number) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 4) throw new TokenizerError(`tokenizer file of ${bytes.length} bytes has no header`);
    this.maxTokenLength = view.getInt32(0, true);
    if (this.maxTokenLength <= 0) throw new TokenizerError(`tokenizer max_token_length ${this.maxTokenLength} must be positive`);
    const pieces: Uint8Array[] = [];
    const scores: number[] = [];
    let at = 4;
    while (at < bytes.length && (vocabSize === undefined || pieces.length < vocabSize)) {
      if (at + 8 > bytes.length) throw new TokenizerError(`tokenizer file ends inside the entry of id ${pieces.length}`);
      const score = view.getFloat32(at, true);
      const len = view.getInt32(at + 4, true);
      at += 8;
      if (len < 0 || at + len > bytes.length) {
        throw new TokenizerError(`tokenizer entry of id ${pieces.length} claims ${len} bytes, beyond the end of the file`);
      }
      pieces.push(bytes.slice(at, at + len));
      scores.push(score);
      at += len;
    }
    if (vocabSize !== undefined && pieces.length !== vocabSize) {
      throw new TokenizerError(`tokenizer holds ${pieces.length} tokens but the model's vocab_size is ${vocabSize}`);
    }
    if (pieces.length <= 258) throw new TokenizerError(`tokenizer holds only ${pieces.length} tokens (ids 3..258 must be the byte tokens)`);
    this.vocabSize = pieces.length;
    this.pieces = pieces;
    this.scores = Float32Array.from(scores);
    for (let id = pieces.length - 1; id >= 0; id--) this.ids.set(latin1(pieces[id]), id);
  }

  /** The bytes of one token's piece, as stored. */
  piece(id: number): Uint8Array {
    this.check(id);
    return this.pieces[id];
  }

  /** run.c's encode(): BOS, the dummy-prefix " " token, code points (byte fallback), score-greedy merges. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const bytes = new TextEncoder().encode(text);
    // As run.c: BOS takes part in the merge scan (no vocab entry starts with it in practice).
    const tokens = this.codePointTokens(bytes, options.bos ?? true);
    const out = this.merge(tokens);
    if (options.eos ?? false) out.push(EOS_ID);
    return out;
  }

  /** run.c's decode() over a sequence: the leading space after BOS is dropped, <0xXX> pieces are bytes. */
  decode(ids: ArrayLike<number>): string {
    const chunks: Uint8Array[] = [];
    let prev = -1;
    for (let i = 0; i < ids.length; i++) {
      chunks.push(this.decodePiece(prev, ids[i]));
      prev = ids[i];
    }
    let total = 0;
    for (const c of chunks) total += c.length;
    const all = new Uint8Array(total);
    total = 0;
    for (const c of chunks) {
      all.set(c, total);
      total += c.length;
    }
    return new TextDecoder().decode(all);
  }

  /** The bytes run.c prints for `token` following `prev`. */
  decodePiece(prev: number, token: number): Uint8Array {
    let piece = this.piece(token);
    if (prev === BOS_ID && piece[0] === 0x20) piece = piece.subarray(1);
    const m = /^<0x([0-9A-Fa-f]{2})>/.exec(latin1(piece));
    return m ? Uint8Array.of(parseInt(m[1], 16)) : piece;
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new TokenizerError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
  }

  /** The dummy prefix, then one token per UTF-8 code point as run.c groups bytes (byte+3 fallback). */
  private codePointTokens(bytes: Uint8Array, bos: boolean): number[] {
    const tokens: number[] = bos ? [BOS_ID] : [];
    if (bytes.length === 0) return tokens;
    const space = this.ids.get(' ');
    if (space === undefined) throw new TokenizerError('tokenizer has no " " token for the dummy prefix');
    tokens.push(space);
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      // run.c: a byte that is not a continuation byte starts a new code point; keep appending
      // while the next byte is a continuation byte and fewer than 4 bytes are buffered.
      if ((bytes[i] & 0xc0) !== 0x80) start = i;
      if (i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80 && i + 1 - start < 4) continue;
      const id = this.ids.get(latin1(bytes.subarray(start, i + 1)));
      if (id !== undefined) tokens.push(id);
      else for (let j = start; j <= i; j++) tokens.push(bytes[j] + 3);
      start = i + 1;
    }
    return tokens;
  }

  /** The token whose piece is the two pieces concatenated, or -1 (memoised per pair of ids). */
  private mergeOf(a: number, b: number): number {
    const key = a * this.vocabSize + b;
    let m = this.pairs.get(key);
    if (m === undefined) {
      m = this.ids.get(latin1(this.pieces[a]) + latin1(this.pieces[b])) ?? -1;
      this.pairs.set(key, m);
    }
    return m;
  }

  private merge(tokens: number[]): number[] {
    const n = tokens.length;
    const id = Int32Array.from(tokens);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const alive = new Uint8Array(n).fill(1);
    const heap = new PairHeap();
    const consider = (left: number): void => {
      const right = next[left];
      if (right < 0) return;
      const merged = this.mergeOf(id[left], id[right]);
      if (merged >= 0) heap.push(this.scores[merged], left, right, id[left], id[right], merged);
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    while (heap.size > 0) {
      const { left, right, leftId, rightId, merged } = heap.pop();
      // Stale entries: a side was merged away, changed token, or the two no longer sit side by side.
      if (!alive[left] || !alive[right] || next[left] !== right || id[left] !== leftId || id[right] !== rightId) continue;
      id[left] = merged;
      alive[right] = 0;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      if (prev[left] >= 0) consider(prev[left]);
      consider(left);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]) out.push(id[i]);
    return out;
  }
}

/** Bytes as a string with one char per byte: a cheap, exact Map key. */
function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/**
 * Max-heap of candidate merges: highest score first, then the leftmost position. Positions
 * never reorder in the linked list (a merge keeps its left index), so the left index is the
 * sequence order run.c's left-to-right scan uses to break ties.
 */
class PairHeap {
  private score: number[] = [];
  private left: number[] = [];
  private right: number[] = [];
  private leftId: number[] = [];
  private rightId: number[] = [];
  private merged: number[] = [];
  size = 0;

  push(score: number, left: number, right: number, leftId: number, rightId: number, merged: number): void {
    let i = this.size++;
    this.score[i] = score;
    this.left[i] = left;
    this.right[i] = right;
    this.leftId[i] = leftId;
    this.rightId[i] = rightId;
    this.merged[i] = merged;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { left: number; right: number; leftId: number; rightId: number; merged: number } {
    const top = { left: this.left[0], right: this.right[0], leftId: this.leftId[0], rightId: this.rightId[0], merged: this.merged[0] };
    const last = --this.size;
    this.swap(0, last);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < last && this.before(l, best)) best = l;
      if (r < last && this.before(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top;
  }

  private before(a: number, b: number): boolean {
    return this.score[a] > this.score[b] || (this.score[a] === this.score[b] && this.left[a] < this.left[b]);
  }

  private swap(a: number, b: number): void {
    [this.score[a], this.score[b]] = [this.score[b], this.score[a]];
    [this.left[a], this.left[b]] = [this.left[b], this.left[a]];
    [this.right[a], this.right[b]] = [this.right[b], this.right[a]];
    [this.leftId[a], this.leftId[b]] = [this.leftId[b], this.leftId[a]];
    [this.rightId[a], this.rightId[b]] = [this.rightId[b], this.rightId[a]];
    [this.merged[a], this.merged[b]] = [this.merged[b], this.merged[a]];
  }
}
