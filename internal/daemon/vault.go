package daemon

import (
	"log/slog"
	"sync"
	"time"

	"github.com/rankr/rankr/internal/vault"
)

// openVault opens the vault with the master key and the previous ones
// being rotated out, warning (see previousKeyWarning) when a secret opens
// with one of those.
func openVault(cfg Config) (*vault.Vault, error) {
	if cfg.withoutVault {
		return nil, nil
	}
	v, err := vault.New(cfg.MasterKey, cfg.PreviousMasterKeys...)
	if err != nil {
		return nil, err
	}
	v.OnPrevious(previousKeyWarning(cfg.Logger, time.Minute))
	return v, nil
}

// previousKeyWarning returns what the vault calls when a secret opens with
// a previous master key: a warning naming the key's id (never the key), at
// most once per key per every, since a sync or a reseal opens secrets by
// the thousand, with how many such opens there were since the last one.
func previousKeyWarning(log *slog.Logger, every time.Duration) func(keyID string) {
	var mu sync.Mutex
	type seen struct {
		at     time.Time
		opened int
	}
	last := map[string]*seen{}
	return func(keyID string) {
		mu.Lock()
		s, ok := last[keyID]
		if !ok {
			s = &seen{}
			last[keyID] = s
		}
		s.opened++
		now := time.Now()
		if ok && now.Sub(s.at) < every {
			mu.Unlock()
			return
		}
		opened := s.opened
		s.at, s.opened = now, 0
		mu.Unlock()
		log.Warn("a secret opened with a previous master key: run rankr keys master reseal", "key_id", keyID, "opens", opened)
	}
}
