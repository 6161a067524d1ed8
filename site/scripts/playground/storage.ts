// Small wrappers over localStorage (it can throw: private mode, quotas, disabled storage).
export function load(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function save(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    /* storage unavailable: the feature degrades silently */
  }
}

/** The lesson a page belongs to: its path without trailing slash ("/fondations/api-websocket"). */
export function lessonKey(pathname = location.pathname): string {
  return pathname.replace(/\/+$/, '').replace(/\/index\.html$/, '') || '/';
}
