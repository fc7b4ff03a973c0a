// The products API (apps/products.json, 27 operations) through the SDK's
// `products` service, against the sandbox. compat.mjs merges PRODUCT_OPS
// into its operation table and runs productSteps after the Payments checks.
//
// Every step compares the answer with the sandbox's truth (the "catalog" of
// GET /_sandbox/truth) or with what an earlier write set, not only the
// status. Ids come from the truth at run time.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';

const P = 'products';

// method, path and success status from the spec; args as SDK 3.1.0's
// dist/lib/code/products/products.js takes them. GET /products/ is
// "list-invoices" in the spec, and so `listInvoices` in the SDK: its key
// here says which service it is, and `fn` names the SDK method.
export const PRODUCT_OPS = {
  bulkUpdate: { service: P, method: 'POST', path: '/products/bulk-update', status: 201, args: ['requestBody'] },
  bulkEdit: { service: P, method: 'POST', path: '/products/bulk-update/edit', status: 201, args: ['requestBody'] },
  createPriceForProduct: { service: P, method: 'POST', path: '/products/{productId}/price', status: 201, args: ['params', 'requestBody'] },
  listPricesForProduct: { service: P, method: 'GET', path: '/products/{productId}/price', status: 200, args: ['params'] },
  getListInventory: { service: P, method: 'GET', path: '/products/inventory', status: 200, args: ['params'] },
  updateInventory: { service: P, method: 'POST', path: '/products/inventory', status: 201, args: ['requestBody'] },
  getPriceByIdForProduct: { service: P, method: 'GET', path: '/products/{productId}/price/{priceId}', status: 200, args: ['params'] },
  updatePriceByIdForProduct: { service: P, method: 'PUT', path: '/products/{productId}/price/{priceId}', status: 200, args: ['params', 'requestBody'] },
  deletePriceByIdForProduct: { service: P, method: 'DELETE', path: '/products/{productId}/price/{priceId}', status: 200, args: ['params'] },
  getProductStoreStats: { service: P, method: 'GET', path: '/products/store/{storeId}/stats', status: 200, args: ['params'] },
  updateStoreStatus: { service: P, method: 'POST', path: '/products/store/{storeId}', status: 201, args: ['params', 'requestBody'] },
  updateDisplayPriority: { service: P, method: 'POST', path: '/products/store/{storeId}/priority', status: 200, args: ['params', 'requestBody'] },
  getProductCollection: { service: P, method: 'GET', path: '/products/collections', status: 200, args: ['params'] },
  createProductCollection: { service: P, method: 'POST', path: '/products/collections', status: 201, args: ['requestBody'] },
  getProductCollectionId: { service: P, method: 'GET', path: '/products/collections/{collectionId}', status: 200, args: ['params'] },
  updateProductCollection: { service: P, method: 'PUT', path: '/products/collections/{collectionId}', status: 200, args: ['params', 'requestBody'] },
  deleteProductCollection: { service: P, method: 'DELETE', path: '/products/collections/{collectionId}', status: 200, args: ['params'] },
  getProductReviews: { service: P, method: 'GET', path: '/products/reviews', status: 200, args: ['params'] },
  getReviewsCount: { service: P, method: 'GET', path: '/products/reviews/count', status: 200, args: ['params'] },
  updateProductReview: { service: P, method: 'PUT', path: '/products/reviews/{reviewId}', status: 200, args: ['params', 'requestBody'] },
  deleteProductReview: { service: P, method: 'DELETE', path: '/products/reviews/{reviewId}', status: 200, args: ['params'] },
  bulkUpdateProductReview: { service: P, method: 'POST', path: '/products/reviews/bulk-update', status: 201, args: ['requestBody'] },
  getProductById: { service: P, method: 'GET', path: '/products/{productId}', status: 200, args: ['params'] },
  deleteProductById: { service: P, method: 'DELETE', path: '/products/{productId}', status: 200, args: ['params'] },
  updateProductById: { service: P, method: 'PUT', path: '/products/{productId}', status: 200, args: ['params', 'requestBody'] },
  createProduct: { service: P, method: 'POST', path: '/products/', status: 201, args: ['requestBody'] },
  'products.listInvoices': { service: P, fn: 'listInvoices', method: 'GET', path: '/products/', status: 200, args: ['params'] },
};

// Required fields of the products spec's response schemas.
const REQUIRED = {
  product: ['_id', 'locationId', 'name', 'productType', 'createdAt', 'updatedAt'],
  price: ['_id', 'name', 'type', 'currency', 'amount'],
  inventory: ['_id', 'name', 'availableQuantity', 'sku', 'allowOutOfStockPurchases', 'product', 'updatedAt'],
  collection: ['_id', 'altId', 'name', 'slug', 'image', 'seo', 'createdAt'],
};

function has(obj, kind, where) {
  assert.ok(obj && typeof obj === 'object' && !Array.isArray(obj), `${where}: expected an object`);
  const missing = REQUIRED[kind].filter((k) => obj[k] === undefined || obj[k] === null);
  assert.deepEqual(missing, [], `${where}: fields the spec requires of a ${kind} are missing: ${missing.join(', ')}`);
}

const ids = (list) => list.map((x) => x._id);
const byCreatedDesc = (a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt);

// The SDK sends path and query parameters from one object, so the checks
// name them together.
export async function productSteps({ ghl, L, truth, step, ok: rawOk, fails: rawFails, admin, adminSend }) {
  // GHL's budget is per location and the steps before these spend it too:
  // wait (polling the sandbox's usage) while the window is nearly full, so
  // that no call here meets a 429 the SDK would not retry.
  const { burst } = await admin('/limits');
  const pace = async () => {
    for (let waited = 0; waited < 15_000; waited += 200) {
      const { window } = await admin(`/locations/${encodeURIComponent(L)}/usage`);
      if (!burst || window < burst - 5) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const ok = async (...a) => (await pace(), rawOk(...a));
  const fails = async (...a) => (await pace(), rawFails(...a));
  const loc = { altId: L, altType: 'location' };
  const catalog = async () => {
    const c = (await truth(L)).catalog;
    assert.ok(c, 'the truth has no catalog');
    return c;
  };
  const T = await catalog();
  const store = T.storeId;
  const info = await admin('/info');
  const me = info.locations.find((l) => l.id === L);
  const state = {};

  await step('products.listInvoices', 'every product, newest first, equal to the truth; total is [{total}]', async () => {
    const r = await ok(ghl, 'products.listInvoices', { params: { locationId: L, limit: 100 } });
    assert.ok(Array.isArray(r.products) && Array.isArray(r.total), 'products and total are arrays');
    assert.equal(r.total[0].total, T.products.length, 'total = products in the truth');
    r.products.forEach((p, i) => has(p, 'product', `products[${i}]`));
    const want = T.products.map((x) => x.product).sort(byCreatedDesc);
    assert.deepEqual(ids(r.products), ids(want), 'the products of the truth, newest first');
    assert.deepEqual(r.products, want, 'each product equals the truth');
    return `${r.products.length} products = truth`;
  });

  await step('products.listInvoices', 'the store listing: storeId + includedInStore, by display priority', async () => {
    assert.equal(me?.storeId, store, "the sandbox's start line names the location's storeId");
    const r = await ok(ghl, 'products.listInvoices', { params: { locationId: L, storeId: store, includedInStore: true, limit: 100 } });
    const want = T.products.filter((x) => x.inStore).sort((a, b) => (a.priority || 1e9) - (b.priority || 1e9));
    assert.deepEqual(ids(r.products), want.map((x) => x.product._id), 'in-store products by priority');
    const s = await ok(ghl, 'products.listInvoices', { params: { locationId: L, search: 'mug' } });
    assert.ok(s.products.length > 0 && s.products.every((p) => /mug/i.test(p.name)), 'search matches names');
    return `${r.products.length} in the store, by priority; search "mug" finds ${s.products.length}`;
  });

  const seeded = T.products.find((x) => x.prices.length > 1) || T.products[0];

  await step('getProductById', 'a seeded product equals the truth; an unknown id is a 400', async () => {
    const r = await ok(ghl, 'getProductById', { params: { productId: seeded.product._id, locationId: L } });
    has(r, 'product', 'product');
    assert.deepEqual(r, seeded.product);
    await fails(ghl, 'getProductById', { params: { productId: '000000000000000000000000', locationId: L } }, 400);
    return `${r.name} (${r.productType})`;
  });

  await step('listPricesForProduct', "a product's prices equal the truth; ids filters", async () => {
    const r = await ok(ghl, 'listPricesForProduct', { params: { productId: seeded.product._id, locationId: L } });
    assert.equal(r.total, seeded.prices.length);
    r.prices.forEach((p, i) => has(p, 'price', `prices[${i}]`));
    assert.deepEqual(r.prices, seeded.prices);
    const one = await ok(ghl, 'listPricesForProduct', { params: { productId: seeded.product._id, locationId: L, ids: seeded.prices[0]._id } });
    assert.deepEqual(ids(one.prices), [seeded.prices[0]._id]);
    return `${r.total} prices = truth; ids= finds 1`;
  });

  await step('getPriceByIdForProduct', 'a seeded price equals the truth, amount exact', async () => {
    const want = seeded.prices[0];
    const r = await ok(ghl, 'getPriceByIdForProduct', { params: { productId: seeded.product._id, priceId: want._id, locationId: L } });
    has(r, 'price', 'price');
    assert.deepEqual(r, want);
    return `${r.name}: ${r.amount} ${r.currency}`;
  });

  await step('getListInventory', 'one item per price that tracks stock, keyed by the price id, equal to the truth', async () => {
    const r = await ok(ghl, 'getListInventory', { params: { ...loc, limit: 100 } });
    const tracked = T.products.flatMap((x) => x.prices.filter((p) => p.trackInventory).map((p) => ({ p, product: x.product })));
    assert.equal(r.total.total, tracked.length, 'total.total = tracked prices');
    r.inventory.forEach((it, i) => has(it, 'inventory', `inventory[${i}]`));
    for (const { p, product } of tracked) {
      const it = r.inventory.find((x) => x._id === p._id);
      assert.ok(it, `price ${p._id} has an inventory item`);
      assert.equal(it.availableQuantity, p.availableQuantity, `stock of ${p._id}`);
      assert.equal(it.product, product._id);
      assert.equal(it.productName, product.name);
    }
    return `${tracked.length} tracked prices`;
  });

  await step('getListInventory', 'stock falls as orders are placed', async () => {
    const stock = async () => Object.fromEntries((await ok(ghl, 'getListInventory', { params: { ...loc, limit: 100 } })).inventory.map((i) => [i._id, i.availableQuantity]));
    for (let tries = 0; tries < 20; tries++) {
      const before = await stock();
      const { changes } = await adminSend('POST', '/activity', { count: 1, locationId: L, kind: 'order.created' });
      const t = await truth(L);
      const order = t.orders.find((o) => o.item._id === changes[0].recordId);
      const line = order.detail.items.find((it) => before[it.price._id] > it.qty);
      if (!line) continue;
      const after = await stock();
      assert.equal(after[line.price._id], before[line.price._id] - line.qty, `stock of ${line.price._id} after order ${order.item._id}`);
      return `order ${order.item._id}: ${line.name} ${before[line.price._id]} -> ${after[line.price._id]}`;
    }
    throw new Error('20 new orders never held a tracked price');
  });

  await step('getProductCollection', 'the seeded collections equal the truth; default page 10; name filter', async () => {
    const r = await ok(ghl, 'getProductCollection', { params: { ...loc, limit: 100 } });
    assert.equal(r.total, T.collections.length);
    r.data.forEach((c, i) => has(c, 'collection', `data[${i}]`));
    assert.deepEqual(r.data, [...T.collections].sort(byCreatedDesc));
    const def = await ok(ghl, 'getProductCollection', { params: loc });
    assert.equal(def.data.length, Math.min(10, T.collections.length));
    const named = await ok(ghl, 'getProductCollection', { params: { ...loc, name: 'apparel' } });
    assert.deepEqual(named.data.map((c) => c.name), ['Apparel']);
    return `${r.total} collections = truth`;
  });

  await step('getProductCollectionId', 'a collection by id: {data, status}', async () => {
    const c = T.collections[0];
    const r = await ok(ghl, 'getProductCollectionId', { params: { collectionId: c._id, altId: L } });
    assert.equal(r.status, true);
    assert.deepEqual(r.data, c);
    return c.name;
  });

  await step('getProductReviews', 'the seeded reviews equal the truth, newest first; sortField rating', async () => {
    const r = await ok(ghl, 'getProductReviews', { params: { ...loc, limit: 100 } });
    assert.equal(r.total, T.reviews.length);
    assert.ok(T.reviews.length > 0, 'reviews are seeded');
    assert.deepEqual(r.data, [...T.reviews].reverse().slice(0, 100));
    const byRating = await ok(ghl, 'getProductReviews', { params: { ...loc, sortField: 'rating', sortOrder: 'desc', limit: 100 } });
    for (let i = 1; i < byRating.data.length; i++) assert.ok(byRating.data[i - 1].rating >= byRating.data[i].rating, `not by rating at ${i}`);
    const p = T.reviews[0].productId;
    const one = await ok(ghl, 'getProductReviews', { params: { ...loc, productId: p, limit: 100 } });
    assert.equal(one.total, T.reviews.filter((x) => x.productId === p).length);
    return `${r.total} reviews = truth; product ${p}: ${one.total}`;
  });

  await step('getReviewsCount', 'the counts by status equal the truth', async () => {
    const r = await ok(ghl, 'getReviewsCount', { params: loc });
    for (const c of r.data) assert.equal(c.count, T.reviews.filter((x) => x.status === c.status).length, `status ${c.status}`);
    assert.equal(r.data.reduce((s, c) => s + c.count, 0), T.reviews.length);
    return r.data.map((c) => `${c.status} ${c.count}`).join(', ');
  });

  const stats = async () => ok(ghl, 'getProductStoreStats', { params: { storeId: store, ...loc } });
  await step('getProductStoreStats', "the store's counts equal the truth", async () => {
    const r = await stats();
    assert.deepEqual(r, { totalProducts: T.products.length, includedInStore: T.products.filter((x) => x.inStore).length,
      excludedFromStore: T.products.filter((x) => !x.inStore).length });
    return `${r.includedInStore} of ${r.totalProducts} in the store`;
  });

  // --- Writes ----------------------------------------------------------------
  await step('createProductCollection', 'a new collection (201); the same slug again is a 422', async () => {
    const body = { ...loc, name: 'Compat Picks', slug: 'compat-picks', image: 'https://example.com/p.png', seo: { title: 'Picks' } };
    const r = await ok(ghl, 'createProductCollection', { body });
    has(r.data, 'collection', 'data');
    assert.equal(r.data.slug, 'compat-picks');
    state.collection = r.data._id;
    await fails(ghl, 'createProductCollection', { body: { ...loc, name: 'Again', slug: 'compat-picks' } }, 422);
    assert.ok((await catalog()).collections.some((c) => c._id === state.collection), 'the truth has it');
    return state.collection;
  });

  await step('updateProductCollection', 'renaming the collection', async () => {
    const r = await ok(ghl, 'updateProductCollection', { params: { collectionId: state.collection }, body: { ...loc, name: 'Compat Picks 2' } });
    assert.equal(r.status, true);
    const c = (await catalog()).collections.find((x) => x._id === state.collection);
    assert.equal(c.name, 'Compat Picks 2');
    assert.equal(c.slug, 'compat-picks', 'the slug stays');
    return c.name;
  });

  const info2 = await admin('/info');
  const key = crypto.createPublicKey({ key: Buffer.from(info2.webhookPublicKey, 'base64'), format: 'der', type: 'spki' });
  const signedEvent = async (type, id) => {
    const { deliveries } = await admin('/webhooks');
    const d = deliveries.find((x) => x.type === type && x.body._id === id);
    assert.ok(d, `a ${type} webhook for ${id}`);
    const body = Buffer.from(JSON.stringify(d.body));
    assert.ok(crypto.verify(null, body, key, Buffer.from(d.signature, 'base64')), `the ${type} webhook's signature verifies`);
    return d.body;
  };

  await step('createProduct', 'a physical product in the new collection (201), with a signed ProductCreate webhook', async () => {
    const body = { name: 'Compat Tee', locationId: L, productType: 'PHYSICAL', description: 'A tee', availableInStore: true,
      collectionIds: [state.collection], variants: [{ id: 'size', name: 'Size', options: [{ id: 's', name: 'S' }, { id: 'm', name: 'M' }] }] };
    const r = await ok(ghl, 'createProduct', { body });
    has(r, 'product', 'product');
    assert.equal(r.name, body.name);
    assert.deepEqual(r.collectionIds, [state.collection]);
    state.product = r._id;
    const ev = await signedEvent('ProductCreate', r._id);
    assert.equal(ev.type, 'ProductCreate');
    assert.equal(ev.locationId, L);
    assert.deepEqual((await catalog()).products.find((x) => x.product._id === r._id).product, r);
    return r._id;
  });

  await step('updateProductById', 'changing the name and description', async () => {
    const body = { name: 'Compat Tee 2', locationId: L, productType: 'PHYSICAL', description: 'Still a tee',
      collectionIds: [state.collection], variants: [{ id: 'size', name: 'Size', options: [{ id: 's', name: 'S' }, { id: 'm', name: 'M' }] }] };
    const r = await ok(ghl, 'updateProductById', { params: { productId: state.product }, body });
    assert.equal(r.name, 'Compat Tee 2');
    assert.equal(r.description, 'Still a tee');
    await signedEvent('ProductUpdate', state.product);
    return r.name;
  });

  await step('createPriceForProduct', 'a tracked price for variant S (201), with a PriceCreate webhook naming priceType', async () => {
    const body = { name: 'S', type: 'one_time', currency: 'USD', amount: 19.99, locationId: L, variantOptionIds: ['s'],
      trackInventory: true, availableQuantity: 7, sku: 'COMPAT-S', compareAtPrice: 24.99 };
    const r = await ok(ghl, 'createPriceForProduct', { params: { productId: state.product }, body });
    has(r, 'price', 'price');
    assert.equal(r.amount, 19.99);
    assert.equal(r.product, state.product);
    state.price = r._id;
    const ev = await signedEvent('PriceCreate', r._id);
    assert.equal(ev.priceType, 'one_time');
    assert.equal(ev.type, 'PriceCreate');
    const inv = await ok(ghl, 'getListInventory', { params: { ...loc, search: 'COMPAT-S' } });
    assert.deepEqual(ids(inv.inventory), [r._id], 'the new price is an inventory item');
    await fails(ghl, 'createPriceForProduct', { params: { productId: state.product }, body: { ...body, variantOptionIds: ['xl'] } }, 422);
    return r._id;
  });

  const price = async () => ok(ghl, 'getPriceByIdForProduct', { params: { productId: state.product, priceId: state.price, locationId: L } });

  await step('updatePriceByIdForProduct', 'the amount 19.99 -> 17.50', async () => {
    const body = { name: 'S', type: 'one_time', currency: 'USD', amount: 17.5, locationId: L, variantOptionIds: ['s'],
      trackInventory: true, availableQuantity: 7, sku: 'COMPAT-S' };
    const r = await ok(ghl, 'updatePriceByIdForProduct', { params: { productId: state.product, priceId: state.price }, body });
    assert.equal(r.amount, 17.5);
    assert.equal((await price()).amount, 17.5);
    return '17.5';
  });

  await step('updateInventory', 'stock 7 -> 3 (201)', async () => {
    const r = await ok(ghl, 'updateInventory', { body: { ...loc, items: [{ priceId: state.price, availableQuantity: 3, allowOutOfStockPurchases: false }] } });
    assert.equal(r.status, true);
    assert.equal((await price()).availableQuantity, 3);
    await fails(ghl, 'updateInventory', { body: { ...loc, items: [{ priceId: '000000000000000000000000', availableQuantity: 1 }] } }, 400);
    return 'availableQuantity 3';
  });

  await step('updateStoreStatus', 'excluding the product from the store (201); the stats follow', async () => {
    const before = await stats();
    const r = await ok(ghl, 'updateStoreStatus', { params: { storeId: store }, body: { ...loc, action: 'exclude', productIds: [state.product] } });
    assert.equal(r.status, true);
    const after = await stats();
    assert.equal(after.excludedFromStore, before.excludedFromStore + (before.totalProducts === after.totalProducts ? 1 : 0));
    await ok(ghl, 'updateStoreStatus', { params: { storeId: store }, body: { ...loc, action: 'include', productIds: [state.product] } });
    assert.equal((await stats()).includedInStore, after.includedInStore + 1);
    return `excluded ${after.excludedFromStore}, then included again`;
  });

  await step('updateDisplayPriority', 'priority 1 puts the product first in the store listing', async () => {
    await ok(ghl, 'updateDisplayPriority', { params: { storeId: store }, body: { ...loc, products: [{ _id: state.product, priority: 1 }] } });
    const r = await ok(ghl, 'products.listInvoices', { params: { locationId: L, storeId: store, limit: 5 } });
    assert.equal(r.products[0]._id, state.product);
    return 'first';
  });

  await step('bulkUpdate', 'bulk-update-price INCREASE_BY_AMOUNT 1 (201): 17.50 -> 18.50', async () => {
    const r = await ok(ghl, 'bulkUpdate', { body: { ...loc, type: 'bulk-update-price', productIds: [state.product], price: { type: 'INCREASE_BY_AMOUNT', value: 1 } } });
    assert.equal(r.status, true);
    assert.equal((await price()).amount, 18.5);
    await fails(ghl, 'bulkUpdate', { body: { ...loc, type: 'bulk-update-price', productIds: [state.product] } }, 422);
    return '18.5';
  });

  await step('bulkEdit', 'renaming the product and repricing its price at once (201, updatedCount 1)', async () => {
    const r = await ok(ghl, 'bulkEdit', { body: { ...loc, products: [{ _id: state.product, name: 'Compat Tee 3', prices: [{ _id: state.price, amount: 12.5 }] }] } });
    assert.equal(r.status, true);
    assert.equal(r.updatedCount, 1);
    assert.equal((await price()).amount, 12.5);
    const p = await ok(ghl, 'getProductById', { params: { productId: state.product, locationId: L } });
    assert.equal(p.name, 'Compat Tee 3');
    return 'Compat Tee 3 at 12.5';
  });

  const review = T.reviews[T.reviews.length - 1];
  await step('updateProductReview', 'approving a review with a reply', async () => {
    const reply = [{ headline: 'Thanks', comment: 'Thank you for the review!', user: { name: 'The Store', email: 'store@example.com' } }];
    const r = await ok(ghl, 'updateProductReview', { params: { reviewId: review._id }, body: { ...loc, productId: review.productId, status: 'approved', reply } });
    assert.equal(r.status, true);
    const got = (await catalog()).reviews.find((x) => x._id === review._id);
    assert.equal(got.status, 'approved');
    assert.deepEqual(got.reply, reply);
    return review._id;
  });

  await step('bulkUpdateProductReview', 'rejecting two reviews at once (201)', async () => {
    const two = T.reviews.slice(0, 2);
    const r = await ok(ghl, 'bulkUpdateProductReview', { body: { ...loc, status: 'rejected', reviews: two.map((x) => ({ reviewId: x._id, productId: x.productId, storeId: x.storeId })) } });
    assert.equal(r.status, true);
    const now = (await catalog()).reviews;
    for (const x of two) assert.equal(now.find((y) => y._id === x._id).status, 'rejected');
    return ids(two).join(', ');
  });

  await step('deleteProductReview', 'deleting a review; deleting it again is a 400', async () => {
    const params = { reviewId: review._id, ...loc, productId: review.productId };
    const r = await ok(ghl, 'deleteProductReview', { params });
    assert.equal(r.status, true);
    assert.ok(!(await catalog()).reviews.some((x) => x._id === review._id));
    await fails(ghl, 'deleteProductReview', { params }, 400);
    return review._id;
  });

  await step('deletePriceByIdForProduct', 'deleting the price (PriceDelete webhook); reading it then is a 400', async () => {
    const r = await ok(ghl, 'deletePriceByIdForProduct', { params: { productId: state.product, priceId: state.price, locationId: L } });
    assert.equal(r.status, true);
    await signedEvent('PriceDelete', state.price);
    await fails(ghl, 'getPriceByIdForProduct', { params: { productId: state.product, priceId: state.price, locationId: L } }, 400);
    return state.price;
  });

  await step('deleteProductById', 'deleting the product (ProductDelete webhook); reading it then is a 400', async () => {
    const r = await ok(ghl, 'deleteProductById', { params: { productId: state.product, locationId: L } });
    assert.equal(r.status, true);
    await signedEvent('ProductDelete', state.product);
    await fails(ghl, 'getProductById', { params: { productId: state.product, locationId: L } }, 400);
    assert.ok(!(await catalog()).products.some((x) => x.product._id === state.product));
    return state.product;
  });

  await step('deleteProductCollection', 'deleting the collection; reading it then is a 400', async () => {
    const r = await ok(ghl, 'deleteProductCollection', { params: { collectionId: state.collection, ...loc } });
    assert.equal(r.status, true);
    await fails(ghl, 'getProductCollectionId', { params: { collectionId: state.collection, altId: L } }, 400);
    return state.collection;
  });
}
