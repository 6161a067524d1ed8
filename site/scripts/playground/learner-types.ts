// Declarations given to Monaco for IntelliSense in learner code: the `sandbox` object and a
// compact typing of socket.io-client's `io` (the real library is bundled in the runner).
export const LEARNER_DECLARATIONS = `
/** Le bac à sable de cette leçon. */
declare const sandbox: {
  /** URL ws:// complète d'un scénario, avec l'étiquette du client, ex. sandbox.url('echo'). */
  url(scenario: 'echo' | 'echo-deflate' | 'broadcast' | 'match' | 'control' | (string & {})): string;
  /** URL http:// complète, ex. sandbox.httpUrl('match/poll'). */
  httpUrl(path: string): string;
  /** Origine du serveur, ex. "http://127.0.0.1:4321". */
  readonly origin: string;
  /** Étiquette de ce client : "A", "B"… */
  readonly client: string;
  /** Numéro de ce client : 0, 1… */
  readonly index: number;
};

declare namespace SocketIOClient {
  type Listener = (...args: any[]) => void;
  interface Socket {
    readonly id: string | undefined;
    readonly connected: boolean;
    readonly disconnected: boolean;
    readonly active: boolean;
    readonly recovered: boolean;
    readonly io: Manager;
    auth: { [key: string]: any } | ((cb: (data: object) => void) => void);
    on(event: 'connect', listener: () => void): this;
    on(event: 'connect_error', listener: (err: Error) => void): this;
    on(event: 'disconnect', listener: (reason: string, description?: any) => void): this;
    on(event: string, listener: Listener): this;
    once(event: string, listener: Listener): this;
    off(event?: string, listener?: Listener): this;
    onAny(listener: (event: string, ...args: any[]) => void): this;
    offAny(listener?: (event: string, ...args: any[]) => void): this;
    onAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
    emit(event: string, ...args: any[]): this;
    emitWithAck(event: string, ...args: any[]): Promise<any>;
    timeout(ms: number): this;
    readonly volatile: this;
    compress(compress: boolean): this;
    send(...args: any[]): this;
    connect(): this;
    open(): this;
    disconnect(): this;
    close(): this;
  }
  interface Manager {
    readonly engine: { readonly transport: { readonly name: string }; on(event: string, listener: Listener): void };
    on(event: 'reconnect_attempt' | 'reconnect' | 'error' | 'ping' | 'open' | 'close', listener: Listener): this;
    reconnection(v: boolean): this;
  }
  interface Options {
    transports?: ('polling' | 'websocket' | 'webtransport')[];
    upgrade?: boolean;
    reconnection?: boolean;
    reconnectionAttempts?: number;
    reconnectionDelay?: number;
    timeout?: number;
    autoConnect?: boolean;
    forceNew?: boolean;
    multiplex?: boolean;
    auth?: { [key: string]: any };
    query?: { [key: string]: string };
    ackTimeout?: number;
    retries?: number;
  }
}

/**
 * socket.io-client, préconfiguré pour le bac à sable : io() rejoint l'espace de noms "/",
 * io('/comments') l'espace de noms "/comments".
 */
declare function io(namespace?: string, options?: SocketIOClient.Options): SocketIOClient.Socket;
declare function io(options: SocketIOClient.Options): SocketIOClient.Socket;
`;
