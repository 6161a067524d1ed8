// Renders values logged by learner code for the console panel (runs in the runner's Worker).

export function describeError(e: Error): string {
  return `${e.name}: ${e.message}`;
}

/** A short, readable rendering of a value for the console panel. */
export function inspect(v: unknown, depth = 0, seen = new WeakSet<object>()): string {
  if (typeof v === 'string') return depth === 0 ? v : JSON.stringify(v);
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'function') return `[Function ${v.name || '(anonyme)'}]`;
    if (typeof v === 'bigint') return `${v}n`;
    return String(v);
  }
  if (seen.has(v)) return '[Circular]';
  seen.add(v);
  if (v instanceof Error) return describeError(v);
  if (v instanceof ArrayBuffer) return `ArrayBuffer(${v.byteLength}) [${hexPreview(new Uint8Array(v))}]`;
  if (ArrayBuffer.isView(v)) {
    // The server code's Buffer is the `buffer` package's, whose class name the bundler shortens: it marks its instances.
    const name = (v as { _isBuffer?: unknown })._isBuffer === true ? 'Buffer' : v.constructor.name;
    return `${name}(${v.byteLength}) [${hexPreview(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))}]`;
  }
  if (typeof Blob !== 'undefined' && v instanceof Blob) return `Blob(${v.size})`;
  if (typeof Event !== 'undefined' && v instanceof Event) {
    const extra =
      'data' in v ? ` data=${inspect((v as MessageEvent).data, depth + 1, seen)}` : 'code' in v ? ` code=${(v as CloseEvent).code}` : '';
    return `${v.constructor.name} { type: "${v.type}"${extra} }`;
  }
  if (depth > 3) return Array.isArray(v) ? '[…]' : '{…}';
  if (Array.isArray(v))
    return `[${v
      .slice(0, 50)
      .map((x) => inspect(x, depth + 1, seen))
      .join(', ')}${v.length > 50 ? ', …' : ''}]`;
  if (v instanceof Map) return `Map(${v.size})`;
  if (v instanceof Set) return `Set(${v.size})`;
  const entries = Object.entries(v).slice(0, 30);
  const name = v.constructor && v.constructor !== Object ? `${v.constructor.name} ` : '';
  return `${name}{ ${entries.map(([k, x]) => `${k}: ${inspect(x, depth + 1, seen)}`).join(', ')} }`;
}

function hexPreview(bytes: Uint8Array): string {
  const shown = Array.from(bytes.slice(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > 16 ? `${shown} …` : shown;
}
