// Comparisons that say where two results part.
import { expect } from 'vitest';

/** Masks equal bit for bit; on failure, the first differing (row, column) and the counts. */
export function expectSameMask(actual: Uint8Array, expected: Uint8Array, cols: number): void {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let first = -1;
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      diff++;
      if (first < 0) first = i;
    }
  }
  if (diff > 0) {
    const r = Math.floor(first / cols);
    throw new Error(`masks differ in ${diff} places; first at row ${r}, column ${first % cols}: ${actual[first]} vs expected ${expected[first]}`);
  }
}

/** |actual − expected| ≤ max(abs, rel·|expected|) everywhere. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs = 0): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = Math.max(abs, rel * Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`element ${i}: ${actual[i]} vs expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}
