// The guest's console in the page (docs/console-web.md): chromium opens
// /xend/console/PORT/terminal of a booted sim domain, sees its boot lines in xterm.js,
// types a line that the sim guest echoes, and a second page that joins late sees the
// recent output and what the first page typed. Run by tests/e2e/test_ui_console.sh, which
// creates the domain and passes CONSOLE_PORT and DOMAIN_NAME.
import { base, launch, ok, shot, finish, waitFor } from './lib.mjs';

const port = process.env.CONSOLE_PORT;
const name = process.env.DOMAIN_NAME;

// The terminal's text: xterm's buffer, line by line (what the screen and scrollback hold).
async function screen(page) {
  return page.evaluate(() => {
    const t = window.xendTerm;
    if (!t) return '';
    const b = t.buffer.active;
    const lines = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
    return lines.join('\n');
  });
}

async function open(context) {
  const page = await context.newPage();
  const resp = await page.goto(`${base}/xend/console/${port}/terminal`);
  return { page, status: resp.status() };
}

try {
  const { context, page: first } = await launch();
  await first.close();
  const { page, status } = await open(context);
  ok('the terminal page answers 200', status === 200, status);
  ok('its title names the domain', (await page.title()).includes(name), await page.title());
  await waitFor(async () => /Linux version .*simhv/.test(await screen(page)), 60000, 'boot lines');
  ok('the terminal shows the guest\'s boot lines', true);
  await waitFor(async () => (await screen(page)).includes(`${name} login:`), 60000, 'login prompt');
  ok('and its login prompt', true);
  // The DOM renderer draws the same rows: what a person sees, not only the buffer.
  const rows = await page.textContent('.xterm-rows');
  ok('the rows on the page show them too', /Linux version/.test(rows || ''), (rows || '').slice(0, 200));
  ok('the page says it is connected', (await page.textContent('#status')) === 'Connected.',
    await page.textContent('#status'));

  await page.click('#terminal');
  await page.keyboard.type('hello from chromium');
  await page.keyboard.press('Enter');
  await waitFor(async () => (await screen(page)).includes('echo: hello from chromium'), 60000,
    'the echo of the typed line');
  ok('a typed line reaches the guest, whose echo shows in the terminal', true);
  await shot(page, 'console-terminal');

  // A late joiner: a second page opened now sees the recent output, then live output.
  const { page: late } = await open(context);
  await waitFor(async () => (await screen(late)).includes('echo: hello from chromium'), 60000,
    'the recent output on the late page');
  const lateText = await screen(late);
  ok('a late-joining page sees the recent output (boot lines and the echo)',
    /Linux version/.test(lateText) && lateText.includes('echo: hello from chromium'), lateText);
  await late.click('#terminal');
  await late.keyboard.type('second page');
  await late.keyboard.press('Enter');
  await waitFor(async () => (await screen(page)).includes('echo: second page'), 60000,
    'the second page\'s line on the first page');
  ok('what one page types, every page sees echoed', true);
  await shot(late, 'console-late-joiner');
  await finish();
} catch (e) {
  await finish(e);
}
