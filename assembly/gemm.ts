// GEMM of the forward pass: y[T, N] = x[T, K] · W[N, K]ᵀ (+ bias[N]), W in PyTorch nn.Linear
// layout. Both operands are contiguous along K, so the hot loop is a SIMD dot product: a 4×2
// register block (4 rows of x against 2 rows of W, 8 f32x4 accumulators) keeps every loaded
// vector used twice or four times. The K loop is cut into KC-wide slices and the W rows into
// NB-row panels so that a panel slice (NB·KC·4 = 64 KiB) stays in L2 while every row block of
// x streams past it. KC and NB were chosen by measurement (bench/forward.bench.mjs, T=256,
// K=N=4096): 4×4 blocks spill registers and are slower; the unblocked loop is ~35 % slower.
// x and y must not overlap.

const KC: i32 = 512;
const NB: i32 = 32;

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function addTo(p: usize, v: f32): void {
  store<f32>(p, load<f32>(p) + v);
}

// The hot loop: y[t0..t0+4, o0..o0+2] += x[t0..t0+4, k0..k0+kv] · W[o0..o0+2, k0..k0+kv]ᵀ, kv % 4 == 0.
// x, w, y point at the block's first element (row t0 / o0, column k0 for x and w).
@inline function block4x2(x: usize, w: usize, y: usize, rowBytes: usize, yRowBytes: usize, kv: i32): void {
  let x0 = x;
  let w0 = w;
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  const end = x0 + (<usize>kv << 2);
  while (x0 < end) {
    const b0 = v128.load(w0);
    const b1 = v128.load(w0 + rowBytes);
    let a = v128.load(x0);
    a00 = f32x4.add(a00, f32x4.mul(a, b0));
    a01 = f32x4.add(a01, f32x4.mul(a, b1));
    a = v128.load(x0 + rowBytes);
    a10 = f32x4.add(a10, f32x4.mul(a, b0));
    a11 = f32x4.add(a11, f32x4.mul(a, b1));
    a = v128.load(x0 + 2 * rowBytes);
    a20 = f32x4.add(a20, f32x4.mul(a, b0));
    a21 = f32x4.add(a21, f32x4.mul(a, b1));
    a = v128.load(x0 + 3 * rowBytes);
    a30 = f32x4.add(a30, f32x4.mul(a, b0));
    a31 = f32x4.add(a31, f32x4.mul(a, b1));
    x0 += 16;
    w0 += 16;
  }
  addTo(y, hsum(a00));
  addTo(y + 4, hsum(a01));
  y += yRowBytes;
  addTo(y, hsum(a10));
  addTo(y + 4, hsum(a11));
  y += yRowBytes;
  addTo(y, hsum(a20));
  addTo(y + 4, hsum(a21));
  y += yRowBytes;
  addTo(y, hsum(a30));
  addTo(y + 4, hsum(a31));
}

// Edge blocks (fewer than 4 rows of x or an odd last row of W): one dot product, kv % 4 == 0.
@inline function dot(x: usize, w: usize, kv: i32): f32 {
  let acc = f32x4.splat(0);
  const end = x + (<usize>kv << 2);
  while (x < end) {
    acc = f32x4.add(acc, f32x4.mul(v128.load(x), v128.load(w)));
    x += 16;
    w += 16;
  }
  return hsum(acc);
}

/** y[T, N] = x[T, K] · w[N, K]ᵀ + bias[N]; bias = 0 means none. Pointers are byte offsets. */
export function gemm(x: usize, w: usize, bias: usize, y: usize, T: i32, K: i32, N: i32): void {
  gemmColumns(x, w, bias, y, T, K, N, 0, N);
}

/**
 * Output columns [o0, o1) of gemm: y[:, o0..o1]. The threads' unit of work (src/backends/wasm/
 * threads.ts): every y[t, o] gets the same sums in the same order whatever the column range, so
 * any split of the columns gives the single-call result bit for bit.
 */
export function gemmColumns(x: usize, w: usize, bias: usize, y: usize, T: i32, K: i32, N: i32, o0: i32, o1: i32): void {
  const rowBytes = <usize>K << 2;
  const yRowBytes = <usize>N << 2;
  const spanBytes = <usize>(o1 - o0) << 2;
  for (let t = 0; t < T; t++) {
    const yr = y + <usize>t * yRowBytes + (<usize>o0 << 2);
    if (bias != 0) memory.copy(yr, bias + (<usize>o0 << 2), spanBytes);
    else memory.fill(yr, 0, spanBytes);
  }
  const K4 = K & ~3;
  for (let k0 = 0; k0 < K4; k0 += KC) gemmSlice(x, w, y, T, K, N, o0, o1, k0, min(KC, K4 - k0));
  // K % 4 trailing columns (e.g. K = 1026): scalar, O(T·N·3).
  if (K4 < K) {
    for (let t = 0; t < T; t++) {
      for (let o = o0; o < o1; o++) {
        let s: f32 = 0;
        for (let k = K4; k < K; k++) {
          s += load<f32>(x + <usize>t * rowBytes + (<usize>k << 2)) * load<f32>(w + <usize>o * rowBytes + (<usize>k << 2));
        }
        addTo(y + <usize>t * yRowBytes + (<usize>o << 2), s);
      }
    }
  }
}

// One KC-wide slice k0..k0+kv of the K loop for output columns [o0, o1), in NB-row panels of W.
@inline function gemmSlice(x: usize, w: usize, y: usize, T: i32, K: i32, N: i32, o0: i32, o1: i32, k0: i32, kv: i32): void {
  const rowBytes = <usize>K << 2;
  const yRowBytes = <usize>N << 2;
  const kOff = <usize>k0 << 2;
  const T4 = T & ~3;
  for (let ob = o0; ob < o1; ob += NB) {
    const oe = min(ob + NB, o1);
    const oe2 = ob + ((oe - ob) & ~1);
    for (let t = 0; t < T4; t += 4) {
      const xt = x + <usize>t * rowBytes + kOff;
      const yt = y + <usize>t * yRowBytes;
      for (let o = ob; o < oe2; o += 2) {
        block4x2(xt, w + <usize>o * rowBytes + kOff, yt + (<usize>o << 2), rowBytes, yRowBytes, kv);
      }
    }
    // The odd last row of W against the full row blocks, then the last T % 4 rows of x.
    for (let o = oe2; o < oe; o++) {
      for (let t = 0; t < T4; t++) {
        addTo(y + <usize>t * yRowBytes + (<usize>o << 2), dot(x + <usize>t * rowBytes + kOff, w + <usize>o * rowBytes + kOff, kv));
      }
    }
    for (let t = T4; t < T; t++) {
      for (let o = ob; o < oe; o++) {
        addTo(y + <usize>t * yRowBytes + (<usize>o << 2), dot(x + <usize>t * rowBytes + kOff, w + <usize>o * rowBytes + kOff, kv));
      }
    }
  }
}
