// For the façades' unit tests: a HostLink whose commands and console lines are kept in arrays, as
// the sandbox and the server console would receive them.
import type { HostToSandbox } from '#protocol/host';
import { HostLink } from './host-link.ts';

export function recordingLink(): { link: HostLink; commands: HostToSandbox[]; logs: string[] } {
  const commands: HostToSandbox[] = [];
  const logs: string[] = [];
  const say =
    (level: string) =>
    (...args: unknown[]) =>
      logs.push(`${level}: ${args.map(String).join(' ')}`);
  const link = new HostLink((c) => commands.push(c), { log: say('log'), info: say('info'), warn: say('warn'), error: say('error') });
  return { link, commands, logs };
}
