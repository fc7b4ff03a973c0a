package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/daemon"
)

// ConnectCmd adds or updates a connection.
type ConnectCmd struct {
	Location string `help:"The GHL location (sub-account) id." required:"" env:"RANKR_GHL_LOCATION"`
	Token    string `help:"Its Private Integration Token; - reads it from stdin. Prefer the environment variable to the flag, which shows in process lists." required:"" env:"RANKR_GHL_TOKEN"`
	BaseURL  string `help:"GHL's API (or a sandbox)." default:"https://services.leadconnectorhq.com" env:"RANKR_GHL_BASE_URL"`
	Name     string `help:"A name for the location, for humans." env:"RANKR_GHL_LOCATION_NAME"`
	NoVerify bool   `help:"Save without checking the token against GHL." env:"RANKR_GHL_NO_VERIFY"`
	DataFlags
}

// syncScopes are the scopes the sync needs, with what each is for.
var syncScopes = []struct{ scope, what string }{
	{ghl.ScopeOrdersRead, "orders and fulfillments"},
	{ghl.ScopeTransactionsRead, "payments"},
	{ghl.ScopeSubscriptionsRead, "subscriptions"},
	{ghl.ScopeInvoicesRead, "invoices"},
}

// Run checks the token and saves the connection.
func (c *ConnectCmd) Run(ctx context.Context, g *Globals) error {
	token := c.Token
	if token == "-" {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the token from stdin: %w", err)
		}
		token = strings.TrimSpace(line)
	}
	if token == "" {
		return errors.New("the token is empty")
	}
	var total int
	var lacks []string
	if !c.NoVerify {
		var err error
		if total, lacks, err = verify(ctx, c.BaseURL, c.Location, token); err != nil {
			return err
		}
	}
	d, err := g.open(ctx, true, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	conn, err := d.ConnectAs(ctx, hostAuditActor(), c.Location, c.Name, c.BaseURL, token)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "connected location %s at %s (token sealed, stored in %s)\n", conn.LocationID, conn.BaseURL, d.Kind())
	if !c.NoVerify {
		fmt.Fprintf(g.stdout, "GHL reports %d orders; run `rankr sync` to copy them now, or `rankr serve` to keep syncing\n", total)
	}
	if len(lacks) > 0 {
		fmt.Fprintf(g.stdout, "note: the token lacks %s: the catalog (rankr products) will not sync until they are added; everything else will\n",
			strings.Join(lacks, " and "))
	}
	return nil
}

// verify makes one cheap call per scope the sync needs, and explains what is
// wrong with the token if any fails. It returns GHL's order count, and the
// catalog's scopes the token lacks: the catalog is optional, so those are
// said, not refused.
func verify(ctx context.Context, baseURL, loc, token string) (int, []string, error) {
	c := ghl.NewClient(ghl.StaticToken(token), ghl.WithBaseURL(baseURL),
		ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 3, BaseDelay: 200_000_000, MaxDelay: 2_000_000_000}))
	orders, err := c.ListOrders(ctx, ghl.ListOrdersParams{LocationID: loc, Limit: 1})
	if err := explain(loc, err); err != nil {
		return 0, nil, err
	}
	var missing []string
	for _, s := range syncScopes[1:] {
		var err error
		switch s.scope {
		case ghl.ScopeTransactionsRead:
			_, err = c.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: loc, Limit: 1})
		case ghl.ScopeSubscriptionsRead:
			_, err = c.ListSubscriptions(ctx, ghl.ListSubscriptionsParams{LocationID: loc, Limit: 1})
		case ghl.ScopeInvoicesRead:
			_, err = c.ListInvoices(ctx, ghl.ListInvoicesParams{LocationID: loc, Limit: 1})
		}
		switch {
		case errors.Is(err, ghl.ErrMissingScope):
			missing = append(missing, fmt.Sprintf("%s (for %s)", s.scope, s.what))
		case err != nil:
			return 0, nil, explain(loc, err)
		}
	}
	if len(missing) > 0 {
		return 0, nil, fmt.Errorf("the token lacks %s; add the scopes to the Private Integration in GHL (Settings > Private Integrations) and run connect again",
			strings.Join(missing, ", "))
	}
	var lacks []string
	products, err := c.ListProducts(ctx, ghl.ListProductsParams{LocationID: loc, Limit: 1})
	switch {
	case errors.Is(err, ghl.ErrMissingScope):
		lacks = append(lacks, ghl.ScopeProductsRead, ghl.ScopePricesRead)
	case err == nil && len(products.Items) > 0:
		_, err = c.ListPrices(ctx, ghl.ListPricesParams{LocationID: loc, ProductID: products.Items[0].ID, Limit: 1})
		if errors.Is(err, ghl.ErrMissingScope) {
			lacks = append(lacks, ghl.ScopePricesRead)
		}
	}
	// Any other failure of these optional reads is the sync's to report.
	return orders.TotalCount, lacks, nil
}

// explain words a failed check for someone setting rankr up.
func explain(loc string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ghl.ErrUnauthorized):
		return fmt.Errorf("GHL rejected the token (401): check that you copied the whole Private Integration Token of location %s: %w", loc, err)
	case errors.Is(err, ghl.ErrMissingScope):
		return fmt.Errorf("the token lacks %s (for orders and fulfillments); add it to the Private Integration in GHL and run connect again", ghl.ScopeOrdersRead)
	case errors.Is(err, ghl.ErrForbidden):
		return fmt.Errorf("the token may not read location %s: is it that sub-account's token? %w", loc, err)
	}
	return fmt.Errorf("checking the token with GHL: %w (use --no-verify to save it anyway)", err)
}
