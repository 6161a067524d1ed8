import AxeBuilder from '@axe-core/playwright';
import { test, expect } from './fixtures.ts';

const FIRST_LESSON = '/fondations/pourquoi-le-temps-reel/';

test('la page d’accueil est en français et mène au premier cours', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
  await expect(page.getByRole('heading', { level: 1, name: 'Atelier WebSocket' })).toBeVisible();
  await page.getByRole('link', { name: 'Commencer le cours' }).click();
  await expect(page).toHaveURL(FIRST_LESSON);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Pourquoi le temps réel ?');
});

test('une leçon affiche ses métadonnées, ses sources et la navigation', async ({ page }) => {
  await page.goto(FIRST_LESSON);
  const meta = page.getByRole('complementary', { name: 'À propos de cette leçon' });
  await expect(meta).toContainText('Durée estimée');
  await expect(meta).toContainText('Objectifs');
  await expect(page.getByRole('heading', { name: 'Sources' })).toBeVisible();
  // The sidebar lists the lesson under its part, and marks it as the current page.
  const sidebar = page.getByRole('navigation', { name: 'Principale' });
  await expect(sidebar.getByRole('link', { name: 'Pourquoi le temps réel ?' })).toHaveAttribute('aria-current', 'page');
});

test('la barre latérale mène de l’accueil à chaque leçon, avec précédent et suivant', async ({ page }) => {
  await page.goto('/');
  const sidebar = page.getByRole('navigation', { name: 'Principale' });
  const links = sidebar.getByRole('link');
  const hrefs = (await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')))).filter((h): h is string => !!h && h !== '/');
  expect(hrefs.length).toBeGreaterThan(0);
  for (const href of hrefs) {
    const response = await page.goto(href);
    expect(response?.status(), href).toBe(200);
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  }
  // Previous/next links chain the lessons in sidebar order.
  if (hrefs.length > 1) {
    await page.goto(hrefs[0]);
    await page.locator('a[rel="next"]').click();
    await expect(page).toHaveURL(hrefs[1]);
    await page.locator('a[rel="prev"]').click();
    await expect(page).toHaveURL(hrefs[0]);
  }
});

test('la recherche trouve une leçon', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('button', { name: 'Rechercher' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('textbox', { name: 'Rechercher' }).fill('polling');
  const result = dialog.getByRole('link', { name: /Pourquoi le temps réel/ }).first();
  await expect(result).toBeVisible();
  await result.click();
  await expect(page).toHaveURL(new RegExp(FIRST_LESSON));
});

test('le thème clair et sombre se choisit et se retient', async ({ page }) => {
  await page.goto('/');
  const select = page.getByRole('combobox', { name: /thème/ }).first();
  await select.selectOption('light');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  await page.getByRole('combobox', { name: /thème/ }).first().selectOption('dark');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
});

test('sur mobile, le menu donne accès aux leçons', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/');
  const sidebar = page.getByRole('navigation', { name: 'Principale' });
  await expect(sidebar).toBeHidden();
  await page.getByRole('button', { name: 'Menu' }).click();
  await expect(sidebar.getByRole('link', { name: 'Pourquoi le temps réel ?' })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});

test('le clavier suffit : lien d’évitement puis contenu', async ({ page }) => {
  await page.goto(FIRST_LESSON);
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Aller au contenu' });
  await expect(skip).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/#_top$/);
});

test('une page inconnue répond 404 avec une page en français', async ({ page, pageGuard }) => {
  pageGuard.expectConsoleError(/status of 404/);
  const response = await page.goto('/nexiste-pas/');
  expect(response?.status()).toBe(404);
  await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
});

for (const path of ['/', FIRST_LESSON]) {
  test(`axe ne trouve aucune violation grave sur ${path}`, async ({ page }) => {
    await page.goto(path);
    const results = await new AxeBuilder({ page }).analyze();
    const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`)).toEqual([]);
  });
}

test('une page sans bac à sable ne charge ni Monaco ni xterm', async ({ page }) => {
  const urls: string[] = [];
  page.on('request', (req) => urls.push(req.url()));
  // Every lesson has a playground; the home page and the instructors' guide have none.
  for (const path of ['/', '/ecrire-une-lecon/']) {
    await page.goto(path);
    await page.mouse.wheel(0, 5000);
    await page.waitForLoadState('networkidle');
    // Checked on each page, not only the last one visited.
    const inline = await page.evaluate(() => [...document.querySelectorAll('style')].map((s) => s.textContent ?? '').join('\n'));
    expect(inline, path).not.toMatch(/\.monaco-editor|\.xterm/);
    // The CSS files a page links must not carry the libraries' styles either.
    const cssTexts = await page.evaluate(async () => {
      const hrefs = [...document.querySelectorAll<HTMLLinkElement>('link[rel="stylesheet"]')].map((l) => l.href);
      return Promise.all(hrefs.map(async (h) => (await fetch(h)).text()));
    });
    for (const css of cssTexts) expect(css, path).not.toMatch(/\.monaco-editor|\.xterm/);
  }
  expect(urls.filter((u) => /monaco|xterm|editor\.worker|ts\.worker/i.test(u))).toEqual([]);
});

test('les ressources sont compressées et les fichiers hachés mis en cache pour toujours', async ({ request }) => {
  const html = await request.get('/', { headers: { 'Accept-Encoding': 'br, gzip' } });
  expect(html.headers()['content-type']).toBe('text/html; charset=utf-8');
  expect(html.headers()['content-encoding']).toBe('br');
  const asset = (await html.text()).match(/\/_astro\/[^"']+\.css/)?.[0];
  expect(asset).toBeTruthy();
  const css = await request.get(asset!, { headers: { 'Accept-Encoding': 'gzip' } });
  expect(css.headers()['content-type']).toBe('text/css; charset=utf-8');
  expect(css.headers()['cache-control']).toContain('immutable');
  expect(css.headers()['content-encoding']).toBe('gzip');
});

test('le guide « Écrire une leçon » documente chaque champ du schéma', async ({ page }) => {
  await page.goto('/ecrire-une-lecon/');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Écrire une leçon');
  const table = page.getByRole('table').first();
  for (const field of ['sidebar.order', 'duration', 'objectives', 'prerequisites', 'sources']) {
    await expect(table.getByRole('cell', { name: field, exact: true })).toBeVisible();
  }
  // Descriptions come from the schema's .describe(): check one of them made it through.
  await expect(table).toContainText('Durée estimée de la leçon, en minutes.');
});
