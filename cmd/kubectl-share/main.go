// Command kubectl-share is a kubectl plugin for share-operator: it asks a
// ShareLink for a refresh and follows it to the end, reports a link's
// health, lists its projects and failures, asks for retries, and prints the
// link's push-key bookmark, as a QR code for a phone if asked.
//
//	go install ./cmd/kubectl-share   # then: kubectl share …
//	kubectl share refresh acme --wait
//	kubectl share status
//	kubectl share status acme -o yaml
//	kubectl share projects acme --client-status Cancelled
//	kubectl share failures acme
//	kubectl share retry acme --all-failed
//	kubectl share bookmark acme --qr
//
// See docs/kubectl-share.md for every subcommand and flag.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
