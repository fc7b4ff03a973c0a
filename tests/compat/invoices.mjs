// The invoices service of SDK 3.1.0 (dist/lib/code/invoices/invoices.js)
// against the sandbox: the invoice lifecycle from draft to paid, and to void
// and deleted, each answer checked against the request and the truth.
//
// INVOICE_OPS are method, path and success status from GHL's spec
// (apps/invoices.json); `args` is how the SDK takes its arguments.

import assert from 'node:assert/strict';

const svc = 'invoices';
export const INVOICE_OPS = {
  listInvoices: { service: svc, method: 'GET', path: '/invoices/', status: 200, args: ['params'] },
  getInvoice: { service: svc, method: 'GET', path: '/invoices/{invoiceId}', status: 200, args: ['params'] },
  createInvoice: { service: svc, method: 'POST', path: '/invoices/', status: 200, args: ['requestBody'] },
  updateInvoice: { service: svc, method: 'PUT', path: '/invoices/{invoiceId}', status: 200, args: ['params', 'requestBody'] },
  deleteInvoice: { service: svc, method: 'DELETE', path: '/invoices/{invoiceId}', status: 200, args: ['params'] },
  voidInvoice: { service: svc, method: 'POST', path: '/invoices/{invoiceId}/void', status: 200, args: ['params', 'requestBody'] },
  sendInvoice: { service: svc, method: 'POST', path: '/invoices/{invoiceId}/send', status: 200, args: ['params', 'requestBody'] },
  recordInvoice: { service: svc, method: 'POST', path: '/invoices/{invoiceId}/record-payment', status: 200, args: ['params', 'requestBody'] },
  generateInvoiceNumber: { service: svc, method: 'GET', path: '/invoices/generate-invoice-number', status: 200, args: ['params'] },
  getInvoiceSettings: { service: svc, method: 'GET', path: '/invoices/settings', status: 200, args: ['params'] },
  text2payInvoice: { service: svc, method: 'POST', path: '/invoices/text2pay', status: 200, args: ['requestBody'] },
  updateInvoiceLateFeesConfiguration: { service: svc, method: 'PATCH', path: '/invoices/{invoiceId}/late-fees-configuration', status: 200, args: ['params', 'requestBody'] },
  updateInvoiceLastVisitedAt: { service: svc, method: 'PATCH', path: '/invoices/stats/last-visited-at', status: 200, args: ['requestBody'] },
  createInvoiceSchedule: { service: svc, method: 'POST', path: '/invoices/schedule', status: 200, args: ['requestBody'] },
  listInvoiceSchedules: { service: svc, method: 'GET', path: '/invoices/schedule', status: 200, args: ['params'] },
  getInvoiceSchedule: { service: svc, method: 'GET', path: '/invoices/schedule/{scheduleId}', status: 200, args: ['params'] },
  updateInvoiceSchedule: { service: svc, method: 'PUT', path: '/invoices/schedule/{scheduleId}', status: 200, args: ['params', 'requestBody'] },
  deleteInvoiceSchedule: { service: svc, method: 'DELETE', path: '/invoices/schedule/{scheduleId}', status: 200, args: ['params'] },
  updateAndScheduleInvoiceSchedule: { service: svc, method: 'POST', path: '/invoices/schedule/{scheduleId}/updateAndSchedule', status: 200, args: ['params'] },
  scheduleInvoiceSchedule: { service: svc, method: 'POST', path: '/invoices/schedule/{scheduleId}/schedule', status: 200, args: ['params', 'requestBody'] },
  autoPaymentInvoiceSchedule: { service: svc, method: 'POST', path: '/invoices/schedule/{scheduleId}/auto-payment', status: 200, args: ['params', 'requestBody'] },
  cancelInvoiceSchedule: { service: svc, method: 'POST', path: '/invoices/schedule/{scheduleId}/cancel', status: 200, args: ['params', 'requestBody'] },
  createInvoiceTemplate: { service: svc, method: 'POST', path: '/invoices/template', status: 200, args: ['requestBody'] },
  listInvoiceTemplates: { service: svc, method: 'GET', path: '/invoices/template', status: 200, args: ['params'] },
  getInvoiceTemplate: { service: svc, method: 'GET', path: '/invoices/template/{templateId}', status: 200, args: ['params'] },
  updateInvoiceTemplate: { service: svc, method: 'PUT', path: '/invoices/template/{templateId}', status: 200, args: ['params', 'requestBody'] },
  deleteInvoiceTemplate: { service: svc, method: 'DELETE', path: '/invoices/template/{templateId}', status: 200, args: ['params'] },
  updateInvoiceTemplateLateFeesConfiguration: { service: svc, method: 'PATCH', path: '/invoices/template/{templateId}/late-fees-configuration', status: 200, args: ['params', 'requestBody'] },
  updateInvoicePaymentMethodsConfiguration: { service: svc, method: 'PATCH', path: '/invoices/template/{templateId}/payment-methods-configuration', status: 200, args: ['params', 'requestBody'] },
  createNewEstimate: { service: svc, method: 'POST', path: '/invoices/estimate', status: 201, args: ['requestBody'] },
  updateEstimate: { service: svc, method: 'PUT', path: '/invoices/estimate/{estimateId}', status: 200, args: ['params', 'requestBody'] },
  deleteEstimate: { service: svc, method: 'DELETE', path: '/invoices/estimate/{estimateId}', status: 200, args: ['params', 'requestBody'] },
  generateEstimateNumber: { service: svc, method: 'GET', path: '/invoices/estimate/number/generate', status: 200, args: ['params'] },
  sendEstimate: { service: svc, method: 'POST', path: '/invoices/estimate/{estimateId}/send', status: 201, args: ['params', 'requestBody'] },
  createInvoiceFromEstimate: { service: svc, method: 'POST', path: '/invoices/estimate/{estimateId}/invoice', status: 200, args: ['params', 'requestBody'] },
  listEstimates: { service: svc, method: 'GET', path: '/invoices/estimate/list', status: 200, args: ['params'] },
  updateEstimateLastVisitedAt: { service: svc, method: 'PATCH', path: '/invoices/estimate/stats/last-visited-at', status: 200, args: ['requestBody'] },
  listEstimateTemplates: { service: svc, method: 'GET', path: '/invoices/estimate/template', status: 200, args: ['params'] },
  createEstimateTemplate: { service: svc, method: 'POST', path: '/invoices/estimate/template', status: 201, args: ['requestBody'] },
  updateEstimateTemplate: { service: svc, method: 'PUT', path: '/invoices/estimate/template/{templateId}', status: 200, args: ['params', 'requestBody'] },
  deleteEstimateTemplate: { service: svc, method: 'DELETE', path: '/invoices/estimate/template/{templateId}', status: 200, args: ['params', 'requestBody'] },
  previewEstimateTemplate: { service: svc, method: 'GET', path: '/invoices/estimate/template/preview', status: 200, args: ['params'] },
};

// Required fields of the invoice answers (DefaultInvoiceResponseDto).
const INVOICE_FIELDS = ['_id', 'status', 'liveMode', 'amountPaid', 'altId', 'altType', 'name', 'businessDetails',
  'invoiceNumber', 'currency', 'contactDetails', 'issueDate', 'dueDate', 'invoiceItems', 'total', 'title',
  'amountDue', 'createdAt', 'updatedAt'];

const cents = (amount) => Math.round(Number(amount) * 100);

function isInvoice(inv, where) {
  assert.ok(inv && typeof inv === 'object', `${where}: expected an invoice, got ${JSON.stringify(inv)}`);
  for (const f of INVOICE_FIELDS) assert.ok(f in inv, `${where}: required field ${f} missing`);
}

// checkSDKMethods reports how the SDK's invoices service differs from
// INVOICE_OPS (names and argument conventions).
export function checkSDKMethods(ghl) {
  const problems = [];
  const proto = Object.getPrototypeOf(ghl[svc]);
  for (const [op, spec] of Object.entries(INVOICE_OPS)) {
    if (typeof proto[op] !== 'function') {
      problems.push(`the SDK's invoices service has no ${op}`);
      continue;
    }
    const m = /^async\s+\w+\s*\(([^)]*)\)/.exec(proto[op].toString());
    const got = m ? m[1].split(',').map((a) => a.trim()).filter((a) => a !== 'options') : null;
    if (!got || got.join(',') !== spec.args.join(',')) problems.push(`${op} takes (${got}), the test expects (${spec.args})`);
  }
  return problems;
}

// paced wraps ok and fails so that each call waits, first, until the
// location's rate budget (GHL: 100 requests per 10 s) has room: the other
// services' steps share the location, and the SDK does not retry a 429.
function paced(admin, L, call) {
  let limits;
  return async (...args) => {
    limits ??= await admin('/limits');
    const deadline = Date.now() + 2 * limits.intervalMs + 5000;
    for (;;) {
      const { window } = await admin(`/locations/${encodeURIComponent(L)}/usage`);
      if (window < limits.burst - 5) break;
      if (Date.now() > deadline) throw new Error(`the rate budget of ${L} stayed full (${window}/${limits.burst})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return call(...args);
  };
}

export async function invoiceSteps({ ghl, L, truth, step, ok: rawOk, fails: rawFails, needs, admin }) {
  const ok = paced(admin, L, rawOk);
  const fails = paced(admin, L, rawFails);
  const loc = { altId: L, altType: 'location' };
  const T = await truth(L);
  const live = T.invoices.filter((x) => !x.deleted).map((x) => x.invoice);
  const currency = live[0]?.currency ?? 'USD';
  const today = new Date().toISOString().slice(0, 10);
  const due = new Date(Date.now() + 14 * 86400e3).toISOString().slice(0, 10);

  await step('listInvoices', 'every invoice, newest first, equal to the truth', async () => {
    const r = await ok(ghl, 'listInvoices', { params: { ...loc, limit: '100', offset: '0' } });
    assert.equal(r.total, live.length);
    assert.deepEqual(r.invoices.map((x) => x._id), live.map((x) => x._id).reverse().slice(0, 100));
    return `${r.total} invoices`;
  });

  await step('getInvoice', 'the invoice equals the truth', async () => {
    const want = live[live.length - 1];
    const r = await ok(ghl, 'getInvoice', { params: { invoiceId: want._id, ...loc } });
    isInvoice(r, 'getInvoice');
    assert.deepEqual(r, want);
  });

  let settings;
  await step('getInvoiceSettings', "the location's settings, at /invoices/settings (not an invoice id)", async () => {
    settings = await ok(ghl, 'getInvoiceSettings', { params: loc });
    assert.equal(settings.altId, L);
    assert.equal(typeof settings.invoiceNumberPrefix, 'string');
    assert.ok(settings.businessDetails?.name, 'businessDetails.name');
  });

  let next;
  await step('generateInvoiceNumber', 'one more than the highest number, and not reserved', async () => {
    const r = await ok(ghl, 'generateInvoiceNumber', { params: loc });
    const highest = Math.max(...T.invoices.map((x) => Number(x.invoice.invoiceNumber)));
    assert.equal(Number(r.invoiceNumber), highest + 1);
    const again = await ok(ghl, 'generateInvoiceNumber', { params: loc });
    assert.equal(again.invoiceNumber, r.invoiceNumber);
    next = r.invoiceNumber;
    return `next ${next}`;
  });

  const body = (name) => ({
    ...loc, name, currency, title: 'INVOICE', liveMode: true, issueDate: today, dueDate: due,
    businessDetails: { name: 'Compat Ltd', website: 'https://example.com' },
    items: [
      { name: 'Consulting', currency, amount: 120.5, qty: 2 },
      { name: 'Setup', currency, amount: 10, qty: 1 },
    ],
    discount: { type: 'fixed', value: 1 },
    contactDetails: { id: 'compatcontact0000001', name: 'Casey Compat', email: 'casey@example.com', phoneNo: '+15550100' },
    sentTo: { email: ['casey@example.com'] },
  });

  let inv;
  await step('createInvoice', 'a draft with two lines and a fixed discount: total 250.00, the generated number', async () => {
    needs(next);
    inv = await ok(ghl, 'createInvoice', { body: body('Compat invoice') });
    isInvoice(inv, 'createInvoice');
    assert.equal(inv.status, 'draft');
    assert.equal(cents(inv.total), 25000);
    assert.equal(Number(inv.invoiceNumber), Number(next));
    const got = (await truth(L)).invoices.find((x) => x.invoice._id === inv._id);
    assert.ok(got, 'the truth lacks the new invoice');
  });

  await step('createInvoice', 'an item with qty 0 and no name: GHLValidationError 422', async () => {
    const b = body('Compat bad');
    b.items = [{ name: '', currency, amount: 1, qty: 0 }];
    await fails(ghl, 'createInvoice', { body: b }, 422);
  });

  await step('updateInvoice', 'one line left: total 240.00; the change is served by getInvoice', async () => {
    needs(inv);
    const b = body('Compat invoice (revised)');
    const { items, sentTo, ...rest } = b;
    const r = await ok(ghl, 'updateInvoice', { params: { invoiceId: inv._id }, body: { ...rest, invoiceItems: items.slice(0, 1) } });
    isInvoice(r, 'updateInvoice');
    assert.equal(cents(r.total), 24000);
    const g = await ok(ghl, 'getInvoice', { params: { invoiceId: inv._id, ...loc } });
    assert.equal(g.name, 'Compat invoice (revised)');
    assert.equal(g.invoiceItems.length, 1);
  });

  await step('updateInvoiceLateFeesConfiguration', 'the answer shows the configuration just set', async () => {
    needs(inv);
    const cfg = { enable: true, value: 5, type: 'fixed', frequency: { intervalCount: 1, interval: 'week' } };
    const r = await ok(ghl, 'updateInvoiceLateFeesConfiguration', { params: { invoiceId: inv._id }, body: { ...loc, lateFeesConfiguration: cfg } });
    isInvoice(r, 'updateInvoiceLateFeesConfiguration');
    assert.deepEqual(r.lateFeesConfiguration, cfg);
  });

  await step('updateInvoiceLastVisitedAt', 'the body names only the invoice; the truth records the visit', async () => {
    needs(inv);
    await ok(ghl, 'updateInvoiceLastVisitedAt', { body: { invoiceId: inv._id } });
    const got = (await truth(L)).invoices.find((x) => x.invoice._id === inv._id);
    assert.ok(got?.lastVisitedAt, 'no lastVisitedAt in the truth');
  });

  await step('sendInvoice', 'by email: the invoice is sent, the email queued to sentTo', async () => {
    needs(inv);
    const r = await ok(ghl, 'sendInvoice', { params: { invoiceId: inv._id }, body: { ...loc, userId: 'compat-user', action: 'email', liveMode: true } });
    isInvoice(r.invoice, 'sendInvoice');
    assert.equal(r.invoice.status, 'sent');
    assert.deepEqual(r.emailData.to, ['casey@example.com']);
    const sent = await ok(ghl, 'listInvoices', { params: { ...loc, status: 'sent', limit: '100', offset: '0' } });
    assert.ok(sent.invoices.some((x) => x._id === inv._id), 'status=sent does not list it');
  });

  await step('recordInvoice', 'a partial cash payment then the rest by card: paid, with two transactions', async () => {
    needs(inv);
    const pay = (extra) => ({ ...loc, card: { brand: '', last4: '' }, cheque: { number: '' }, notes: '', ...extra });
    const r1 = await ok(ghl, 'recordInvoice', { params: { invoiceId: inv._id }, body: pay({ mode: 'cash', amount: 40, notes: 'deposit' }) });
    assert.equal(r1.success, true);
    assert.equal(r1.invoice.status, 'partially_paid');
    assert.equal(cents(r1.invoice.amountDue), 20000);
    const r2 = await ok(ghl, 'recordInvoice', { params: { invoiceId: inv._id }, body: pay({ mode: 'card', card: { brand: 'visa', last4: '4242' } }) });
    assert.equal(r2.invoice.status, 'paid');
    assert.equal(cents(r2.invoice.amountPaid), 24000);
    const txns = (await truth(L)).transactions.filter((x) => x.item.entityId === inv._id);
    assert.deepEqual(txns.map((x) => cents(x.item.amount)).sort((a, b) => a - b), [4000, 20000]);
    await fails(ghl, 'recordInvoice', { params: { invoiceId: inv._id }, body: pay({ mode: 'cash' }) }, 400);
    return `transactions ${txns.map((x) => x.item._id).join(', ')}`;
  });

  await step('voidInvoice', 'a paid invoice cannot be voided: 400', async () => {
    needs(inv);
    await fails(ghl, 'voidInvoice', { params: { invoiceId: inv._id }, body: loc }, 400);
  });

  let t2p;
  await step('text2payInvoice', 'created and sent in one call, with its payment link', async () => {
    const r = await ok(ghl, 'text2payInvoice', { body: { ...body('Compat text2pay'), action: 'send', userId: 'compat-user' } });
    isInvoice(r.invoice, 'text2payInvoice');
    assert.equal(r.invoice.status, 'sent');
    assert.ok(r.invoiceUrl.endsWith(r.invoice._id), `invoiceUrl ${r.invoiceUrl}`);
    t2p = r.invoice;
  });

  await step('voidInvoice', 'the text-to-pay invoice is voided', async () => {
    needs(t2p);
    const r = await ok(ghl, 'voidInvoice', { params: { invoiceId: t2p._id }, body: loc });
    isInvoice(r, 'voidInvoice');
    assert.equal(r.status, 'void');
  });

  await step('deleteInvoice', 'the void invoice is deleted; getInvoice then answers 400', async () => {
    needs(t2p);
    const r = await ok(ghl, 'deleteInvoice', { params: { invoiceId: t2p._id, ...loc } });
    assert.equal(r._id, t2p._id);
    await fails(ghl, 'getInvoice', { params: { invoiceId: t2p._id, ...loc } }, 400);
    const got = (await truth(L)).invoices.find((x) => x.invoice._id === t2p._id);
    assert.equal(got?.deleted, true);
  });

  await step('deleteInvoice', 'a paid invoice cannot be deleted: 400', async () => {
    needs(inv);
    await fails(ghl, 'deleteInvoice', { params: { invoiceId: inv._id, ...loc } }, 400);
  });

  await scheduleSteps({ ghl, L, loc, truth, step, ok, fails, needs, body });
  await templateSteps({ ghl, L, loc, truth, step, ok, fails, needs, body });
  await estimateSteps({ ghl, L, loc, truth, step, ok, fails, needs, body });
  await estimateTemplateSteps({ ghl, L, loc, truth, step, ok, fails, needs, body });
}

// Estimate templates: create (201), preview, update, list, delete.
async function estimateTemplateSteps({ ghl, L, loc, truth, step, ok, fails, needs, body }) {
  const { issueDate, dueDate, sentTo, contactDetails, ...invoice } = body('Compat estimate template');
  const tbody = (name) => ({ ...invoice, name, title: 'ESTIMATE', estimateNumberPrefix: 'EQ-', meta: { source: 'compat' } });
  const isTemplate = (t, where) => {
    for (const f of ['altId', 'altType', '_id', 'liveMode', 'deleted', 'name', 'currency', 'businessDetails', 'items', 'discount',
      'total', 'createdAt', 'updatedAt', '__v', 'automaticTaxesEnabled']) {
      assert.ok(f in t, `${where}: required field ${f} missing`);
    }
  };

  let tpl;
  await step('createEstimateTemplate', 'created (201): total 250.00, prefix EQ-, in the truth', async () => {
    tpl = await ok(ghl, 'createEstimateTemplate', { body: tbody('Compat estimate template') });
    isTemplate(tpl, 'createEstimateTemplate');
    assert.equal(cents(tpl.total), 25000);
    assert.equal(tpl.estimateNumberPrefix, 'EQ-');
    assert.ok((await truth(L)).estimateTemplates.some((x) => x._id === tpl._id), 'the truth lacks the template');
  });

  await step('previewEstimateTemplate', 'the preview (templateId in the query) equals the truth', async () => {
    needs(tpl);
    const r = await ok(ghl, 'previewEstimateTemplate', { params: { ...loc, templateId: tpl._id } });
    const want = (await truth(L)).estimateTemplates.find((x) => x._id === tpl._id);
    assert.deepEqual(r, want);
  });

  await step('updateEstimateTemplate', 'one line left: total 240.00, __v 1', async () => {
    needs(tpl);
    const b = tbody('Compat estimate template (revised)');
    const r = await ok(ghl, 'updateEstimateTemplate', { params: { templateId: tpl._id }, body: { ...b, items: b.items.slice(0, 1) } });
    isTemplate(r, 'updateEstimateTemplate');
    assert.equal(cents(r.total), 24000);
    assert.equal(r.__v, 1);
  });

  await step('listEstimateTemplates', 'every live template, newest first, equal to the truth', async () => {
    needs(tpl);
    const r = await ok(ghl, 'listEstimateTemplates', { params: { ...loc, limit: '100', offset: '0' } });
    const want = (await truth(L)).estimateTemplates.filter((x) => !x.deleted).reverse();
    assert.equal(r.totalCount, want.length);
    assert.deepEqual(r.data, want);
    assert.ok(r.traceId, 'no traceId');
  });

  await step('deleteEstimateTemplate', 'DELETE with a JSON body: deleted; the preview then answers 400', async () => {
    needs(tpl);
    const r = await ok(ghl, 'deleteEstimateTemplate', { params: { templateId: tpl._id }, body: loc });
    isTemplate(r, 'deleteEstimateTemplate');
    assert.equal(r.deleted, true);
    await fails(ghl, 'previewEstimateTemplate', { params: { ...loc, templateId: tpl._id } }, 400);
  });
}

// Estimates: draft -> sent (listed under status=sent) -> invoiced; another
// deleted.
async function estimateSteps({ ghl, L, loc, truth, step, ok, fails, needs, body }) {
  const { dueDate, ...invoice } = body('Compat estimate');
  const ebody = (name) => ({ ...invoice, name, expiryDate: dueDate, estimateNumberPrefix: 'EST-', frequencySettings: { enabled: false, schedule: {} } });
  const isEstimate = (e, where) => {
    for (const f of ['altId', 'altType', '_id', 'liveMode', 'deleted', 'name', 'currency', 'businessDetails', 'items', 'discount',
      'total', 'createdAt', 'updatedAt', '__v', 'automaticTaxesEnabled', 'companyId', 'contactDetails', 'issueDate', 'expiryDate',
      'automaticTaxesCalculated', 'meta', 'estimateActionHistory', 'sentTo', 'frequencySettings', 'lastVisitedAt', 'totalamountInUSD', 'traceId']) {
      assert.ok(f in e, `${where}: required field ${f} missing`);
    }
  };

  let next;
  await step('generateEstimateNumber', 'the next number, not reserved', async () => {
    const r = await ok(ghl, 'generateEstimateNumber', { params: loc });
    const nums = (await truth(L)).estimates.map((x) => Number(x.estimateNumber));
    assert.equal(Number(r.estimateNumber), Math.max(1000, ...nums) + 1);
    assert.ok(r.traceId, 'no traceId');
    next = r.estimateNumber;
  });

  let est;
  await step('createNewEstimate', 'a draft (201) with the generated number, total 250.00, in the truth', async () => {
    needs(next);
    est = await ok(ghl, 'createNewEstimate', { body: ebody('Compat estimate') });
    isEstimate(est, 'createNewEstimate');
    assert.equal(est.estimateStatus, 'draft');
    assert.equal(Number(est.estimateNumber), Number(next));
    assert.equal(cents(est.total), 25000);
    assert.ok((await truth(L)).estimates.some((x) => x._id === est._id), 'the truth lacks the estimate');
  });

  await step('updateEstimate', 'one line left: total 240.00, __v 1', async () => {
    needs(est);
    const b = ebody('Compat estimate (revised)');
    const r = await ok(ghl, 'updateEstimate', { params: { estimateId: est._id }, body: { ...b, items: b.items.slice(0, 1) } });
    isEstimate(r, 'updateEstimate');
    assert.equal(cents(r.total), 24000);
    assert.equal(r.__v, 1);
  });

  await step('sendEstimate', 'sent (201): the status and the history say so', async () => {
    needs(est);
    const r = await ok(ghl, 'sendEstimate', { params: { estimateId: est._id }, body: { ...loc, action: 'email', liveMode: true, userId: 'compat-user' } });
    isEstimate(r, 'sendEstimate');
    assert.equal(r.estimateStatus, 'sent');
    assert.equal(r.estimateActionHistory.at(-1).action, 'sent');
  });

  await step('listEstimates', 'status=sent lists the sent estimate; status=draft does not', async () => {
    needs(est);
    const sent = await ok(ghl, 'listEstimates', { params: { ...loc, status: 'sent', limit: '100', offset: '0' } });
    assert.ok(sent.estimates.some((x) => x._id === est._id), 'status=sent does not list it');
    const drafts = await ok(ghl, 'listEstimates', { params: { ...loc, status: 'draft', limit: '100', offset: '0' } });
    assert.ok(!drafts.estimates.some((x) => x._id === est._id), 'status=draft lists it');
    assert.equal(sent.total, (await truth(L)).estimates.filter((x) => !x.deleted && x.estimateStatus === 'sent').length);
  });

  await step('updateEstimateLastVisitedAt', 'the body names only the estimate; lastVisitedAt moves', async () => {
    needs(est);
    const before = (await truth(L)).estimates.find((x) => x._id === est._id).lastVisitedAt;
    await ok(ghl, 'updateEstimateLastVisitedAt', { body: { estimateId: est._id } });
    const after = (await truth(L)).estimates.find((x) => x._id === est._id).lastVisitedAt;
    assert.ok(after > before, `lastVisitedAt ${before} -> ${after}`);
  });

  await step('createInvoiceFromEstimate', 'a draft invoice of the same total; the estimate is invoiced; twice is a 400', async () => {
    needs(est);
    const r = await ok(ghl, 'createInvoiceFromEstimate', { params: { estimateId: est._id }, body: { ...loc, markAsInvoiced: true, version: 'v2' } });
    isEstimate(r.estimate, 'createInvoiceFromEstimate');
    assert.equal(r.estimate.estimateStatus, 'invoiced');
    assert.equal(r.invoice.status, 'draft');
    assert.equal(cents(r.invoice.total), 24000);
    assert.ok((await truth(L)).invoices.some((x) => x.invoice._id === r.invoice._id), 'the truth lacks the invoice');
    await fails(ghl, 'createInvoiceFromEstimate', { params: { estimateId: est._id }, body: { ...loc, markAsInvoiced: true } }, 400);
  });

  await step('deleteEstimate', 'DELETE with a JSON body: deleted, then gone from the list', async () => {
    const gone = await ok(ghl, 'createNewEstimate', { body: ebody('Compat estimate (to delete)') });
    const r = await ok(ghl, 'deleteEstimate', { params: { estimateId: gone._id }, body: loc });
    isEstimate(r, 'deleteEstimate');
    assert.equal(r.deleted, true);
    const all = await ok(ghl, 'listEstimates', { params: { ...loc, status: 'all', limit: '100', offset: '0' } });
    assert.ok(!all.estimates.some((x) => x._id === gone._id), 'the list still has it');
    await fails(ghl, 'deleteEstimate', { params: { estimateId: gone._id }, body: loc }, 400);
  });
}

// Templates: create, read, configure (late fees, payment methods), delete.
async function templateSteps({ ghl, L, loc, truth, step, ok, fails, needs, body }) {
  const { issueDate, dueDate, sentTo, contactDetails, liveMode, ...invoice } = body('Compat template');
  const isTemplate = (t, where) => {
    for (const f of ['_id', 'altId', 'altType', 'name', 'businessDetails', 'currency', 'items', 'total', 'createdAt', 'updatedAt']) {
      assert.ok(f in t, `${where}: required field ${f} missing`);
    }
  };

  let tpl;
  await step('createInvoiceTemplate', 'two lines less a fixed 1.00: total 250.00, in the truth', async () => {
    tpl = await ok(ghl, 'createInvoiceTemplate', { body: { ...invoice, invoiceNumberPrefix: 'TPL-' } });
    isTemplate(tpl, 'createInvoiceTemplate');
    assert.equal(cents(tpl.total), 25000);
    assert.equal(tpl.invoiceNumberPrefix, 'TPL-');
    assert.ok((await truth(L)).invoiceTemplates.some((x) => x.template._id === tpl._id), 'the truth lacks the template');
  });

  await step('updateInvoiceTemplate', 'one line left: total 240.00', async () => {
    needs(tpl);
    const r = await ok(ghl, 'updateInvoiceTemplate', { params: { templateId: tpl._id }, body: { ...invoice, name: 'Compat template (revised)', items: invoice.items.slice(0, 1) } });
    isTemplate(r, 'updateInvoiceTemplate');
    assert.equal(cents(r.total), 24000);
    assert.equal(r.name, 'Compat template (revised)');
  });

  await step('updateInvoiceTemplateLateFeesConfiguration', 'the answer shows the late fees just set', async () => {
    needs(tpl);
    const cfg = { enable: true, value: 2, type: 'percentage', frequency: { intervalCount: 1, interval: 'month' }, grace: { intervalCount: 3, interval: 'day' } };
    const r = await ok(ghl, 'updateInvoiceTemplateLateFeesConfiguration', { params: { templateId: tpl._id }, body: { ...loc, lateFeesConfiguration: cfg } });
    isTemplate(r, 'updateInvoiceTemplateLateFeesConfiguration');
    assert.deepEqual(r.lateFeesConfiguration, cfg);
    const bad = { ...cfg, frequency: { intervalCount: 1, interval: 'fortnight' } };
    await fails(ghl, 'updateInvoiceTemplateLateFeesConfiguration', { params: { templateId: tpl._id }, body: { ...loc, lateFeesConfiguration: bad } }, 422);
  });

  await step('updateInvoicePaymentMethodsConfiguration', 'the answer shows the payment methods just set', async () => {
    needs(tpl);
    const paymentMethods = { stripe: { enableBankDebitOnly: true } };
    const r = await ok(ghl, 'updateInvoicePaymentMethodsConfiguration', { params: { templateId: tpl._id }, body: { ...loc, paymentMethods } });
    isTemplate(r, 'updateInvoicePaymentMethodsConfiguration');
    assert.deepEqual(r.paymentMethods, paymentMethods);
  });

  await step('getInvoiceTemplate', 'the template equals the truth, with both configurations', async () => {
    needs(tpl);
    const g = await ok(ghl, 'getInvoiceTemplate', { params: { templateId: tpl._id, ...loc } });
    const t = (await truth(L)).invoiceTemplates.find((x) => x.template._id === tpl._id);
    assert.deepEqual(g, t.template);
    assert.ok(g.lateFeesConfiguration && g.paymentMethods, 'a configuration is missing');
  });

  await step('listInvoiceTemplates', 'every live template, newest first, equal to the truth', async () => {
    needs(tpl);
    const r = await ok(ghl, 'listInvoiceTemplates', { params: { ...loc, limit: '100', offset: '0' } });
    const want = (await truth(L)).invoiceTemplates.filter((x) => !x.deleted).map((x) => x.template).reverse();
    assert.equal(r.totalCount, want.length);
    assert.deepEqual(r.data, want);
  });

  await step('deleteInvoiceTemplate', 'deleted: getInvoiceTemplate then answers 400', async () => {
    needs(tpl);
    const r = await ok(ghl, 'deleteInvoiceTemplate', { params: { templateId: tpl._id, ...loc } });
    assert.equal(r.success, true);
    await fails(ghl, 'getInvoiceTemplate', { params: { templateId: tpl._id, ...loc } }, 400);
  });
}

// Schedules (recurring invoices): draft -> auto-payment -> active, issuing
// the invoices due -> cancelled -> deleted.
async function scheduleSteps({ ghl, L, loc, truth, step, ok, fails, needs, body }) {
  const start = new Date();
  start.setUTCMonth(start.getUTCMonth() - 1);
  const { issueDate, dueDate, sentTo, ...invoice } = body('Compat retainer');
  const sbody = (name) => ({
    ...invoice, name, items: invoice.items.slice(0, 1),
    schedule: { rrule: { intervalType: 'monthly', interval: 1, startDate: start.toISOString().slice(0, 10), startTime: '00:00:00', count: 6 } },
  });
  const isSchedule = (s, where) => {
    for (const f of ['_id', 'status', 'liveMode', 'altId', 'altType', 'name', 'invoices', 'businessDetails', 'currency',
      'contactDetails', 'items', 'total', 'title', 'termsNotes', 'compiledTermsNotes', 'createdAt', 'updatedAt']) {
      assert.ok(f in s, `${where}: required field ${f} missing`);
    }
  };

  let sc;
  await step('createInvoiceSchedule', 'a monthly draft schedule: no invoices yet, total 240.00, in the truth', async () => {
    sc = await ok(ghl, 'createInvoiceSchedule', { body: sbody('Compat retainer') });
    isSchedule(sc, 'createInvoiceSchedule');
    assert.equal(sc.status, 'draft');
    assert.deepEqual(sc.invoices, []);
    assert.equal(cents(sc.total), 24000);
    const t = (await truth(L)).invoiceSchedules.find((x) => x.schedule._id === sc._id);
    assert.ok(t, 'the truth lacks the schedule');
  });

  await step('updateInvoiceSchedule', 'renamed; getInvoiceSchedule serves the change', async () => {
    needs(sc);
    const r = await ok(ghl, 'updateInvoiceSchedule', { params: { scheduleId: sc._id }, body: sbody('Compat retainer (revised)') });
    isSchedule(r, 'updateInvoiceSchedule');
    const g = await ok(ghl, 'getInvoiceSchedule', { params: { scheduleId: sc._id, ...loc } });
    assert.equal(g.name, 'Compat retainer (revised)');
  });

  await step('getInvoiceSchedule', 'the schedule equals the truth, rule and items included', async () => {
    needs(sc);
    const g = await ok(ghl, 'getInvoiceSchedule', { params: { scheduleId: sc._id, ...loc } });
    isSchedule(g, 'getInvoiceSchedule');
    const t = (await truth(L)).invoiceSchedules.find((x) => x.schedule._id === sc._id);
    assert.deepEqual(g, t.schedule);
    assert.equal(g.schedule.rrule.intervalType, 'monthly');
  });

  await step('autoPaymentInvoiceSchedule', 'the answer shows the auto-payment just set', async () => {
    needs(sc);
    const autoPayment = { enable: true, type: 'card', customerId: 'cus_compat', card: { brand: 'visa', last4: '4242' } };
    const r = await ok(ghl, 'autoPaymentInvoiceSchedule', { params: { scheduleId: sc._id }, body: { ...loc, id: sc._id, autoPayment } });
    isSchedule(r, 'autoPaymentInvoiceSchedule');
    assert.deepEqual(r.autoPayment, autoPayment);
  });

  await step('scheduleInvoiceSchedule', 'the schedule leaves draft: active, the two months due issued and paid by card', async () => {
    needs(sc);
    const r = await ok(ghl, 'scheduleInvoiceSchedule', { params: { scheduleId: sc._id }, body: { ...loc, liveMode: true } });
    isSchedule(r, 'scheduleInvoiceSchedule');
    assert.equal(r.status, 'active');
    assert.equal(r.invoices.length, 2);
    assert.deepEqual(r.invoices.map((x) => x.status), ['paid', 'paid']);
    assert.ok(r.schedule.executeAt, 'no next executeAt');
    const txns = (await truth(L)).transactions.filter((x) => r.invoices.some((i) => i._id === x.item.entityId));
    assert.equal(txns.length, 2);
    assert.ok(txns.every((x) => cents(x.item.amount) === 24000));
    await fails(ghl, 'scheduleInvoiceSchedule', { params: { scheduleId: sc._id }, body: { ...loc, liveMode: true } }, 400);
  });

  await step('updateAndScheduleInvoiceSchedule', 'no body: rescheduling issues nothing twice', async () => {
    needs(sc);
    const r = await ok(ghl, 'updateAndScheduleInvoiceSchedule', { params: { scheduleId: sc._id } });
    isSchedule(r, 'updateAndScheduleInvoiceSchedule');
    assert.equal(r.status, 'active');
    assert.equal(r.invoices.length, 2);
  });

  await step('listInvoiceSchedules', 'status=active lists it; total agrees with the truth', async () => {
    needs(sc);
    const r = await ok(ghl, 'listInvoiceSchedules', { params: { ...loc, status: 'active', limit: '100', offset: '0' } });
    assert.ok(r.schedules.some((x) => x._id === sc._id), 'status=active does not list it');
    const want = (await truth(L)).invoiceSchedules.filter((x) => !x.deleted && x.schedule.status === 'active');
    assert.equal(r.total, want.length);
  });

  await step('cancelInvoiceSchedule', 'the status changes to cancelled; cancelling again is a 400', async () => {
    needs(sc);
    const r = await ok(ghl, 'cancelInvoiceSchedule', { params: { scheduleId: sc._id }, body: loc });
    isSchedule(r, 'cancelInvoiceSchedule');
    assert.equal(r.status, 'cancelled');
    await fails(ghl, 'cancelInvoiceSchedule', { params: { scheduleId: sc._id }, body: loc }, 400);
  });

  await step('deleteInvoiceSchedule', 'deleted: getInvoiceSchedule then answers 400; its invoices stay', async () => {
    needs(sc);
    const r = await ok(ghl, 'deleteInvoiceSchedule', { params: { scheduleId: sc._id, ...loc } });
    assert.equal(r.success, true);
    await fails(ghl, 'getInvoiceSchedule', { params: { scheduleId: sc._id, ...loc } }, 400);
    const t = await truth(L);
    assert.equal(t.invoiceSchedules.find((x) => x.schedule._id === sc._id)?.deleted, true);
    const issued = t.invoiceSchedules.find((x) => x.schedule._id === sc._id).schedule.invoices.map((x) => x._id);
    assert.equal(issued.length, 2);
    for (const id of issued) assert.equal(t.invoices.find((x) => x.invoice._id === id)?.deleted, undefined, `invoice ${id} was deleted`);
  });
}
