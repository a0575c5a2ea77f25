// Renders progress callbacks on stderr: one redrawn line on a terminal, a line every few
// seconds otherwise (logs, CI), so long work is never silent.

export interface ProgressLine {
  update(done: number, total: number, detail: string): void;
  finish(detail?: string): void;
}

export function progressLine(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  const start = performance.now();
  let lastPrint = 0;
  const tty = stream.isTTY === true;
  const render = (done: number, total: number, detail: string) => {
    const frac = total > 0 ? done / total : 0;
    const elapsed = (performance.now() - start) / 1000;
    const eta = frac > 0 ? elapsed * (1 / frac - 1) : Number.NaN;
    const width = 24;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '·');
    return `${label} ${bar} ${done}/${total} ${detail} | ${fmt(elapsed)} elapsed, ETA ${fmt(eta)}`;
  };
  return {
    update(done, total, detail) {
      const now = performance.now();
      if (tty) {
        if (now - lastPrint < 100 && done < total) return;
        stream.write(`\r\x1b[2K${render(done, total, detail)}`);
      } else {
        if (now - lastPrint < 5000 && done < total) return;
        stream.write(`${render(done, total, detail)}\n`);
      }
      lastPrint = now;
    },
    finish(detail) {
      if (tty) stream.write('\n');
      if (detail) stream.write(`${detail}\n`);
    },
  };
}

function fmt(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
