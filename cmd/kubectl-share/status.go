package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

func newStatusCmd(o *options) *cobra.Command {
	var out string
	var all bool
	cmd := &cobra.Command{
		Use:   "status [LINK]",
		Short: "Report on a ShareLink, or one line per link of the namespace",
		Long: `status reports on one ShareLink: both accounts and whether they accept their
logins, when the provider last answered, the projects by client status, the relay's totals and
its backlog with the backlog's age, the last failures, and every condition in
words. Without LINK it prints one line per link of the namespace (-A: of every
namespace).`,
		Example: `  kubectl share status
  kubectl share status -A
  kubectl share status acme
  kubectl share status acme -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			if len(args) == 1 {
				if all {
					return fmt.Errorf("-A lists every namespace's links; give no LINK with it")
				}
				return o.statusOne(cmd.Context(), args[0], out)
			}
			return o.statusList(cmd.Context(), all, out)
		},
	}
	outputFlag(cmd, &out)
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list the links of every namespace")
	return cmd
}

// linkReport is one link's state, for people (status LINK) and scripts
// (-o json|yaml).
type linkReport struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Ready is "Ready", "not Ready", "Ready unknown" or "not reported yet".
	Ready     string `json:"ready"`
	Message   string `json:"message"`
	Suspended bool   `json:"suspended"`
	// PlanMode: spec.mode is Plan; nothing is imported or relayed.
	PlanMode bool `json:"planMode,omitempty"`
	// AutoImport off: the link refreshes only when asked.
	AutoImport bool            `json:"autoImport"`
	Interval   metav1.Duration `json:"interval"`
	Provider   accountReport   `json:"provider"`
	Account    accountReport   `json:"account"`
	// IntegrationState is idle, pending, running or error.
	IntegrationState   string       `json:"integrationState,omitempty"`
	LastContactTime    *metav1.Time `json:"lastContactTime,omitempty"`
	LastRefreshTime    *metav1.Time `json:"lastRefreshTime,omitempty"`
	LastFullImportTime *metav1.Time `json:"lastFullImportTime,omitempty"`
	LastError          string       `json:"lastError,omitempty"`
	// Projects counts the link's projects by client status.
	Projects      sharev1.ProjectCounts `json:"projects"`
	RefusedOrders int32                 `json:"refusedOrders,omitempty"`
	// UnknownAssignees are the sub-users the vendor account did not know,
	// so that it created projects unassigned (README, "Assignment rules").
	UnknownAssignees []sharev1.UnknownAssignee `json:"unknownAssignees,omitempty"`
	Relay            relayReport               `json:"relay"`
	// Requests are the requested-at annotations not handled yet.
	Requests       []string          `json:"pendingRequests,omitempty"`
	RecentFailures []failureRow      `json:"recentFailures,omitempty"`
	Conditions     []conditionReport `json:"conditions,omitempty"`
}

// accountReport is one of the link's accounts.
type accountReport struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
	// Accepted is "yes", "no" or "unknown": whether the account answers
	// and accepts the login (provider) or push key (vendor).
	Accepted string       `json:"accepted"`
	Reason   string       `json:"reason,omitempty"`
	Message  string       `json:"message,omitempty"`
	Since    *metav1.Time `json:"since,omitempty"`
}

// relayReport is the relay of the link's items to the provider.
type relayReport struct {
	Enabled bool  `json:"enabled"`
	Relayed int64 `json:"relayed"`
	Failed  int64 `json:"failed"`
	// Backlog counts items ready and not yet relayed.
	Backlog int32 `json:"backlog"`
	// OldestPendingTime is when the oldest item of the backlog became ready.
	OldestPendingTime *metav1.Time `json:"oldestPendingTime,omitempty"`
	// BacklogAge is how long the oldest item has waited, in seconds.
	BacklogAgeSeconds int64 `json:"backlogAgeSeconds,omitempty"`
}

func newLinkReport(l *sharev1.ShareLink, now time.Time) linkReport {
	ready, msg := readyWords(l.Status.Conditions)
	r := linkReport{
		Name: l.Name, Namespace: l.Namespace, Ready: ready, Message: msg,
		Suspended: l.Spec.Suspend, PlanMode: l.Spec.Planning(), AutoImport: l.Spec.AutoImportEnabled(),
		Interval:         metav1.Duration{Duration: l.Spec.RefreshInterval()},
		Provider:         accountOf(l.Spec.Provider.URL, l.Spec.Provider.SecretRef.Name, condition(l.Status.Conditions, sharev1.ConditionProviderReady)),
		Account:          accountOf(l.Spec.Account.URL, l.Spec.Account.SecretRef.Name, condition(l.Status.Conditions, sharev1.ConditionAccountReady)),
		IntegrationState: l.Status.IntegrationState,
		LastContactTime:  l.Status.LastContactTime,
		LastRefreshTime:  l.Status.LastRefreshTime, LastFullImportTime: l.Status.LastFullImportTime,
		LastError: l.Status.LastError,
		Projects:  l.Status.Projects, RefusedOrders: l.Status.RefusedOrders,
		UnknownAssignees: l.Status.UnknownAssignees,
		Relay: relayReport{
			Enabled: l.Spec.RelayEnabled(),
			Relayed: l.Status.Relay.Relayed, Failed: l.Status.Relay.Failed, Backlog: l.Status.Relay.Pending,
			OldestPendingTime: l.Status.Relay.OldestPendingTime,
		},
		RecentFailures: linkFailures(l),
		Conditions:     reportConditions(l.Status.Conditions, l.Generation),
	}
	if t := l.Status.Relay.OldestPendingTime; t != nil && l.Status.Relay.Pending > 0 {
		r.Relay.BacklogAgeSeconds = int64(max(now.Sub(t.Time), 0) / time.Second)
	}
	for _, req := range []struct{ key, handled string }{
		{sharev1.AnnotationRefreshRequestedAt, l.Status.LastHandledRefreshAt},
		{sharev1.AnnotationFullImportRequestedAt, l.Status.LastHandledFullImportAt},
		{sharev1.AnnotationRetryRequestedAt, l.Status.LastHandledRetryAt},
		{sharev1.AnnotationPlanRequestedAt, l.Status.LastHandledPlanAt},
	} {
		if v, ok := l.Annotations[req.key]; ok && v != req.handled {
			r.Requests = append(r.Requests, req.key+"="+v)
		}
	}
	return r
}

func accountOf(url, secret string, c *metav1.Condition) accountReport {
	a := accountReport{URL: url, Secret: secret, Accepted: "unknown"}
	if c == nil {
		return a
	}
	switch c.Status {
	case metav1.ConditionTrue:
		a.Accepted = "yes"
	case metav1.ConditionFalse:
		a.Accepted = "no"
	}
	a.Reason, a.Message = c.Reason, c.Message
	since := c.LastTransitionTime
	a.Since = &since
	return a
}

func (o *options) statusOne(ctx context.Context, name, out string) error {
	l, err := o.linkNamed(ctx, name)
	if err != nil {
		return err
	}
	r := newLinkReport(l, o.now())
	if out != "" {
		return printStructured(o.streams.Out, out, r)
	}
	printLinkReport(o.streams.Out, o.colors(o.streams.Out), r, o.now())
	return nil
}

func printLinkReport(w io.Writer, p palette, r linkReport, now time.Time) {
	state := r.Ready
	switch state {
	case "Ready":
		state = p.good(state)
	case "not Ready":
		state = p.bad(state)
	default:
		state = p.warn(state)
	}
	fmt.Fprintf(w, "%s %s/%s is %s: %s\n", p.bold("ShareLink"), r.Namespace, r.Name, state, r.Message)
	if r.Suspended {
		fmt.Fprintln(w, p.warn("  suspended: no calls to either account until spec.suspend is false"))
	}
	if r.PlanMode {
		fmt.Fprintln(w, p.warn(fmt.Sprintf("  Plan mode: nothing is imported or relayed; kubectl share plan %s --last shows what Live would apply", r.Name)))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, p.bold("Accounts"))
	printAccount(w, p, "provider", "login", r.Provider, now)
	printAccount(w, p, "vendor", "push key", r.Account, now)

	fmt.Fprintln(w)
	fmt.Fprintln(w, p.bold("Import"))
	mode := fmt.Sprintf("every %s", r.Interval.Duration)
	if !r.AutoImport {
		mode = "only when asked (autoImport is off)"
	}
	fmt.Fprintf(w, "  refreshes     %s; integration %s\n", mode, orDash(r.IntegrationState))
	fmt.Fprintf(w, "  contacted     %s\n", ago(r.LastContactTime, now))
	fmt.Fprintf(w, "  last change   %s (full import %s)\n", ago(r.LastRefreshTime, now), ago(r.LastFullImportTime, now))
	if r.LastError != "" {
		fmt.Fprintf(w, "  last error    %s\n", p.bad(r.LastError))
	}
	pc := r.Projects
	failed := fmt.Sprint(pc.Failed)
	if pc.Failed > 0 {
		failed = p.bad(failed)
	}
	fmt.Fprintf(w, "  projects      %d: %d active, %d cancelled, %d deleted, %s failed to apply\n",
		pc.Total, pc.Active, pc.Cancelled, pc.Deleted, failed)
	if r.RefusedOrders > 0 {
		fmt.Fprintf(w, "  refused       %s orders of the last pull could not be stored\n", p.bad(fmt.Sprint(r.RefusedOrders)))
	}
	for _, u := range r.UnknownAssignees {
		fmt.Fprintf(w, "  unassigned    %s\n", p.bad(unknownAssigneeLine(u)))
	}
	for _, req := range r.Requests {
		fmt.Fprintf(w, "  requested     %s %s\n", req, p.warn("(not handled yet)"))
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, p.bold("Relay"))
	if !r.Relay.Enabled {
		fmt.Fprintln(w, "  off (photoRelay.enabled is false)")
	} else {
		rf := fmt.Sprint(r.Relay.Failed)
		if r.Relay.Failed > 0 {
			rf = p.bad(rf)
		}
		fmt.Fprintf(w, "  items         %d relayed, %s failed\n", r.Relay.Relayed, rf)
		backlog := "none"
		if r.Relay.Backlog > 0 {
			backlog = fmt.Sprintf("%d items", r.Relay.Backlog)
			if r.Relay.OldestPendingTime != nil {
				backlog += fmt.Sprintf(", the oldest waiting %s", age(time.Duration(r.Relay.BacklogAgeSeconds)*time.Second))
			}
			backlog = p.warn(backlog)
		}
		fmt.Fprintf(w, "  backlog       %s\n", backlog)
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, p.bold("Last failures"))
	if len(r.RecentFailures) == 0 {
		fmt.Fprintln(w, "  none recorded")
	}
	for _, f := range r.RecentFailures {
		subject := ""
		if f.Subject != "" {
			subject = " " + f.Subject
		}
		fmt.Fprintf(w, "  %s%s: %s: %s\n", p.dim(ago(&f.Time, now)), subject, p.bad(words(f.Reason)), truncate(f.Message, 200))
	}
	if len(r.RecentFailures) > 0 || r.Relay.Failed > 0 {
		fmt.Fprintf(w, "  %s\n", p.dim("every failure in status, projects' included: kubectl share failures "+r.Name))
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, p.bold("Conditions"))
	for _, c := range r.Conditions {
		stale := ""
		if !c.Current {
			stale = p.warn(" (for an older generation)")
		}
		fmt.Fprintf(w, "  %s %s: %s%s\n", p.mark(c), c.Meaning, statusWords(c), stale)
		if c.Message != "" {
			fmt.Fprintf(w, "      %s (%s, for %s)\n", c.Message, c.Reason, forDuration(&c.Since, now))
		}
	}
}

// unknownAssigneeLine says which sub-user the vendor account lacks, what
// named it, and what that cost.
func unknownAssigneeLine(u sharev1.UnknownAssignee) string {
	by := "defaultAssignTo"
	switch {
	case u.Source == sharev1.AssigneeFromRule && u.Rule != nil:
		by = fmt.Sprintf("assignRules[%d]", *u.Rule)
	case u.Source == sharev1.AssigneeFromProject:
		by = "a project's assignTo"
	}
	return fmt.Sprintf("%q (%s) is not a sub-user of the vendor account: %d projects created unassigned, the last %s",
		u.AssignTo, by, u.Projects, u.LastProject)
}

func statusWords(c conditionReport) string {
	switch c.Status {
	case string(metav1.ConditionTrue):
		return "yes"
	case string(metav1.ConditionFalse):
		return "no"
	}
	return "unknown"
}

func printAccount(w io.Writer, p palette, role, what string, a accountReport, now time.Time) {
	var verdict string
	switch a.Accepted {
	case "yes":
		verdict = p.good("accepts the " + what)
	case "no":
		verdict = p.bad(fmt.Sprintf("refuses the %s: %s: %s", what, words(a.Reason), a.Message))
	default:
		verdict = p.warn("not checked yet")
		if a.Message != "" {
			verdict = p.warn(fmt.Sprintf("unknown: %s", a.Message))
		}
	}
	since := ""
	if a.Since != nil {
		since = p.dim(fmt.Sprintf(" (for %s)", forDuration(a.Since, now)))
	}
	fmt.Fprintf(w, "  %-9s %s\n            Secret %s; %s%s\n", role, a.URL, a.Secret, verdict, since)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// linkLine is one link in the namespace's list.
type linkLine struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Ready     string `json:"ready"`
	Message   string `json:"message"`
	Suspended bool   `json:"suspended,omitempty"`
	// Projects counts the link's projects by client status.
	Projects        sharev1.ProjectCounts `json:"projects"`
	RelayFailed     int64                 `json:"relayFailed"`
	Backlog         int32                 `json:"backlog"`
	LastContactTime *metav1.Time          `json:"lastContactTime,omitempty"`
}

func (o *options) statusList(ctx context.Context, all bool, out string) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	var opts []client.ListOption
	ns := ""
	if !all {
		if ns, err = o.namespace(); err != nil {
			return err
		}
		opts = append(opts, client.InNamespace(ns))
	}
	var list sharev1.ShareLinkList
	if err := c.List(ctx, &list, opts...); err != nil {
		return o.explain(fmt.Errorf("listing ShareLinks: %w", err))
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
	lines := make([]linkLine, 0, len(list.Items))
	for i := range list.Items {
		l := &list.Items[i]
		ready, msg := readyWords(l.Status.Conditions)
		lines = append(lines, linkLine{
			Namespace: l.Namespace, Name: l.Name, Ready: ready, Message: msg, Suspended: l.Spec.Suspend,
			Projects: l.Status.Projects, RelayFailed: l.Status.Relay.Failed, Backlog: l.Status.Relay.Pending,
			LastContactTime: l.Status.LastContactTime,
		})
	}
	if out != "" {
		return printStructured(o.streams.Out, out, lines)
	}
	if len(lines) == 0 {
		if all {
			fmt.Fprintln(o.streams.ErrOut, "No ShareLinks found in any namespace.")
		} else {
			fmt.Fprintf(o.streams.ErrOut, "No ShareLinks found in namespace %s.\n", ns)
		}
		return nil
	}
	p := o.colors(o.streams.Out)
	tw := newTable(o.streams.Out)
	if all {
		fmt.Fprint(tw, "NAMESPACE\t")
	}
	fmt.Fprintln(tw, "NAME\tREADY\tPROJECTS\tCANCELLED\tDELETED\tFAILED\tRELAY FAILED\tBACKLOG\tCONTACTED\tMESSAGE")
	now := o.now()
	for i, l := range lines {
		if all {
			fmt.Fprintf(tw, "%s\t", l.Namespace)
		}
		msg := l.Message
		if l.Suspended {
			msg = "suspended; " + msg
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", l.Name, p.ready(list.Items[i].Status.Conditions),
			l.Projects.Total, l.Projects.Cancelled, l.Projects.Deleted, l.Projects.Failed,
			l.RelayFailed, l.Backlog, strings.TrimSuffix(ago(l.LastContactTime, now), " ago"), truncate(msg, 80))
	}
	return tw.Flush()
}
