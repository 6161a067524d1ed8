import { describe, expect, it } from 'vitest';
import { importsToRequire } from './esm-imports.ts';

const run = (code: string, modules: Record<string, unknown>) => {
  const out: unknown[] = [];
  const require = (name: string) => {
    if (!(name in modules)) throw new Error(`no ${name}`);
    return modules[name];
  };
  new Function('require', 'out', importsToRequire(code))(require, out);
  return out;
};

describe('ES imports of server code', () => {
  const ws = { WebSocketServer: 'WSS', WebSocket: 'WS' };
  const express = Object.assign(() => 'app', { json: 'json' });

  it('turns each import form into require, with the same bindings', () => {
    expect(run(`import { WebSocketServer } from 'ws';\nout.push(WebSocketServer);`, { ws })).toEqual(['WSS']);
    expect(run(`import { WebSocketServer as S, WebSocket } from "ws"\nout.push(S, WebSocket);`, { ws })).toEqual(['WSS', 'WS']);
    expect(run(`import express from 'express';\nout.push(express(), express.json);`, { express })).toEqual(['app', 'json']);
    expect(run(`import * as http from 'node:http';\nout.push(http.x);`, { 'node:http': { x: 1 } })).toEqual([1]);
    expect(run(`import e, { json } from 'express';\nout.push(e(), json);`, { express })).toEqual(['app', 'json']);
    expect(run(`import 'side';\nout.push(2);`, { side: {} })).toEqual([2]);
    expect(run(`import d from 'esm';\nout.push(d);`, { esm: { __esModule: true, default: 'D' } })).toEqual(['D']);
  });

  it('keeps the line numbers of the code after a multi-line import', () => {
    const code = "import {\n  WebSocketServer,\n  WebSocket,\n} from 'ws';\nconst x = 1;\n";
    const out = importsToRequire(code);
    expect(out.split('\n')).toHaveLength(code.split('\n').length);
    expect(out.split('\n')[4]).toBe('const x = 1;');
  });

  it('leaves code without import declarations alone (strings, dynamic import, type imports)', () => {
    const code = "const s = 'import x from \"y\"';\nconst m = import('ws');\nimport type { A } from 'a';\n";
    expect(importsToRequire(code)).toBe(code);
  });
});
