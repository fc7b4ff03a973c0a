package ghl

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Scopes of the products API.
const (
	ScopeProductsRead     = "products.readonly"
	ScopeProductsWrite    = "products.write"
	ScopePricesRead       = "products/prices.readonly"
	ScopePricesWrite      = "products/prices.write"
	ScopeCollectionsRead  = "products/collection.readonly"
	ScopeCollectionsWrite = "products/collection.write"
)

// The products API's operations, in the spec's order. GET /products/ really
// is "list-invoices" in the spec.
var (
	OpBulkUpdateProducts    = Operation{"BulkUpdateProducts", "bulkUpdate", "POST", "/products/bulk-update", ScopeProductsWrite}
	OpBulkEditProducts      = Operation{"BulkEditProducts", "bulkEdit", "POST", "/products/bulk-update/edit", ""}
	OpCreatePrice           = Operation{"CreatePrice", "create-price-for-product", "POST", "/products/{productId}/price", ScopePricesWrite}
	OpListPrices            = Operation{"ListPrices", "list-prices-for-product", "GET", "/products/{productId}/price", ScopePricesRead}
	OpListInventory         = Operation{"ListInventory", "get-list-inventory", "GET", "/products/inventory", ScopePricesRead}
	OpUpdateInventory       = Operation{"UpdateInventory", "update-inventory", "POST", "/products/inventory", ScopePricesWrite}
	OpGetPrice              = Operation{"GetPrice", "get-price-by-id-for-product", "GET", "/products/{productId}/price/{priceId}", ScopePricesRead}
	OpUpdatePrice           = Operation{"UpdatePrice", "update-price-by-id-for-product", "PUT", "/products/{productId}/price/{priceId}", ScopePricesWrite}
	OpDeletePrice           = Operation{"DeletePrice", "delete-price-by-id-for-product", "DELETE", "/products/{productId}/price/{priceId}", ScopePricesWrite}
	OpGetStoreStats         = Operation{"GetStoreStats", "get-product-store-stats", "GET", "/products/store/{storeId}/stats", ScopeProductsRead}
	OpUpdateStoreStatus     = Operation{"UpdateStoreStatus", "update-store-status", "POST", "/products/store/{storeId}", ScopeProductsWrite}
	OpUpdateDisplayPriority = Operation{"UpdateDisplayPriority", "update-display-priority", "POST", "/products/store/{storeId}/priority", ""}
	OpListCollections       = Operation{"ListCollections", "get-product-collection", "GET", "/products/collections", ScopeCollectionsRead}
	OpCreateCollection      = Operation{"CreateCollection", "create-product-collection", "POST", "/products/collections", ScopeCollectionsWrite}
	OpGetCollection         = Operation{"GetCollection", "get-product-collection-id", "GET", "/products/collections/{collectionId}", ScopeCollectionsRead}
	OpUpdateCollection      = Operation{"UpdateCollection", "update-product-collection", "PUT", "/products/collections/{collectionId}", ScopeCollectionsWrite}
	OpDeleteCollection      = Operation{"DeleteCollection", "delete-product-collection", "DELETE", "/products/collections/{collectionId}", ScopeCollectionsWrite}
	OpListReviews           = Operation{"ListReviews", "get-product-reviews", "GET", "/products/reviews", ScopeProductsRead}
	OpCountReviews          = Operation{"CountReviews", "get-reviews-count", "GET", "/products/reviews/count", ScopeProductsRead}
	OpUpdateReview          = Operation{"UpdateReview", "update-product-review", "PUT", "/products/reviews/{reviewId}", ScopeProductsWrite}
	OpDeleteReview          = Operation{"DeleteReview", "delete-product-review", "DELETE", "/products/reviews/{reviewId}", ScopeProductsWrite}
	OpBulkUpdateReviews     = Operation{"BulkUpdateReviews", "bulk-update-product-review", "POST", "/products/reviews/bulk-update", ScopeProductsWrite}
	OpGetProduct            = Operation{"GetProduct", "get-product-by-id", "GET", "/products/{productId}", ScopeProductsRead}
	OpDeleteProduct         = Operation{"DeleteProduct", "delete-product-by-id", "DELETE", "/products/{productId}", ScopeProductsWrite}
	OpUpdateProduct         = Operation{"UpdateProduct", "update-product-by-id", "PUT", "/products/{productId}", ScopeProductsWrite}
	OpCreateProduct         = Operation{"CreateProduct", "create-product", "POST", "/products/", ScopeProductsWrite}
	OpListProducts          = Operation{"ListProducts", "list-invoices", "GET", "/products/", ScopeProductsRead}
)

// productOperations are the operations of the products API
// (apps/products.json) the client implements: products, prices,
// inventory, collections, reviews and the store's product settings.
var productOperations = []Operation{
	OpBulkUpdateProducts, OpBulkEditProducts, OpCreatePrice, OpListPrices, OpListInventory,
	OpUpdateInventory, OpGetPrice, OpUpdatePrice, OpDeletePrice, OpGetStoreStats,
	OpUpdateStoreStatus, OpUpdateDisplayPriority, OpListCollections, OpCreateCollection,
	OpGetCollection, OpUpdateCollection, OpDeleteCollection, OpListReviews, OpCountReviews,
	OpUpdateReview, OpDeleteReview, OpBulkUpdateReviews, OpGetProduct, OpDeleteProduct,
	OpUpdateProduct, OpCreateProduct, OpListProducts,
}

// Webhook event types of products and prices. Their payloads are the
// record itself; a price event names the price's type "priceType".
const (
	EventProductCreate = "ProductCreate"
	EventProductUpdate = "ProductUpdate"
	EventProductDelete = "ProductDelete"
	EventPriceCreate   = "PriceCreate"
	EventPriceUpdate   = "PriceUpdate"
	EventPriceDelete   = "PriceDelete"
)

// Product types.
const (
	ProductPhysical        = "PHYSICAL"
	ProductDigital         = "DIGITAL"
	ProductService         = "SERVICE"
	ProductPhysicalDigital = "PHYSICAL/DIGITAL"
)

// ProductMedia is an image or video of a product.
type ProductMedia struct {
	ID         string   `json:"id"`
	Title      string   `json:"title,omitempty"`
	URL        string   `json:"url"`
	Type       string   `json:"type"` // image or video
	IsFeatured bool     `json:"isFeatured,omitempty"`
	PriceIDs   []string `json:"priceIds,omitempty"`
}

// SEO is the search-engine title and description of a product or a
// collection.
type SEO struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// statusResponse is the {status, message} answer of the products API's
// writes.
type statusResponse struct {
	Status  bool   `json:"status"`
	Message string `json:"message,omitempty"`
}

// check turns status=false into an error: GHL answered 2xx but said the
// write did not happen.
func (r statusResponse) check(op Operation, locationID string) error {
	if r.Status {
		return nil
	}
	msg := r.Message
	if msg == "" {
		msg = "GHL answered status=false"
	}
	return &Error{Op: op.Name, Method: op.Method, Path: op.Path, LocationID: locationID,
		StatusCode: http.StatusOK, Message: msg}
}

// requireID refuses a call whose path would have an empty segment: GHL
// would route it to another operation.
func requireID(op Operation, what, id string) error {
	if id == "" {
		return &Error{Op: op.Name, Method: op.Method, Path: op.Path,
			Message: "a " + what + " is required", Err: fmt.Errorf("%s: %s is empty: %w", op.Name, what, ErrInvalidRequest)}
	}
	return nil
}

func setBoolIf(q url.Values, key string, v *bool) {
	if v != nil {
		q[key] = []string{strconv.FormatBool(*v)}
	}
}

// --- Products ---------------------------------------------------------------

// ListProductsParams selects products. LocationID is required.
type ListProductsParams struct {
	LocationID       string
	Search           string
	CollectionIDs    []string
	CollectionSlug   string
	ProductIDs       []string
	StoreID          string
	IncludedInStore  *bool
	AvailableInStore *bool
	SortOrder        string // asc or desc (by creation)
	Expand           []string
	Limit, Offset    int
}

type listProductsResponse struct {
	Products []Product `json:"products"`
	Total    []struct {
		Total int `json:"total"`
	} `json:"total"`
}

// ListProducts returns one page of products.
func (c *Client) ListProducts(ctx context.Context, p ListProductsParams) (Page[Product], error) {
	if err := requireLocation(OpListProducts, p.LocationID); err != nil {
		return Page[Product]{}, err
	}
	q := url.Values{"locationId": {p.LocationID}}
	setIf(q, "search", p.Search)
	setIf(q, "collectionIds", strings.Join(p.CollectionIDs, ","))
	setIf(q, "collectionSlug", p.CollectionSlug)
	setIf(q, "storeId", p.StoreID)
	setIf(q, "sortOrder", p.SortOrder)
	setBoolIf(q, "includedInStore", p.IncludedInStore)
	setBoolIf(q, "availableInStore", p.AvailableInStore)
	if len(p.ProductIDs) > 0 {
		q["productIds"] = p.ProductIDs
	}
	if len(p.Expand) > 0 {
		q["expand"] = p.Expand
	}
	setIntIf(q, "limit", p.Limit)
	setIntIf(q, "offset", p.Offset)
	var resp listProductsResponse
	err := c.do(ctx, call{op: OpListProducts, location: p.LocationID, query: q}, &resp)
	page := Page[Product]{Items: resp.Products}
	if len(resp.Total) > 0 {
		page.TotalCount = resp.Total[0].Total
	}
	return page, err
}

// Products iterates over every product matching p.
func (c *Client) Products(ctx context.Context, p ListProductsParams) iter.Seq2[Product, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[Product], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListProducts(ctx, p)
	})
}

// GetProduct returns a product.
func (c *Client) GetProduct(ctx context.Context, locationID, id string) (*Product, error) {
	if err := requireLocation(OpGetProduct, locationID); err != nil {
		return nil, err
	}
	if err := requireID(OpGetProduct, "product id", id); err != nil {
		return nil, err
	}
	var p Product
	q := url.Values{"locationId": {locationID}}
	if err := c.do(ctx, call{op: OpGetProduct, location: locationID, pathArgs: []string{id}, query: q}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ProductParams describes a product to create or update. LocationID, Name
// and ProductType are required. An update replaces the product's settings.
type ProductParams struct {
	LocationID             string
	Name                   string
	ProductType            string // PHYSICAL, DIGITAL, SERVICE or PHYSICAL/DIGITAL
	Description            string
	Image                  string
	StatementDescriptor    string
	AvailableInStore       *bool
	Medias                 []ProductMedia
	Variants               []ProductVariant
	CollectionIDs          []string
	IsTaxesEnabled         bool
	Taxes                  []string // tax ids
	AutomaticTaxCategoryID string
	IsLabelEnabled         bool
	Label                  *ProductLabel
	Slug                   string
	SEO                    *SEO
	TaxInclusive           bool
}

type productBody struct {
	Name                   string           `json:"name"`
	LocationID             string           `json:"locationId"`
	ProductType            string           `json:"productType"`
	Description            string           `json:"description,omitempty"`
	Image                  string           `json:"image,omitempty"`
	StatementDescriptor    string           `json:"statementDescriptor,omitempty"`
	AvailableInStore       *bool            `json:"availableInStore,omitempty"`
	Medias                 []ProductMedia   `json:"medias,omitempty"`
	Variants               []ProductVariant `json:"variants,omitempty"`
	CollectionIDs          []string         `json:"collectionIds,omitempty"`
	IsTaxesEnabled         bool             `json:"isTaxesEnabled,omitempty"`
	Taxes                  []string         `json:"taxes,omitempty"`
	AutomaticTaxCategoryID string           `json:"automaticTaxCategoryId,omitempty"`
	IsLabelEnabled         bool             `json:"isLabelEnabled,omitempty"`
	Label                  *ProductLabel    `json:"label,omitempty"`
	Slug                   string           `json:"slug,omitempty"`
	SEO                    *SEO             `json:"seo,omitempty"`
	TaxInclusive           bool             `json:"taxInclusive,omitempty"`
}

func (p ProductParams) body() productBody {
	return productBody{Name: p.Name, LocationID: p.LocationID, ProductType: p.ProductType,
		Description: p.Description, Image: p.Image, StatementDescriptor: p.StatementDescriptor,
		AvailableInStore: p.AvailableInStore, Medias: p.Medias, Variants: p.Variants,
		CollectionIDs: p.CollectionIDs, IsTaxesEnabled: p.IsTaxesEnabled, Taxes: p.Taxes,
		AutomaticTaxCategoryID: p.AutomaticTaxCategoryID, IsLabelEnabled: p.IsLabelEnabled,
		Label: p.Label, Slug: p.Slug, SEO: p.SEO, TaxInclusive: p.TaxInclusive}
}

// CreateProduct creates a product, without prices: add them with
// CreatePrice. It has no natural key, so it is never retried blindly.
func (c *Client) CreateProduct(ctx context.Context, p ProductParams) (*Product, error) {
	if err := requireLocation(OpCreateProduct, p.LocationID); err != nil {
		return nil, err
	}
	var out Product
	if err := c.do(ctx, call{op: OpCreateProduct, location: p.LocationID, body: p.body()}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateProduct replaces the product id's settings with p.
func (c *Client) UpdateProduct(ctx context.Context, id string, p ProductParams) (*Product, error) {
	if err := requireLocation(OpUpdateProduct, p.LocationID); err != nil {
		return nil, err
	}
	if err := requireID(OpUpdateProduct, "product id", id); err != nil {
		return nil, err
	}
	var out Product
	if err := c.do(ctx, call{op: OpUpdateProduct, location: p.LocationID, pathArgs: []string{id}, body: p.body()}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteProduct deletes a product and its prices.
func (c *Client) DeleteProduct(ctx context.Context, locationID, id string) error {
	if err := requireLocation(OpDeleteProduct, locationID); err != nil {
		return err
	}
	if err := requireID(OpDeleteProduct, "product id", id); err != nil {
		return err
	}
	var resp statusResponse
	q := url.Values{"locationId": {locationID}}
	if err := c.do(ctx, call{op: OpDeleteProduct, location: locationID, pathArgs: []string{id}, query: q}, &resp); err != nil {
		return err
	}
	return resp.check(OpDeleteProduct, locationID)
}

// --- Prices -----------------------------------------------------------------

// ListPricesParams selects a product's prices. LocationID and ProductID are
// required.
type ListPricesParams struct {
	LocationID    string
	ProductID     string
	IDs           []string // only these prices
	Limit, Offset int
}

type listPricesResponse struct {
	Prices []Price `json:"prices"`
	Total  int     `json:"total"`
}

// ListPrices returns one page of a product's prices.
func (c *Client) ListPrices(ctx context.Context, p ListPricesParams) (Page[Price], error) {
	if err := requireLocation(OpListPrices, p.LocationID); err != nil {
		return Page[Price]{}, err
	}
	if err := requireID(OpListPrices, "product id", p.ProductID); err != nil {
		return Page[Price]{}, err
	}
	q := url.Values{"locationId": {p.LocationID}}
	setIf(q, "ids", strings.Join(p.IDs, ","))
	setIntIf(q, "limit", p.Limit)
	setIntIf(q, "offset", p.Offset)
	var resp listPricesResponse
	err := c.do(ctx, call{op: OpListPrices, location: p.LocationID, pathArgs: []string{p.ProductID}, query: q}, &resp)
	return Page[Price]{Items: resp.Prices, TotalCount: resp.Total}, err
}

// Prices iterates over every price matching p.
func (c *Client) Prices(ctx context.Context, p ListPricesParams) iter.Seq2[Price, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[Price], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListPrices(ctx, p)
	})
}

// GetPrice returns one price of a product.
func (c *Client) GetPrice(ctx context.Context, locationID, productID, priceID string) (*Price, error) {
	if err := requireLocation(OpGetPrice, locationID); err != nil {
		return nil, err
	}
	if err := requireIDs(OpGetPrice, productID, priceID); err != nil {
		return nil, err
	}
	var out Price
	q := url.Values{"locationId": {locationID}}
	if err := c.do(ctx, call{op: OpGetPrice, location: locationID, pathArgs: []string{productID, priceID}, query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func requireIDs(op Operation, productID, priceID string) error {
	if err := requireID(op, "product id", productID); err != nil {
		return err
	}
	return requireID(op, "price id", priceID)
}

// PriceParams describes a price to create or update. LocationID, Name,
// Type, Currency and Amount are required; Recurring too for a recurring
// price. Amount is in major units (9.99), as GHL takes it.
type PriceParams struct {
	LocationID               string
	Name                     string
	Type                     PriceType
	Currency                 string
	Amount                   Number
	Recurring                *Recurring
	Description              string
	MembershipOffers         []MembershipOffer
	TrialPeriod              int // days
	TotalCycles              int
	SetupFee                 Number
	VariantOptionIDs         []string
	CompareAtPrice           Number
	UserID                   string
	TrackInventory           bool
	AvailableQuantity        *int
	AllowOutOfStockPurchases bool
	SKU                      string
	IsDigitalProduct         bool
}

type priceBody struct {
	Name                     string            `json:"name"`
	Type                     PriceType         `json:"type"`
	Currency                 string            `json:"currency"`
	Amount                   Number            `json:"amount"`
	LocationID               string            `json:"locationId"`
	Recurring                *Recurring        `json:"recurring,omitempty"`
	Description              string            `json:"description,omitempty"`
	MembershipOffers         []MembershipOffer `json:"membershipOffers,omitempty"`
	TrialPeriod              int               `json:"trialPeriod,omitempty"`
	TotalCycles              int               `json:"totalCycles,omitempty"`
	SetupFee                 Number            `json:"setupFee,omitempty"`
	VariantOptionIDs         []string          `json:"variantOptionIds,omitempty"`
	CompareAtPrice           Number            `json:"compareAtPrice,omitempty"`
	UserID                   string            `json:"userId,omitempty"`
	TrackInventory           bool              `json:"trackInventory,omitempty"`
	AvailableQuantity        *int              `json:"availableQuantity,omitempty"`
	AllowOutOfStockPurchases bool              `json:"allowOutOfStockPurchases,omitempty"`
	SKU                      string            `json:"sku,omitempty"`
	IsDigitalProduct         bool              `json:"isDigitalProduct,omitempty"`
}

func (p PriceParams) body() priceBody {
	return priceBody{Name: p.Name, Type: p.Type, Currency: p.Currency, Amount: p.Amount, LocationID: p.LocationID,
		Recurring: p.Recurring, Description: p.Description, MembershipOffers: p.MembershipOffers,
		TrialPeriod: p.TrialPeriod, TotalCycles: p.TotalCycles, SetupFee: p.SetupFee,
		VariantOptionIDs: p.VariantOptionIDs, CompareAtPrice: p.CompareAtPrice, UserID: p.UserID,
		TrackInventory: p.TrackInventory, AvailableQuantity: p.AvailableQuantity,
		AllowOutOfStockPurchases: p.AllowOutOfStockPurchases, SKU: p.SKU, IsDigitalProduct: p.IsDigitalProduct}
}

// CreatePrice adds a price to a product. It has no natural key, so it is
// never retried blindly.
func (c *Client) CreatePrice(ctx context.Context, productID string, p PriceParams) (*Price, error) {
	if err := requireLocation(OpCreatePrice, p.LocationID); err != nil {
		return nil, err
	}
	if err := requireID(OpCreatePrice, "product id", productID); err != nil {
		return nil, err
	}
	var out Price
	if err := c.do(ctx, call{op: OpCreatePrice, location: p.LocationID, pathArgs: []string{productID}, body: p.body()}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdatePrice replaces a price's settings with p.
func (c *Client) UpdatePrice(ctx context.Context, productID, priceID string, p PriceParams) (*Price, error) {
	if err := requireLocation(OpUpdatePrice, p.LocationID); err != nil {
		return nil, err
	}
	if err := requireIDs(OpUpdatePrice, productID, priceID); err != nil {
		return nil, err
	}
	var out Price
	if err := c.do(ctx, call{op: OpUpdatePrice, location: p.LocationID, pathArgs: []string{productID, priceID}, body: p.body()}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeletePrice deletes a price.
func (c *Client) DeletePrice(ctx context.Context, locationID, productID, priceID string) error {
	if err := requireLocation(OpDeletePrice, locationID); err != nil {
		return err
	}
	if err := requireIDs(OpDeletePrice, productID, priceID); err != nil {
		return err
	}
	var resp statusResponse
	q := url.Values{"locationId": {locationID}}
	if err := c.do(ctx, call{op: OpDeletePrice, location: locationID, pathArgs: []string{productID, priceID}, query: q}, &resp); err != nil {
		return err
	}
	return resp.check(OpDeletePrice, locationID)
}

// --- Inventory --------------------------------------------------------------

// InventoryItem is the stock of one price that tracks inventory; its ID is
// the price's id.
type InventoryItem struct {
	ID                       string `json:"_id"`
	Name                     string `json:"name"`
	AvailableQuantity        Number `json:"availableQuantity"`
	SKU                      string `json:"sku"`
	AllowOutOfStockPurchases bool   `json:"allowOutOfStockPurchases"`
	Product                  string `json:"product"`
	UpdatedAt                Time   `json:"updatedAt,omitzero"`
	Image                    string `json:"image,omitempty"`
	ProductName              string `json:"productName,omitempty"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the item and keeps the raw bytes.
func (it *InventoryItem) UnmarshalJSON(b []byte) error {
	type plain InventoryItem
	return decodeKeepRaw(b, (*plain)(it), &it.Raw)
}

// ListInventoryParams selects inventory items. LocationID is required.
type ListInventoryParams struct {
	LocationID    string
	Search        string // in product and price names
	Limit, Offset int
}

type listInventoryResponse struct {
	Inventory []InventoryItem `json:"inventory"`
	Total     struct {
		Total int `json:"total"`
	} `json:"total"`
}

// ListInventory returns one page of inventory items.
func (c *Client) ListInventory(ctx context.Context, p ListInventoryParams) (Page[InventoryItem], error) {
	if err := requireLocation(OpListInventory, p.LocationID); err != nil {
		return Page[InventoryItem]{}, err
	}
	q := locationQuery(p.LocationID)
	setIf(q, "search", p.Search)
	setIntIf(q, "limit", p.Limit)
	setIntIf(q, "offset", p.Offset)
	var resp listInventoryResponse
	err := c.do(ctx, call{op: OpListInventory, location: p.LocationID, query: q}, &resp)
	return Page[InventoryItem]{Items: resp.Inventory, TotalCount: resp.Total.Total}, err
}

// Inventory iterates over every inventory item matching p.
func (c *Client) Inventory(ctx context.Context, p ListInventoryParams) iter.Seq2[InventoryItem, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[InventoryItem], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListInventory(ctx, p)
	})
}

// InventoryUpdate sets one price's stock. Fields left nil keep their value.
type InventoryUpdate struct {
	PriceID                  string `json:"priceId"`
	AvailableQuantity        *int   `json:"availableQuantity,omitempty"`
	AllowOutOfStockPurchases *bool  `json:"allowOutOfStockPurchases,omitempty"`
}

// UpdateInventory sets the stock of some prices. It sets absolute values,
// so repeating it cannot change the result; it is still a POST, which the
// client does not retry after the request may have arrived.
func (c *Client) UpdateInventory(ctx context.Context, locationID string, items []InventoryUpdate) error {
	if err := requireLocation(OpUpdateInventory, locationID); err != nil {
		return err
	}
	body := struct {
		AltID   string            `json:"altId"`
		AltType string            `json:"altType"`
		Items   []InventoryUpdate `json:"items"`
	}{locationID, "location", nonNil(items)}
	var resp statusResponse
	if err := c.do(ctx, call{op: OpUpdateInventory, location: locationID, body: body}, &resp); err != nil {
		return err
	}
	return resp.check(OpUpdateInventory, locationID)
}

// --- Collections ------------------------------------------------------------

// Collection is a named group of products (a category in the store).
type Collection struct {
	ID        string `json:"_id"`
	AltID     string `json:"altId"`
	Name      string `json:"name"`
	Slug      string `json:"slug"`
	Image     string `json:"image"`
	SEO       SEO    `json:"seo"`
	CreatedAt Time   `json:"createdAt,omitzero"`
	UpdatedAt Time   `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the collection and keeps the raw bytes.
func (col *Collection) UnmarshalJSON(b []byte) error {
	type plain Collection
	return decodeKeepRaw(b, (*plain)(col), &col.Raw)
}

// ListCollectionsParams selects collections. LocationID is required.
type ListCollectionsParams struct {
	LocationID    string
	IDs           []string
	Name          string
	Limit, Offset int // GHL's default page is 10
}

type listCollectionsResponse struct {
	Data  []Collection `json:"data"`
	Total int          `json:"total"`
}

// ListCollections returns one page of collections.
func (c *Client) ListCollections(ctx context.Context, p ListCollectionsParams) (Page[Collection], error) {
	if err := requireLocation(OpListCollections, p.LocationID); err != nil {
		return Page[Collection]{}, err
	}
	q := locationQuery(p.LocationID)
	setIf(q, "collectionIds", strings.Join(p.IDs, ","))
	setIf(q, "name", p.Name)
	setIntIf(q, "limit", p.Limit)
	setIntIf(q, "offset", p.Offset)
	var resp listCollectionsResponse
	err := c.do(ctx, call{op: OpListCollections, location: p.LocationID, query: q}, &resp)
	return Page[Collection]{Items: resp.Data, TotalCount: resp.Total}, err
}

// Collections iterates over every collection matching p.
func (c *Client) Collections(ctx context.Context, p ListCollectionsParams) iter.Seq2[Collection, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[Collection], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListCollections(ctx, p)
	})
}

// GetCollection returns a collection.
func (c *Client) GetCollection(ctx context.Context, locationID, id string) (*Collection, error) {
	if err := requireLocation(OpGetCollection, locationID); err != nil {
		return nil, err
	}
	if err := requireID(OpGetCollection, "collection id", id); err != nil {
		return nil, err
	}
	var resp struct {
		Data   Collection `json:"data"`
		Status bool       `json:"status"`
	}
	q := url.Values{"altId": {locationID}}
	if err := c.do(ctx, call{op: OpGetCollection, location: locationID, pathArgs: []string{id}, query: q}, &resp); err != nil {
		return nil, err
	}
	return &resp.Data, nil
}

// CollectionParams describes a collection to create or update. LocationID,
// Name and Slug are required to create; an update changes only the fields
// given. A slug is unique within a location.
type CollectionParams struct {
	LocationID string
	Name       string
	Slug       string
	Image      string
	SEO        *SEO
}

type collectionBody struct {
	AltID   string `json:"altId"`
	AltType string `json:"altType"`
	Name    string `json:"name,omitempty"`
	Slug    string `json:"slug,omitempty"`
	Image   string `json:"image,omitempty"`
	SEO     *SEO   `json:"seo,omitempty"`
}

func (p CollectionParams) body() collectionBody {
	return collectionBody{AltID: p.LocationID, AltType: "location", Name: p.Name, Slug: p.Slug, Image: p.Image, SEO: p.SEO}
}

// CreateCollection creates a collection. Its unique slug makes a repeat
// fail rather than duplicate.
func (c *Client) CreateCollection(ctx context.Context, p CollectionParams) (*Collection, error) {
	if err := requireLocation(OpCreateCollection, p.LocationID); err != nil {
		return nil, err
	}
	var resp struct {
		Data Collection `json:"data"`
	}
	if err := c.do(ctx, call{op: OpCreateCollection, location: p.LocationID, body: p.body()}, &resp); err != nil {
		return nil, err
	}
	return &resp.Data, nil
}

// UpdateCollection changes the given fields of a collection.
func (c *Client) UpdateCollection(ctx context.Context, id string, p CollectionParams) error {
	if err := requireLocation(OpUpdateCollection, p.LocationID); err != nil {
		return err
	}
	if err := requireID(OpUpdateCollection, "collection id", id); err != nil {
		return err
	}
	var resp statusResponse
	if err := c.do(ctx, call{op: OpUpdateCollection, location: p.LocationID, pathArgs: []string{id}, body: p.body()}, &resp); err != nil {
		return err
	}
	return resp.check(OpUpdateCollection, p.LocationID)
}

// DeleteCollection deletes a collection; its products stay, outside it.
func (c *Client) DeleteCollection(ctx context.Context, locationID, id string) error {
	if err := requireLocation(OpDeleteCollection, locationID); err != nil {
		return err
	}
	if err := requireID(OpDeleteCollection, "collection id", id); err != nil {
		return err
	}
	var resp statusResponse
	if err := c.do(ctx, call{op: OpDeleteCollection, location: locationID, pathArgs: []string{id}, query: locationQuery(locationID)}, &resp); err != nil {
		return err
	}
	return resp.check(OpDeleteCollection, locationID)
}

// --- Reviews ----------------------------------------------------------------

// ReviewStatus is where a review is in moderation. The spec gives only
// "approved" as an example; GHL's store moderates reviews as pending,
// approved or rejected.
type ReviewStatus string

// Review statuses.
const (
	ReviewPending  ReviewStatus = "pending"
	ReviewApproved ReviewStatus = "approved"
	ReviewRejected ReviewStatus = "rejected"
)

// ReviewUser is who wrote a review or a reply.
type ReviewUser struct {
	Name       string `json:"name"`
	Email      string `json:"email"`
	Phone      string `json:"phone,omitempty"`
	IsCustomer bool   `json:"isCustomer,omitempty"`
}

// ReviewReply is the store's answer to a review.
type ReviewReply struct {
	Headline string     `json:"headline"`
	Comment  string     `json:"comment"`
	User     ReviewUser `json:"user"`
}

// Review is a customer's review of a product. There is no API to create
// one: customers write them in the store.
type Review struct {
	ID        string        `json:"_id"`
	AltID     string        `json:"altId"`
	AltType   string        `json:"altType"`
	ProductID string        `json:"productId"`
	StoreID   string        `json:"storeId,omitempty"`
	Status    ReviewStatus  `json:"status"`
	Rating    Number        `json:"rating"`
	Headline  string        `json:"headline"`
	Detail    string        `json:"detail"`
	User      ReviewUser    `json:"user"`
	Reply     []ReviewReply `json:"reply,omitempty"`
	CreatedAt Time          `json:"createdAt,omitzero"`
	UpdatedAt Time          `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the review and keeps the raw bytes.
func (r *Review) UnmarshalJSON(b []byte) error {
	type plain Review
	return decodeKeepRaw(b, (*plain)(r), &r.Raw)
}

// ReviewFilter selects reviews. LocationID is required.
type ReviewFilter struct {
	LocationID string
	ProductIDs []string
	StoreIDs   []string
	Rating     int // exactly this many stars
	StartDate  time.Time
	EndDate    time.Time
}

func (f ReviewFilter) query() url.Values {
	q := locationQuery(f.LocationID)
	setIf(q, "productId", strings.Join(f.ProductIDs, ","))
	setIf(q, "storeId", strings.Join(f.StoreIDs, ","))
	setIntIf(q, "rating", f.Rating)
	if !f.StartDate.IsZero() {
		q.Set("startDate", f.StartDate.UTC().Format(time.RFC3339))
	}
	if !f.EndDate.IsZero() {
		q.Set("endDate", f.EndDate.UTC().Format(time.RFC3339))
	}
	return q
}

// ListReviewsParams selects and orders reviews.
type ListReviewsParams struct {
	ReviewFilter
	SortField     string // createdAt or rating
	SortOrder     string // asc or desc
	Limit, Offset int
}

// ListReviews returns one page of reviews.
func (c *Client) ListReviews(ctx context.Context, p ListReviewsParams) (Page[Review], error) {
	if err := requireLocation(OpListReviews, p.LocationID); err != nil {
		return Page[Review]{}, err
	}
	q := p.query()
	setIf(q, "sortField", p.SortField)
	setIf(q, "sortOrder", p.SortOrder)
	setIntIf(q, "limit", p.Limit)
	setIntIf(q, "offset", p.Offset)
	var resp struct {
		Data  []Review `json:"data"`
		Total int      `json:"total"`
	}
	err := c.do(ctx, call{op: OpListReviews, location: p.LocationID, query: q}, &resp)
	return Page[Review]{Items: resp.Data, TotalCount: resp.Total}, err
}

// Reviews iterates over every review matching p.
func (c *Client) Reviews(ctx context.Context, p ListReviewsParams) iter.Seq2[Review, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[Review], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListReviews(ctx, p)
	})
}

// ReviewCount is how many reviews have one status.
type ReviewCount struct {
	Status ReviewStatus `json:"status"`
	Count  int          `json:"count"`
}

// CountReviews counts the reviews matching f by status.
func (c *Client) CountReviews(ctx context.Context, f ReviewFilter) ([]ReviewCount, error) {
	if err := requireLocation(OpCountReviews, f.LocationID); err != nil {
		return nil, err
	}
	var resp struct {
		Data []ReviewCount `json:"data"`
	}
	if err := c.do(ctx, call{op: OpCountReviews, location: f.LocationID, query: f.query()}, &resp); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

// ReviewUpdate moderates one review: its status, and optionally a reply
// and corrected text. LocationID, ProductID and Status are required.
type ReviewUpdate struct {
	LocationID string
	ProductID  string
	Status     ReviewStatus
	Reply      []ReviewReply
	Rating     Number
	Headline   string
	Detail     string
}

// UpdateReview moderates a review.
func (c *Client) UpdateReview(ctx context.Context, id string, u ReviewUpdate) error {
	if err := requireLocation(OpUpdateReview, u.LocationID); err != nil {
		return err
	}
	if err := requireID(OpUpdateReview, "review id", id); err != nil {
		return err
	}
	body := struct {
		AltID     string        `json:"altId"`
		AltType   string        `json:"altType"`
		ProductID string        `json:"productId"`
		Status    ReviewStatus  `json:"status"`
		Reply     []ReviewReply `json:"reply,omitempty"`
		Rating    Number        `json:"rating,omitempty"`
		Headline  string        `json:"headline,omitempty"`
		Detail    string        `json:"detail,omitempty"`
	}{u.LocationID, "location", u.ProductID, u.Status, u.Reply, u.Rating, u.Headline, u.Detail}
	var resp statusResponse
	if err := c.do(ctx, call{op: OpUpdateReview, location: u.LocationID, pathArgs: []string{id}, body: body}, &resp); err != nil {
		return err
	}
	return resp.check(OpUpdateReview, u.LocationID)
}

// DeleteReview deletes a review of a product.
func (c *Client) DeleteReview(ctx context.Context, locationID, productID, id string) error {
	if err := requireLocation(OpDeleteReview, locationID); err != nil {
		return err
	}
	if err := requireID(OpDeleteReview, "review id", id); err != nil {
		return err
	}
	q := locationQuery(locationID)
	q.Set("productId", productID)
	var resp statusResponse
	if err := c.do(ctx, call{op: OpDeleteReview, location: locationID, pathArgs: []string{id}, query: q}, &resp); err != nil {
		return err
	}
	return resp.check(OpDeleteReview, locationID)
}

// ReviewRef names one review for a bulk update.
type ReviewRef struct {
	ReviewID  string `json:"reviewId"`
	ProductID string `json:"productId"`
	StoreID   string `json:"storeId"`
}

// BulkUpdateReviews gives several reviews one status.
func (c *Client) BulkUpdateReviews(ctx context.Context, locationID string, status ReviewStatus, reviews []ReviewRef) error {
	if err := requireLocation(OpBulkUpdateReviews, locationID); err != nil {
		return err
	}
	body := struct {
		AltID   string       `json:"altId"`
		AltType string       `json:"altType"`
		Reviews []ReviewRef  `json:"reviews"`
		Status  ReviewStatus `json:"status"`
	}{locationID, "location", nonNil(reviews), status}
	var resp statusResponse
	if err := c.do(ctx, call{op: OpBulkUpdateReviews, location: locationID, body: body}, &resp); err != nil {
		return err
	}
	return resp.check(OpBulkUpdateReviews, locationID)
}

// --- Bulk product changes -----------------------------------------------------

// BulkUpdateType says what a bulk update does to the selected products.
type BulkUpdateType string

// Bulk update types.
const (
	BulkUpdatePrice        BulkUpdateType = "bulk-update-price"
	BulkUpdateAvailability BulkUpdateType = "bulk-update-availability"
	BulkUpdateCollection   BulkUpdateType = "bulk-update-product-collection"
	BulkDeleteProducts     BulkUpdateType = "bulk-delete-products"
	BulkUpdateCurrency     BulkUpdateType = "bulk-update-currency"
)

// PriceChange is how a bulk price update changes each amount.
type PriceChange struct {
	Type         string `json:"type"` // INCREASE_BY_AMOUNT, REDUCE_BY_AMOUNT, SET_NEW_PRICE, INCREASE_BY_PERCENTAGE or REDUCE_BY_PERCENTAGE
	Value        Number `json:"value"`
	RoundToWhole bool   `json:"roundToWhole,omitempty"`
}

// Price change types.
const (
	IncreaseByAmount     = "INCREASE_BY_AMOUNT"
	ReduceByAmount       = "REDUCE_BY_AMOUNT"
	SetNewPrice          = "SET_NEW_PRICE"
	IncreaseByPercentage = "INCREASE_BY_PERCENTAGE"
	ReduceByPercentage   = "REDUCE_BY_PERCENTAGE"
)

// BulkUpdateFilters select products by their properties instead of by id.
type BulkUpdateFilters struct {
	CollectionIDs    []string `json:"collectionIds,omitempty"`
	ProductType      string   `json:"productType,omitempty"`
	AvailableInStore *bool    `json:"availableInStore,omitempty"`
	Search           string   `json:"search,omitempty"`
}

// BulkUpdateParams is one bulk change to some products. LocationID, Type
// and ProductIDs (or Filters) are required; the other fields go with the
// type: Price and CompareAtPrice with bulk-update-price, Availability with
// bulk-update-availability, CollectionIDs with
// bulk-update-product-collection, Currency with bulk-update-currency.
type BulkUpdateParams struct {
	LocationID     string
	Type           BulkUpdateType
	ProductIDs     []string
	Filters        *BulkUpdateFilters
	Price          *PriceChange
	CompareAtPrice *PriceChange
	Availability   *bool
	CollectionIDs  []string
	Currency       string
}

// BulkUpdateProducts applies one change to several products. Relative
// price changes add up when repeated, so it is never retried blindly.
func (c *Client) BulkUpdateProducts(ctx context.Context, p BulkUpdateParams) error {
	if err := requireLocation(OpBulkUpdateProducts, p.LocationID); err != nil {
		return err
	}
	body := struct {
		AltID          string             `json:"altId"`
		AltType        string             `json:"altType"`
		Type           BulkUpdateType     `json:"type"`
		ProductIDs     []string           `json:"productIds"`
		Filters        *BulkUpdateFilters `json:"filters,omitempty"`
		Price          *PriceChange       `json:"price,omitempty"`
		CompareAtPrice *PriceChange       `json:"compareAtPrice,omitempty"`
		Availability   *bool              `json:"availability,omitempty"`
		CollectionIDs  []string           `json:"collectionIds,omitempty"`
		Currency       string             `json:"currency,omitempty"`
	}{p.LocationID, "location", p.Type, nonNil(p.ProductIDs), p.Filters, p.Price, p.CompareAtPrice,
		p.Availability, p.CollectionIDs, p.Currency}
	var resp statusResponse
	if err := c.do(ctx, call{op: OpBulkUpdateProducts, location: p.LocationID, body: body}, &resp); err != nil {
		return err
	}
	return resp.check(OpBulkUpdateProducts, p.LocationID)
}

// BulkEditPrice is the new state of one price in a bulk edit; only the
// fields given change.
type BulkEditPrice struct {
	ID                       string     `json:"_id"`
	Name                     string     `json:"name,omitempty"`
	Amount                   Number     `json:"amount,omitempty"`
	Currency                 string     `json:"currency,omitempty"`
	CompareAtPrice           Number     `json:"compareAtPrice,omitempty"`
	AvailableQuantity        *int       `json:"availableQuantity,omitempty"`
	TrackInventory           *bool      `json:"trackInventory,omitempty"`
	AllowOutOfStockPurchases *bool      `json:"allowOutOfStockPurchases,omitempty"`
	SKU                      string     `json:"sku,omitempty"`
	Recurring                *Recurring `json:"recurring,omitempty"`
}

// BulkEditProduct is the new state of one product in a bulk edit; only the
// fields given change.
type BulkEditProduct struct {
	ID               string          `json:"_id"`
	Name             string          `json:"name,omitempty"`
	Description      string          `json:"description,omitempty"`
	Image            string          `json:"image,omitempty"`
	AvailableInStore *bool           `json:"availableInStore,omitempty"`
	Prices           []BulkEditPrice `json:"prices,omitempty"`
	CollectionIDs    []string        `json:"collectionIds,omitempty"`
	IsTaxesEnabled   *bool           `json:"isTaxesEnabled,omitempty"`
	SEO              *SEO            `json:"seo,omitempty"`
	Slug             string          `json:"slug,omitempty"`
}

// BulkEditProducts edits up to 30 products and their prices at once and
// returns how many GHL updated.
func (c *Client) BulkEditProducts(ctx context.Context, locationID string, products []BulkEditProduct) (int, error) {
	if err := requireLocation(OpBulkEditProducts, locationID); err != nil {
		return 0, err
	}
	body := struct {
		AltID    string            `json:"altId"`
		AltType  string            `json:"altType"`
		Products []BulkEditProduct `json:"products"`
	}{locationID, "location", nonNil(products)}
	var resp struct {
		statusResponse
		UpdatedCount int `json:"updatedCount"`
	}
	if err := c.do(ctx, call{op: OpBulkEditProducts, location: locationID, body: body}, &resp); err != nil {
		return 0, err
	}
	return resp.UpdatedCount, resp.check(OpBulkEditProducts, locationID)
}

// --- The store's product settings ---------------------------------------------

// StoreStats counts a store's products.
type StoreStats struct {
	TotalProducts     int `json:"totalProducts"`
	IncludedInStore   int `json:"includedInStore"`
	ExcludedFromStore int `json:"excludedFromStore"`
}

// StoreStatsParams selects the products a store's stats count. LocationID
// and StoreID are required.
type StoreStatsParams struct {
	LocationID    string
	StoreID       string
	Search        string
	CollectionIDs []string
}

// GetStoreStats counts the products included in and excluded from a store.
func (c *Client) GetStoreStats(ctx context.Context, p StoreStatsParams) (*StoreStats, error) {
	if err := requireLocation(OpGetStoreStats, p.LocationID); err != nil {
		return nil, err
	}
	if err := requireID(OpGetStoreStats, "store id", p.StoreID); err != nil {
		return nil, err
	}
	q := locationQuery(p.LocationID)
	setIf(q, "search", p.Search)
	setIf(q, "collectionIds", strings.Join(p.CollectionIDs, ","))
	var out StoreStats
	if err := c.do(ctx, call{op: OpGetStoreStats, location: p.LocationID, pathArgs: []string{p.StoreID}, query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StoreAction includes products in a store or excludes them.
type StoreAction string

// Store actions.
const (
	StoreInclude StoreAction = "include"
	StoreExclude StoreAction = "exclude"
)

// UpdateStoreStatus includes products in a store or excludes them.
func (c *Client) UpdateStoreStatus(ctx context.Context, locationID, storeID string, action StoreAction, productIDs []string) error {
	if err := requireLocation(OpUpdateStoreStatus, locationID); err != nil {
		return err
	}
	if err := requireID(OpUpdateStoreStatus, "store id", storeID); err != nil {
		return err
	}
	body := struct {
		AltID      string      `json:"altId"`
		AltType    string      `json:"altType"`
		Action     StoreAction `json:"action"`
		ProductIDs []string    `json:"productIds"`
	}{locationID, "location", action, nonNil(productIDs)}
	var resp statusResponse
	if err := c.do(ctx, call{op: OpUpdateStoreStatus, location: locationID, pathArgs: []string{storeID}, body: body}, &resp); err != nil {
		return err
	}
	return resp.check(OpUpdateStoreStatus, locationID)
}

// DisplayPriority places a product in a store's listing: lower comes first.
type DisplayPriority struct {
	ProductID string `json:"_id"`
	Priority  int    `json:"priority"`
}

// UpdateDisplayPriority sets the order of products in a store's listing.
func (c *Client) UpdateDisplayPriority(ctx context.Context, locationID, storeID string, products []DisplayPriority) error {
	if err := requireLocation(OpUpdateDisplayPriority, locationID); err != nil {
		return err
	}
	if err := requireID(OpUpdateDisplayPriority, "store id", storeID); err != nil {
		return err
	}
	body := struct {
		AltID    string            `json:"altId"`
		AltType  string            `json:"altType"`
		Products []DisplayPriority `json:"products"`
	}{locationID, "location", nonNil(products)}
	return c.do(ctx, call{op: OpUpdateDisplayPriority, location: locationID, pathArgs: []string{storeID}, body: body}, nil)
}
