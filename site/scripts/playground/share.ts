// Share links: the code goes in the URL hash, deflate-compressed and base64url-encoded
// (#pg-<id>=<data>, and the server code of an editable « serveur.js » as pg-<id>.serveur=<data>:
// playground ids have no dot, so the keys cannot collide). Opening such a link loads the code
// into the editors, never runs it.
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

/** Hash key of the server code of playground `id`. */
export const serverKey = (id: string) => `${id}.serveur`;

/** The full share URL of a playground's code (and of its server code, when given). */
export async function shareUrl(id: string, code: string, base = location.href, serverCode?: string): Promise<string> {
  const url = new URL(base);
  let hash = `${PREFIX}${encodeURIComponent(id)}=${await encodeCode(code)}`;
  if (serverCode !== undefined) hash += `&${PREFIX}${encodeURIComponent(serverKey(id))}=${await encodeCode(serverCode)}`;
  url.hash = hash;
  return url.href;
}

/** The shared code for `key` (a playground id, or serverKey(id)) in a hash, if any. */
export async function sharedCode(key: string, hash = location.hash): Promise<string | null> {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const data = params.get(PREFIX + key);
  if (!data) return null;
  try {
    return await decodeCode(data);
  } catch {
    return null;
  }
}
