// Full-page screenshots of every page, for a person to look at: at
// 1280×800, in a narrow window (390×844), and in the dark theme (the
// system preference, then the toggle). Also checks what only a browser
// shows: no horizontal page overflow on a narrow window, the theme toggle,
// keyboard operation of "Backup now", and axe-core's WCAG 2.1 AA checks on
// every page in each of the three (no violation allowed).
//
// usage: node screens.mjs <url> <user> <password> <outdir>
// env: DV_DEVICE (a device with two versions), DV_A, DV_B (their ids),
//      DV_FAILED_JOB (a failed job's task identifier)
import { accessibility, args, check, launch, login, run, shot, step, watch } from "./lib.mjs";

const { url, user, password, outdir } = args();
const env = process.env;
const problems = [];
const job = (ti) => `/jobs/${encodeURIComponent(ti)}`;

const PAGES = [
  ["dashboard", "/"],
  ["devices", "/devices"],
  ["devices-failed", "/devices?status=failed"],
  ["devices-page-2", "/devices?page=2&size=25&sort=status"],
  ["device", `/devices/${env.DV_DEVICE}`],
  ["compare", `/devices/${env.DV_DEVICE}/compare?a=${env.DV_A}&b=${env.DV_B}`],
  ["compare-every-line", `/devices/${env.DV_DEVICE}/compare?a=${env.DV_A}&b=${env.DV_B}&context=all`],
  ["version", `/backups/${env.DV_B}`],
  ["job-failed", job(env.DV_FAILED_JOB)],
  ["device-new", "/devices/new"],
  ["device-edit", `/devices/${env.DV_DEVICE}/edit`],
  ["admin", "/admin"],
  ["admin-locations", "/admin/locations"],
  ["admin-credentials", "/admin/credentials"],
  ["admin-collection-groups", "/admin/collection-groups"],
  ["admin-device-groups", "/admin/device-groups"],
  ["admin-device-types", "/admin/device-types"],
  ["admin-manufacturers", "/admin/manufacturers"],
  ["admin-schedules", "/admin/schedules"],
  ["admin-users", "/admin/users"],
  ["admin-user", "/admin/users/1"],
  ["admin-audit", "/admin/audit"],
  ["admin-location", "/admin/locations/1"],
  ["admin-notification-channels", "/admin/notification-channels"],
  ["admin-notification-rules", "/admin/notification-rules"],
  ["search", "/search?q=interface&context=1"],
  ["account", "/account"],
  ["results", "/results?outcome=failed"],
  ["device-every-backup", `/devices/${env.DV_DEVICE}?all=1`],
  ["not-found", "/no/such/page"],
];

const NARROW = ["dashboard", "devices", "device", "compare", "admin-locations", "device-new", "search", "results"];
const DARK = ["dashboard", "devices", "device", "compare", "version", "search", "job-failed"];

async function visit(page, path) {
  const r = await page.goto(`${url}${path}`);
  return r.status();
}

run(async () => {
  const { browser, context } = await launch();
  const page = await context.newPage();
  watch(page, problems);
  await page.goto(`${url}/login`);
  await accessibility(page, problems, "login");
  await shot(page, outdir, "login");
  await login(page, url, user, password);

  step("every page at 1280×800");
  for (const [name, path] of PAGES) {
    const status = await visit(page, path);
    check(status === (name === "not-found" ? 404 : 200), `${path} answered ${status}`);
    await accessibility(page, problems, `wide ${name}`);
    await shot(page, outdir, `wide-${name}`);
  }
  await visit(page, "/devices");
  await shot(page, outdir, "wide-devices-first-screen", false);

  step("keyboard: Backup now with Enter");
  await visit(page, `/devices/${env.DV_DEVICE}`);
  const oldJob = await page.locator(`#status-${env.DV_DEVICE} a.status-link`).getAttribute("href");
  await page.getByRole("button", { name: "Backup now" }).focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction(
    ([id, old]) => {
      const a = document.querySelector(`#status-${id} a.status-link`);
      return a && a.getAttribute("href") !== old && a.textContent.includes("stored");
    },
    [env.DV_DEVICE, oldJob],
    { timeout: 60_000 },
  );

  step("the theme toggle");
  const before = await page.evaluate(() => document.documentElement.getAttribute("data-theme"));
  await page.locator("#theme-toggle").click();
  const after = await page.evaluate(() => document.documentElement.getAttribute("data-theme"));
  check(after === "dark" && before !== after, `the toggle switches to dark (${before} → ${after})`);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(bg === "rgb(15, 18, 22)", `dark background, not ${bg}`);
  await page.reload();
  check((await page.evaluate(() => document.documentElement.getAttribute("data-theme"))) === "dark", "the choice survives a reload (server-side, no flash)");
  await shot(page, outdir, "dark-toggled-device");
  await page.locator("#theme-toggle").click();
  await context.clearCookies({ name: "dv_theme" });

  step("narrow window");
  const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await context.storageState() });
  const small = await narrow.newPage();
  watch(small, problems);
  for (const name of NARROW) {
    const path = PAGES.find(([n]) => n === name)[1];
    await small.goto(`${url}${path}`);
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `${path} scrolls sideways by ${overflow}px on a narrow window`);
    await accessibility(small, problems, `narrow ${name}`);
    if (name === "dashboard") {
      // Each failure is a short card whose reason stays on the screen.
      const rows = await small.$$eval("#dashboard table.list tbody tr", (trs) => trs.map((tr) => tr.getBoundingClientRect().height));
      check(rows.length > 0 && rows.every((h) => h < 160), `dashboard rows are short cards on a narrow window: ${rows}`);
      const reasons = await small.$$eval("#dashboard td.reason", (tds) => tds.map((td) => td.getBoundingClientRect().right));
      check(reasons.length > 0 && reasons.every((r) => r <= 390), `failure reasons on screen: ${reasons}`);
    }
    if (name === "compare") {
      // One column: the text of a line gets (nearly) the window's width.
      const widths = await small.$$eval("table.diff td.t", (tds) => tds.filter((td) => td.offsetParent).map((td) => td.getBoundingClientRect().width));
      check(widths.length > 0 && widths.every((w) => w > 250), `compare lines are one column on a narrow window: ${widths.slice(0, 5)}`);
    }
    await shot(small, outdir, `narrow-${name}`);
    await shot(small, outdir, `narrow-${name}-first-screen`, false);
  }
  await narrow.close();

  step("one time zone: the browser's, detected on the sign-in page");
  const tokyo = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: "Asia/Tokyo" });
  const far = await tokyo.newPage();
  watch(far, problems);
  await login(far, url, user, password);
  for (const name of ["dashboard", "device", "version", "job-failed"]) {
    const path = PAGES.find(([n]) => n === name)[1];
    await far.goto(`${url}${path}`);
    const times = await far.$$eval("time[datetime]", (ts) => ts.map((t) => t.textContent));
    check(times.length > 0 && times.every((t) => t.endsWith(" JST")), `${path}: every time in the browser's zone, not ${JSON.stringify(times)}`);
  }
  await shot(far, outdir, "tokyo-job-failed");
  await tokyo.close();

  step("dark theme from the system preference");
  const dark = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "dark", storageState: await context.storageState() });
  const night = await dark.newPage();
  watch(night, problems);
  for (const name of DARK) {
    const path = PAGES.find(([n]) => n === name)[1];
    await night.goto(`${url}${path}`);
    await accessibility(night, problems, `dark ${name}`);
    await shot(night, outdir, `dark-${name}`);
  }
  const nightBg = await night.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(nightBg === "rgb(15, 18, 22)", `prefers-color-scheme: dark is followed (${nightBg})`);
  await dark.close();

  check(problems.length === 0, `no console errors and no accessibility violations:\n${problems.join("\n")}`);
  await browser.close();
});
