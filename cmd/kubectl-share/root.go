package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// Exit statuses. Scripts tell a link that is not Ready from a wait that ran
// out of time.
const (
	exitOK = 0
	// exitFailed: the command failed, or the link is not Ready.
	exitFailed = 1
	// exitTimeout: refresh --wait ran out of --timeout before the link
	// handled the request.
	exitTimeout = 2
)

// exitError carries an exit status other than exitFailed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// silentExit ends the command with a status and no further message: the
// command has already said why.
type silentExit struct{ code int }

func (e *silentExit) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run runs the plugin with args and returns its exit status.
func run(ctx context.Context, args []string, streams genericiooptions.IOStreams) int {
	o := newOptions(streams)
	root := newRootCmd(o)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var silent *silentExit
	var coded *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &silent):
		return silent.code
	case errors.As(err, &coded):
		fmt.Fprintln(streams.ErrOut, "error:", err)
		return coded.code
	default:
		fmt.Fprintln(streams.ErrOut, "error:", err)
		return exitFailed
	}
}

// options are what every subcommand shares: the kubeconfig flags of
// kubectl, the streams, colour and the clock.
type options struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	color   string
	now     func() time.Time

	c client.WithWatch
}

func newOptions(streams genericiooptions.IOStreams) *options {
	return &options{
		flags:   genericclioptions.NewConfigFlags(true),
		streams: streams,
		color:   "auto",
		now:     time.Now,
	}
}

func newRootCmd(o *options) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl-share",
		Short: "Refresh, inspect and repair share-operator's ShareLinks",
		Long: `kubectl share works with share-operator's ShareLinks and SharedProjects in the
namespace of your kubeconfig context (or -n): it asks a link for a refresh and
follows it to the end, reports a link's health, lists its projects and its
failures, asks for retries, and prints the link's push-key bookmark.

Exit status: 0 on success; 1 when the command failed or, for refresh --wait,
the link ended not Ready; 2 when refresh --wait ran out of --timeout.`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl share"},
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			switch o.color {
			case "auto", "always", "never":
				return nil
			}
			return fmt.Errorf("--color must be auto, always or never, not %q", o.color)
		},
	}
	root.SetIn(o.streams.In)
	root.SetOut(o.streams.Out)
	root.SetErr(o.streams.ErrOut)
	o.flags.AddFlags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&o.color, "color", o.color,
		"colour the output: auto (only on a terminal, and not when NO_COLOR is set), always or never")
	root.AddCommand(
		newRefreshCmd(o),
		newStatusCmd(o),
		newProjectsCmd(o),
		newFailuresCmd(o),
		newRetryCmd(o),
		newBookmarkCmd(o),
		newPlanCmd(o),
	)
	return root
}

// scheme knows the share.pruvan.io kinds and core/v1 (the push-key Secret).
func scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := sharev1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// client is a direct client of the cluster of the kubeconfig context: no
// cache, every read goes to the API server.
func (o *options) client() (client.WithWatch, error) {
	if o.c != nil {
		return o.c, nil
	}
	cfg, err := o.flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 20, 40
	cfg.UserAgent = "kubectl-share"
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme()})
	if err != nil {
		return nil, o.explain(err)
	}
	o.c = c
	return c, nil
}

// namespace is -n, else the context's namespace, else "default".
func (o *options) namespace() (string, error) {
	ns, _, err := o.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("kubeconfig: %w", err)
	}
	return ns, nil
}

// explain turns the API server's answers a person meets most often into
// sentences that say what to do.
func (o *options) explain(err error) error {
	if err == nil {
		return nil
	}
	if meta.IsNoMatchError(err) || isMissingResource(err) {
		where := "this cluster"
		if ctx := o.contextName(); ctx != "" {
			where = fmt.Sprintf("the cluster of context %q", ctx)
		}
		return fmt.Errorf("the share.pruvan.io CRDs are not installed in %s (no ShareLink or SharedProject kind in %s): "+
			"install share-operator first (helm install share-operator charts/share-operator, make deploy, or kubectl apply -k config/crd)",
			where, sharev1.GroupVersion)
	}
	return err
}

// isMissingResource: a 404 for a whole resource rather than for one object,
// which an API server without the CRD answers to a list.
func isMissingResource(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !apierrors.IsNotFound(err) {
		return false
	}
	d := status.Status().Details
	return d == nil || d.Name == ""
}

func (o *options) contextName() string {
	if o.flags.Context != nil && *o.flags.Context != "" {
		return *o.flags.Context
	}
	raw, err := o.flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	return raw.CurrentContext
}

// getLink reads a link, or says clearly that it does not exist.
// linkNamed reads a link of the namespace the flags and kubeconfig select.
func (o *options) linkNamed(ctx context.Context, name string) (*sharev1.ShareLink, error) {
	ns, err := o.namespace()
	if err != nil {
		return nil, err
	}
	return o.getLink(ctx, ns, name)
}

func (o *options) getLink(ctx context.Context, ns, name string) (*sharev1.ShareLink, error) {
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	l := &sharev1.ShareLink{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, l); err != nil {
		if apierrors.IsNotFound(err) && !isMissingResource(err) {
			return nil, fmt.Errorf("ShareLink %q not found in namespace %q (kubectl share status lists the namespace's links; -n picks another namespace)", name, ns)
		}
		return nil, o.explain(fmt.Errorf("reading ShareLink %s/%s: %w", ns, name, err))
	}
	return l, nil
}

// colors says whether to colour what goes to w.
func (o *options) colors(w io.Writer) palette {
	switch o.color {
	case "always":
		return palette{on: true}
	case "never":
		return palette{}
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return palette{}
	}
	return palette{on: isTerminal(w)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth is w's width in columns, or 0 when w is no terminal.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

// palette colours text with ANSI escapes when on.
type palette struct{ on bool }

func (p palette) wrap(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p palette) good(s string) string { return p.wrap("32", s) }
func (p palette) bad(s string) string  { return p.wrap("31", s) }
func (p palette) warn(s string) string { return p.wrap("33", s) }
func (p palette) dim(s string) string  { return p.wrap("2", s) }
func (p palette) bold(s string) string { return p.wrap("1", s) }

// outputFlag adds -o to a read command.
func outputFlag(cmd *cobra.Command, out *string) {
	cmd.Flags().StringVarP(out, "output", "o", "", "output format: json or yaml (default: a report for people)")
}

func checkOutput(out string) error {
	switch strings.ToLower(out) {
	case "", "json", "yaml":
		return nil
	}
	return fmt.Errorf("unknown output format %q: use -o json or -o yaml", out)
}
