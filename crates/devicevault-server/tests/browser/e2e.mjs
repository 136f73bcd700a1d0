// The story of issue 4 in a real browser: sign in, add a backup location,
// a credential and a device, press "Backup now" and watch the job reach
// "stored" without a reload, change the device's configuration (the Rust
// side does it in the simulator), back up again, compare the two versions
// and see the changed line highlighted, download a version (the Rust side
// checks its bytes) and the unified diff; back up once more without a
// change (still two distinct versions, every backup on demand) and open
// the dashboard's card of stored backups (its list as long as its count);
// sign out.
//
// usage: node e2e.mjs <url> <user> <password> <outdir>
// env: DV_REPO (git repository path), DV_SIM_PORT, DV_SIM_DRIVER,
//      DV_SIM_USER, DV_SIM_PASSWORD, DV_SIM_ENABLE
import fs from "node:fs";
import path from "node:path";
import { args, ask, check, launch, login, run, shot, step, watch } from "./lib.mjs";

const { url, user, password, outdir } = args();
const env = process.env;
const problems = [];

async function backupAndWait(page, row, label) {
  // A marker that a reload would lose: the job must progress in place.
  await page.evaluate(() => { window.__noReload = true; });
  const status = row.locator("[aria-live]").first();
  const before = (await status.textContent()).trim();
  await row.getByRole("button", { name: "Backup now" }).click();
  // The badge shows the previous job until this one's state arrives.
  await page.waitForFunction(
    ([el, text]) => el.textContent.trim() !== text,
    [await status.elementHandle(), before],
    { timeout: 10_000 },
  );
  await status.locator(".badge").first().waitFor();
  const seen = new Set();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = (await status.locator(".badge").first().textContent()).trim();
    seen.add(text);
    if (text === "stored") break;
    check(text !== "failed", `${label}: the job failed: ${await status.textContent()}`);
    check(Date.now() < deadline, `${label}: the job did not finish in 60 s (last: ${text})`);
    await page.waitForTimeout(100);
  }
  check(await page.evaluate(() => window.__noReload === true), `${label}: the page reloaded`);
  console.log(`${label}: states seen ${[...seen].join(" → ")}`);
  return seen;
}

run(async () => {
  const { browser, context } = await launch();
  const page = await context.newPage();
  watch(page, problems);

  step("sign in");
  await page.goto(`${url}/devices`);
  await shot(page, outdir, "01-login");
  check(page.url().includes("/login?next="), "the requested page is remembered");
  await page.getByLabel("Username", { exact: true }).fill(user);
  await page.getByLabel("Password", { exact: true }).fill("wrong password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("Unknown username or wrong password.").waitFor();
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Devices", level: 1 }).waitFor();
  check(page.url().endsWith("/devices"), `back on the requested page, not ${page.url()}`);
  await page.getByText("No devices yet.").waitFor();
  await page.goto(`${url}/`);
  await page.getByText("Welcome to DeviceVault.").waitFor();
  await shot(page, outdir, "02-dashboard-empty");

  step("add a backup location");
  await page.getByRole("link", { name: "Administration" }).click();
  await page.getByRole("link", { name: "Backup locations" }).first().click();
  await page.getByText("No backup location yet.").waitFor();
  await page.getByLabel("Name", { exact: true }).fill("Lab Git");
  await page.getByLabel("Path", { exact: true }).fill("relative/path");
  await page.getByRole("button", { name: "Add location" }).click();
  await page.locator(".field-error", { hasText: "absolute path" }).waitFor();
  await shot(page, outdir, "03-location-error");
  await page.getByLabel("Path", { exact: true }).fill(env.DV_REPO);
  await page.getByLabel("Branch", { exact: true }).fill("main");
  await page.getByRole("button", { name: "Add location" }).click();
  await page.getByText("Created.").waitFor();
  await page.getByRole("cell", { name: "Lab Git" }).waitFor();

  step("add a credential");
  await page.getByRole("link", { name: "Credentials" }).click();
  await page.getByLabel("Name", { exact: true }).fill("lab");
  await page.getByLabel("Username", { exact: true }).fill(env.DV_SIM_USER);
  await page.getByLabel("Password", { exact: true }).fill(env.DV_SIM_PASSWORD);
  await page.getByLabel("Enable secret (optional)", { exact: true }).fill(env.DV_SIM_ENABLE);
  await page.getByRole("button", { name: "Add credential" }).click();
  await page.getByText("Created.").waitFor();
  check((await page.locator("table").textContent()).includes("set (hidden)"), "secrets are write-only");

  step("add a device (first with mistakes)");
  await page.getByRole("link", { name: "Devices" }).first().click();
  await page.getByRole("link", { name: "Add device" }).click();
  await page.getByLabel("Name", { exact: true }).fill("");
  await page.getByLabel("Port", { exact: true }).fill("99999");
  await page.getByRole("button", { name: "Add device" }).click();
  await page.locator("#form-errors").waitFor();
  check(await page.locator("#f-name-err").isVisible(), "the name's error is next to the name");
  check(await page.locator("#f-port-err").isVisible(), "the port's error is next to the port");
  check((await page.locator("#f-name").getAttribute("aria-invalid")) === "true", "invalid fields are marked for screen readers");
  await shot(page, outdir, "04-device-form-errors");
  await page.getByLabel("Name", { exact: true }).fill("r1");
  await page.getByLabel("Address", { exact: true }).fill("127.0.0.1");
  await page.getByLabel("Port", { exact: true }).fill(env.DV_SIM_PORT);
  await page.getByLabel("Driver", { exact: true }).selectOption(env.DV_SIM_DRIVER);
  await page.getByLabel("Credential", { exact: true }).selectOption({ label: `lab (${env.DV_SIM_USER})` });
  await page.getByLabel("Backup location", { exact: true }).selectOption({ label: "Lab Git (git)" });
  await page.getByRole("button", { name: "Add device" }).click();
  await page.getByText("Device added.").waitFor();
  await page.getByRole("heading", { name: "r1", level: 1 }).waitFor();
  await page.getByText("No stored versions yet.").waitFor();

  step("backup now, from the device page");
  const summary = page.locator("main");
  const first = await backupAndWait(page, summary, "first backup");
  check(first.has("stored"), "the first backup was stored");
  await page.reload();
  check((await page.locator("table.versions tbody tr").count()) === 1, "one stored version");
  await shot(page, outdir, "05-device-one-version");

  step("change the configuration on the device");
  check((await ask("CHANGE_CONFIG")) === "changed", "the simulator changed the configuration");

  step("backup now, from the device list");
  await page.goto(`${url}/devices`);
  const row = page.locator("tr", { has: page.getByRole("link", { name: "r1", exact: true }) });
  await backupAndWait(page, row, "second backup");
  await shot(page, outdir, "06-devices-after-backup");

  step("compare the two versions");
  await row.getByRole("link", { name: "r1", exact: true }).click();
  const versions = page.locator("table.versions tbody tr");
  check((await versions.count()) === 2, `two stored versions, not ${await versions.count()}`);
  check((await versions.first().textContent()).includes("changed"), "the newest version is marked changed");
  await page.getByRole("button", { name: "Compare A and B" }).click();
  await page.getByRole("heading", { name: "Compare versions" }).waitFor();
  const del = page.locator("table.diff td.t.del", { hasText: "rev0" }).first();
  const ins = page.locator("table.diff td.t.ins", { hasText: "rev1" }).first();
  await del.waitFor();
  await ins.waitFor();
  check((await ins.locator("ins").first().textContent()) === "rev1", "the changed word is marked inside the line");
  check((await del.locator("del").first().textContent()) === "rev0", "the old word is marked inside the old line");
  const bg = await ins.evaluate((el) => getComputedStyle(el).backgroundColor);
  const markBg = await ins.locator("ins").first().evaluate((el) => getComputedStyle(el).backgroundColor);
  check(bg !== "rgba(0, 0, 0, 0)" && markBg !== bg, `changed lines and words are highlighted (${bg}, ${markBg})`);
  const folded = await page.locator("table.diff tr.skip").allTextContents();
  check(folded.length > 0 && /unchanged lines/.test(folded[0]), `unchanged stretches are folded: ${folded.slice(0, 2)}`);
  await shot(page, outdir, "07-compare");

  step("compare: the keys n and p, and a folded run opened in place");
  await page.keyboard.press("n");
  await page.waitForFunction(() => document.querySelector("table.diff tr.current") !== null);
  check((await page.locator("table.diff tr.current").getAttribute("id")) === "change-1", "n goes to the first change");
  check(page.url().endsWith("#change-1"), `the address names the change: ${page.url()}`);
  const runs = await page.locator("table.diff tr[id^='change-']").count();
  await page.keyboard.press("n");
  const second = await page.locator("table.diff tr.current").getAttribute("id");
  check(second === (runs > 1 ? "change-2" : "change-1"), `n again: ${second} of ${runs}`);
  await page.keyboard.press("p");
  check((await page.locator("table.diff tr.current").getAttribute("id")) === "change-1", "p goes back");
  const fold = page.locator("table.diff tr.skip").first();
  const count = parseInt(await fold.getAttribute("data-count"), 10);
  const from = parseInt(await fold.getAttribute("data-old-from"), 10);
  const before = await page.locator("table.diff tbody tr").count();
  await fold.getByRole("button", { name: "Show these lines" }).click();
  await page.waitForFunction((n) => document.querySelectorAll("table.diff tbody tr").length === n, before - 1 + count);
  const unfolded = await page.locator(`table.diff td.n[data-n="${from}"]`).count();
  check(unfolded >= 1, `the folded lines from ${from} are shown in place`);
  await page.locator(".diff-wrap").focus();
  const scrolled = await page.evaluate(() => document.activeElement && document.activeElement.classList.contains("diff-wrap"));
  check(scrolled, "the comparison pane takes the keyboard focus, so arrows scroll it");
  await page.getByRole("link", { name: "Show every line" }).click();
  await page.getByRole("link", { name: "Show only the changes" }).waitFor();
  check((await page.locator("table.diff tr.skip").count()) === 0, "every line is shown");

  step("compare: every line comes in pages, the next appended as the reader scrolls");
  const shown = await page.locator("nav.diff-pages .rows-shown").textContent();
  const all = parseInt(shown.split(" of ")[1].replace(/,/g, ""), 10);
  const firstPage = await page.locator("table.diff tbody tr").count();
  check(firstPage === 2000 && all > 2000, `a first page of 2,000 rows of ${all}, not ${firstPage}`);
  await page.locator("table.diff tbody tr").last().scrollIntoViewIfNeeded();
  await page.waitForFunction((n) => document.querySelectorAll("table.diff tbody tr").length === n, all);
  check((await page.locator("a[data-more-rows]").count()) === 0, "every row is loaded, no further link");
  const rowsShown = await page.locator("nav.diff-pages .rows-shown").textContent();
  check(rowsShown.includes(`–${shown.split(" of ")[1]} of`), `the count follows: ${rowsShown}`);

  step("download the unified diff");
  const [diffDl] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Unified diff" }).click(),
  ]);
  const diffPath = path.join(outdir, "r1.diff");
  await diffDl.saveAs(diffPath);
  const diffText = fs.readFileSync(diffPath, "utf8");
  check(/^--- r1@/.test(diffText) && /\n-.*rev0/.test(diffText) && /\n\+.*rev1/.test(diffText), `a unified diff:\n${diffText.slice(0, 400)}`);

  step("view and download a version");
  await page.goto(`${url}/devices`);
  await page.getByRole("link", { name: "r1", exact: true }).click();
  const newest = versions.first();
  await newest.getByRole("link", { name: "View" }).click();
  await page.getByRole("link", { name: "Compare with previous" }).waitFor();
  check((await page.locator("pre.code").textContent()).includes("rev1"), "the version shows its configuration");
  await shot(page, outdir, "08-version");
  const storedId = page.url().match(/\/backups\/(\d+)/)[1];
  const [dl] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download" }).click(),
  ]);
  check(/^r1-\d+T\d+\.cfg$/.test(dl.suggestedFilename()), `file name ${dl.suggestedFilename()}`);
  const cfgPath = path.join(outdir, "r1.cfg");
  await dl.saveAs(cfgPath);
  check((await ask(`CHECK_DOWNLOAD ${storedId} ${cfgPath}`)) === "same", "the downloaded bytes are the stored bytes");

  step("the job's log");
  await page.getByRole("link", { name: "Log" }).click();
  await page.getByRole("heading", { name: "Backup job" }).waitFor();
  await page.getByRole("heading", { name: "Collection" }).waitFor();
  check((await page.locator("#job-state .badge").textContent()) === "stored", "the job is stored");
  check((await page.locator("table.log tbody tr").count()) >= 2, "collection and storage logs are shown");
  await shot(page, outdir, "09-job-log");

  step("the dashboard counts both backups");
  await page.goto(`${url}/`);
  const stored = await page.locator(".card", { hasText: "Stored, last 24 h" }).locator(".card-value").textContent();
  check(stored.trim() === "2", `two stored backups on the dashboard, not ${stored}`);
  await page.locator("svg.chart").waitFor();
  await shot(page, outdir, "10-dashboard");

  step("an unchanged backup confirms the newest version instead of adding one");
  await page.goto(`${url}/devices`);
  await page.getByRole("link", { name: "r1", exact: true }).click();
  await backupAndWait(page, page.locator("main"), "third backup, unchanged");
  await page.reload();
  check((await versions.count()) === 2, `still two distinct versions, not ${await versions.count()}`);
  const confirmations = (await versions.first().locator("td.num").first().textContent()).trim();
  check(confirmations === "2", `the newest version was found by two backups, not ${confirmations}`);
  check(
    (await page.getByRole("radio", { name: /New version \(B\)/ }).first().isChecked()) &&
      (await page.getByRole("radio", { name: /Old version \(A\)/ }).nth(1).isChecked()),
    "the default pick is the newest change (B) against the version before it (A)",
  );
  await page.getByRole("button", { name: "Compare A and B" }).click();
  await page.getByRole("heading", { name: "Compare versions" }).waitFor();
  check((await page.getByText("These two versions are identical.").count()) === 0, "the default compare shows a change");
  await page.goBack();
  await page.getByRole("link", { name: "Show every backup" }).click();
  await page.getByRole("heading", { name: "Every backup" }).waitFor();
  check((await versions.count()) === 3, `every backup listed, not ${await versions.count()}`);
  await shot(page, outdir, "10b-every-backup");

  step("the dashboard's card opens the results it counts");
  await page.goto(`${url}/`);
  const card = page.locator(".card", { hasText: "Stored, last 24 h" });
  const counted = (await card.locator(".card-value").textContent()).trim();
  check(counted === "3", `three stored backups on the dashboard, not ${counted}`);
  await card.click();
  await page.getByRole("heading", { name: "Backup results" }).waitFor();
  const listed = await page.locator("table.results tbody tr").count();
  check(String(listed) === counted, `the card counted ${counted}, its list shows ${listed}`);
  await shot(page, outdir, "10c-results");

  step("keyboard: skip link and focusable controls");
  await page.goto(`${url}/`);
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement.textContent);
  check(focused.includes("Skip to content"), `the first Tab reaches the skip link, not ${focused}`);

  step("sign out");
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  await page.goto(`${url}/devices`);
  check(page.url().includes("/login"), "signed out: the devices page asks to sign in");

  check(problems.length === 0, `no console errors:\n${problems.join("\n")}`);
  await browser.close();
});
