// The wasm f32x4 register peak on this machine (as the workplace's peers/wasm_peak.mjs measures it): a
// hand-assembled loop over 12 independent accumulators, mul+add (or relaxed_madd where accepted).
// node --experimental-wasm-relaxed-simd --import tsx bench/peak.ts prints "PEAK <json>".
const NACC = 12;
const leb = (v: number) => { const o: number[] = []; do { let b = v & 0x7f; v >>>= 7; if (v) b |= 0x80; o.push(b); } while (v); return o; };
const f32 = (v: number) => Array.from(new Uint8Array(Float32Array.of(v).buffer));
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const SIMD = (op: number) => [0xfd, ...leb(op)];
const F32X4_SPLAT = 0x13, F32X4_EXTRACT = 0x1f, F32X4_ADD = 0xe4, F32X4_MUL = 0xe6, RELAXED_MADD = 0x105;

/** (func (export "peak") (param $n i32) (result f32)): n iterations of NACC multiply-adds on f32x4. */
function peakModule(fma: boolean): Uint8Array<ArrayBuffer> {
  const M = NACC + 1, C = NACC + 2, get = (i: number) => [0x20, i], set = (i: number) => [0x21, i];
  const splat = (v: number) => [0x43, ...f32(v), ...SIMD(F32X4_SPLAT)];
  const code: number[] = [...splat(0.999999), ...set(M), ...splat(0.000001), ...set(C)];
  for (let k = 1; k <= NACC; k++) code.push(...splat(1 + k * 0.01), ...set(k));
  code.push(0x03, 0x40); // loop
  for (let k = 1; k <= NACC; k++) {
    code.push(...(fma ? [...get(k), ...get(M), ...get(C), ...SIMD(RELAXED_MADD)] : [...get(k), ...get(M), ...SIMD(F32X4_MUL), ...get(C), ...SIMD(F32X4_ADD)]), ...set(k));
  }
  code.push(...get(0), 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b); // n -= 1; br_if loop; end
  code.push(...get(1));
  for (let k = 2; k <= NACC; k++) code.push(...get(k), ...SIMD(F32X4_ADD));
  code.push(...SIMD(F32X4_EXTRACT), 0, 0x0b);
  const body = [1, ...leb(NACC + 2), 0x7b, ...code];
  return Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]), ...section(3, [1, 0]),
    ...section(7, [1, 4, ...new TextEncoder().encode('peak'), 0, 0]), ...section(10, [1, ...leb(body.length), ...body])]);
}

/** GFLOP/s of one thread, the best of `reps` (a peak: other load only lowers it); undefined where the engine rejects the module. */
export function measurePeak(fma: boolean, iters = 50_000_000, reps = 5): number | undefined {
  const bytes = peakModule(fma);
  if (!WebAssembly.validate(bytes)) return undefined;
  const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.peak as (n: number) => number;
  peak(1_000_000);
  const gflops: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    peak(iters);
    gflops.push((iters * NACC * 8) / ((performance.now() - t) / 1000) / 1e9);
  }
  return Math.max(...gflops);
}

if (process.argv[1]?.endsWith('peak.ts')) {
  console.log('PEAK ' + JSON.stringify({ muladd: measurePeak(false), fma: measurePeak(true) }));
}
