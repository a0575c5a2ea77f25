// The extent of a buffer binding, the check every kernel's recorder makes before it records (each
// named binding is present and holds the floats the kernel touches), and the split of passes over
// whole arenas into bindings the device allows.

/** Bytes a binding covers: its size, or the rest of the buffer after its offset. */
export const bytesIn = (b: GPUBufferBinding): number => b.size ?? b.buffer.size - (b.offset ?? 0);

/** f32 elements a binding covers. */
export const floatsIn = (b: GPUBufferBinding): number => bytesIn(b) / 4;

/** Throws, naming the kernel and the binding, when one of `need` is missing or shorter than needed. */
export function checkBindings(label: string, given: Record<string, GPUBufferBinding | undefined>, need: Record<string, number>): void {
  for (const [name, n] of Object.entries(need)) {
    const b = given[name];
    if (!b) throw new Error(`${label}: binding ${name} is missing`);
    if (floatsIn(b) < n) throw new Error(`${label}: ${name} holds ${floatsIn(b)} floats, needs ${n}`);
  }
}

/**
 * Ranges of at most `maxBytes` (the device's maxStorageBufferBindingSize) covering `length` floats,
 * each starting at a multiple of 64 floats (256 bytes, the usual offset alignment): passes over
 * whole arenas bind one range at a time. One range when the arena fits in one binding.
 */
export function bindingRanges(length: number, maxBytes: number): { start: number; length: number }[] {
  const per = Math.floor(maxBytes / 256) * 64;
  if (per < 64) throw new Error(`a storage binding of ${maxBytes} bytes is too small to split arenas into`);
  const out: { start: number; length: number }[] = [];
  for (let start = 0; start < length; start += per) out.push({ start, length: Math.min(per, length - start) });
  return out;
}

/** A binding's floats [start, start + length). */
export const subBinding = (b: GPUBufferBinding, start: number, length: number): GPUBufferBinding => ({ buffer: b.buffer, offset: (b.offset ?? 0) + 4 * start, size: 4 * length });
