package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/pruvan-share/share-operator/accountserver"
)

func newServeCmd(g *globals) *cobra.Command {
	var (
		addr      string
		publicURL string
		rate      float64
		burst     int
		retention time.Duration
		logLevel  string
		limits    = accountserver.DefaultLimits
		headerTO  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Long: `Run the server on --addr with its data in --data-dir.

The admin API needs a bearer token: --admin-token (or ` + envAdminToken + `). Without
one, serve makes one up and writes it to DATA_DIR/` + tokenFileName + ` (mode 0600),
where the other commands find it when given the same --data-dir.

Slow and hostile clients: the head of a request must arrive within
--read-header-timeout. A request body may pause for at most --body-idle-timeout
(renewed as bytes arrive, so a large upload sent steadily is never cut) and must
average --min-body-rate once it has been waited on that long; a body that does not
is answered 408. At most --password-checks logins run the password KDF (argon2id,
19 MiB each) at once; the others are answered 429 with Retry-After at once.`,
		Example: `  accountserver serve --addr 127.0.0.1:8090 --data-dir ./accountserver-data --admin-token s3cret`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			log := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
			token := g.token
			if token == "" {
				var err error
				if token, err = ensureTokenFile(g.dataDir); err != nil {
					return err
				}
				log.Info("admin token in file", "path", filepath.Join(g.dataDir, tokenFileName))
			}
			var lc net.ListenConfig
			ln, err := lc.Listen(cmd.Context(), "tcp", addr)
			if err != nil {
				return err
			}
			if publicURL == "" {
				publicURL = "http://" + ln.Addr().String()
			}
			srv, err := accountserver.New(accountserver.Config{
				DataDir:            g.dataDir,
				Limits:             limits,
				AdminToken:         token,
				PublicURL:          publicURL,
				RateLimit:          accountserver.RateLimit{PerSecond: rate, Burst: burst},
				TombstoneRetention: retention,
				Logger:             log,
			})
			if err != nil {
				ln.Close()
				return err
			}
			defer srv.Close()
			hs := &http.Server{
				Handler: srv.Handler(),
				// The head of a request has a deadline here; bodies have
				// theirs in the handler (--body-idle-timeout,
				// --min-body-rate): no ReadTimeout, which would cut a large
				// upload however steadily it came.
				ReadHeaderTimeout: headerTO,
				IdleTimeout:       2 * time.Minute,
				ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			}
			log.Info("serving", "addr", ln.Addr().String(), "url", publicURL, "dataDir", g.dataDir)
			fmt.Fprintf(g.stdout, "accountserver listening on %s (data in %s)\n", publicURL, g.dataDir)
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-cmd.Context().Done():
			}
			log.Info("shutting down")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := hs.Shutdown(ctx); err != nil {
				return err
			}
			if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", defaultAddr, "address to listen on")
	f.StringVar(&publicURL, "public-url", "", "root URL clients reach the server at (default http://ADDR)")
	f.Float64Var(&rate, "rate-limit", 0, "protocol calls per second per account; 0 turns the limit off")
	f.IntVar(&burst, "rate-burst", 0, "burst of the rate limit (default: one second's worth)")
	f.DurationVar(&retention, "tombstone-retention", accountserver.DefaultTombstoneRetention, "how long full pulls return tombstones")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.DurationVar(&headerTO, "read-header-timeout", 10*time.Second, "how long the head of a request may take to arrive")
	f.DurationVar(&limits.BodyIdleTimeout, "body-idle-timeout", limits.BodyIdleTimeout,
		"how long a read of a request body may wait for the client (renewed as bytes arrive)")
	f.Int64Var(&limits.MinBodyRate, "min-body-rate", limits.MinBodyRate,
		"bytes per second a request body must average once it has waited --body-idle-timeout in all")
	f.IntVar(&limits.PasswordChecks, "password-checks", limits.PasswordChecks,
		"password checks that run at once (2 per CPU unless set); logins over it answer 429 at once")
	return cmd
}

// ensureTokenFile returns the token of DATA_DIR/admin-token, making one up
// when the file does not exist.
func ensureTokenFile(dataDir string) (string, error) {
	path := filepath.Join(dataDir, tokenFileName)
	if b, err := os.ReadFile(path); err == nil {
		if tok := string(b); len(tok) > 0 {
			return trimToken(tok), nil
		}
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return "", err
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}

func trimToken(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}
