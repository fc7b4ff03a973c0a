package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

type productState struct {
	version
	name    string
	deleted bool
}

func productHash(x rankr.Product) string {
	return contentHash(x.Name, x.Description, x.ProductType, x.AvailableInStore, x.Image, x.CreatedAt.UnixMilli())
}

func (t *tx) productStates(ctx context.Context, loc string, ids []string) (map[string]*productState, error) {
	return lockStates(ctx, t, `SELECT id, updated_at, content_hash, name, deleted_at IS NOT NULL
		FROM products WHERE location_id = ? AND id IN (%s)`, loc, ids,
		func(r scanner) (string, *productState, error) {
			var id string
			st := &productState{}
			err := r.Scan(&id, &st.at, &st.hash, &st.name, &st.deleted)
			return id, st, err
		})
}

// ProductUpsert stores a batch of products.
func (s *Store) ProductUpsert(ctx context.Context, p store.ProductUpsertParams) (store.UpsertResult, error) {
	now := cmp.Or(p.Now, time.Now())
	b := batch[rankr.Product]{loc: p.LocationID, what: "product", table: "products", items: p.Products, seen: p.SeenAt,
		checkpoint: p.Checkpoint, now: now, key: func(x rankr.Product) (string, time.Time) { return x.ID, x.UpdatedAt }}
	var states map[string]*productState
	return b.upsert(ctx, s,
		func(t *tx, ids []string) (err error) {
			states, err = t.productStates(ctx, p.LocationID, ids)
			return err
		},
		func(t *tx, x rankr.Product, res *store.UpsertResult) error {
			return t.upsertProduct(ctx, p.LocationID, x, states, now, res)
		}, nil)
}

func (t *tx) upsertProduct(ctx context.Context, loc string, x rankr.Product, states map[string]*productState, now time.Time, res *store.UpsertResult) error {
	in := version{x.UpdatedAt.UnixMilli(), productHash(x)}
	st, created, err := stored(states, x.ID,
		func() (bool, error) { return t.insertProduct(ctx, loc, x, in, now) },
		func(ids []string) (map[string]*productState, error) { return t.productStates(ctx, loc, ids) })
	if err != nil || created {
		if created {
			states[x.ID] = &productState{version: in, name: x.Name}
			res.Created = append(res.Created, x.ID)
			res.Events++
		}
		return err
	}
	if newer, err := t.olderOrSame(ctx, in, st.version, &st.deleted, "products", rankr.RecordProduct, rankr.ProductUpdated, loc, x.ID, now, res); !newer || err != nil {
		return err
	}
	c := changes{}
	c.note("name", st.name, x.Name)
	if st.deleted {
		c.note("deleted", true, false)
	}
	if _, err := t.exec(ctx, `UPDATE products SET name = ?, description = ?, product_type = ?, available_in_store = ?, image = ?,
		created_at = ?, updated_at = ?, content_hash = ?, raw = ?, deleted_at = NULL WHERE location_id = ? AND id = ?`,
		x.Name, x.Description, x.ProductType, x.AvailableInStore, x.Image, x.CreatedAt.UnixMilli(), in.at, in.hash,
		string(x.Raw), loc, x.ID); err != nil {
		return err
	}
	*st = productState{version: in, name: x.Name}
	return t.changed(ctx, loc, rankr.RecordProduct, x.ID, c, nil, rankr.ProductUpdated, x.UpdatedAt, now, res)
}

// insertProduct inserts a new product, with its event; false means another
// writer got there first.
func (t *tx) insertProduct(ctx context.Context, loc string, x rankr.Product, in version, now time.Time) (bool, error) {
	var got string
	err := t.queryRow(ctx, `INSERT INTO products (location_id, id, name, description, product_type, available_in_store,
		image, created_at, updated_at, content_hash, raw, inserted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (location_id, id) DO NOTHING RETURNING id`,
		loc, x.ID, x.Name, x.Description, x.ProductType, x.AvailableInStore, x.Image, x.CreatedAt.UnixMilli(), in.at, in.hash,
		string(x.Raw), now.UnixMilli()).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, t.appendEvent(ctx, loc, rankr.ProductCreated, rankr.RecordProduct, x.ID, now, map[string]any{
		"name": x.Name, "productType": x.ProductType, "updatedAt": x.UpdatedAt,
	})
}

type priceState struct {
	version
	amount  int64
	deleted bool
}

func priceHash(x rankr.Price) string {
	var qty any = "-"
	if x.AvailableQuantity != nil {
		qty = *x.AvailableQuantity
	}
	return contentHash(x.ProductID, x.Name, x.Type, x.Amount, x.Currency, x.Interval, x.IntervalCount, x.SKU,
		x.TrackInventory, qty, x.CreatedAt.UnixMilli())
}

func (t *tx) priceStates(ctx context.Context, loc string, ids []string) (map[string]*priceState, error) {
	return lockStates(ctx, t, `SELECT id, updated_at, content_hash, amount, deleted_at IS NOT NULL
		FROM prices WHERE location_id = ? AND id IN (%s)`, loc, ids,
		func(r scanner) (string, *priceState, error) {
			var id string
			st := &priceState{}
			err := r.Scan(&id, &st.at, &st.hash, &st.amount, &st.deleted)
			return id, st, err
		})
}

// PriceUpsert stores a batch of prices.
func (s *Store) PriceUpsert(ctx context.Context, p store.PriceUpsertParams) (store.UpsertResult, error) {
	for _, x := range p.Prices {
		if x.ProductID == "" {
			return store.UpsertResult{}, invalid("price %s has no product id", x.ID)
		}
	}
	now := cmp.Or(p.Now, time.Now())
	b := batch[rankr.Price]{loc: p.LocationID, what: "price", table: "prices", items: p.Prices, seen: p.SeenAt,
		checkpoint: p.Checkpoint, now: now, key: func(x rankr.Price) (string, time.Time) { return x.ID, x.UpdatedAt }}
	var states map[string]*priceState
	return b.upsert(ctx, s,
		func(t *tx, ids []string) (err error) { states, err = t.priceStates(ctx, p.LocationID, ids); return err },
		func(t *tx, x rankr.Price, res *store.UpsertResult) error {
			return t.upsertPrice(ctx, p.LocationID, x, states, now, res)
		}, nil)
}

func (t *tx) upsertPrice(ctx context.Context, loc string, x rankr.Price, states map[string]*priceState, now time.Time, res *store.UpsertResult) error {
	in := version{x.UpdatedAt.UnixMilli(), priceHash(x)}
	st, created, err := stored(states, x.ID,
		func() (bool, error) { return t.insertPrice(ctx, loc, x, in, now) },
		func(ids []string) (map[string]*priceState, error) { return t.priceStates(ctx, loc, ids) })
	if err != nil || created {
		if created {
			states[x.ID] = &priceState{version: in, amount: x.Amount}
			res.Created = append(res.Created, x.ID)
			res.Events++
		}
		return err
	}
	if newer, err := t.olderOrSame(ctx, in, st.version, &st.deleted, "prices", rankr.RecordPrice, rankr.PriceUpdated, loc, x.ID, now, res); !newer || err != nil {
		return err
	}
	c := changes{}
	c.note("amount", st.amount, x.Amount)
	if st.deleted {
		c.note("deleted", true, false)
	}
	if _, err := t.exec(ctx, `UPDATE prices SET product_id = ?, name = ?, type = ?, amount = ?, currency = ?, billing_interval = ?,
		interval_count = ?, sku = ?, track_inventory = ?, available_quantity = ?, created_at = ?, updated_at = ?, content_hash = ?,
		raw = ?, deleted_at = NULL WHERE location_id = ? AND id = ?`,
		x.ProductID, x.Name, x.Type, x.Amount, x.Currency, x.Interval, x.IntervalCount, x.SKU, x.TrackInventory,
		quantity(x.AvailableQuantity), x.CreatedAt.UnixMilli(), in.at, in.hash, string(x.Raw), loc, x.ID); err != nil {
		return err
	}
	*st = priceState{version: in, amount: x.Amount}
	return t.changed(ctx, loc, rankr.RecordPrice, x.ID, c, nil, rankr.PriceUpdated, x.UpdatedAt, now, res)
}

func quantity(q *int64) any {
	if q == nil {
		return nil
	}
	return *q
}

// insertPrice inserts a new price, with its event; false means another
// writer got there first.
func (t *tx) insertPrice(ctx context.Context, loc string, x rankr.Price, in version, now time.Time) (bool, error) {
	var got string
	err := t.queryRow(ctx, `INSERT INTO prices (location_id, id, product_id, name, type, amount, currency, billing_interval,
		interval_count, sku, track_inventory, available_quantity, created_at, updated_at, content_hash, raw, inserted_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (location_id, id) DO NOTHING RETURNING id`,
		loc, x.ID, x.ProductID, x.Name, x.Type, x.Amount, x.Currency, x.Interval, x.IntervalCount, x.SKU, x.TrackInventory,
		quantity(x.AvailableQuantity), x.CreatedAt.UnixMilli(), in.at, in.hash, string(x.Raw), now.UnixMilli()).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, t.appendEvent(ctx, loc, rankr.PriceCreated, rankr.RecordPrice, x.ID, now, map[string]any{
		"productId": x.ProductID, "amount": x.Amount, "currency": x.Currency, "type": x.Type, "updatedAt": x.UpdatedAt,
	})
}

const productColumns = `location_id, id, name, description, product_type, available_in_store, image, created_at, updated_at,
	deleted_at, raw`

func scanProduct(r scanner) (rankr.Product, error) {
	var x rankr.Product
	var created, updated int64
	var deleted sql.NullInt64
	var raw string
	err := r.Scan(&x.LocationID, &x.ID, &x.Name, &x.Description, &x.ProductType, &x.AvailableInStore, &x.Image,
		&created, &updated, &deleted, &raw)
	x.CreatedAt, x.UpdatedAt, x.DeletedAt, x.Raw = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC(), fromMS(deleted), []byte(raw)
	return x, err
}

const priceColumns = `location_id, id, product_id, name, type, amount, currency, billing_interval, interval_count, sku,
	track_inventory, available_quantity, created_at, updated_at, deleted_at, raw`

func scanPrice(r scanner) (rankr.Price, error) {
	var x rankr.Price
	var created, updated int64
	var deleted, qty sql.NullInt64
	var raw string
	err := r.Scan(&x.LocationID, &x.ID, &x.ProductID, &x.Name, &x.Type, &x.Amount, &x.Currency, &x.Interval, &x.IntervalCount,
		&x.SKU, &x.TrackInventory, &qty, &created, &updated, &deleted, &raw)
	if qty.Valid {
		x.AvailableQuantity = &qty.Int64
	}
	x.CreatedAt, x.UpdatedAt, x.DeletedAt, x.Raw = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC(), fromMS(deleted), []byte(raw)
	return x, err
}

// ProductGet returns one product with its prices not deleted.
func (s *Store) ProductGet(ctx context.Context, locationID, id string) (rankr.Product, error) {
	x, err := getOne(ctx, s, "product", productColumns, "products", locationID, id, scanProduct)
	if err != nil {
		return x, err
	}
	x.Prices, err = s.PriceList(ctx, store.PriceListParams{LocationID: x.LocationID, ProductID: x.ID})
	return x, err
}

// ProductList lists products newest first.
func (s *Store) ProductList(ctx context.Context, p store.ListParams) ([]rankr.Product, error) {
	query, args := listQuery(productColumns, productsTable, p)
	rows, err := s.read().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing products: %w", unavailable(err))
	}
	return rowsOf(rows, scanProduct)
}

// PriceGet returns one price.
func (s *Store) PriceGet(ctx context.Context, locationID, id string) (rankr.Price, error) {
	return getOne(ctx, s, "price", priceColumns, "prices", locationID, id, scanPrice)
}

// PriceList lists a product's prices, oldest first.
func (s *Store) PriceList(ctx context.Context, p store.PriceListParams) ([]rankr.Price, error) {
	if p.LocationID == "" || p.ProductID == "" {
		return nil, invalid("a location id and a product id are required")
	}
	query := `SELECT ` + priceColumns + ` FROM prices WHERE location_id = ? AND product_id = ?`
	if !p.Deleted {
		query += ` AND deleted_at IS NULL`
	}
	rows, err := s.read().QueryContext(ctx, s.q(query+` ORDER BY created_at, id`), p.LocationID, p.ProductID)
	if err != nil {
		return nil, fmt.Errorf("listing prices: %w", unavailable(err))
	}
	return rowsOf(rows, scanPrice)
}

// deletePrices marks the prices of a deleted product deleted too, one event
// each: GHL deletes a product's prices with it.
func (t *tx) deletePrices(ctx context.Context, loc, productID string, at time.Time) error {
	rows, err := t.query(ctx, `SELECT id FROM prices WHERE location_id = ? AND product_id = ? AND deleted_at IS NULL ORDER BY id`,
		loc, productID)
	if err != nil {
		return err
	}
	ids, err := rowsOf(rows, scanID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := t.exec(ctx, `UPDATE prices SET deleted_at = ? WHERE location_id = ? AND id = ?`, at.UnixMilli(), loc, id); err != nil {
			return err
		}
		if err := t.appendEvent(ctx, loc, rankr.PriceDeleted, rankr.RecordPrice, id, at, map[string]any{"productId": productID}); err != nil {
			return err
		}
	}
	return nil
}
