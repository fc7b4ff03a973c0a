package oauth

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/rankr"
)

// StartHandler answers an install link. A GET only shows what the link
// does, with a button: link previewers (chat apps, mail scanners) fetch
// links, and must not spend a one-time one. The button's POST spends it and
// sends the browser to GHL's chooselocation page with a fresh state.
func (m *Manager) StartHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			_ = startTmpl.Execute(w, r.URL.Query().Get("link"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		to, err := m.Start(r.Context(), r.PostFormValue("link"))
		if err != nil {
			m.fail(w, r, "This install link does not work", err)
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	})
}

var startTmpl = template.Must(template.New("start").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rankr · install</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1d2433}</style></head>
<body><h1>Connect GHL to Rankr</h1><p>This link installs Rankr's app on the GHL locations you choose next, on GHL's own page. It works once.</p>
<form method="post"><input type="hidden" name="link" value="{{.}}"><button type="submit">Continue to GHL</button></form></body></html>`))

// fail answers a failed install step: what went wrong when it is the
// user's to fix, else a pointer to the log, which has the details.
func (m *Manager) fail(w http.ResponseWriter, r *http.Request, title string, err error) {
	status := statusOf(err)
	msg := err.Error()
	if status == http.StatusBadGateway {
		m.log.Error(title, "error", err, "request", access.RequestID(r.Context()))
		msg = "The install could not finish: see rankr serve's log (request " + access.RequestID(r.Context()) + ") and try again."
	}
	m.page(w, status, title, msg)
}

// CallbackHandler is where GHL sends the browser back with the install's
// code.
func (m *Manager) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if e := q.Get("error"); e != "" {
			m.page(w, http.StatusBadRequest, "The install did not finish", "GHL says: "+e)
			return
		}
		got, err := m.Callback(r.Context(), q.Get("code"), q.Get("state"))
		if err != nil {
			m.log.Warn("an OAuth install failed", "error", err)
			m.fail(w, r, "The install did not finish", err)
			return
		}
		var b strings.Builder
		switch {
		case got.Pending != "":
			fmt.Fprintf(&b, "The app is installed. An administrator of this Rankr must approve the install before it syncs: rankr oauth claim %s", got.Pending)
		case got.Minting > 0:
			fmt.Fprintf(&b, "Agency %s is connected; tokens for its %d locations are being made now.", got.CompanyID, got.Minting)
		default:
			fmt.Fprintf(&b, "Location %s is connected and syncing.", strings.Join(got.Locations, ", "))
		}
		if len(got.Missing) > 0 {
			fmt.Fprintf(&b, " The install did not grant %s: add them to the app's scopes and install again.", strings.Join(got.Missing, ", "))
		}
		m.page(w, http.StatusOK, "Installed", b.String())
	})
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rankr · {{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1d2433}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p></body></html>`))

func (m *Manager) page(w http.ResponseWriter, status int, title, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, struct{ Title, Message string }{title, message})
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, rankr.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, rankr.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, rankr.ErrForbidden):
		return http.StatusForbidden
	}
	return http.StatusBadGateway
}
