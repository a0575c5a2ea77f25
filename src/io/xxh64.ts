// XXH64 (seed 0), the shards' checksum: it detects damage as well as a cryptographic hash would
// (64 bits; nobody forges a shard) at ~6 GB/s here against sha256's 1.6 GB/s, which matters when
// a capture writes and every reader verifies ~5 KB per token. The hex digest is the canonical
// big-endian form that `xxhsum -H64` prints, so a shard can be checked outside hcprobe too.
import xxhash from 'xxhash-wasm';

const api = await xxhash();

/** A running XXH64 of bytes fed in order. */
export interface Xxh64 {
  update(bytes: Uint8Array): void;
  /** The digest as 16 lowercase hex digits; the hash takes no more bytes after. */
  hex(): string;
}

export function xxh64(): Xxh64 {
  const h = api.create64(0n);
  let done = false;
  return {
    update(bytes) {
      if (done) throw new Error('xxh64: update after hex()');
      if (bytes.byteLength > 0) h.update(bytes);
    },
    hex() {
      done = true;
      return h.digest().toString(16).padStart(16, '0');
    },
  };
}

/** XXH64 of one buffer, as hex. */
export function xxh64Hex(bytes: Uint8Array): string {
  return api.h64Raw(bytes, 0n).toString(16).padStart(16, '0');
}
