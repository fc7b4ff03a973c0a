// Command rankr connects HighLevel sub-accounts to Rankr through GHL's
// Payments API, and ships a GHL sandbox to try it all without an account.
// See `rankr --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rankr/rankr/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
