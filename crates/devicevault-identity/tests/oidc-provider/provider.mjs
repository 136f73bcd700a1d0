// The OpenID provider the devicevault-identity tests sign in against:
// oidc-provider (a certified OpenID Connect implementation) behind HTTPS,
// with the accounts, clients and TLS files the Rust test hands it.
//
//   node provider.mjs CONFIG.json
//
// CONFIG.json: { "tls_key": path, "tls_cert": path, "port_file": path,
//   "accounts": { "<login>": { "password": "...", "claims": { ... } } },
//   "clients": [ { "client_id", "client_secret", "redirect_uris",
//                  "post_logout_redirect_uris", "id_token_ttl"?, and any
//                  other client metadata oidc-provider knows } ] }
//
// It listens on a free port of 127.0.0.1 and writes that port to
// port_file once it serves (stdout is left to oidc-provider's notices).
// The sign-in pages are the test's own (a login form that checks the
// password, then a consent form), so a script can drive them with plain
// HTTP requests and a browser can too.
//
// Test controls, under /__test/ (never part of a real provider):
//   POST /__test/rotate               sign with a new RSA key from now on; the
//                                     old key stays published (a rotation)
//   POST /__test/next-id-token TOKEN  the next token response carries TOKEN
//                                     as its id_token instead of the real one
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

let keyCount = 0;
function newSigningKey() {
  keyCount += 1;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `key-${keyCount}`, alg: 'RS256', use: 'sig' };
}

// The first key is the one oidc-provider signs with; the others stay in the
// JWKS so tokens they signed still verify.
let signingKeys = [newSigningKey()];
let nextIdToken = null;
let provider = null;
let handler = null;

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function makeProvider(issuer) {
  const p = new Provider(issuer, {
    clients: config.clients.map(({ id_token_ttl: _ttl, ...client }) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...client,
    })),
    jwks: { keys: signingKeys },
    async findAccount(_ctx, sub) {
      const account = config.accounts[sub];
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...account.claims }) };
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    scopes: ['openid', 'profile', 'email', 'groups'],
    // HS256 too, so a test can check that the client refuses ID tokens
    // signed with its own secret (id_token_signed_response_alg: HS256).
    enabledJWA: { idTokenSigningAlgValues: ['RS256', 'HS256'] },
    // Every client must use PKCE, confidential ones included.
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
    },
    ttl: {
      IdToken: (_ctx, _token, client) => {
        const found = config.clients.find((c) => c.client_id === client.clientId);
        return found?.id_token_ttl ?? 3600;
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['devicevault-identity-test-cookie-key'] },
  });
  p.proxy = false;
  // Swap the id_token of one token response (see the header).
  p.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'token' && nextIdToken && ctx.body && ctx.body.id_token) {
      ctx.body = { ...ctx.body, id_token: nextIdToken };
      nextIdToken = null;
    }
  });
  return p;
}

async function interaction(req, res, path) {
  const [, , uid, action] = path.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Wrong interaction', ''));
  if (req.method === 'GET' && !action) {
    if (details.prompt.name === 'login') {
      return send(res, 200, page('Sign in', `<form method="post" action="/interaction/${uid}/login">`
        + '<input name="login" autocomplete="username"> <input name="password" type="password">'
        + ' <button type="submit">Sign in</button></form>'));
    }
    return send(res, 200, page('Authorize', `<p>${escapeHtml(details.params.client_id)} asks for `
      + `${escapeHtml(details.params.scope)}</p><form method="post" action="/interaction/${uid}/confirm">`
      + '<button type="submit">Continue</button></form>'));
  }
  if (req.method === 'POST' && action === 'login') {
    const form = new URLSearchParams(await readBody(req));
    const login = form.get('login') ?? '';
    const account = config.accounts[login];
    if (!account || account.password !== form.get('password')) {
      return send(res, 401, page('Sign in', '<p class="error">Invalid login or password.</p>'
        + `<form method="post" action="/interaction/${uid}/login"><input name="login"> `
        + '<input name="password" type="password"> <button type="submit">Sign in</button></form>'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  }
  if (req.method === 'POST' && action === 'confirm') {
    const { prompt, params, session } = details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  return send(res, 405, page('Not allowed', ''));
}

const server = createServer({
  key: readFileSync(config.tls_key),
  cert: readFileSync(config.tls_cert),
}, async (req, res) => {
  const path = new URL(req.url, 'https://localhost').pathname;
  try {
    if (path === '/__test/rotate' && req.method === 'POST') {
      signingKeys = [newSigningKey(), ...signingKeys];
      provider = makeProvider(provider.issuer);
      handler = provider.callback();
      return send(res, 200, `${signingKeys[0].kid}\n`, 'text/plain');
    }
    if (path === '/__test/next-id-token' && req.method === 'POST') {
      nextIdToken = (await readBody(req)).trim();
      return send(res, 200, 'ok\n', 'text/plain');
    }
    if (path.startsWith('/interaction/')) return await interaction(req, res, path);
    return handler(req, res);
  } catch (err) {
    process.stderr.write(`${err.stack}\n`);
    if (!res.headersSent) send(res, 500, page('Error', escapeHtml(err.message)));
    return undefined;
  }
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  provider = makeProvider(`https://127.0.0.1:${port}`);
  handler = provider.callback();
  writeFileSync(`${config.port_file}.tmp`, `${port}\n`);
  renameSync(`${config.port_file}.tmp`, config.port_file);
});

// The test owns this process: end with it.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
