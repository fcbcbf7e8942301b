// Command accountserver runs the project's reference account server and
// administers a running one over its admin API.
//
//	accountserver serve --addr 127.0.0.1:8090 --data-dir DIR --admin-token TOKEN
//	accountserver account create acme
//	accountserver user create acme vendor1 --role Crew --password secret
//	accountserver integration create fieldco --code ACME --auto-relay
//	accountserver order create acme 1001 --address1 "1 Main St" --city Springfield --state IL --zip 62701 --service "Lawn Cut" --assigned-to vendor1
//	accountserver hook add acme --user vendor1 --url "http://127.0.0.1:8082/api/?apiKey=KEY"
//
// See docs/accountserver.md for every command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pruvan-share/share-operator/accountserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "accountserver:", err)
		os.Exit(1)
	}
}

// globals are the flags every command shares.
type globals struct {
	server    string
	token     string
	tokenFile string
	dataDir   string
	output    string
	stdout    io.Writer
	stderr    io.Writer
}

const (
	defaultAddr    = "127.0.0.1:8090"
	tokenFileName  = "admin-token"
	envServer      = "ACCOUNTSERVER_URL"
	envAdminToken  = "ACCOUNTSERVER_ADMIN_TOKEN"
	envDataDir     = "ACCOUNTSERVER_DATA_DIR"
	outputText     = "text"
	outputJSON     = "json"
	defaultBaseURL = "http://" + defaultAddr
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "accountserver",
		Short: "The reference account server of share-operator, and its administration",
		Long: `accountserver runs a multi-account server that speaks the account protocol
(serve), and administers a running one over its admin API (every other
command): accounts, sub-users, work types, integrations, orders as office
staff, photos and check-ins as a field crew, fault injection for tests.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", envOr(envServer, defaultBaseURL), "root URL of the server to administer (env "+envServer+")")
	pf.StringVar(&g.token, "admin-token", os.Getenv(envAdminToken), "admin bearer token (env "+envAdminToken+")")
	pf.StringVar(&g.tokenFile, "admin-token-file", "", "file holding the admin token (default: DATA_DIR/"+tokenFileName+" when it exists)")
	pf.StringVar(&g.dataDir, "data-dir", envOr(envDataDir, accountserver.DefaultDataDir()), "data directory (env "+envDataDir+")")
	pf.StringVarP(&g.output, "output", "o", outputText, "output format: text or json")

	root.AddCommand(
		newServeCmd(g),
		newAccountCmd(g),
		newUserCmd(g),
		newWorkTypeCmd(g),
		newIntegrationCmd(g),
		newOrderCmd(g),
		newItemsCmd(g),
		newCrewCmd(g),
		newHookCmd(g),
		newListCmd(g),
		newFaultCmd(g),
		newCountersCmd(g),
	)
	return root
}

// adminToken finds the admin token: the flag or environment, the token
// file, or DATA_DIR/admin-token that serve writes when it makes one up.
func (g *globals) adminToken() (string, error) {
	if g.token != "" {
		return g.token, nil
	}
	file := g.tokenFile
	if file == "" {
		file = filepath.Join(g.dataDir, tokenFileName)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		if g.tokenFile == "" && errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("no admin token: pass --admin-token, set %s, or --admin-token-file", envAdminToken)
		}
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func (g *globals) client() (*accountserver.AdminClient, error) {
	tok, err := g.adminToken()
	if err != nil {
		return nil, err
	}
	return &accountserver.AdminClient{BaseURL: g.server, Token: tok}, nil
}

func (g *globals) checkOutput() error {
	if g.output != outputText && g.output != outputJSON {
		return fmt.Errorf("--output must be %s or %s", outputText, outputJSON)
	}
	return nil
}
