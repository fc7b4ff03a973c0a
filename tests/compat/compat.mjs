// Compatibility test: the official HighLevel Node SDK (@gohighlevel/api-client,
// pinned to 3.1.0) against the rankr GHL sandbox, for all 23 Payments
// operations and the SDK's OAuth path (code exchange, session storage,
// refresh on 401 and before expiry, company and location tokens).
//
// Run it through scripts/compat, which builds and starts the sandbox and sets:
//   COMPAT_BASE_URL     the sandbox's base URL (loopback only)
//   COMPAT_TOKEN        a token valid for every seeded location
//   COMPAT_LOCATION_ID  the location most checks run against
//   COMPAT_LOCATION_IDS (optional) every seeded location, comma-separated;
//                       used when COMPAT_LOCATION_ID has no subscriptions
//   COMPAT_DEBUG=1      (optional) print every request the SDK sends
//
// How it checks:
//   * The SDK talks to the sandbox through a small recording proxy on
//     127.0.0.1, so every call is checked on the wire too: exactly one
//     request, the spec's method and path, path parameters in the path, query
//     parameters in the query (and nothing else), the JSON body exactly as
//     given, the Version / Authorization / x-sdk-version headers, and the
//     spec's success status.
//   * Answers are compared with the sandbox's truth (GET /_sandbox/truth)
//     and with the required fields of the response schemas in GHL's
//     OpenAPI spec (apps/payments.json).
//   * Ids are never hard-coded: they are picked from the truth at run time.
//
// Output: one line per check, then one line per operation and the summaries
// "N/N operations OK" (Payments and the services of store.mjs) and
// "7/7 OAuth checks OK". Exit status 0
// only if every operation and every OAuth check passed.

import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import {
  HighLevel,
  GHLError,
  GHLAuthenticationError,
  GHLValidationError,
} from '@gohighlevel/api-client';
import { STORE_OPS, storeSteps } from './store.mjs';
import { INVOICE_OPS, invoiceSteps, checkSDKMethods as checkInvoiceMethods } from './invoices.mjs';
import { PRODUCT_OPS, productSteps } from './products.mjs';

const require = createRequire(import.meta.url);
const SDK_PACKAGE = require('@gohighlevel/api-client/package.json');
const PINNED_SDK_VERSION = '3.1.0';
const API_VERSION = '2021-07-28';
const SDK_DEFAULT_API_VERSION = '2023-02-21';
const DEBUG = process.env.COMPAT_DEBUG === '1';

// ---------------------------------------------------------------------------
// The 23 Payments operations: method, path and success status from GHL's spec
// (apps/payments.json); `args` is how SDK 3.1.0 takes its arguments, read
// from dist/lib/code/payments/payments.js and re-checked at start-up:
//   params       one object holding path and query parameters by name
//   requestBody  the JSON body
// Path parameters are named in `path` as {name}.

const OPS = {
  createIntegrationProvider: { method: 'POST', path: '/payments/integrations/provider/whitelabel', status: 200, args: ['requestBody'] },
  listIntegrationProviders: { method: 'GET', path: '/payments/integrations/provider/whitelabel', status: 200, args: ['params'] },
  listOrders: { method: 'GET', path: '/payments/orders', status: 200, args: ['params'] },
  getOrderById: { method: 'GET', path: '/payments/orders/{orderId}', status: 200, args: ['params'] },
  recordOrderPayment: { method: 'POST', path: '/payments/orders/{orderId}/record-payment', status: 200, args: ['params', 'requestBody'] },
  createOrderFulfillment: { method: 'POST', path: '/payments/orders/{orderId}/fulfillments', status: 200, args: ['params', 'requestBody'] },
  listOrderFulfillment: { method: 'GET', path: '/payments/orders/{orderId}/fulfillments', status: 200, args: ['params'] },
  listOrderNotes: { method: 'GET', path: '/payments/orders/{orderId}/notes', status: 200, args: ['params'] },
  listTransactions: { method: 'GET', path: '/payments/transactions', status: 200, args: ['params'] },
  getTransactionById: { method: 'GET', path: '/payments/transactions/{transactionId}', status: 200, args: ['params'] },
  listSubscriptions: { method: 'GET', path: '/payments/subscriptions', status: 200, args: ['params'] },
  getSubscriptionById: { method: 'GET', path: '/payments/subscriptions/{subscriptionId}', status: 200, args: ['params'] },
  listCoupons: { method: 'GET', path: '/payments/coupon/list', status: 200, args: ['params'] },
  createCoupon: { method: 'POST', path: '/payments/coupon', status: 201, args: ['requestBody'] },
  updateCoupon: { method: 'PUT', path: '/payments/coupon', status: 200, args: ['requestBody'] },
  deleteCoupon: { method: 'DELETE', path: '/payments/coupon', status: 200, args: ['requestBody'] },
  getCoupon: { method: 'GET', path: '/payments/coupon', status: 200, args: ['params'] },
  createIntegration: { method: 'POST', path: '/payments/custom-provider/provider', status: 200, args: ['params', 'requestBody'] },
  deleteIntegration: { method: 'DELETE', path: '/payments/custom-provider/provider', status: 200, args: ['params'] },
  fetchConfig: { method: 'GET', path: '/payments/custom-provider/connect', status: 200, args: ['params'] },
  createConfig: { method: 'POST', path: '/payments/custom-provider/connect', status: 200, args: ['params', 'requestBody'] },
  disconnectConfig: { method: 'POST', path: '/payments/custom-provider/disconnect', status: 200, args: ['params', 'requestBody'] },
  customProviderMarketplaceAppUpdateCapabilities: { method: 'PUT', path: '/payments/custom-provider/capabilities', status: 200, args: ['requestBody'] },
};
const PAYMENT_OPS = Object.keys(OPS);
// The other services' operations, each table in its own module; an entry's
// `service` names the SDK's service object that has the method.
Object.assign(OPS, STORE_OPS);
Object.assign(OPS, INVOICE_OPS);
Object.assign(OPS, PRODUCT_OPS); // `fn` names the SDK method when the key cannot
const OP_NAMES = Object.keys(OPS);

// Required fields of the response schemas (apps/payments.json).
const COUPON_FIELDS = ['_id', 'usageCount', 'limitPerCustomer', 'altId', 'altType', 'name', 'code', 'discountType',
  'discountValue', 'status', 'startDate', 'applyToFuturePayments', 'applyToFuturePaymentsConfig', 'createdAt', 'updatedAt'];
const CUSTOM_PROVIDER_FIELDS = ['name', 'description', 'paymentsUrl', 'queryUrl', 'imageUrl', '_id', 'locationId',
  'marketplaceAppId', 'deleted', 'createdAt', 'updatedAt'];
const REQUIRED = {
  ListOrdersResponseDto: ['data', 'totalCount'],
  OrderResponseSchema: ['_id', 'altId', 'altType', 'status', 'sourceType', 'createdAt', 'updatedAt'],
  GetOrderResponseSchema: ['_id', 'altId', 'altType', 'status', 'createdAt', 'updatedAt'],
  PostRecordOrderPaymentResponse: ['success'],
  CreateFulfillmentResponseDto: ['status', 'data'],
  ListFulfillmentResponseDto: ['status', 'data'],
  FulfillmentSchema: ['altId', 'altType', 'trackings', '_id', 'items', 'createdAt', 'updatedAt'],
  FulfilledItem: ['_id', 'name', 'product', 'price', 'qty'],
  DefaultProductResponseDto: ['_id', 'locationId', 'name', 'productType', 'createdAt', 'updatedAt'],
  DefaultPriceResponseDto: ['_id', 'name', 'type', 'currency', 'amount'],
  ListTxnsResponseDto: ['data', 'totalCount'],
  TxnResponseSchema: ['_id', 'altId', 'altType', 'status', 'entitySourceType', 'createdAt', 'updatedAt', 'fulfilledAt'],
  GetTxnResponseSchema: ['_id', 'altType', 'altId', 'createdAt', 'updatedAt'],
  ListSubscriptionResponseDto: ['data', 'totalCount'],
  SubscriptionResponseSchema: ['_id', 'altId', 'altType', 'status', 'entitySourceType', 'createdAt', 'updatedAt'],
  GetSubscriptionResponseSchema: ['_id', 'altType', 'altId', 'createdAt', 'updatedAt'],
  ListCouponsResponseDto: ['data', 'totalCount', 'traceId'],
  CouponDto: COUPON_FIELDS,
  CreateCouponResponseDto: [...COUPON_FIELDS, 'traceId'],
  DeleteCouponResponseDto: ['success', 'traceId'],
  CreateCustomProvidersResponseSchema: CUSTOM_PROVIDER_FIELDS,
  GetCustomProvidersResponseSchema: CUSTOM_PROVIDER_FIELDS,
  ConnectCustomProvidersResponseSchema: CUSTOM_PROVIDER_FIELDS,
  DeleteCustomProvidersResponseSchema: ['success'],
  DisconnectCustomProvidersResponseSchema: ['success'],
  UpdateCustomProviderCapabilitiesResponseSchema: ['success'],
  CreateWhitelabelIntegrationResponseDto: ['_id', 'altId', 'altType', 'title', 'route', 'provider', 'description', 'imageUrl', 'createdAt', 'updatedAt'],
  IntegrationProviderSchema: ['_id', 'altId', 'altType', 'title', 'route', 'provider', 'description', 'imageUrl', 'createdAt', 'updatedAt'],
  ListWhitelabelIntegrationProviderResponseDto: ['providers'],
};

function hasRequired(obj, schema, where = schema) {
  assert.ok(obj !== null && typeof obj === 'object' && !Array.isArray(obj), `${where}: expected an object, got ${show(obj)}`);
  const missing = REQUIRED[schema].filter((k) => obj[k] === undefined || obj[k] === null);
  assert.deepEqual(missing, [], `${where}: fields the spec's ${schema} requires are missing: ${missing.join(', ')}`);
}

// ---------------------------------------------------------------------------
// Small helpers.

function show(v) {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 300 ? s.slice(0, 300) + '…' : s;
}

function omit(obj, ...keys) {
  const out = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}

const cents = (amount) => Math.round(Number(amount) * 100);
const ids = (list) => list.map((x) => x._id);
const newestFirst = (list) => [...list].reverse();
const sortedIds = (list) => ids(list).sort();

function env(name, required = true) {
  const v = process.env[name];
  if (required && !v) {
    console.error(`FAIL  setup: environment variable ${name} is not set (run scripts/compat)`);
    process.exit(2);
  }
  return v;
}

// ---------------------------------------------------------------------------
// The recording proxy: the SDK's only way to the sandbox.

const wire = []; // every request the SDK sent, in order

function startProxy(upstream) {
  const up = new URL(upstream);
  const hop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection', 'upgrade']);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const u = new URL(req.url, 'http://proxy.invalid');
      const rec = { method: req.method, path: u.pathname, rawQuery: u.search, query: u.searchParams, headers: req.headers, body: body.toString('utf8') };
      wire.push(rec);
      const headers = { ...req.headers, host: up.host };
      const preq = http.request({ hostname: up.hostname, port: up.port, method: req.method, path: req.url, headers }, (pres) => {
        const rc = [];
        pres.on('data', (c) => rc.push(c));
        pres.on('end', () => {
          const out = Buffer.concat(rc);
          rec.status = pres.statusCode;
          rec.response = out.toString('utf8');
          if (DEBUG) console.log(`      ${rec.method} ${req.url} ${rec.body ? rec.body + ' ' : ''}-> ${rec.status} ${rec.response.slice(0, 200)}`);
          const h = {};
          for (const [k, v] of Object.entries(pres.headers)) if (!hop.has(k)) h[k] = v;
          h['content-length'] = out.length;
          res.writeHead(pres.statusCode, h);
          res.end(out);
        });
      });
      preq.on('error', (e) => {
        rec.status = 502;
        rec.response = `compat proxy: ${e.message}`;
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ statusCode: 502, message: rec.response }));
      });
      preq.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// ---------------------------------------------------------------------------
// Calling the SDK, with wire checks.

class OpError extends Error {
  constructor(op, message) {
    super(message);
    this.op = op;
  }
}

const clients = new WeakMap(); // HighLevel instance -> {token, version}
const calls = Object.fromEntries(OP_NAMES.map((op) => [op, 0]));

function expandPath(template, params = {}) {
  return template.replace(/\{(\w+)\}/g, (_, name) => {
    if (params[name] === undefined) throw new OpError(null, `test bug: path parameter ${name} not given`);
    return encodeURIComponent(String(params[name]));
  });
}

// checkWire checks the one request the SDK sent for op.
function checkWire(client, op, input, sent, wantStatus) {
  const spec = OPS[op];
  const who = clients.get(client);
  const fail = (msg) => {
    const r = sent[sent.length - 1];
    const req = r ? `${r.method} ${r.path}${r.rawQuery}${r.body ? ' body ' + r.body : ''} -> ${r.status} ${(r.response || '').slice(0, 300)}` : 'no request';
    throw new OpError(op, `${msg}\n        request: ${req}`);
  };
  if (sent.length !== 1) fail(`the SDK sent ${sent.length} requests for one call (want 1: ${sent.map((r) => `${r.method} ${r.path} -> ${r.status}`).join(', ')})`);
  const r = sent[0];
  const params = input.params || {};
  const pathParams = [...spec.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  if (r.method !== spec.method) fail(`method ${r.method}, spec says ${spec.method}`);
  const wantPath = expandPath(spec.path, params);
  if (r.path !== wantPath) fail(`path ${r.path}, want ${wantPath}`);
  const wantQuery = {};
  for (const [k, v] of Object.entries(params)) if (!pathParams.includes(k) && v !== undefined) wantQuery[k] = String(v);
  const gotQuery = {};
  for (const [k, v] of r.query) {
    if (k in gotQuery) fail(`query parameter ${k} sent twice`);
    gotQuery[k] = v;
  }
  try {
    assert.deepEqual(gotQuery, wantQuery);
  } catch {
    fail(`query ${show(gotQuery)}, want ${show(wantQuery)}`);
  }
  if (r.headers.version !== who.version) fail(`Version header ${show(r.headers.version)}, want ${who.version}`);
  if (r.headers.authorization !== `Bearer ${who.token}`) fail(`Authorization header ${show(r.headers.authorization)}, want "Bearer ${who.token}"`);
  if (r.headers['x-sdk-version'] !== PINNED_SDK_VERSION) fail(`x-sdk-version header ${show(r.headers['x-sdk-version'])}, want ${PINNED_SDK_VERSION}`);
  if (spec.args.includes('requestBody')) {
    if (!/^application\/json\b/.test(r.headers['content-type'] || '')) fail(`Content-Type ${show(r.headers['content-type'])}, want application/json`);
    let got;
    try {
      got = JSON.parse(r.body);
    } catch {
      fail(`the body is not JSON: ${show(r.body)}`);
    }
    try {
      assert.deepEqual(got, JSON.parse(JSON.stringify(input.body)));
    } catch {
      fail(`body ${show(got)}, want ${show(input.body)}`);
    }
  } else if (r.body !== '') {
    fail(`unexpected request body ${show(r.body)}`);
  }
  if (r.status !== wantStatus) fail(`status ${r.status}, want ${wantStatus}`);
  return r;
}

async function invoke(client, op, input) {
  const args = OPS[op].args.map((a) => (a === 'params' ? input.params : input.body));
  const from = wire.length;
  let result, error;
  try {
    result = await client[OPS[op].service ?? 'payments'][OPS[op].fn ?? op](...args);
  } catch (e) {
    error = e;
  }
  calls[op]++;
  return { result, error, sent: wire.slice(from) };
}

// ok calls op and expects success; it returns the SDK's answer.
async function ok(client, op, input = {}) {
  const { result, error, sent } = await invoke(client, op, input);
  if (error) {
    const r = sent[sent.length - 1];
    throw new OpError(op, `the SDK threw ${error.name}${error.statusCode ? ' ' + error.statusCode : ''}: ${error.message}` +
      (r ? `\n        request: ${r.method} ${r.path}${r.rawQuery}${r.body ? ' body ' + r.body : ''} -> ${r.status} ${(r.response || '').slice(0, 300)}` : ''));
  }
  checkWire(client, op, input, sent, OPS[op].status);
  return result;
}

// fails calls op and expects the SDK to throw a GHLError with status; it
// returns the error.
async function fails(client, op, input, status) {
  const { result, error, sent } = await invoke(client, op, input);
  if (!error) throw new OpError(op, `expected the SDK to throw (status ${status}), got ${show(result)}`);
  if (!(error instanceof GHLError)) throw new OpError(op, `expected a GHLError, got ${error?.constructor?.name}: ${error?.message}`);
  checkWire(client, op, input, sent, status);
  if (error.statusCode !== status) throw new OpError(op, `GHLError.statusCode ${error.statusCode}, want ${status}`);
  return error;
}

// ---------------------------------------------------------------------------
// Steps and reporting.

const steps = []; // {op, title, state: ok|FAIL|skip, detail}

class Skip extends Error {}

function needs(...values) {
  for (const v of values) if (v === undefined || v === null) throw new Skip('an earlier step it depends on failed');
}

async function step(op, title, fn) {
  const s = { op, title, state: 'ok', blame: [op] };
  try {
    s.detail = (await fn()) || '';
  } catch (e) {
    if (e instanceof Skip) {
      s.state = 'skip';
      s.detail = e.message;
    } else {
      s.state = 'FAIL';
      s.detail = e instanceof OpError ? e.message
        : e instanceof assert.AssertionError
          ? e.generatedMessage || e.operator === 'fail' || e.message.includes('\n') ? e.message : `${e.message}: got ${show(e.actual)}, want ${show(e.expected)}`
          : (e && e.stack) || String(e);
      if (e instanceof OpError && e.op && e.op !== op) s.blame.push(e.op);
    }
  }
  steps.push(s);
  const head = `${s.state.padEnd(4)}  ${op}: ${title}`;
  console.log(s.detail ? `${head} (${s.detail.split('\n').join('\n      ')})` : head);
  return s.state === 'ok';
}

// ---------------------------------------------------------------------------
// Main.

async function main() {
  const baseUrl = env('COMPAT_BASE_URL').replace(/\/+$/, '');
  const token = env('COMPAT_TOKEN');
  const L = env('COMPAT_LOCATION_ID');
  const allLocations = (env('COMPAT_LOCATION_IDS', false) || L).split(',').filter(Boolean);
  if (!allLocations.includes(L)) allLocations.unshift(L);

  const host = new URL(baseUrl).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
    console.error(`FAIL  setup: COMPAT_BASE_URL must be a loopback address, got ${baseUrl}`);
    process.exit(2);
  }

  async function admin(path) {
    const res = await fetch(baseUrl + '/_sandbox' + path);
    const text = await res.text();
    if (!res.ok) throw new Error(`GET /_sandbox${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  }
  async function adminSend(method, path, body) {
    const res = await fetch(baseUrl + '/_sandbox' + path, {
      method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} /_sandbox${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  }
  // The truth of one location. Its JSON has null for an empty list; read
  // that as [].
  const truth = async (loc) => {
    const t = (await admin(`/truth?locationId=${encodeURIComponent(loc)}`)).locations[0];
    for (const k of ['orders', 'transactions', 'subscriptions', 'invoices', 'coupons', 'whiteLabelProviders', 'notices']) t[k] ??= [];
    for (const o of t.orders) o.fulfillments ??= [];
    return t;
  };

  // --- The SDK under test ---------------------------------------------------
  const sdkProblems = [];
  if (SDK_PACKAGE.version !== PINNED_SDK_VERSION) sdkProblems.push(`installed SDK is ${SDK_PACKAGE.version}, want exactly ${PINNED_SDK_VERSION} (run npm ci in tests/compat)`);
  if (HighLevel.BASE_URL !== 'https://services.leadconnectorhq.com') sdkProblems.push(`unexpected default HighLevel.BASE_URL ${HighLevel.BASE_URL}`);

  const proxy = await startProxy(baseUrl);
  const proxyUrl = `http://127.0.0.1:${proxy.address().port}`;
  // BASE_URL is read once, in the constructor: set it first (FACTS.md section 8).
  HighLevel.BASE_URL = proxyUrl;
  const logLevel = DEBUG ? 'debug' : 'none';
  const ghl = new HighLevel({ privateIntegrationToken: token, apiVersion: API_VERSION, logLevel });
  clients.set(ghl, { token, version: API_VERSION });

  // The SDK's Payments methods must be exactly the 23 operations, taking
  // their arguments as OPS says.
  const proto = Object.getPrototypeOf(ghl.payments);
  const sdkMethods = Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && typeof proto[n] === 'function');
  const extra = sdkMethods.filter((n) => !OPS[n]);
  const missing = PAYMENT_OPS.filter((n) => !sdkMethods.includes(n));
  if (extra.length || missing.length) sdkProblems.push(`SDK payments methods differ from the 23 operations: extra [${extra}], missing [${missing}]`);
  for (const op of PAYMENT_OPS) {
    if (!proto[op]) continue;
    const m = /^async\s+\w+\s*\(([^)]*)\)/.exec(proto[op].toString());
    const got = m ? m[1].split(',').map((a) => a.trim()).filter((a) => a !== 'options') : null;
    if (!got || got.join(',') !== OPS[op].args.join(',')) sdkProblems.push(`${op} takes (${got}), the test expects (${OPS[op].args})`);
  }
  console.log(`SDK @gohighlevel/api-client ${SDK_PACKAGE.version}; sandbox ${baseUrl} via recording proxy ${proxyUrl}; location ${L}`);
  sdkProblems.push(...checkInvoiceMethods(ghl));
  if (sdkProblems.length) {
    for (const p of sdkProblems) console.log(`FAIL  setup: ${p}`);
    return 1;
  }
  console.log(`ok    setup: the SDK exposes exactly the 23 Payments operations, with the argument conventions this test uses`);

  const loc = { altId: L, altType: 'location' };

  // === Orders: reads ========================================================
  const T0 = await truth(L);
  const liveOrders = (T0.orders ?? []).filter((o) => !o.deleted);

  await step('listOrders', 'every order, newest first, equal to the truth', async () => {
    const want = newestFirst(liveOrders);
    const r = await ok(ghl, 'listOrders', { params: { altId: L, locationId: L, limit: 100, offset: 0 } });
    hasRequired(r, 'ListOrdersResponseDto');
    assert.equal(r.totalCount, liveOrders.length, 'totalCount = non-deleted orders in the truth');
    assert.equal(r.data.length, Math.min(100, liveOrders.length));
    r.data.forEach((o, i) => hasRequired(o, 'OrderResponseSchema', `data[${i}]`));
    for (let i = 1; i < r.data.length; i++) {
      assert.ok(Date.parse(r.data[i - 1].createdAt) >= Date.parse(r.data[i].createdAt), `not newest first at ${i}`);
    }
    assert.deepEqual(r.data, want.slice(0, 100).map((o) => o.item), 'list items equal the truth items');
    assert.ok(r.data.every((o) => o.altId === L && o.altType === 'location'), 'every order belongs to the location');
    return `totalCount ${r.totalCount} = truth; items equal the truth, newest first`;
  });

  await step('listOrders', 'limit/offset paging gives disjoint pages covering every order; default limit 10', async () => {
    const want = newestFirst(liveOrders).map((o) => o.item._id);
    const seen = new Set();
    let pages = 0;
    for (let offset = 0; offset < want.length; offset += 25) {
      const r = await ok(ghl, 'listOrders', { params: { altId: L, locationId: L, limit: 25, offset } });
      pages++;
      assert.equal(r.totalCount, want.length, `totalCount on page at offset ${offset}`);
      assert.deepEqual(ids(r.data), want.slice(offset, offset + 25), `page at offset ${offset}`);
      for (const id of ids(r.data)) {
        assert.ok(!seen.has(id), `order ${id} on two pages`);
        seen.add(id);
      }
    }
    assert.equal(seen.size, want.length, 'pages cover every order');
    const past = await ok(ghl, 'listOrders', { params: { altId: L, locationId: L, limit: 25, offset: want.length } });
    assert.deepEqual(past.data, [], 'a page past the end is empty');
    assert.equal(past.totalCount, want.length);
    const def = await ok(ghl, 'listOrders', { params: { altId: L, locationId: L } });
    assert.equal(def.data.length, Math.min(10, want.length), 'default limit is 10 (spec)');
    assert.deepEqual(ids(def.data), want.slice(0, 10));
    return `${pages} disjoint pages of 25 cover all ${seen.size}; past-the-end page empty; default page ${def.data.length}`;
  });

  await step('listOrders', 'paymentStatus, status and contactId filters agree with the truth', async () => {
    const want = newestFirst(liveOrders);
    const counts = [];
    for (const paymentStatus of ['paid', 'unpaid', 'partially_paid', 'refunded']) {
      const r = await ok(ghl, 'listOrders', { params: { altId: L, locationId: L, paymentStatus, limit: 100 } });
      const exp = want.filter((o) => o.paymentStatus === paymentStatus);
      assert.equal(r.totalCount, exp.length, `paymentStatus=${paymentStatus} totalCount`);
      assert.deepEqual(ids(r.data), exp.map((o) => o.item._id), `paymentStatus=${paymentStatus} orders`);
      counts.push(`${paymentStatus} ${r.totalCount}`);
    }
    for (const status of ['pending', 'completed']) {
      const r = await ok(ghl, 'listOrders', { params: { altId: L, locationId: L, status, limit: 100 } });
      const exp = want.filter((o) => o.item.status === status);
      assert.equal(r.totalCount, exp.length, `status=${status} totalCount`);
      assert.deepEqual(ids(r.data), exp.map((o) => o.item._id), `status=${status} orders`);
      counts.push(`status ${status} ${r.totalCount}`);
    }
    const byContact = {};
    for (const o of liveOrders) byContact[o.item.contactId] = (byContact[o.item.contactId] || 0) + 1;
    const [contactId, n] = Object.entries(byContact).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
    const r = await ok(ghl, 'listOrders', { params: { altId: L, locationId: L, contactId, limit: 100 } });
    assert.equal(r.totalCount, n, 'contactId totalCount');
    assert.ok(r.data.every((o) => o.contactId === contactId), 'contactId filter');
    counts.push(`contact ${n}`);
    return counts.join(', ');
  });

  await step('getOrderById', 'the order detail equals the truth, with item objects', async () => {
    const o = [...liveOrders].sort((a, b) => b.detail.items.length - a.detail.items.length)[0];
    const r = await ok(ghl, 'getOrderById', { params: { orderId: o.item._id, altId: L, locationId: L } });
    hasRequired(r, 'GetOrderResponseSchema');
    assert.deepEqual(omit(r, 'traceId'), omit(o.detail, 'traceId'), 'detail equals the truth');
    assert.ok(Array.isArray(r.items) && r.items.length > 0, 'items is a non-empty array');
    for (const [i, it] of r.items.entries()) {
      assert.equal(typeof it, 'object', `items[${i}] is an object`);
      assert.equal(typeof it.name, 'string', `items[${i}].name`);
      assert.ok(Number.isInteger(it.qty) && it.qty > 0, `items[${i}].qty`);
      assert.ok(it.product && typeof it.product._id === 'string' && typeof it.product.name === 'string', `items[${i}].product{_id,name}`);
      assert.ok(it.price && typeof it.price._id === 'string', `items[${i}].price._id`);
    }
    return `order ${r._id}: ${r.items.length} items, status ${r.status}, amount ${r.amount} ${r.currency}`;
  });

  // === Transactions =========================================================
  const liveTxns = (T0.transactions ?? []).filter((t) => !t.deleted);

  await step('listTransactions', 'every transaction, and entityId=<orderId>, equal to the truth', async () => {
    const want = newestFirst(liveTxns);
    const r = await ok(ghl, 'listTransactions', { params: { altId: L, altType: 'location', locationId: L, limit: 100 } });
    hasRequired(r, 'ListTxnsResponseDto');
    assert.equal(r.totalCount, liveTxns.length, 'totalCount = non-deleted transactions in the truth');
    r.data.forEach((t, i) => hasRequired(t, 'TxnResponseSchema', `data[${i}]`));
    assert.deepEqual(r.data, want.slice(0, 100).map((t) => t.item), 'list items equal the truth items');
    const perOrder = {};
    for (const t of liveTxns) if (t.item.entityType === 'order') (perOrder[t.item.entityId] ||= []).push(t);
    const [orderId, txns] = Object.entries(perOrder).sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))[0];
    const f = await ok(ghl, 'listTransactions', { params: { altId: L, altType: 'location', locationId: L, entityId: orderId, limit: 100 } });
    assert.equal(f.totalCount, txns.length, 'entityId totalCount');
    assert.deepEqual(sortedIds(f.data), txns.map((t) => t.item._id).sort(), "entityId returns exactly that order's transactions");
    assert.ok(f.data.every((t) => t.entityId === orderId));
    return `totalCount ${r.totalCount} = truth; order ${orderId} has ${f.totalCount} transactions`;
  });

  await step('getTransactionById', 'the transaction detail equals the truth', async () => {
    const t = liveTxns.find((x) => x.item.entityType === 'order') || liveTxns[0];
    needs(t);
    const r = await ok(ghl, 'getTransactionById', { params: { transactionId: t.item._id, altId: L, altType: 'location', locationId: L } });
    hasRequired(r, 'GetTxnResponseSchema');
    assert.deepEqual(omit(r, 'traceId'), omit(t.detail, 'traceId'), 'detail equals the truth');
    return `transaction ${r._id}: ${r.amount} ${r.currency} ${r.status} for ${r.entityType} ${r.entityId}`;
  });

  // === Subscriptions ========================================================
  // The seed may leave the main location without subscriptions; then the
  // lookups run on another seeded location (the token is valid for all).
  const subTruth = {};
  for (const id of allLocations) subTruth[id] = id === L ? T0 : await truth(id);
  const liveSubs = (id) => (subTruth[id].subscriptions ?? []).filter((s) => !s.deleted);
  const S = allLocations.find((id) => liveSubs(id).length > 0);

  await step('listSubscriptions', 'every subscription equal to the truth; the id filter', async () => {
    if (!S) throw new Error(`no seeded location has a subscription (locations ${allLocations.join(', ')}); cannot check subscriptions`);
    const out = [];
    for (const id of new Set([L, S])) {
      const want = newestFirst(liveSubs(id));
      const r = await ok(ghl, 'listSubscriptions', { params: { altId: id, altType: 'location', limit: 100 } });
      hasRequired(r, 'ListSubscriptionResponseDto');
      assert.equal(r.totalCount, want.length, `location ${id}: totalCount = truth`);
      r.data.forEach((s, i) => hasRequired(s, 'SubscriptionResponseSchema', `data[${i}]`));
      assert.deepEqual(r.data, want.slice(0, 100).map((s) => s.item), `location ${id}: items equal the truth`);
      out.push(`location ${id}: ${r.totalCount}`);
    }
    const sub = liveSubs(S)[0];
    const f = await ok(ghl, 'listSubscriptions', { params: { altId: S, altType: 'location', id: sub.item._id } });
    assert.deepEqual(f.data, [sub.item], 'id filter returns exactly that subscription');
    assert.equal(f.totalCount, 1);
    return out.join(', ') + '; id filter finds 1';
  });

  await step('getSubscriptionById', 'the subscription detail equals the truth', async () => {
    needs(S);
    const sub = liveSubs(S)[0];
    const r = await ok(ghl, 'getSubscriptionById', { params: { subscriptionId: sub.item._id, altId: S, altType: 'location' } });
    hasRequired(r, 'GetSubscriptionResponseSchema');
    assert.deepEqual(omit(r, 'traceId'), omit(sub.detail, 'traceId'), 'detail equals the truth');
    return `subscription ${r._id} (location ${S}): ${r.status}, ${r.amount} ${r.currency}`;
  });

  // === Record a payment ====================================================
  let paidOrderId;
  await step('recordOrderPayment', 'a partial then the remaining cash/card payment on an unpaid pending order', async () => {
    const T = await truth(L);
    const o = T.orders.find((x) => !x.deleted && x.paymentStatus === 'unpaid' && x.item.status === 'pending' && cents(x.item.amount) >= 2);
    if (!o) throw new Error('precondition: the truth has no unpaid pending order');
    const orderId = o.item._id;
    const total = cents(o.item.amount);
    const half = Math.floor(total / 2);
    const rest = total - half;
    const before = new Set(T.transactions.filter((t) => t.item.entityId === orderId).map((t) => t.item._id));

    const r1 = await ok(ghl, 'recordOrderPayment', {
      params: { orderId },
      body: { ...loc, mode: 'cash', amount: half / 100, isPartialPayment: true, notes: 'compat: first half' },
    });
    hasRequired(r1, 'PostRecordOrderPaymentResponse');
    assert.deepEqual(r1, { success: true });
    const T1 = await truth(L);
    const o1 = T1.orders.find((x) => x.item._id === orderId);
    assert.equal(o1.paymentStatus, 'partially_paid', 'payment status after the partial payment');
    const new1 = T1.transactions.filter((t) => t.item.entityId === orderId && !before.has(t.item._id));
    assert.equal(new1.length, 1, 'one new transaction for the order after the partial payment');
    assert.equal(cents(new1[0].item.amount), half, 'the new transaction has the recorded amount');

    const r2 = await ok(ghl, 'recordOrderPayment', {
      params: { orderId },
      body: { ...loc, mode: 'card', card: { type: 'visa', last4: '4242' }, amount: rest / 100 },
    });
    assert.deepEqual(r2, { success: true });
    const T2 = await truth(L);
    const o2 = T2.orders.find((x) => x.item._id === orderId);
    assert.equal(o2.paymentStatus, 'paid', 'payment status after the full balance was recorded');
    const new2 = T2.transactions.filter((t) => t.item.entityId === orderId && !before.has(t.item._id));
    assert.equal(new2.length, 2, 'two new transactions for the order');
    assert.equal(new2.reduce((s, t) => s + cents(t.item.amount), 0), total, 'the new transactions add up to the order amount');
    assert.ok(new2.every((t) => t.item.entityType === 'order'));

    const seen = await ok(ghl, 'listTransactions', { params: { altId: L, altType: 'location', locationId: L, entityId: orderId, limit: 100 } });
    for (const t of new2) assert.ok(ids(seen.data).includes(t.item._id), `listTransactions(entityId) shows the new transaction ${t.item._id}`);
    paidOrderId = orderId;
    return `order ${orderId} (${o.item.amount} ${o.item.currency}): unpaid -> partially_paid -> paid; 2 new transactions visible through listTransactions`;
  });

  await step('listOrderNotes', 'notes of an order answer 200 with an object', async () => {
    const orderId = paidOrderId || liveOrders[0].item._id;
    const r = await ok(ghl, 'listOrderNotes', { params: { orderId, ...loc } });
    assert.ok(r !== null && typeof r === 'object' && !Array.isArray(r), `expected an object, got ${show(r)}`);
    if (Array.isArray(r.data)) assert.equal(r.totalCount, r.data.length, 'totalCount = notes returned');
    return `order ${orderId}: ${Array.isArray(r.data) ? `${r.data.length} notes` : `keys ${Object.keys(r)}`} (the spec defines no schema)`;
  });

  // === Fulfillment ==========================================================
  let fulfillment, fulfilledOrderId;
  await step('createOrderFulfillment', 'ship one unshipped physical item of a paid order, notifying the customer', async () => {
    const T = await truth(L);
    let pick;
    for (const o of T.orders) {
      if (o.deleted || o.paymentStatus !== 'paid' || o.item.status === 'cancelled' || o.detail.fulfillmentStatus === 'fulfilled') continue;
      const left = {};
      for (const it of o.detail.items) if (it.product?.productType === 'PHYSICAL') left[it.price._id] = (left[it.price._id] || 0) + it.qty;
      for (const f of o.fulfillments) for (const it of f.items) if (it.price?._id in left) left[it.price._id] -= it.qty;
      const priceId = Object.keys(left).find((p) => left[p] >= 1);
      if (priceId) {
        pick = { o, priceId, left };
        break;
      }
    }
    if (!pick) throw new Error('precondition: the truth has no paid order with physical items left to ship');
    const { o, priceId, left } = pick;
    const orderId = o.item._id;
    const tracking = { trackingNumber: '1ZCOMPAT0300000001', shippingCarrier: 'UPS', trackingUrl: 'https://www.ups.com/track?tracknum=1ZCOMPAT0300000001' };
    const r = await ok(ghl, 'createOrderFulfillment', {
      params: { orderId },
      body: { ...loc, trackings: [tracking], items: [{ priceId, qty: 1 }], notifyCustomer: true },
    });
    hasRequired(r, 'CreateFulfillmentResponseDto');
    assert.equal(r.status, true, 'status: true');
    const f = r.data;
    hasRequired(f, 'FulfillmentSchema', 'data');
    assert.equal(f.altId, L);
    assert.equal(f.altType, 'location');
    assert.deepEqual(f.trackings, [tracking], 'trackings as sent');
    assert.equal(f.items.length, 1, 'one fulfilled item');
    hasRequired(f.items[0], 'FulfilledItem', 'data.items[0]');
    hasRequired(f.items[0].product, 'DefaultProductResponseDto', 'data.items[0].product');
    hasRequired(f.items[0].price, 'DefaultPriceResponseDto', 'data.items[0].price');
    assert.equal(f.items[0].price._id, priceId, 'the fulfilled price');
    assert.equal(f.items[0].qty, 1, 'the fulfilled quantity');
    assert.equal(f.items[0].product.productType, 'PHYSICAL');

    const T2 = await truth(L);
    const o2 = T2.orders.find((x) => x.item._id === orderId);
    const stored = o2.fulfillments.find((x) => x._id === f._id);
    assert.ok(stored, 'the truth holds the new fulfillment');
    assert.deepEqual(stored, f, 'the answer equals the stored fulfillment');
    const notices = T2.notices.filter((n) => n.fulfillmentId === f._id);
    assert.equal(notices.length, 1, 'exactly one customer notice for the fulfillment');
    assert.equal(notices[0].orderId, orderId);
    assert.deepEqual(notices[0].trackingNumbers, [tracking.trackingNumber]);
    const remaining = Object.values(left).reduce((s, n) => s + Math.max(n, 0), 0) - 1;
    assert.equal(o2.detail.fulfillmentStatus, remaining === 0 ? 'fulfilled' : 'partially_fulfilled', 'order fulfillmentStatus');
    fulfillment = f;
    fulfilledOrderId = orderId;
    return `order ${orderId}: shipped 1 x price ${priceId}; fulfillment ${f._id}; 1 notice; order now ${o2.detail.fulfillmentStatus}`;
  });

  await step('listOrderFulfillment', "the order's fulfillments, including the new one, equal the truth", async () => {
    needs(fulfillment, fulfilledOrderId);
    const r = await ok(ghl, 'listOrderFulfillment', { params: { orderId: fulfilledOrderId, ...loc } });
    hasRequired(r, 'ListFulfillmentResponseDto');
    assert.equal(r.status, true);
    assert.ok(Array.isArray(r.data), 'data is an array');
    r.data.forEach((f, i) => hasRequired(f, 'FulfillmentSchema', `data[${i}]`));
    const T = await truth(L);
    assert.deepEqual(r.data, T.orders.find((x) => x.item._id === fulfilledOrderId).fulfillments, 'fulfillments equal the truth');
    assert.deepEqual(r.data.find((f) => f._id === fulfillment._id), fulfillment, 'includes the created fulfillment');
    return `${r.data.length} fulfillment(s), including ${fulfillment._id}`;
  });

  // === Coupons ==============================================================
  let coupon, couponBody;
  await step('listCoupons', 'the seeded coupons equal the truth', async () => {
    const T = await truth(L);
    const r = await ok(ghl, 'listCoupons', { params: { ...loc } });
    hasRequired(r, 'ListCouponsResponseDto');
    assert.equal(r.totalCount, T.coupons.length, 'totalCount = coupons in the truth');
    r.data.forEach((c, i) => hasRequired(c, 'CouponDto', `data[${i}]`));
    assert.deepEqual(sortedIds(r.data), sortedIds(T.coupons));
    for (const c of r.data) assert.deepEqual(c, T.coupons.find((x) => x._id === c._id), `coupon ${c.code} equals the truth`);
    assert.ok(r.data.some((c) => c.code === 'WELCOME10'), 'WELCOME10 is listed');
    return `${r.totalCount} coupons (${r.data.map((c) => c.code).join(', ')})`;
  });

  await step('createCoupon', 'a new percentage coupon is created (201) and listed', async () => {
    const now = Date.now();
    couponBody = {
      ...loc, name: 'Compat 15% off', code: 'COMPAT15', discountType: 'percentage', discountValue: 15,
      startDate: new Date(now - 60_000).toISOString(), endDate: new Date(now + 30 * 86_400_000).toISOString(),
      usageLimit: 100, applyToFuturePayments: false, limitPerCustomer: true,
    };
    const before = (await truth(L)).coupons.length;
    const c = await ok(ghl, 'createCoupon', { body: couponBody });
    hasRequired(c, 'CreateCouponResponseDto');
    assert.equal(c.code, 'COMPAT15');
    assert.equal(c.name, couponBody.name);
    assert.equal(c.discountType, 'percentage');
    assert.equal(c.discountValue, 15);
    assert.equal(c.altId, L);
    assert.equal(c.altType, 'location');
    assert.equal(c.status, 'active', 'a coupon that started a minute ago is active');
    assert.equal(c.usageCount, 0);
    assert.equal(typeof c.limitPerCustomer, 'number', 'limitPerCustomer is a number in responses (spec CouponDto)');
    assert.equal(Date.parse(c.startDate), Date.parse(couponBody.startDate), 'startDate');
    assert.equal(Date.parse(c.endDate), Date.parse(couponBody.endDate), 'endDate');
    const l = await ok(ghl, 'listCoupons', { params: { ...loc, search: 'compat' } });
    assert.deepEqual(ids(l.data), [c._id], 'listCoupons(search) shows exactly the new coupon');
    assert.deepEqual(omit(l.data[0], 'traceId'), omit(c, 'traceId'));
    const all = await ok(ghl, 'listCoupons', { params: { ...loc, limit: 100, offset: 0 } });
    assert.equal(all.totalCount, before + 1, 'one more coupon listed');
    coupon = c;
    return `coupon ${c._id} COMPAT15, status ${c.status}; listed (${all.totalCount} coupons now)`;
  });

  await step('getCoupon', 'fetching the new coupon by id and code', async () => {
    needs(coupon);
    const c = await ok(ghl, 'getCoupon', { params: { ...loc, id: coupon._id, code: coupon.code } });
    hasRequired(c, 'CreateCouponResponseDto');
    assert.deepEqual(omit(c, 'traceId'), omit(coupon, 'traceId'));
    return `coupon ${c._id} ${c.code}: ${c.discountValue}% ${c.status}`;
  });

  await step('updateCoupon', 'changing discountValue 15 -> 20', async () => {
    needs(coupon, couponBody);
    const body = { ...couponBody, id: coupon._id, name: 'Compat 20% off', discountValue: 20 };
    const c = await ok(ghl, 'updateCoupon', { body });
    hasRequired(c, 'CreateCouponResponseDto');
    assert.equal(c._id, coupon._id);
    assert.equal(c.discountValue, 20);
    assert.equal(c.name, 'Compat 20% off');
    assert.equal(c.code, 'COMPAT15');
    const g = await ok(ghl, 'getCoupon', { params: { ...loc, id: coupon._id, code: coupon.code } });
    assert.equal(g.discountValue, 20, 'getCoupon sees the new discountValue');
    const T = await truth(L);
    assert.equal(T.coupons.find((x) => x._id === coupon._id)?.discountValue, 20, 'the truth has the new discountValue');
    return `coupon ${c._id}: discountValue ${c.discountValue}, name "${c.name}"`;
  });

  await step('deleteCoupon', 'DELETE with a JSON body {altId, altType, id}; getCoupon then fails', async () => {
    needs(coupon);
    const from = wire.length;
    const r = await ok(ghl, 'deleteCoupon', { body: { ...loc, id: coupon._id } });
    hasRequired(r, 'DeleteCouponResponseDto');
    assert.equal(r.success, true);
    const sent = wire[from];
    assert.equal(sent.method, 'DELETE');
    assert.deepEqual(JSON.parse(sent.body), { ...loc, id: coupon._id }, 'the SDK sent the JSON body with the DELETE');
    const T = await truth(L);
    assert.ok(!T.coupons.some((x) => x._id === coupon._id), 'the truth no longer has the coupon');
    const e = await fails(ghl, 'getCoupon', { params: { ...loc, id: coupon._id, code: coupon.code } }, 400);
    assert.ok(e instanceof GHLValidationError, `a 400 is a GHLValidationError, got ${e.constructor.name}`);
    return `sent body ${sent.body}; then getCoupon -> ${e.constructor.name} ${e.statusCode} "${e.message}"`;
  });

  // === Custom payment provider =============================================
  const q = { locationId: L };
  let provider;
  const providerBody = {
    name: 'Compat Pay', description: 'Custom provider created by the SDK compatibility test',
    paymentsUrl: 'https://pay.compat.example/checkout', queryUrl: 'https://pay.compat.example/query',
    imageUrl: 'https://pay.compat.example/logo.png', supportsSubscriptionSchedule: false,
  };
  await step('createIntegration', 'creating the custom provider for the location', async () => {
    const T = await truth(L);
    assert.equal(T.customProvider, undefined, 'precondition: no custom provider yet');
    const e = await fails(ghl, 'fetchConfig', { params: q }, 400);
    assert.ok(e instanceof GHLValidationError);
    const p = await ok(ghl, 'createIntegration', { params: q, body: providerBody });
    hasRequired(p, 'CreateCustomProvidersResponseSchema');
    for (const k of ['name', 'description', 'paymentsUrl', 'queryUrl', 'imageUrl']) assert.equal(p[k], providerBody[k], k);
    assert.equal(p.locationId, L);
    assert.equal(p.deleted, false);
    assert.equal(typeof p.marketplaceAppId, 'string');
    const T2 = await truth(L);
    assert.equal(T2.customProvider?._id, p._id, 'the truth has the provider');
    provider = p;
    return `provider ${p._id} (app ${p.marketplaceAppId}); fetchConfig before it: ${e.statusCode} "${e.message}"`;
  });

  await step('fetchConfig', 'fetching the provider just created', async () => {
    needs(provider);
    const p = await ok(ghl, 'fetchConfig', { params: q });
    hasRequired(p, 'GetCustomProvidersResponseSchema');
    assert.deepEqual(omit(p, 'traceId', 'updatedAt'), omit(provider, 'traceId', 'updatedAt'));
    return `provider ${p._id} "${p.name}"`;
  });

  const keys = { live: { apiKey: 'compat_live_sk', publishableKey: 'compat_live_pk' }, test: { apiKey: 'compat_test_sk', publishableKey: 'compat_test_pk' } };
  await step('createConfig', 'connecting live and test keys', async () => {
    needs(provider);
    const p = await ok(ghl, 'createConfig', { params: q, body: keys });
    hasRequired(p, 'ConnectCustomProvidersResponseSchema');
    assert.equal(p._id, provider._id);
    assert.equal(p.paymentProvider?.live?.apiKey, keys.live.apiKey);
    assert.equal(p.paymentProvider?.live?.publishableKey, keys.live.publishableKey);
    assert.equal(p.paymentProvider?.live?.liveMode, true);
    assert.equal(p.paymentProvider?.test?.apiKey, keys.test.apiKey);
    assert.equal(p.paymentProvider?.test?.publishableKey, keys.test.publishableKey);
    assert.equal(p.paymentProvider?.test?.liveMode, false);
    const f = await ok(ghl, 'fetchConfig', { params: q });
    assert.deepEqual(f.paymentProvider, p.paymentProvider, 'fetchConfig shows the keys');
    return `paymentProvider ${show(p.paymentProvider)}`;
  });

  await step('disconnectConfig', 'disconnecting live mode keeps test mode', async () => {
    needs(provider);
    const r = await ok(ghl, 'disconnectConfig', { params: q, body: { liveMode: true } });
    hasRequired(r, 'DisconnectCustomProvidersResponseSchema');
    assert.equal(r.success, true);
    const f = await ok(ghl, 'fetchConfig', { params: q });
    assert.equal(f.paymentProvider?.live, undefined, 'live config gone');
    assert.equal(f.paymentProvider?.test?.apiKey, keys.test.apiKey, 'test config kept');
    return `paymentProvider now ${show(f.paymentProvider)}`;
  });

  await step('customProviderMarketplaceAppUpdateCapabilities', 'supportsSubscriptionSchedules: true', async () => {
    needs(provider);
    const r = await ok(ghl, 'customProviderMarketplaceAppUpdateCapabilities', { body: { supportsSubscriptionSchedules: true, locationId: L } });
    hasRequired(r, 'UpdateCustomProviderCapabilitiesResponseSchema');
    assert.equal(r.success, true);
    return 'success';
  });

  await step('deleteIntegration', 'deleting the provider; fetchConfig then fails with 400', async () => {
    needs(provider);
    const r = await ok(ghl, 'deleteIntegration', { params: q });
    hasRequired(r, 'DeleteCustomProvidersResponseSchema');
    assert.equal(r.success, true);
    const T = await truth(L);
    assert.equal(T.customProvider, undefined, 'the truth no longer has a provider');
    const e = await fails(ghl, 'fetchConfig', { params: q }, 400);
    assert.ok(e instanceof GHLValidationError, `a 400 is a GHLValidationError, got ${e.constructor.name}`);
    return `then fetchConfig -> ${e.constructor.name} ${e.statusCode} "${e.message}"`;
  });

  // === White-label providers ================================================
  let wl;
  await step('createIntegrationProvider', 'creating the white-label NMI provider compat-nmi', async () => {
    const T = await truth(L);
    assert.deepEqual(T.whiteLabelProviders, [], 'precondition: no white-label providers yet');
    const body = {
      ...loc, uniqueName: 'compat-nmi', title: 'Compat NMI', provider: 'nmi',
      description: 'White-label NMI provider created by the SDK compatibility test', imageUrl: 'https://pay.compat.example/nmi.png',
    };
    const p = await ok(ghl, 'createIntegrationProvider', { body });
    hasRequired(p, 'CreateWhitelabelIntegrationResponseDto');
    assert.equal(p.altId, L);
    assert.equal(p.altType, 'location');
    assert.equal(p.route, 'compat-nmi', 'route is the uniqueName');
    assert.equal(p.provider, 'nmi');
    assert.equal(p.title, body.title);
    assert.equal(p.description, body.description);
    assert.equal(p.imageUrl, body.imageUrl);
    const T2 = await truth(L);
    assert.deepEqual(T2.whiteLabelProviders, [p], 'the truth has exactly the new provider');
    wl = p;
    return `provider ${p._id} route ${p.route}`;
  });

  await step('listIntegrationProviders', 'the list contains the new provider', async () => {
    needs(wl);
    const r = await ok(ghl, 'listIntegrationProviders', { params: { ...loc } });
    hasRequired(r, 'ListWhitelabelIntegrationProviderResponseDto');
    assert.ok(Array.isArray(r.providers), `providers is an array, got ${show(r.providers)}`);
    assert.deepEqual(r.providers, [wl], 'exactly the created provider');
    return `providers: [${r.providers.map((p) => p.route)}]`;
  });

  // === Errors and headers ===================================================
  await step('getOrderById', "an unknown order id: GHLValidationError 400 'Order not found'", async () => {
    const e = await fails(ghl, 'getOrderById', { params: { orderId: '000000000000000000000000', altId: L, locationId: L } }, 400);
    assert.ok(e instanceof GHLValidationError, `want GHLValidationError, got ${e.constructor.name}`);
    assert.equal(e.name, 'GHLError');
    assert.equal(e.code, 'VALIDATION');
    assert.equal(e.message, 'Order not found');
    assert.equal(e.response?.statusCode, 400, 'the body carries statusCode 400 (spec BadRequestDTO)');
    return `${e.constructor.name} ${e.statusCode} "${e.message}"`;
  });

  await step('listOrders', 'a wrong Private Integration Token: GHLAuthenticationError 401, no retry', async () => {
    const bad = new HighLevel({ privateIntegrationToken: 'compat-wrong-token', apiVersion: API_VERSION, logLevel });
    clients.set(bad, { token: 'compat-wrong-token', version: API_VERSION });
    const e = await fails(bad, 'listOrders', { params: { altId: L, locationId: L, limit: 1 } }, 401);
    assert.ok(e instanceof GHLAuthenticationError, `want GHLAuthenticationError, got ${e.constructor.name}`);
    assert.equal(e.code, 'AUTHENTICATION');
    assert.equal(e.response?.statusCode, 401, 'the body carries statusCode 401 (spec UnauthorizedDTO)');
    return `${e.constructor.name} ${e.statusCode} "${e.message}"`;
  });

  await step('listOrders', `the SDK's default Version header (${SDK_DEFAULT_API_VERSION}) is accepted`, async () => {
    const plain = new HighLevel({ privateIntegrationToken: token, logLevel });
    clients.set(plain, { token, version: SDK_DEFAULT_API_VERSION });
    const r = await ok(plain, 'listOrders', { params: { altId: L, locationId: L, limit: 1 } });
    assert.equal(r.totalCount, liveOrders.length);
    return `Version: ${SDK_DEFAULT_API_VERSION} -> totalCount ${r.totalCount}`;
  });

  // On a location of its own when there is one: GHL's rate budget is per
  // location, and the steps above spend most of L's.
  await storeSteps({ ghl, L: allLocations[1] ?? L, truth, step, ok, fails, needs });
  // The invoices API runs on the second location: GHL's rate budget is per
  // location, and the families before it spend most of the first one's.
  await invoiceSteps({ ghl, L: allLocations.find((x) => x !== L) ?? L, truth, step, ok, fails, needs, admin });
  await productSteps({ ghl, L: allLocations[1] ?? L, truth, step, ok, fails, admin, adminSend });

  await oauthChecks({ baseUrl, L, allLocations, admin, adminSend, logLevel });

  proxy.close();
  return report();
}

// ---------------------------------------------------------------------------
// OAuth: the SDK's own OAuth path, unchanged, against the sandbox's OAuth
// app (GET /_sandbox/oauth/app gives its client id and secret). Codes come
// from the sandbox's admin authorize API, which plays the user on GHL's
// chooselocation page. The token requests carry the client secret: they are
// described, never printed.

const OAUTH = 'oauth';

// tokenCalls counts the SDK's POST /oauth/token requests in sent, by
// grant_type.
function tokenCalls(sent) {
  const out = {};
  for (const r of sent) {
    if (r.method !== 'POST' || r.path !== '/oauth/token') continue;
    const g = new URLSearchParams(r.body).get('grant_type') || '?';
    out[g] = (out[g] || 0) + 1;
  }
  return out;
}

// describe lists requests without bodies or tokens.
const describe = (sent) => sent.map((r) => `${r.method} ${r.path} -> ${r.status}`).join(', ');

async function oauthChecks({ baseUrl, L, admin, adminSend, logLevel }) {
  const app = await admin('/oauth/app');
  const clientId = app.clientId;
  const clientSecret = app.clientSecrets[0];
  const ttl0 = app.accessTtlSeconds;
  const sdk = new HighLevel({ clientId, clientSecret, apiVersion: API_VERSION, logLevel });
  const listOrders = () => sdk.payments.listOrders({ altId: L, locationId: L, limit: 1, offset: 0 });
  let session;

  await step(OAUTH, 'getAccessToken exchanges a code from a Marketplace install (no state) for a Location token', async () => {
    await adminSend('PUT', '/oauth/app', { accessTtlSeconds: 3600 });
    const before = (await admin('/webhooks')).deliveries.length;
    const { code } = await adminSend('POST', '/oauth/authorize', { locationId: L, scopes: ['payments/orders.readonly', 'payments/transactions.readonly'] });
    const from = wire.length;
    const tok = await sdk.oauth.getAccessToken({ client_id: clientId, client_secret: clientSecret, grant_type: 'authorization_code', code, user_type: 'Location' });
    const sent = wire.slice(from);
    assert.equal(sent.length, 1, `one request, got ${describe(sent)}`);
    const r = sent[0];
    assert.equal(`${r.method} ${r.path}`, 'POST /oauth/token');
    assert.match(r.headers['content-type'] || '', /^application\/x-www-form-urlencoded/, 'form-encoded');
    assert.ok(r.headers.authorization === undefined, 'no bearer on the token endpoint');
    const form = new URLSearchParams(r.body);
    assert.deepEqual([...form.keys()].sort(), ['client_id', 'client_secret', 'code', 'grant_type', 'user_type']);
    assert.equal(tok.token_type, 'Bearer');
    assert.equal(tok.expires_in, 3600);
    assert.equal(tok.userType, 'Location');
    assert.equal(tok.locationId, L);
    assert.equal(tok.scope, 'payments/orders.readonly payments/transactions.readonly');
    assert.ok(tok.access_token && tok.refresh_token && tok.userId, 'access_token, refresh_token and userId are set');
    const hooks = (await admin('/webhooks')).deliveries.slice(before).filter((d) => d.type === 'INSTALL');
    assert.equal(hooks.length, 1, 'one INSTALL webhook for the install');
    assert.equal(hooks[0].locationId, L);
    await sdk.sessionStorage.setSession(L, tok);
    session = tok;
    return `userType ${tok.userType}, expires_in ${tok.expires_in}, scope "${tok.scope}"`;
  });

  await step(OAUTH, 'a Payments call through the OAuth session storage uses the stored access token', async () => {
    needs(session);
    const from = wire.length;
    const r = await listOrders();
    const sent = wire.slice(from);
    assert.equal(describe(sent), 'GET /payments/orders -> 200');
    assert.ok(sent[0].headers.authorization === `Bearer ${session.access_token}`, 'the stored access token');
    assert.ok(Array.isArray(r.data));
  });

  let rotated;
  await step(OAUTH, 'an expired access token: 401, the SDK refreshes once and retries; the old refresh token is spent', async () => {
    needs(session);
    await adminSend('POST', '/oauth/expire', { locationId: L });
    const from = wire.length;
    await listOrders();
    const sent = wire.slice(from);
    assert.equal(describe(sent), 'GET /payments/orders -> 401, POST /oauth/token -> 200, GET /payments/orders -> 200');
    const form = new URLSearchParams(sent[1].body);
    assert.equal(form.get('grant_type'), 'refresh_token');
    assert.equal(form.get('user_type'), 'Location');
    assert.ok(form.get('refresh_token') === session.refresh_token, 'refreshed with the stored refresh token');
    const now = await sdk.sessionStorage.getSession(L);
    assert.ok(now.refresh_token && now.refresh_token !== session.refresh_token, 'the session holds the rotated refresh token');
    assert.ok(sent[2].headers.authorization === `Bearer ${now.access_token}`, 'the retry used the new access token');
    // Replaying the spent refresh token: GHL's exact answer.
    const res = await fetch(baseUrl + '/oauth/token', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: clientId, client_secret: clientSecret, grant_type: 'refresh_token', refresh_token: session.refresh_token, user_type: 'Location' }),
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { statusCode: 400, message: 'Invalid grant: refresh token is invalid' });
    rotated = now;
    return describe(sent);
  });

  await step(OAUTH, 'a short access TTL (20 s, inside the SDK\'s 30 s margin): the SDK refreshes before the call', async () => {
    needs(rotated);
    await adminSend('PUT', '/oauth/app', { accessTtlSeconds: 20 });
    await adminSend('POST', '/oauth/expire', { locationId: L });
    await listOrders(); // 401, refresh (now with expires_in 20), retry
    const s20 = await sdk.sessionStorage.getSession(L);
    assert.equal(s20.expires_in, 20);
    const from = wire.length;
    await listOrders();
    const sent = wire.slice(from);
    assert.equal(describe(sent), 'POST /oauth/token -> 200, GET /payments/orders -> 200', 'refreshed proactively, no 401');
    const s2 = await sdk.sessionStorage.getSession(L);
    assert.ok(s2.refresh_token !== s20.refresh_token, 'rotated again');
    await adminSend('PUT', '/oauth/app', { accessTtlSeconds: 3600 });
    await listOrders(); // settle on a long-lived token
    return describe(sent);
  });

  await step(OAUTH, 'five concurrent calls on an expired token: exactly one refresh (SDK 3.1.0 shares it)', async () => {
    needs(rotated);
    await adminSend('POST', '/oauth/expire', { locationId: L });
    const from = wire.length;
    await Promise.all([1, 2, 3, 4, 5].map(() => listOrders()));
    const sent = wire.slice(from);
    assert.deepEqual(tokenCalls(sent), { refresh_token: 1 }, `token calls in ${describe(sent)}`);
    return `${sent.length} requests, 1 refresh`;
  });

  await step(OAUTH, 'a company (agency) install: Company token, getLocationAccessToken and getInstalledLocation', async () => {
    const info = await admin('/info');
    const companyId = info.locations.find((l) => l.id === L).companyId;
    const { code } = await adminSend('POST', '/oauth/authorize', { companyId, bulk: true, approveAll: true, state: 'compat-state' });
    const ct = await sdk.oauth.getAccessToken({ client_id: clientId, client_secret: clientSecret, grant_type: 'authorization_code', code, user_type: 'Company' });
    assert.equal(ct.userType, 'Company');
    assert.equal(ct.companyId, companyId);
    assert.equal(ct.isBulkInstallation, true);
    assert.deepEqual(ct.approvedLocations, [L]);
    await sdk.sessionStorage.setSession(companyId, ct);
    const from = wire.length;
    const lt = await sdk.oauth.getLocationAccessToken({ companyId, locationId: L });
    const sent = wire.slice(from);
    assert.equal(describe(sent), 'POST /oauth/locationToken -> 200');
    assert.ok(sent[0].headers.authorization === `Bearer ${ct.access_token}`, 'authorized with the stored company token');
    assert.equal(lt.locationId, L);
    assert.equal(lt.userType, 'Location');
    assert.ok(lt.access_token && lt.refresh_token, 'access and refresh tokens');
    const list = await sdk.oauth.getInstalledLocation({ companyId, appId: app.appId, isInstalled: true });
    assert.equal(list.count, 1);
    assert.deepEqual(list.locations.map((l) => l._id), [L]);
    assert.equal(list.locations[0].isInstalled, true);
    // The minted token works for Payments.
    const direct = new HighLevel({ clientId, clientSecret, apiVersion: API_VERSION, logLevel });
    await direct.sessionStorage.setSession(L, lt);
    await direct.payments.listOrders({ altId: L, locationId: L, limit: 1, offset: 0 });
    return `locationToken for ${L}; installedLocations count ${list.count}`;
  });

  await step(OAUTH, 'the sandbox counted the token calls the SDK made', async () => {
    const st = (await admin('/stats')).tokenCalls;
    assert.equal(st['authorization_code 200'], 2, 'two code exchanges');
    assert.equal(st['refresh_token 200'], 5, 'five refreshes: 401, two for the short TTL, the settle, the shared one');
    assert.equal(st['refresh_token 400'], 1, 'the one replay');
    await adminSend('PUT', '/oauth/app', { accessTtlSeconds: ttl0 });
    return JSON.stringify(st);
  });
}

function report() {
  console.log('');
  console.log('Per operation:');
  let good = 0;
  const failures = [];
  for (const op of OP_NAMES) {
    const own = steps.filter((s) => s.op === op);
    const blamed = steps.filter((s) => s.state === 'FAIL' && s.blame.includes(op));
    const skipped = own.filter((s) => s.state === 'skip');
    const passed = own.filter((s) => s.state === 'ok');
    let state;
    if (blamed.length) state = 'FAIL';
    else if (!passed.length || skipped.length) state = 'skip';
    else state = 'ok';
    if (state === 'ok') good++;
    const why = state === 'FAIL' ? ` — ${blamed.map((s) => `${s.op}: ${s.title}`).join('; ')}`
      : state === 'skip' ? ' — not proven: a step it depends on failed' : '';
    console.log(`${state.padEnd(4)}  ${op}  (${passed.length}/${own.length} checks, ${calls[op]} calls)${why}`);
    if (state !== 'ok') failures.push(op);
  }
  const oauth = steps.filter((s) => s.op === OAUTH);
  const oauthOK = oauth.filter((s) => s.state === 'ok').length;
  console.log('');
  console.log(`${good}/${OP_NAMES.length} operations OK`);
  console.log(`${oauthOK}/${oauth.length} OAuth checks OK`);
  for (const s of oauth.filter((x) => x.state === 'FAIL')) console.log(`\nFAIL  ${s.op}: ${s.title}\n      ${s.detail.split('\n').join('\n      ')}`);
  if (failures.length) {
    console.log(`not OK: ${failures.join(', ')}`);
    for (const s of steps.filter((x) => x.state === 'FAIL')) console.log(`\nFAIL  ${s.op}: ${s.title}\n      ${s.detail.split('\n').join('\n      ')}`);
  }
  return good === OP_NAMES.length && oauth.length > 0 && oauthOK === oauth.length ? 0 : 1;
}

const watchdog = setTimeout(() => {
  console.error('FAIL  the compatibility test did not finish within 180 s');
  process.exit(2);
}, 180_000);
watchdog.unref();

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`FAIL  unexpected error: ${(e && e.stack) || e}`);
    process.exit(2);
  },
);
