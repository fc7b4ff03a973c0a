// The store API (apps/store.json) through the SDK's `store` service: the 18
// operations on shipping zones, their rates, carriers, the rate quote and
// the store's settings, each checked on the wire (by compat.mjs's ok/fails)
// and against the sandbox's truth.
//
// The sandbox seeds every location with a "Domestic" zone for the store's
// home country (Standard 5.99 under 50, Free shipping from 50, Express
// 9.99), an "International" zone for the other countries its contacts live
// in (International 9.99 up to 20 kg, and a Parcelwise Ground carrier rate:
// 6.50 + 1.20 a started kg, plus 10% and a 1.00 handling fee), the
// Parcelwise carrier and the store's settings.

import assert from 'node:assert/strict';

// method, path and success status from the spec; `args` as SDK 3.1.0's
// dist/lib/code/store/store.js takes them (re-checked at run time).
const op = (method, path, status, args) => ({ method, path, status, args, service: 'store' });
const ZONE = '/store/shipping-zone/{shippingZoneId}';
const RATE = '/store/shipping-zone/{shippingZoneId}/shipping-rate';
const CARRIER = '/store/shipping-carrier';
export const STORE_OPS = {
  createShippingZone: op('POST', '/store/shipping-zone', 201, ['requestBody']),
  listShippingZones: op('GET', '/store/shipping-zone', 200, ['params']),
  getShippingZones: op('GET', ZONE, 200, ['params']),
  updateShippingZone: op('PUT', ZONE, 200, ['params', 'requestBody']),
  deleteShippingZone: op('DELETE', ZONE, 200, ['params']),
  getAvailableShippingZones: op('POST', '/store/shipping-zone/shipping-rates', 201, ['requestBody']),
  createShippingRate: op('POST', RATE, 201, ['params', 'requestBody']),
  listShippingRates: op('GET', RATE, 200, ['params']),
  getShippingRates: op('GET', RATE + '/{shippingRateId}', 200, ['params']),
  updateShippingRate: op('PUT', RATE + '/{shippingRateId}', 200, ['params', 'requestBody']),
  deleteShippingRate: op('DELETE', RATE + '/{shippingRateId}', 200, ['params']),
  createShippingCarrier: op('POST', CARRIER, 201, ['requestBody']),
  listShippingCarriers: op('GET', CARRIER, 200, ['params']),
  getShippingCarriers: op('GET', CARRIER + '/{shippingCarrierId}', 200, ['params']),
  updateShippingCarrier: op('PUT', CARRIER + '/{shippingCarrierId}', 200, ['params', 'requestBody']),
  deleteShippingCarrier: op('DELETE', CARRIER + '/{shippingCarrierId}', 200, ['params']),
  createStoreSetting: op('POST', '/store/store-setting', 201, ['requestBody']),
  getStoreSettings: op('GET', '/store/store-setting', 200, ['params']),
};

// Required fields of the response schemas.
const ZONE_FIELDS = ['altId', 'altType', 'name', 'countries', '_id', 'createdAt', 'updatedAt'];
const RATE_FIELDS = ['altId', 'altType', 'name', 'currency', 'amount', 'conditionType', 'minCondition', 'maxCondition',
  'shippingCarrierId', '_id', 'shippingZoneId', 'createdAt', 'updatedAt'];
const CARRIER_FIELDS = ['altId', 'altType', 'name', 'callbackUrl', '_id', 'marketplaceAppId', 'createdAt', 'updatedAt'];
const SETTINGS_FIELDS = ['altId', 'altType', 'shippingOrigin', '_id', 'createdAt', 'updatedAt'];
const QUOTE_FIELDS = ['name', 'currency', 'amount', 'shippingCarrierId', '_id', 'shippingZoneId'];

function has(obj, fields, where) {
  assert.ok(obj && typeof obj === 'object' && !Array.isArray(obj), `${where}: expected an object, got ${JSON.stringify(obj)}`);
  const missing = fields.filter((k) => obj[k] === undefined || obj[k] === null);
  assert.deepEqual(missing, [], `${where}: required fields missing: ${missing.join(', ')}`);
}

// envelope checks the {status: true, data} answer and returns data.
function envelope(r, where) {
  assert.equal(r?.status, true, `${where}: status ${JSON.stringify(r?.status)}, want true`);
  return r.data;
}

const priced = (rates) => rates.map((r) => `${r.name} ${Number(r.amount).toFixed(2)}`);

export async function storeSteps({ ghl, L, truth, step, ok, fails, needs }) {
  const loc = { altId: L, altType: 'location' };

  // The SDK's store service must take its arguments as STORE_OPS says.
  const proto = Object.getPrototypeOf(ghl.store);
  for (const [name, spec] of Object.entries(STORE_OPS)) {
    const m = proto[name] && /^async\s+\w+\s*\(([^)]*)\)/.exec(proto[name].toString());
    const got = m ? m[1].split(',').map((a) => a.trim()).filter((a) => a !== 'options').join(',') : null;
    if (got !== spec.args.join(',')) {
      await step(name, 'the SDK method has the expected arguments', () => {
        throw new Error(`store.${name} takes (${got}), the test expects (${spec.args})`);
      });
    }
  }

  const extra = Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && typeof proto[n] === 'function' && !STORE_OPS[n]);
  if (extra.length) {
    await step('listShippingZones', 'the SDK store service has exactly the 18 operations', () => {
      throw new Error(`store methods the spec does not have: ${extra.join(', ')}`);
    });
  }

  const T = await truth(L);
  const zones = T.shippingZones ?? [];
  const domestic = zones.find((z) => z.name === 'Domestic');
  const abroad = zones.find((z) => z.name === 'International');
  const seededCarrier = (T.shippingCarriers ?? [])[0];
  const home = domestic?.countries[0].code;
  const currency = domestic?.shippingRates[0].currency;
  const withoutRates = (z) => {
    const { shippingRates, ...rest } = z;
    return rest;
  };

  await step('listShippingZones', 'every zone with its rates, in order, equal to the truth; limit/offset', async () => {
    const r = await ok(ghl, 'listShippingZones', { params: { ...loc, withShippingRate: true } });
    assert.equal(r.total, zones.length);
    assert.deepEqual(r.data, zones);
    assert.ok(domestic && abroad, 'the seed has a Domestic and an International zone');
    const page = await ok(ghl, 'listShippingZones', { params: { ...loc, limit: 1, offset: 1 } });
    assert.deepEqual(page.data, [withoutRates(zones[1])]);
    return `${r.total} zones, ${zones.reduce((n, z) => n + z.shippingRates.length, 0)} rates`;
  });

  await step('getShippingZones', 'each zone, with and without its rates, equals the truth', async () => {
    for (const z of zones) {
      const got = envelope(await ok(ghl, 'getShippingZones', { params: { shippingZoneId: z._id, ...loc, withShippingRate: true } }), 'getShippingZones');
      assert.deepEqual(got, z);
    }
    const bare = envelope(await ok(ghl, 'getShippingZones', { params: { shippingZoneId: domestic._id, ...loc } }), 'getShippingZones');
    assert.deepEqual(bare, withoutRates(domestic));
    has(bare, ZONE_FIELDS, 'ShippingZoneSchema');
  });

  await step('listShippingRates', "the domestic zone's rates equal the truth; limit/offset", async () => {
    const r = await ok(ghl, 'listShippingRates', { params: { shippingZoneId: domestic._id, ...loc } });
    assert.equal(r.total, domestic.shippingRates.length);
    assert.deepEqual(r.data, domestic.shippingRates);
    const page = await ok(ghl, 'listShippingRates', { params: { shippingZoneId: domestic._id, ...loc, limit: 2, offset: 1 } });
    assert.deepEqual(page.data, domestic.shippingRates.slice(1, 3));
    return priced(r.data).join(', ');
  });

  await step('getShippingRates', 'every seeded rate equals the truth', async () => {
    for (const z of zones) {
      for (const rate of z.shippingRates) {
        const got = envelope(await ok(ghl, 'getShippingRates', { params: { shippingZoneId: z._id, shippingRateId: rate._id, ...loc } }), 'getShippingRates');
        has(got, RATE_FIELDS, 'ShippingRateSchema');
        assert.deepEqual(got, rate);
      }
    }
  });

  await step('listShippingCarriers', 'the seeded carrier equals the truth', async () => {
    const got = envelope(await ok(ghl, 'listShippingCarriers', { params: loc }), 'listShippingCarriers');
    assert.deepEqual(got, T.shippingCarriers);
    return got.map((c) => `${c.name} (${c.services.map((s) => s.value).join(', ')})`).join('; ');
  });

  await step('getShippingCarriers', 'the carrier by id equals the truth', async () => {
    const got = envelope(await ok(ghl, 'getShippingCarriers', { params: { shippingCarrierId: seededCarrier._id, ...loc } }), 'getShippingCarriers');
    has(got, CARRIER_FIELDS, 'ShippingCarrierSchema');
    assert.deepEqual(got, seededCarrier);
  });

  await step('getStoreSettings', 'the settings equal the truth', async () => {
    const got = envelope(await ok(ghl, 'getStoreSettings', { params: loc }), 'getStoreSettings');
    has(got, SETTINGS_FIELDS, 'StoreSettingSchema');
    assert.deepEqual(got, T.storeSettings);
    return `ships from ${got.shippingOrigin.city}, ${got.shippingOrigin.country}`;
  });

  const quote = async (country, amount, weight, extra = {}) => {
    const body = { ...loc, country, amountAvailable: true, totalOrderAmount: amount, weightAvailable: true,
      totalOrderWeight: weight, source: { type: 'website', subType: 'store' }, products: [], ...extra };
    const rates = envelope(await ok(ghl, 'getAvailableShippingZones', { body }), 'getAvailableShippingZones');
    for (const r of rates) has(r, QUOTE_FIELDS, 'AvailableShippingRate');
    return rates;
  };

  await step('getAvailableShippingZones', 'the seeded rates a destination and an order qualify for, priced, cheapest first', async () => {
    const far = abroad.countries[0].code;
    assert.deepEqual(priced(await quote(home, 20, 1)), ['Standard 5.99', 'Express 9.99']);
    assert.deepEqual(priced(await quote(home, 50, 1)), ['Free shipping 0.00', 'Express 9.99']);
    const intl = await quote(far, 20, 2);
    assert.deepEqual(priced(intl), ['International 9.99', 'Parcelwise Ground 10.79']);
    const byId = new Map(abroad.shippingRates.map((r) => [r._id, r]));
    for (const r of intl) {
      assert.equal(r.shippingZoneId, abroad._id);
      assert.equal(r.currency, byId.get(r._id)?.currency);
    }
    assert.deepEqual(priced(await quote(far, 20, 25)), ['Parcelwise Ground 41.15']);
    assert.deepEqual(await quote('JP', 20, 1), []);
    return `${home} and ${far}, in ${currency}`;
  });

  await step('getAvailableShippingZones', 'a negative order amount: GHLValidationError 422', async () => {
    const body = { ...loc, country: home, totalOrderAmount: -1, totalOrderWeight: 0, source: { type: 'website' }, products: [] };
    await fails(ghl, 'getAvailableShippingZones', { body }, 422);
  });

  // --- A carrier, a zone for one state and its rates, through their life --
  let carrier, zone, flat, live;

  await step('createShippingCarrier', 'a carrier with two services (201), then listed', async () => {
    const body = { ...loc, name: 'Compat Freight', callbackUrl: 'https://freight.example.com/rates',
      services: [{ name: 'Economy', value: 'economy' }, { name: 'Priority', value: 'priority' }], allowsMultipleServiceSelection: true };
    carrier = envelope(await ok(ghl, 'createShippingCarrier', { body }), 'createShippingCarrier');
    has(carrier, CARRIER_FIELDS, 'ShippingCarrierSchema');
    assert.equal(carrier.name, body.name);
    assert.deepEqual(carrier.services, body.services);
    const listed = envelope(await ok(ghl, 'listShippingCarriers', { params: loc }), 'listShippingCarriers');
    assert.ok(listed.some((c) => c._id === carrier._id), 'the new carrier is listed');
    assert.ok((await truth(L)).shippingCarriers.some((c) => c._id === carrier._id), 'the truth has the new carrier');
    return carrier._id;
  });

  await step('updateShippingCarrier', 'renaming only: the services stay', async () => {
    needs(carrier);
    const got = envelope(await ok(ghl, 'updateShippingCarrier', { params: { shippingCarrierId: carrier._id }, body: { ...loc, name: 'Compat Freight Co' } }), 'updateShippingCarrier');
    assert.equal(got.name, 'Compat Freight Co');
    assert.deepEqual(got.services, carrier.services);
    carrier = got;
  });

  await step('createShippingZone', `a zone for one state of ${home ?? 'the home country'} (201), in the truth`, async () => {
    const body = { ...loc, name: 'Compat California', countries: [{ code: home, states: [{ code: 'CA' }] }] };
    zone = envelope(await ok(ghl, 'createShippingZone', { body }), 'createShippingZone');
    has(zone, ZONE_FIELDS, 'ShippingZoneSchema');
    assert.deepEqual(zone.countries, body.countries);
    assert.ok((await truth(L)).shippingZones.some((z) => z._id === zone._id), 'the truth has the new zone');
    return zone._id;
  });

  await step('createShippingZone', 'no countries: GHLValidationError 422', async () => {
    await fails(ghl, 'createShippingZone', { body: { ...loc, name: 'Nowhere', countries: [] } }, 422);
  });

  await step('createShippingRate', 'a flat rate and a carrier rate (201) in the new zone', async () => {
    needs(zone, carrier);
    const params = { shippingZoneId: zone._id };
    flat = envelope(await ok(ghl, 'createShippingRate', { params, body: { ...loc, name: 'Compat courier', currency,
      amount: 4.5, conditionType: 'price', minCondition: 0, maxCondition: 0, shippingCarrierId: '' } }), 'createShippingRate');
    has(flat, RATE_FIELDS, 'ShippingRateSchema');
    assert.equal(flat.shippingZoneId, zone._id);
    live = envelope(await ok(ghl, 'createShippingRate', { params, body: { ...loc, name: 'Compat Freight live', currency,
      amount: 0, conditionType: 'weight', minCondition: 0, maxCondition: 30, isCarrierRate: true,
      shippingCarrierId: carrier._id, percentageOfRateFee: 0, shippingCarrierServices: [carrier.services[1]] } }), 'createShippingRate');
    assert.equal(live.isCarrierRate, true);
    const rates = await ok(ghl, 'listShippingRates', { params: { shippingZoneId: zone._id, ...loc } });
    assert.deepEqual(rates.data.map((r) => r._id), [flat._id, live._id]);
  });

  await step('createShippingRate', 'a carrier rate for an unknown carrier: 400 not found', async () => {
    needs(zone);
    const e = await fails(ghl, 'createShippingRate', { params: { shippingZoneId: zone._id }, body: { ...loc, name: 'Ghost',
      currency, amount: 0, conditionType: 'none', minCondition: 0, maxCondition: 0, isCarrierRate: true,
      shippingCarrierId: '000000000000000000000000', shippingCarrierServices: [{ name: 'Economy', value: 'economy' }] } }, 400);
    assert.match(e.message, /not found/i);
  });

  await step('getAvailableShippingZones', 'the state zone wins in its state only; Priority = 6.50 + 2.00 + 1.20 for 1 kg', async () => {
    needs(flat, live);
    const inState = await quote(home, 20, 0.4, { address: { country: home, state: 'CA' } });
    assert.deepEqual(priced(inState), ['Compat courier 4.50', 'Compat Freight live 9.70']);
    assert.ok(inState.every((r) => r.shippingZoneId === zone._id));
    assert.deepEqual(priced(await quote(home, 20, 0.4, { address: { country: home, state: 'TX' } })), ['Standard 5.99', 'Express 9.99']);
  });

  await step('updateShippingRate', 'changing only the amount 4.50 -> 3.25', async () => {
    needs(flat);
    const got = envelope(await ok(ghl, 'updateShippingRate', { params: { shippingZoneId: zone._id, shippingRateId: flat._id },
      body: { ...loc, amount: 3.25 } }), 'updateShippingRate');
    assert.equal(got.amount, 3.25);
    assert.equal(got.name, flat.name);
    assert.equal(got.conditionType, flat.conditionType);
    const again = envelope(await ok(ghl, 'getShippingRates', { params: { shippingZoneId: zone._id, shippingRateId: flat._id, ...loc } }), 'getShippingRates');
    assert.deepEqual(again, got);
  });

  await step('updateShippingZone', 'renaming only: the countries stay', async () => {
    needs(zone);
    const got = envelope(await ok(ghl, 'updateShippingZone', { params: { shippingZoneId: zone._id }, body: { ...loc, name: 'Compat West' } }), 'updateShippingZone');
    assert.equal(got.name, 'Compat West');
    assert.deepEqual(got.countries, zone.countries);
  });

  await step('createStoreSetting', 'replacing the settings keeps their id; getStoreSettings then agrees', async () => {
    const before = T.storeSettings;
    const body = { ...loc, shippingOrigin: { ...before.shippingOrigin, street2: 'Dock 4' },
      storeOrderNotification: { ...before.storeOrderNotification, subject: 'Thanks for your order' } };
    const got = envelope(await ok(ghl, 'createStoreSetting', { body }), 'createStoreSetting');
    has(got, SETTINGS_FIELDS, 'StoreSettingSchema');
    assert.equal(got._id, before._id);
    assert.equal(got.shippingOrigin.street2, 'Dock 4');
    assert.equal(got.storeOrderNotification.subject, 'Thanks for your order');
    assert.equal(got.storeOrderFulfillmentNotification, undefined);
    const read = envelope(await ok(ghl, 'getStoreSettings', { params: loc }), 'getStoreSettings');
    assert.deepEqual(read, got);
    assert.deepEqual((await truth(L)).storeSettings, got);
  });

  await step('createStoreSetting', 'an origin without a city: GHLValidationError 422', async () => {
    const origin = { ...T.storeSettings.shippingOrigin, city: '' };
    await fails(ghl, 'createStoreSetting', { body: { ...loc, shippingOrigin: origin } }, 422);
  });

  await step('deleteShippingRate', 'deleting the carrier rate; getShippingRates then fails with 400', async () => {
    needs(live);
    const r = await ok(ghl, 'deleteShippingRate', { params: { shippingZoneId: zone._id, shippingRateId: live._id, ...loc } });
    assert.equal(r.status, true);
    await fails(ghl, 'getShippingRates', { params: { shippingZoneId: zone._id, shippingRateId: live._id, ...loc } }, 400);
  });

  await step('deleteShippingCarrier', 'deleting the new carrier; getShippingCarriers then fails with 400', async () => {
    needs(carrier);
    const r = await ok(ghl, 'deleteShippingCarrier', { params: { shippingCarrierId: carrier._id, ...loc } });
    assert.equal(r.status, true);
    await fails(ghl, 'getShippingCarriers', { params: { shippingCarrierId: carrier._id, ...loc } }, 400);
    assert.ok(!(await truth(L)).shippingCarriers.some((c) => c._id === carrier._id), 'the truth no longer has it');
  });

  await step('deleteShippingZone', 'deleting the new zone and its rates; getShippingZones then fails with 400', async () => {
    needs(zone);
    const r = await ok(ghl, 'deleteShippingZone', { params: { shippingZoneId: zone._id, ...loc } });
    assert.equal(r.status, true);
    await fails(ghl, 'getShippingZones', { params: { shippingZoneId: zone._id, ...loc } }, 400);
    await fails(ghl, 'listShippingRates', { params: { shippingZoneId: zone._id, ...loc } }, 400);
    const after = await truth(L);
    assert.deepEqual(after.shippingZones.map((z) => z._id), zones.map((z) => z._id));
  });
}
