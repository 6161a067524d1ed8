// Share links: the code goes in the URL hash, deflate-compressed and base64url-encoded
// (#pg-<id>=<data>). Opening such a link loads the code into the editor, never runs it.
const PREFIX = 'pg-';

function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

export async function encodeCode(code: string): Promise<string> {
  return toBase64Url(await pipe(new TextEncoder().encode(code), new CompressionStream('deflate-raw')));
}

export async function decodeCode(data: string): Promise<string> {
  return new TextDecoder().decode(await pipe(fromBase64Url(data), new DecompressionStream('deflate-raw')));
}

/** The full share URL of a playground's code. */
export async function shareUrl(id: string, code: string, base = location.href): Promise<string> {
  const url = new URL(base);
  url.hash = `${PREFIX}${encodeURIComponent(id)}=${await encodeCode(code)}`;
  return url.href;
}

/** The shared code for playground `id` in a hash, if any. */
export async function sharedCode(id: string, hash = location.hash): Promise<string | null> {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const data = params.get(PREFIX + id);
  if (!data) return null;
  try {
    return await decodeCode(data);
  } catch {
    return null;
  }
}
