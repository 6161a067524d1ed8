// Modules provided by site/vite/playground-plugin.ts.
declare module 'virtual:aw-runner-runtime' {
  /** runner-runtime.ts bundled with socket.io-client as one minified IIFE. */
  const code: string;
  export default code;
}

declare module 'virtual:aw-server-runtime' {
  /** server-runtime/worker.ts bundled with the ws/http façades, events and buffer as one minified IIFE. */
  const code: string;
  export default code;
}
