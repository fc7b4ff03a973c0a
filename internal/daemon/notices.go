package daemon

import (
	"errors"

	"github.com/rankr/rankr/internal/mailer"
)

// openMailer checks the mail settings. No SMTP URL means Rankr sends no
// mail: GHL notifies customers when asked to.
func openMailer(cfg mailer.Config) (*mailer.Mailer, error) {
	if cfg.URL == "" {
		if cfg.From != "" {
			return nil, errors.New("a mail sender (--mail-from) is set but no SMTP server (--smtp-url, RANKR_SMTP_URL): set both for Rankr to send notices, or neither")
		}
		return nil, nil
	}
	return mailer.New(cfg)
}
