// The file tabs of a playground with server code (« client.js », « serveur.js »): an ARIA
// tablist (WAI-ARIA Authoring Practices, tabs with automatic activation): arrows, Home and End
// move between tabs; only the selected tab is in the tab order; each tab shows its own panel.

export interface CodeTabs {
  /** The selected tab's name (`data-tab`). */
  readonly selected: string;
  select(name: string): void;
}

export function setupCodeTabs(list: HTMLElement, onSelect?: (name: string) => void): CodeTabs {
  const tabs = [...list.querySelectorAll<HTMLButtonElement>('[role=tab]')];
  let selected = tabs.find((t) => t.getAttribute('aria-selected') === 'true')?.dataset.tab ?? tabs[0]?.dataset.tab ?? '';

  const select = (name: string, focus = false) => {
    for (const tab of tabs) {
      const on = tab.dataset.tab === name;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      const panel = document.getElementById(tab.getAttribute('aria-controls') ?? '');
      if (panel) panel.hidden = !on;
      if (on && focus) tab.focus();
    }
    if (name !== selected) {
      selected = name;
      onSelect?.(name);
    }
  };

  list.addEventListener('click', (e) => {
    const tab = (e.target as HTMLElement).closest<HTMLButtonElement>('[role=tab]');
    if (tab?.dataset.tab) select(tab.dataset.tab);
  });
  list.addEventListener('keydown', (e) => {
    const at = tabs.findIndex((t) => t.dataset.tab === selected);
    const to =
      e.key === 'ArrowRight'
        ? (at + 1) % tabs.length
        : e.key === 'ArrowLeft'
          ? (at - 1 + tabs.length) % tabs.length
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? tabs.length - 1
              : -1;
    if (to < 0) return;
    e.preventDefault();
    select(tabs[to].dataset.tab ?? '', true);
  });
  return {
    get selected() {
      return selected;
    },
    select: (name) => select(name),
  };
}
