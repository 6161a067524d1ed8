import { describe, expect, it } from 'vitest';
import { encodeCode, serverKey, sharedCode, shareUrl } from './share.ts';

describe('share links', () => {
  it('round-trips code through the hash', async () => {
    const code = "const ws = new WebSocket(sandbox.url('echo'));\n// « é » ✓\n".repeat(20);
    const url = await shareUrl('echo-1', code, 'http://h/fondations/api-websocket/');
    expect(url).toMatch(/^http:\/\/h\/fondations\/api-websocket\/#pg-echo-1=[A-Za-z0-9_-]+$/);
    expect(url.length).toBeLessThan(code.length);
    expect(await sharedCode('echo-1', new URL(url).hash)).toBe(code);
    expect(await sharedCode('other', new URL(url).hash)).toBeNull();
  });
  it('carries the server code beside the client code', async () => {
    const url = await shareUrl('salon', 'io();', 'http://h/l/', "require('socket.io');");
    expect(url).toMatch(/#pg-salon=[A-Za-z0-9_-]+&pg-salon\.serveur=[A-Za-z0-9_-]+$/);
    expect(await sharedCode('salon', new URL(url).hash)).toBe('io();');
    expect(await sharedCode(serverKey('salon'), new URL(url).hash)).toBe("require('socket.io');");
    expect(await sharedCode(serverKey('salon'), new URL(await shareUrl('salon', 'io();', 'http://h/l/')).hash)).toBeNull();
  });
  it('ignores corrupt data', async () => {
    expect(await sharedCode('x', '#pg-x=%%%')).toBeNull();
    expect((await encodeCode('')).length).toBeGreaterThan(0);
  });
});
