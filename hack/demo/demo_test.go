package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/pruvan-share/share-operator/internal/freeport"
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
		pushKeyAddr:  freeport.Addr(t),
		metricsAddr:  "0",
		dir:          t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
}
