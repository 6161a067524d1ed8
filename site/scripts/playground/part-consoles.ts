// « Console » (the clients' console messages, with their label and line) and « Console du serveur »
// (the server's, with line numbers only) of a playground with server code.
import { $, type Part, type PartContext, SERVER_LABEL } from './parts.ts';
import type { RuntimeMessage } from './runner-runtime.ts';

const MAX_CONSOLE = 300;

export function consolesPart(ctx: Pick<PartContext, 'root'>): Part {
  const clientList = $(ctx.root, '.aw-pg-console-list');
  // Without server code, everything goes to « Console ».
  const serverList = ctx.root.querySelector<HTMLElement>('.aw-pg-server-console-list');
  return {
    reset() {
      clientList.replaceChildren();
      serverList?.replaceChildren();
    },
    onLog(client, m) {
      const fromServer = client === SERVER_LABEL;
      const list = (fromServer && serverList) || clientList;
      list.append(consoleLine(client, m, fromServer));
      while (list.childElementCount > MAX_CONSOLE) list.firstElementChild!.remove();
      list.scrollTop = list.scrollHeight;
    },
  };
}

function consoleLine(client: string, m: RuntimeMessage, fromServer: boolean): HTMLElement {
  const li = document.createElement('div');
  if (m.t === 'truncated') {
    li.textContent = `[${fromServer ? 'serveur' : client}] … trop de messages\u00a0: la suite de la console est ignorée.`;
    li.className = 'aw-warn';
    return li;
  }
  const where = m.line ? ` ligne ${m.line}` : '';
  const kind =
    m.t === 'console'
      ? m.level === 'error'
        ? 'erreur'
        : m.level === 'warn'
          ? 'attention'
          : ''
      : m.kind === 'syntax'
        ? 'erreur de syntaxe'
        : m.kind === 'rejection'
          ? 'promesse rejetée'
          : 'erreur';
  li.className =
    m.t === 'error' || (m.t === 'console' && m.level === 'error') ? 'aw-error' : m.t === 'console' && m.level === 'warn' ? 'aw-warn' : '';
  const tag = document.createElement('span');
  tag.className = 'aw-pg-console-tag';
  // The server console has one author: a line number and a kind, no client label.
  const label = fromServer ? where.trim() : `${client}${where}`;
  tag.textContent = `${label ? `[${label}]` : ''}${kind ? ` ${kind}` : ''}`.trim();
  li.append(tag, tag.textContent ? ` ${m.text}` : m.text);
  return li;
}
