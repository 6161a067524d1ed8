// Runs learner server code against the façades: CommonJS style (`require`, `module.exports`),
// with the modules the sandbox provides. The code runs where this module runs (a browser Worker
// for learners; Node for the tests and the bench, loading the same code).
import { EventEmitter } from 'events';
import { Buffer } from 'buffer';
import { expressModule } from './express.ts';
import { importsToRequire } from './esm-imports.ts';
import type { HostLink } from './host-link.ts';
import { httpModule } from './http.ts';
import { socketIoModule } from './socket-io.ts';
import { wsModule } from './ws.ts';

/** The modules `require` provides (`node:` prefixes accepted for built-ins). */
export function serverModules(link: HostLink): Record<string, unknown> {
  return {
    ws: wsModule(link),
    http: httpModule(link),
    'socket.io': socketIoModule(link),
    express: expressModule(link),
    events: EventEmitter,
    buffer: { Buffer },
  };
}

export function createRequire(link: HostLink): (name: string) => unknown {
  const modules = serverModules(link);
  return (name: string) => {
    const key = typeof name === 'string' ? name.replace(/^node:/, '') : '';
    if (Object.hasOwn(modules, key)) return modules[key];
    throw new Error(
      `Module «\u00a0${String(name)}\u00a0» indisponible dans le bac à sable\u00a0; modules fournis\u00a0: ${Object.keys(modules).join(', ')}.`,
    );
  };
}

/** Runs the code once; what it throws synchronously propagates to the caller. */
export function runServerCode(code: string, link: HostLink): void {
  const module = { exports: {} as unknown };
  const fn = new Function('require', 'module', 'exports', 'console', 'Buffer', importsToRequire(code)) as (...args: unknown[]) => void;
  fn(createRequire(link), module, module.exports, link.console, Buffer);
}
