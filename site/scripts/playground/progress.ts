// Passed exercises, remembered in localStorage, and ✓ marks on finished lessons in the sidebar.
import { lessonKey, load, save } from './storage.ts';

const KEY = 'aw:progress';

/** lesson path → check keys known on that lesson ("playground/check") and those passed. */
type Progress = Record<string, { known: string[]; passed: string[] }>;

function read(): Progress {
  try {
    const p = JSON.parse(load(KEY) ?? '{}');
    return p && typeof p === 'object' ? (p as Progress) : {};
  } catch {
    return {};
  }
}

function entry(p: Progress, lesson: string) {
  return (p[lesson] ??= { known: [], passed: [] });
}

/** Declares the checks a playground has on this lesson (so the lesson is done only when all pass). */
export function registerChecks(playground: string, checkIds: string[], lesson = lessonKey()): void {
  const p = read();
  const e = entry(p, lesson);
  for (const id of checkIds) if (!e.known.includes(`${playground}/${id}`)) e.known.push(`${playground}/${id}`);
  save(KEY, JSON.stringify(p));
}

export function isPassed(playground: string, checkId: string, lesson = lessonKey()): boolean {
  return read()[lesson]?.passed.includes(`${playground}/${checkId}`) ?? false;
}

/** Remembers a passed check; storage and sidebar are only touched the first time (runs re-check often). */
export function markPassed(playground: string, checkId: string, lesson = lessonKey()): void {
  const p = read();
  const e = entry(p, lesson);
  const key = `${playground}/${checkId}`;
  if (e.passed.includes(key)) return;
  e.passed.push(key);
  if (!e.known.includes(key)) e.known.push(key);
  save(KEY, JSON.stringify(p));
  markSidebar();
}

export function lessonDone(lesson: string, p = read()): boolean {
  const e = p[lesson];
  return !!e && e.known.length > 0 && e.known.every((k) => e.passed.includes(k));
}

/** Adds a ✓ after the sidebar link of every lesson whose exercises all passed. */
export function markSidebar(root: ParentNode = document): void {
  const p = read();
  for (const a of root.querySelectorAll<HTMLAnchorElement>('#starlight__sidebar a[href], nav.sidebar a[href]')) {
    const lesson = lessonKey(new URL(a.href, location.href).pathname);
    const done = lessonDone(lesson, p);
    const mark = a.querySelector('.aw-done');
    if (done && !mark) {
      const span = document.createElement('span');
      span.className = 'aw-done';
      span.innerHTML = '<span aria-hidden="true"> ✓</span><span class="sr-only"> (exercices réussis)</span>';
      a.append(span);
    } else if (!done && mark) mark.remove();
  }
}
