package main

import (
	"context"
	"net"
	"os"
	"testing"
	"time"
)

// TestDemoOnce runs `make demo DEMO_ARGS=--once` as a smoke test: every step
// of the story must hold.
func TestDemoOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo needs the control plane; skipped under -short")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err := run(ctx, options{
		once:         true,
		accountsAddr: "127.0.0.1:0",
		pushKeyAddr:  freeAddr(t),
		metricsAddr:  "0",
		dir:          t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// freeAddr finds a loopback port for a listener whose address must be known
// before it starts (the bookmark URL names it).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
