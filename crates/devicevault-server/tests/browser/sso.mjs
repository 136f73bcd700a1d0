// Single sign-on with OpenID Connect in a real browser (issue 20): npm's
// oidc-provider (started by the Rust test) and DeviceVault, through
// Chromium. Each scenario runs in a fresh browser context (no cookies of
// the provider or of DeviceVault left from the one before):
//
// 1. alice signs in with "Sign in with test-sso", lands on the dashboard
//    signed in (the Rust side checks her role), logs out — through the
//    provider's end-session page — and is signed out;
// 2. a tampered ID token (the Rust side has the provider send one) is
//    refused: the login page says the sign-in failed, no session;
// 3. an ID token issued for another client (wrong audience): refused;
// 4. an expired session: the callback arrives after the pending login's
//    time (provider "short", login_timeout_secs = 2): refused;
// 5. bob, in no mapped group: refused, saying why.
//
// usage: node sso.mjs <url> <user> <password> <outdir>  (lib.mjs's
// arguments; user and password are not used: everyone here signs in at the
// provider, as alice or bob)
import { args, ask, check, launch, run, shot, step, watch } from "./lib.mjs";

const { url, outdir } = args();
const problems = [];

async function context() {
  // The provider's certificate comes from the test's own CA.
  return launch({ ignoreHTTPSErrors: true });
}

// From DeviceVault's login page through the provider's pages (login form,
// then consent when it asks) back to DeviceVault.
async function signInAt(page, provider, login, password, { beforeCallback } = {}) {
  await page.goto(`${url}/login`);
  await page.getByRole("link", { name: `Sign in with ${provider}` }).click();
  await page.locator("input[name=login]").waitFor();
  check(!page.url().startsWith(url), `at the provider, not ${page.url()}`);
  await page.locator("input[name=login]").fill(login);
  await page.locator("input[name=password]").fill(password);
  if (beforeCallback) await beforeCallback(page);
  await page.getByRole("button", { name: "Sign in" }).click();
  // Consent, the first time this client asks for these scopes.
  const consent = page.getByRole("button", { name: "Continue" });
  await Promise.race([
    consent.waitFor().then(() => consent.click()).catch(() => {}),
    page.waitForURL(`${url}/**`),
  ]);
  await page.waitForURL(`${url}/**`);
  await page.waitForLoadState("load");
}

async function refused(page, message, label) {
  await page.getByText(message).waitFor();
  await shot(page, outdir, label);
  const cookies = await page.context().cookies(url);
  check(!cookies.some((c) => c.name === "dv_session"), `${label}: no session cookie`);
  await page.goto(`${url}/devices`);
  check(page.url().includes("/login"), `${label}: signed out, at ${page.url()}`);
}

run(async () => {
  {
    step("alice signs in with test-sso");
    const { browser, context: ctx } = await context();
    const page = await ctx.newPage();
    watch(page, problems);
    await signInAt(page, "test-sso", "alice", "alice-password");
    await page.getByRole("heading", { name: "Dashboard", level: 1 }).waitFor();
    check((await page.textContent("body")).includes("alice"), "the dashboard names alice");
    const session = (await ctx.cookies(url)).find((c) => c.name === "dv_session");
    check(session && session.httpOnly && session.sameSite === "Strict", "a strict, HTTP-only session");
    await shot(page, outdir, "signed-in");
    check((await ask("CHECK_ALICE")) === "ok", "alice is an operator from oidc:test-sso");

    step("alice logs out through the provider");
    await page.getByRole("button", { name: "Log out" }).click();
    // oidc-provider asks whether to sign out of it too.
    const yes = page.getByRole("button", { name: /yes|sign me out/i });
    await Promise.race([
      yes.waitFor().then(() => yes.click()).catch(() => {}),
      page.waitForURL(`${url}/login**`),
    ]);
    await page.waitForURL(`${url}/login**`);
    await page.goto(`${url}/devices`);
    check(page.url().includes("/login"), `signed out, at ${page.url()}`);
    await browser.close();
  }
  {
    step("a tampered ID token is refused");
    check((await ask("TAMPER")) === "ok", "the provider will send a tampered token");
    const { browser, context: ctx } = await context();
    const page = await ctx.newPage();
    await signInAt(page, "test-sso", "alice", "alice-password");
    await refused(page, "The sign-in with test-sso failed", "tampered");
    await browser.close();
  }
  {
    step("an ID token for another audience is refused");
    check((await ask("WRONG_AUDIENCE")) === "ok", "the provider will send another client's token");
    const { browser, context: ctx } = await context();
    const page = await ctx.newPage();
    await signInAt(page, "test-sso", "alice", "alice-password");
    await refused(page, "The sign-in with test-sso failed", "wrong-audience");
    await browser.close();
  }
  {
    step("an expired sign-in is refused");
    const { browser, context: ctx } = await context();
    const page = await ctx.newPage();
    // The person lingers at the provider past the pending login's 2 s.
    await signInAt(page, "short", "alice", "alice-password", {
      beforeCallback: (p) => p.waitForTimeout(3500),
    });
    await refused(page, "The sign-in expired", "expired");
    await browser.close();
  }
  {
    step("bob, in no mapped group, is refused");
    const { browser, context: ctx } = await context();
    const page = await ctx.newPage();
    await signInAt(page, "test-sso", "bob", "bob-password");
    await refused(page, "your groups give you no access", "unmapped");
    await browser.close();
  }
  // DeviceVault's pages only: the provider's test pages are not ours (its
  // logout page asks for a web font, which is out of reach here).
  const ours = problems.filter((p) => p.includes(`(${url}/`));
  check(ours.length === 0, `problems:\n${ours.join("\n")}`);
});
