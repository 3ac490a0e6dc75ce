// The operator's pages in headless chromium (docs/ui.md): the overview follows a pause
// done from a shell without a reload; the create page shows a config's problem with its
// line, then creates the corrected config; each action button (pause, unpause, shut down,
// destroy after its confirmation, save, restore, the scheduler's form); a reload after an
// action repeats nothing; a screenshot of each page.
//
// tests/e2e/test_ui_pages.sh starts xend with vm1 (kernel args <script>alert(1)</script>)
// and sets UI_SAVE_DIR, a directory xend may write a save file into.
import { base, launch, ok, shot, xm, waitFor, finish } from './lib.mjs';

const saveDir = process.env.UI_SAVE_DIR;

// How many events named `name` xend still holds (a replay without follow ends).
async function count(name) {
  const r = await fetch(`${base}/xend/event?since=0`, { headers: { Accept: 'application/json' } });
  const text = await r.text();
  return text.split('\n').filter((l) => l.includes(`"name": "${name}"`)).length;
}

async function stateOf(page, name) {
  const cell = page.locator(`tr[data-domain="${name}"] td.state`);
  return (await cell.count()) ? cell.getAttribute('data-state') : null;
}

function kernel() {
  return `${saveDir}/vmlinuz`;
}

// The first screen of a page (1280x900), small enough for docs/ui/.
async function top(page, name) {
  const file = (await shot(page, name)).replace(/\.png$/, '-top.png');
  await page.screenshot({ path: file });
}

// What an axe-like check would flag first: a control without a label, headings that skip
// a level, no lang, no title.
async function accessible(page, what) {
  const r = await page.evaluate(() => {
    const unlabelled = [...document.querySelectorAll('input, select, textarea')]
      .filter((e) => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label'))
      .map((e) => e.name || e.id);
    const levels = [...document.querySelectorAll('h1, h2, h3, h4')].map((h) => +h.tagName[1]);
    const skips = levels.filter((l, i) => i > 0 && l > levels[i - 1] + 1);
    return { unlabelled, skips, lang: document.documentElement.lang, title: document.title,
             h1: levels[0] === 1 };
  });
  ok(`${what}: every field has a label`, r.unlabelled.length === 0, r.unlabelled.join(', '));
  ok(`${what}: headings start at h1 and skip no level, lang and title set`,
     r.h1 && r.skips.length === 0 && r.lang === 'en' && r.title.length > 0, JSON.stringify(r));
}

try {
  const { page } = await launch();
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });

  // ---- the overview, live ----
  let resp = await page.goto(`${base}/`);
  ok('GET / is the overview in chromium (200)', resp.status() === 200, resp.status());
  ok('the overview lists vm1', (await page.locator('tr[data-domain="vm1"]').count()) === 1);
  ok('the memory bar is there', (await page.locator('meter#mem').count()) === 1);
  await page.evaluate(() => { window.__notReloaded = true; });
  await waitFor(async () => (await page.textContent('#live')) === 'Live', 10000, 'the event stream');
  const before = await stateOf(page, 'vm1');
  const p = xm('pause', 'vm1');
  ok('xm pause vm1 from a shell works', p.status === 0, p.stderr);
  await waitFor(async () => (await stateOf(page, 'vm1')) === 'paused', 10000, 'vm1 paused in the table');
  ok(`the overview shows vm1 paused without a reload (was ${before})`,
     await page.evaluate(() => window.__notReloaded === true));
  await shot(page, 'overview');
  await accessible(page, 'the overview');

  // ---- create: a problem first, then the corrected config ----
  await page.goto(`${base}/ui/create`);
  await page.fill('#config', `(vm (name web1)\n    (memory lots)\n    (image (linux (kernel ${kernel()}))))`);
  await page.click('button[value="check"]');
  const problems = await page.locator('#problems').textContent().catch(() => '');
  ok('Check shows the problem', /invalid memory: lots/.test(problems), problems);
  ok('... with its line (2)', /line 2:/.test(problems), problems);
  ok('... and created nothing', xm('list').stdout.indexOf('web1') < 0);
  await shot(page, 'create-problem');
  await accessible(page, 'the create page');
  await page.fill('#config', `(vm (name web1)\n    (memory 16)\n    (image (linux (kernel ${kernel()}))))`);
  await page.click('button[value="create"]');
  await page.waitForURL(/\/ui\/domain\/web1/);
  const flash = await page.locator('p.flash[role=status]').textContent();
  ok('Create lands on the new domain\'s page saying it runs', /Created web1; it is running/.test(flash), flash);
  ok('web1 is running (not left paused)', /running|blocked/.test(await page.getAttribute('p.state', 'data-state')));

  // ---- actions on the domain page ----
  await page.click('form:has(input[name=op][value=pause]) button');
  await page.waitForURL(/flash=pause/);
  ok('Pause: the page says so', /pause: done/.test(await page.locator('p.flash[role=status]').textContent()));
  ok('Pause: web1 is paused', (await page.getAttribute('p.state', 'data-state')) === 'paused');
  const pauses = await count('xend.domain.pause');
  await page.reload();
  await page.reload();
  ok('a reload after the pause repeats nothing (no new pause event)', (await count('xend.domain.pause')) === pauses);
  await page.click('form:has(input[name=op][value=unpause]) button');
  await page.waitForURL(/flash=unpause/);
  ok('Unpause: web1 runs again', /running|blocked/.test(await page.getAttribute('p.state', 'data-state')));

  // the scheduler's form: change a value, the page shows it
  const field = page.locator('input[name=mcuadv]');
  ok('the scheduler form has an mcuadv field with the current value', (await field.inputValue()) === '10');
  await field.fill('25');
  await page.click('form:has(input[name=op][value=cpu_bvt_set]) button');
  await page.waitForURL(/flash=cpu_bvt_set/);
  ok('the scheduler form saved mcuadv 25 and shows it', (await page.locator('input[name=mcuadv]').inputValue()) === '25');
  await top(page, 'domain');
  await accessible(page, 'the domain page');

  // save, then restore from the overview
  const file = `${saveDir}/web1.save`;
  await page.fill('#save-file', file);
  await page.click('form:has(input[name=op][value=save]) button');
  await page.waitForURL((u) => u.pathname === '/' && /flash=save/.test(u.search));
  ok('Save: back on the overview, saying so', /save: done/.test(await page.locator('p.flash[role=status]').textContent()));
  ok('Save: web1 has left the table', (await page.locator('tr[data-domain="web1"]').count()) === 0);
  await page.fill('#restore-file', file);
  await page.click('form:has(input[name=op][value=restore]) button');
  await page.waitForURL(/flash=restore/);
  ok('Restore: web1 is back in the table', (await page.locator('tr[data-domain="web1"]').count()) === 1);

  // the domain page shows a save's progress as it runs (one started from a shell here)
  await page.goto(`${base}/ui/domain/web1`);
  await waitFor(async () => (await page.getAttribute('#progress', 'data-live')) === 'yes', 10000,
    'the domain page to follow progress');
  const file2 = `${saveDir}/web1-b.save`;
  ok('xm save web1 from a shell', xm('save', 'web1', file2).status === 0);
  await waitFor(async () => /^save: 100% \(\d+ of \d+ pages\)$/.test(await page.textContent('#progress')),
    15000, 'the save\'s progress on the domain page');
  ok('the domain page showed the save\'s progress, to 100%', true);
  await top(page, 'domain-progress');
  ok('xm restore brings web1 back', xm('restore', file2).status === 0);

  // shut down from the overview row
  // (a program's create leaves it paused, as 2.0's did; a paused guest cannot shut down)
  await fetch(`${base}/xend/domain`, {
    method: 'POST',
    body: new URLSearchParams({ op: 'create', config: `(vm (name web2) (memory 16) (image (linux (kernel ${kernel()}))))` }),
  });
  ok('xm unpause web2', xm('unpause', 'web2').status === 0);
  await page.goto(`${base}/`);
  await waitFor(async () => (await page.textContent('#live')) === 'Live', 10000, 'the event stream');
  await page.click('tr[data-domain="web2"] form:has(input[name=op][value=shutdown]) button');
  await page.waitForURL(/flash=shutdown/, { timeout: 30000 });
  await waitFor(async () => {
    await page.goto(`${base}/`);
    return (await page.locator('tr[data-domain="web2"]').count()) === 0;
  }, 15000, 'web2 to shut down');
  ok('Shut down: web2 went away', true);

  // destroy, with its confirmation (no JavaScript needed)
  await page.click('tr[data-domain="web1"] a:has-text("Destroy")');
  await page.waitForURL(/confirm=destroy/);
  ok('Destroy asks for confirmation first', (await page.locator('section.confirm').count()) === 1);
  ok('... and nothing is destroyed yet', xm('list').stdout.includes('web1'));
  await top(page, 'destroy-confirm');
  await page.click('section.confirm button.danger');
  await page.waitForURL((u) => u.pathname === '/' && /flash=destroy/.test(u.search));
  ok('Destroy: web1 has gone', (await page.locator('tr[data-domain="web1"]').count()) === 0);

  // ---- other pages ----
  await page.goto(`${base}/ui/domain/vm1`);
  ok('a config value <script> never ran', dialogs.length === 0, dialogs.join(', '));
  ok('... and shows as text', (await page.locator('pre.config').textContent()).includes('<script>alert(1)</script>'));
  await page.goto(`${base}/ui/events`);
  await waitFor(async () => (await page.locator('#events tr').count()) > 3, 10000, 'events listed');
  ok('the events page lists the held events', true);
  await shot(page, 'events');
  for (const [path, name] of [['/ui/log', 'log'], ['/ui/vnets', 'vnets'], ['/xend/node', 'node']]) {
    resp = await page.goto(`${base}${path}`);
    ok(`${path} is 200`, resp.status() === 200, resp.status());
    await shot(page, name);
  }
  resp = await page.goto(`${base}/ui/domain/nosuch`);
  ok('an unknown domain: 404 with a way back', resp.status() === 404 && (await page.locator('a[href="/"]').count()) > 0);
  await shot(page, 'error');
  await finish();
} catch (e) {
  await finish(e);
}
