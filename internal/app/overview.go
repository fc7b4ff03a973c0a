package app

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Overview is the dashboard's first page: per location how its sync and
// GHL budget stand and what is open, and the money collected and
// outstanding today and this month, per currency. Its size depends on the
// number of locations and currencies and on the days of the month, not on
// how many records are stored; building it reads the month's payments and
// balances (at most overviewScan of each).
type Overview struct {
	At        time.Time          `json:"at"`
	Locations []LocationOverview `json:"locations"`
	Money     []MoneyOverview    `json:"money"`
	// Truncated says the money figures stopped at overviewScan records
	// (a month larger than that is summed in part).
	Truncated bool `json:"truncated,omitempty"`
}

// LocationOverview is one location on the overview.
type LocationOverview struct {
	LocationID     string                `json:"locationId"`
	Name           string                `json:"name,omitempty"`
	State          rankr.ConnectionState `json:"state"`
	StateMessage   string                `json:"stateMessage,omitempty"`
	CredentialKind string                `json:"credentialKind"`
	LastError      string                `json:"lastError,omitempty"`
	BackfillDone   bool                  `json:"backfillDone"`
	Phase          string                `json:"phase,omitempty"`
	LastSyncAt     time.Time             `json:"lastSyncAt,omitzero"`
	LastPollAt     time.Time             `json:"lastPollAt,omitzero"`
	// LastWebhookAt is when the newest webhook of the location still in
	// the inbox arrived (zero: none), of type LastWebhookType.
	LastWebhookAt   time.Time `json:"lastWebhookAt,omitzero"`
	LastWebhookType string    `json:"lastWebhookType,omitempty"`
	// SyncLagSeconds is how long ago the last poll started (-1: never).
	SyncLagSeconds float64        `json:"syncLagSeconds"`
	Counts         rankr.Counts   `json:"counts"`
	Budget         BudgetOverview `json:"budget"`
	OpenExceptions int            `json:"openExceptions"`
	Notices        map[string]int `json:"notices,omitempty"`
	APICalls       int64          `json:"apiCalls"`
}

// BudgetOverview is a location's GHL budget with the day's forecast.
type BudgetOverview struct {
	Burst          int   `json:"burst"`
	IntervalMS     int64 `json:"intervalMs"`
	InWindow       int   `json:"inWindow"`
	DailyLimit     int   `json:"dailyLimit"`
	DailyRemaining int   `json:"dailyRemaining"`
	DailyUsed      int   `json:"dailyUsed"`
	// ForecastDailyUse is the day's use at the pace so far (UTC day).
	ForecastDailyUse int   `json:"forecastDailyUse"`
	Throttled        int64 `json:"throttled"`
}

// MoneyOverview is one currency's money: collected (payments that
// arrived, less refunds) and outstanding (what orders created in the
// period still lack), today and this month (UTC), and per day of the
// month for the charts.
type MoneyOverview struct {
	Currency         string     `json:"currency"`
	CollectedToday   Money      `json:"collectedToday"`
	CollectedMonth   Money      `json:"collectedMonth"`
	OutstandingToday Money      `json:"outstandingToday"`
	OutstandingMonth Money      `json:"outstandingMonth"`
	Days             []MoneyDay `json:"days"`
}

// MoneyDay is one day of the month.
type MoneyDay struct {
	Date        string `json:"date"` // 2026-05-01
	Collected   Money  `json:"collected"`
	Outstanding Money  `json:"outstanding"`
}

// overviewScan bounds the records summed for the money figures.
const overviewScan = 50_000

// OverviewAt builds the overview as of now for the caller's locations.
func (a *App) OverviewAt(ctx context.Context, c Caller, now time.Time) (Overview, error) {
	now = now.UTC()
	ov := Overview{At: now, Locations: []LocationOverview{}, Money: []MoneyOverview{}}
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)

	conns, err := a.Connections(ctx, c)
	if err != nil {
		return ov, err
	}
	exceptions, err := a.d.Store.OpenExceptionCounts(ctx)
	if err != nil {
		return ov, err
	}
	open := map[string]int{}
	for _, e := range exceptions {
		open[e.LocationID] += e.Open
	}
	for _, s := range conns {
		l := LocationOverview{LocationID: s.Connection.LocationID, Name: s.Connection.Name, State: s.Connection.State,
			StateMessage: s.Connection.StateMessage, CredentialKind: s.Connection.CredentialKind, LastError: s.Connection.LastError,
			BackfillDone: s.Sync.BackfillDone, Phase: s.Phase, LastSyncAt: s.Connection.LastSyncAt, LastPollAt: s.Sync.LastPoll,
			SyncLagSeconds: -1, Counts: s.Counts, APICalls: s.APICalls}
		if !s.Sync.LastPoll.IsZero() {
			l.SyncLagSeconds = max(now.Sub(s.Sync.LastPoll).Seconds(), 0)
		}
		l.Budget = forecast(s.Budget, now.Sub(day))
		if len(s.Notices) > 0 {
			l.Notices = map[string]int{}
			for k, v := range s.Notices {
				l.Notices[string(k)] = v
			}
		}
		l.OpenExceptions = open[l.LocationID]
		last, err := a.d.Store.InboxRecent(ctx, store.InboxRecentParams{LocationID: l.LocationID, Limit: 1})
		if err != nil {
			return ov, err
		}
		if len(last) == 1 {
			l.LastWebhookAt, l.LastWebhookType = last[0].ReceivedAt, last[0].Type
		}
		ov.Locations = append(ov.Locations, l)
	}

	byCur := map[string]*MoneyOverview{}
	days := int(now.Sub(month).Hours()/24) + 1
	cur := func(code string) *MoneyOverview {
		m, ok := byCur[code]
		if !ok {
			m = &MoneyOverview{Currency: code, CollectedToday: Money{0, code}, CollectedMonth: Money{0, code},
				OutstandingToday: Money{0, code}, OutstandingMonth: Money{0, code}}
			for i := range days {
				m.Days = append(m.Days, MoneyDay{Date: month.AddDate(0, 0, i).Format(time.DateOnly), Collected: Money{0, code}, Outstanding: Money{0, code}})
			}
			byCur[code] = m
		}
		return m
	}
	dayOf := func(t time.Time) int { return min(max(int(t.UTC().Sub(month).Hours()/24), 0), days-1) }

	// Collected: payments made this month, by their time.
	p := store.ListParams{Locations: c.Locations, CreatedFrom: month, Limit: MaxLimit, Oldest: true}
	scanned := 0
	for {
		xs, err := a.d.Store.TransactionList(ctx, p)
		if err != nil {
			return ov, err
		}
		for _, x := range xs {
			if !x.Collected() || !c.Sees(x.LocationID) || x.Currency == "" {
				continue
			}
			m, net := cur(x.Currency), x.Amount-x.AmountRefunded
			m.CollectedMonth.Minor += net
			m.Days[dayOf(x.CreatedAt)].Collected.Minor += net
			if !x.CreatedAt.Before(day) {
				m.CollectedToday.Minor += net
			}
		}
		scanned += len(xs)
		if len(xs) < p.Limit || scanned >= overviewScan {
			ov.Truncated = len(xs) == p.Limit
			break
		}
		last := xs[len(xs)-1]
		p.After = store.ListKey{CreatedAt: last.CreatedAt, LocationID: last.LocationID, ID: last.ID}
	}

	// Outstanding: what orders created this month still lack, as the
	// reconciliation last balanced them.
	for offset := 0; offset < overviewScan; offset += 10000 {
		bs, err := a.d.Store.BalanceList(ctx, store.BalanceListParams{RecordType: rankr.RecordOrder, Since: month, Limit: 10000, Offset: offset})
		if err != nil {
			return ov, err
		}
		for _, b := range bs {
			if b.Balance <= 0 || !c.Sees(b.LocationID) || b.Currency == "" || b.RecordCreatedAt.Before(month) {
				continue
			}
			m := cur(b.Currency)
			m.OutstandingMonth.Minor += b.Balance
			m.Days[dayOf(b.RecordCreatedAt)].Outstanding.Minor += b.Balance
			if !b.RecordCreatedAt.Before(day) {
				m.OutstandingToday.Minor += b.Balance
			}
		}
		if len(bs) < 10000 {
			break
		}
		if offset+10000 >= overviewScan {
			ov.Truncated = true
		}
	}
	for _, code := range slices.Sorted(maps.Keys(byCur)) {
		ov.Money = append(ov.Money, *byCur[code])
	}
	slices.SortFunc(ov.Locations, func(a, b LocationOverview) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.LocationID, b.LocationID))
	})
	return ov, nil
}

// overviewTTL is how long an overview built for a set of locations serves
// every caller seeing that set: each open dashboard asks every five
// seconds, and building one reads the month's payments, so tabs share
// one build rather than each paying for its own.
const overviewTTL = 2 * time.Second

// overviews shares overviews between callers who see the same locations.
type overviews struct {
	mu      sync.Mutex
	entries map[string]*sharedOverview
}

// sharedOverview is the overview of one set of locations, built last at at.
// Its lock is held while it is built: callers asking meanwhile wait for it.
type sharedOverview struct {
	mu sync.Mutex
	at time.Time
	ov *Overview
}

// Overview returns the overview as of now, or as of at most overviewTTL
// ago: built once for every caller seeing the same locations. A failed
// build is not kept: the next caller builds again.
func (a *App) Overview(ctx context.Context, c Caller) (Overview, error) {
	key := "*" // every location
	if c.Locations != nil {
		key = strings.Join(slices.Sorted(slices.Values(c.Locations)), ",")
	}
	a.overviews.mu.Lock()
	if a.overviews.entries == nil {
		a.overviews.entries = map[string]*sharedOverview{}
	}
	sh := a.overviews.entries[key]
	if sh == nil {
		// Only the location sets asked for lately are kept.
		if len(a.overviews.entries) >= maxSharedOverviews {
			clear(a.overviews.entries)
		}
		sh = &sharedOverview{}
		a.overviews.entries[key] = sh
	}
	a.overviews.mu.Unlock()

	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.ov != nil && time.Since(sh.at) <= overviewTTL {
		return *sh.ov, nil
	}
	ov, err := a.OverviewAt(ctx, c, time.Now())
	if err != nil {
		return ov, err
	}
	sh.ov, sh.at = &ov, time.Now()
	return ov, nil
}

// maxSharedOverviews bounds the location sets whose overviews are kept:
// one per key binding, in practice a handful.
const maxSharedOverviews = 256

// forecast is the budget with the day's projected use: what was used so
// far, at the same pace for the rest of the (UTC) day.
func forecast(b Budget, sinceMidnight time.Duration) BudgetOverview {
	limit := ghl.DefaultLimits.Daily
	o := BudgetOverview{Burst: b.Burst, IntervalMS: b.IntervalMS, InWindow: b.InWindow, DailyLimit: limit,
		DailyRemaining: b.DailyRemaining, Throttled: b.Throttled}
	if b.DailyRemaining > limit {
		o.DailyLimit = b.DailyRemaining
	}
	o.DailyUsed = max(o.DailyLimit-b.DailyRemaining, 0)
	elapsed := max(sinceMidnight, time.Minute) // a minute in, the pace means little yet
	o.ForecastDailyUse = int(float64(o.DailyUsed) * float64(24*time.Hour) / float64(elapsed))
	return o
}
