// The harness itself: chromium opens xend's node page on the test's port and sees its facts.
import { base, launch, ok, shot, finish } from './lib.mjs';

try {
  const { page } = await launch();
  const resp = await page.goto(`${base}/xend/node`);
  ok('GET /xend/node answers 200 in chromium', resp.status() === 200, resp.status());
  const text = await page.textContent('body');
  ok('the node page names the host\'s xend', /xen|node|host/i.test(text), text.slice(0, 200));
  await shot(page, 'smoke-node');
  await finish();
} catch (e) {
  await finish(e);
}
