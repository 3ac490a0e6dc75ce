// Shared helpers for the browser tests: headless Debian chromium driven by playwright-core.
//
// A browser test is run by a bash e2e test (tests/e2e/lib_browser.sh, browser_run), which has
// started xend on its own loopback port and passes it in the environment:
//   XEND_URL        http://127.0.0.1:PORT, the only address a test may talk to
//   XM              the C xm client; XEND is already set for it
//   XEND_ARTIFACTS  where screenshots go (kept by CI as test artifacts)
//   CHROMIUM        the browser (default /usr/bin/chromium, Debian's package)
//
// The output is one line per check, "ok - ..." or "not ok - ...", which browser_run counts
// into the bash test's summary.
import { chromium } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const base = process.env.XEND_URL;
if (!base || !/^http:\/\/(127\.0\.0\.1|\[::1\]):\d+$/.test(base)) {
  console.log(`not ok - XEND_URL must be a loopback URL of the test's xend, got '${base}'`);
  process.exit(1);
}

let passed = 0;
let failed = 0;
let browser = null;

export function ok(desc, cond, detail) {
  if (cond) {
    passed++;
    console.log(`ok - ${desc}`);
  } else {
    failed++;
    console.log(`not ok - ${desc}`);
    if (detail !== undefined) console.log(`#   ${String(detail).split('\n').join('\n#   ')}`);
  }
  return !!cond;
}

// Headless chromium at the size the pages were judged at. The browser is closed by
// finish(); a test makes one and uses as many pages (tabs) as it needs.
export async function launch() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // The sandbox needs user namespaces that a root CI shell may not have.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  return { browser, context, page };
}

// A full-page PNG kept as an artifact: $XEND_ARTIFACTS/ui/NAME.png. Returns its path.
export async function shot(page, name) {
  const dir = join(process.env.XEND_ARTIFACTS || '.', 'ui');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// The C xm against the test's xend (XEND is in the environment).
export function xm(...args) {
  const r = spawnSync(process.env.XM || 'xm', args, { encoding: 'utf8', timeout: 60000 });
  return { status: r.status, stdout: r.stdout || '', stderr: r.stderr || '' };
}

// Poll an (async) predicate until it is true; throws after ms with what was awaited.
export async function waitFor(fn, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() >= deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Print the summary and exit: 0 when every check passed and at least one ran.
export async function finish(err) {
  if (err) ok('the browser test ran to its end', false, err.stack || err);
  if (browser) await browser.close().catch(() => {});
  console.log(`# browser: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}
