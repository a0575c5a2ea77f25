// The extent of a buffer binding, and the check every kernel's recorder makes before it records:
// each named binding is present and holds at least the floats the kernel will touch.

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
