import { describe, expect, it } from 'vitest';
import { PythonRandom } from '../../src/calib/python-random.js';

// Reference values printed by CPython 3.11:
//   random.seed(s); [getrandbits(32) ×3], [randint(0, 1999) ×5], [randint(0, 10**6) ×3], getrandbits(50), randint(0, 7)
const CPYTHON: Array<[number | bigint, number[], number[], number[], number, number]> = [
  [0, [3626764237, 1654615998, 3255389356], [1823, 861, 82, 530, 1977], [536110, 509532, 424604], 882482284160947, 4],
  [1, [577090037, 2444712010, 3639700191], [1643, 1564, 129, 522, 241], [519501, 797926, 471325], 733629687074913, 6],
  [42, [2746317213, 478163327, 107420369], [1518, 563, 501, 457, 285], [772246, 107473, 709570], 1004505837364915, 1],
  [2n ** 40n + 5n, [2166296868, 2220160828, 1153647273], [1359, 1896, 56, 1087, 1553], [857697, 874792, 824844], 1023125446085720, 0],
];

describe('PythonRandom', () => {
  it.each(CPYTHON)('matches CPython for seed %s', (seed, bits, small, large, bits50, last) => {
    const r = new PythonRandom(seed);
    expect([r.getrandbits(32), r.getrandbits(32), r.getrandbits(32)]).toEqual(bits);
    expect(Array.from({ length: 5 }, () => r.randint(0, 1999))).toEqual(small);
    expect(Array.from({ length: 3 }, () => r.randint(0, 10 ** 6))).toEqual(large);
    expect(r.getrandbits(50)).toBe(bits50);
    expect(r.randint(0, 7)).toBe(last);
  });

  it('rejects empty ranges', () => {
    expect(() => new PythonRandom(0).randint(5, 4)).toThrow(/empty range/);
  });
});
