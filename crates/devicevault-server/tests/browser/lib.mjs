// Shared by the browser tests: Debian's Chromium through playwright-core,
// a line protocol with the Rust test that started us (it owns the
// simulated devices), screenshots, and checks that fail loudly.
import { chromium } from "playwright-core";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";

export const CHROMIUM = process.env.DV_CHROMIUM || "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export function args() {
  const [url, user, password, outdir] = process.argv.slice(2);
  if (!url || !user || !password || !outdir) {
    console.error("usage: node <script> <url> <user> <password> <outdir>");
    process.exit(2);
  }
  fs.mkdirSync(outdir, { recursive: true });
  return { url: url.replace(/\/$/, ""), user, password, outdir };
}

// Asks the Rust side to do something (a line on stdout) and waits for its
// one-line answer on stdin.
const input = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
export async function ask(request) {
  console.log(`ASK ${request}`);
  const { value, done } = await input.next();
  if (done) throw new Error(`no answer to ${request}`);
  return value.trim();
}

export function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

export async function launch(options = {}) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    ...options,
  });
  context.setDefaultTimeout(20_000);
  return { browser, context };
}

// Every console error and uncaught exception of a page (a CSP violation
// shows up here too) fails the test at the end. Pages answered with a 4xx
// on purpose (a form with errors is a 422, a failed login a 401) log
// "Failed to load resource" and are not problems.
export function watch(page, problems) {
  page.on("console", (m) => {
    const expected = /Failed to load resource: the server responded with a status of 4\d\d/.test(m.text());
    if (m.type() === "error" && !expected) problems.push(`console: ${m.text()} (${page.url()})`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message} (${page.url()})`));
}

export async function shot(page, outdir, name, fullPage = true) {
  const file = path.join(outdir, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  console.log(`SCREENSHOT ${file}`);
}

export async function login(page, url, user, password) {
  await page.goto(`${url}/`);
  check(page.url().includes("/login"), `an anonymous visit lands on the login page, not ${page.url()}`);
  await page.getByLabel("Username", { exact: true }).fill(user);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard", level: 1 }).waitFor();
}

export async function run(main) {
  const started = Date.now();
  try {
    await main();
    console.log(`DONE in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.exit(0);
  } catch (e) {
    console.error(`FAILED: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  }
}

export function step(name) {
  console.log(`STEP ${name}`);
}

// axe-core's accessibility checks (WCAG 2.1 A and AA) on the page as it is
// now; each violation becomes a problem naming the rule, the page and the
// elements. Evaluated through the DevTools protocol, which the pages' CSP
// (no inline script) does not block.
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
export async function accessibility(page, problems, label) {
  // A string is evaluated as a script by the protocol itself (no eval()
  // in the page, which its CSP forbids).
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return r.violations.map((v) => ({
      id: v.id,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary.replace(/\s+/g, " ")}`),
    }));
  });
  for (const v of violations) {
    problems.push(`axe ${v.id} on ${label} (${page.url()}): ${v.help}\n    ${v.nodes.join("\n    ")}`);
  }
}
