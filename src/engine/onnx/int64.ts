// protobufjs reads int64 either as long.js objects or as lossy doubles. ONNX models hold both
// everyday small integers (dims, axes) and INT64_MAX sentinels (Slice ends), so neither fits:
// objects everywhere make every shape computation awkward, doubles corrupt the sentinels and
// break the lossless round trip. We install a codec that yields a number when the value is
// exactly representable (|v| ≤ 2^53) and a bigint otherwise, and that writes both back exactly.
import * as protobuf from 'protobufjs';

type Bits = { lo: number; hi: number };

const TWO_32 = 4294967296;

function bitsToInt64(bits: Bits, unsigned: boolean): number | bigint {
  const lo = bits.lo >>> 0;
  const hi = bits.hi >>> 0;
  const negative = !unsigned && hi >>> 31 === 1;
  if (!negative) {
    if (hi < 0x200000 || (hi === 0x200000 && lo === 0)) return hi * TWO_32 + lo; // ≤ 2^53
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  const big = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  return big >= -(2n ** 53n) ? Number(big) : big;
}

function bigintToBits(value: bigint): Bits {
  const u = BigInt.asUintN(64, value);
  return { lo: Number(u & 0xffffffffn), hi: Number(u >> 32n) };
}

let installed = false;

export function installInt64Codec(): void {
  if (installed) return;
  installed = true;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- protobufjs types LongBits as a class we patch in place
  const util = protobuf.util as unknown as { Long: unknown; LongBits: any };
  // Without a Long class protobufjs reads int64 through LongBits.toNumber() and keeps field
  // defaults as plain 0, which is what we want; we only make toNumber exact.
  util.Long = null;
  const LongBits = util.LongBits;
  LongBits.prototype.toNumber = function (this: Bits, unsigned: boolean) {
    return bitsToInt64(this, unsigned);
  };
  const originalFrom = LongBits.from;
  LongBits.from = function (value: unknown) {
    if (typeof value === 'bigint') {
      const { lo, hi } = bigintToBits(value);
      return lo === 0 && hi === 0 ? originalFrom(0) : new LongBits(lo, hi);
    }
    if (typeof value === 'number' && !Number.isSafeInteger(value) && Number.isFinite(value)) {
      // A double above 2^53 is an exact integer too; go through bigint to keep every bit.
      return LongBits.from(BigInt(value));
    }
    return originalFrom(value);
  };
  protobuf.configure();
}

/** A dimension/attribute as a JS number; bigints (INT64 sentinels) are clamped to ±MAX_SAFE. */
export function int64ToNumber(v: number | bigint | undefined | null): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (v < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(v);
}
