// Times pages in Chromium for `devicevault-bench web --browser`: each path
// loaded seven times with the session cookie (the first not counted); for
// each load, when the document became interactive, when its load event
// ended and when the first frame after it was drawn (what a reader waits
// for), in milliseconds from the navigation's start, and the rows of the
// comparison's table. One JSON line per path on stdout.
// Usage: node measure.mjs <url> <cookie name=value> <path>...
import { launch } from "./lib.mjs";

const [url, cookie, ...paths] = process.argv.slice(2);
if (!url || !cookie || paths.length === 0) {
  console.error("usage: node measure.mjs <url> <cookie name=value> <path>...");
  process.exit(2);
}
const [name, value] = [cookie.slice(0, cookie.indexOf("=")), cookie.slice(cookie.indexOf("=") + 1)];
const { browser, context } = await launch();
await context.addCookies([{ name, value, url }]);
const page = await context.newPage();
for (const p of paths) {
  const loads = [];
  for (let i = 0; i < 7; i++) {
    await page.goto(url + p, { waitUntil: "load" });
    const t = await page.evaluate(
      () =>
        new Promise((resolve) =>
          requestAnimationFrame(() => {
            const nav = performance.getEntriesByType("navigation")[0];
            resolve({
              interactive: nav.domInteractive,
              load: nav.loadEventEnd,
              frame: performance.now(),
              rows: document.querySelectorAll("table.diff tbody tr").length,
            });
          }),
        ),
    );
    if (i > 0) loads.push(t);
  }
  console.log(JSON.stringify({ path: p, loads }));
}
await browser.close();
process.exit(0);
