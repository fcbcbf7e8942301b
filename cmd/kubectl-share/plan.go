package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

func newPlanCmd(o *options) *cobra.Command {
	po := planOptions{timeout: 5 * time.Minute}
	cmd := &cobra.Command{
		Use:   "plan LINK",
		Short: "Show what a full import of a link would do now, without applying it",
		Long: `plan sets the link's share.pruvan.io/plan-requested-at annotation, waits until
the operator has answered it, and prints the plan: how many orders a full import
would create, update, mark Cancelled or Deleted, adopt, leave unchanged or
refuse, and the first 50 of them with the fields that would change (the vendor's
value, then the one the push would send).

Nothing is applied. On a link in Live mode the plan shows the drift from the
provider that the next full import applies; on a link in Plan mode (spec.mode:
Plan) it shows what setting spec.mode to Live would apply.

It exits 0 when the plan is printed; 1 when the link could not compute it (or
is suspended); 2 when --timeout passed first. With --last it prints the link's
last plan without asking for a new one.`,
		Example: `  kubectl share plan acme
  kubectl share plan acme --last
  kubectl share plan acme -o yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(po.out); err != nil {
				return err
			}
			if po.timeout <= 0 {
				return fmt.Errorf("--timeout must be positive")
			}
			return o.plan(cmd.Context(), args[0], po)
		},
	}
	cmd.Flags().BoolVar(&po.last, "last", false, "print the link's last plan; ask for no new one")
	cmd.Flags().DurationVar(&po.timeout, "timeout", po.timeout, "how long to wait for the plan")
	outputFlag(cmd, &po.out)
	return cmd
}

type planOptions struct {
	last    bool
	timeout time.Duration
	out     string
}

func (o *options) plan(ctx context.Context, name string, po planOptions) error {
	l, err := o.linkNamed(ctx, name)
	if err != nil {
		return err
	}
	if !po.last {
		if l.Spec.Suspend {
			return fmt.Errorf("ShareLink %s is suspended: it computes no plan until spec.suspend is false", name)
		}
		value := requestValue(o.now())
		if err := o.annotate(ctx, l, sharev1.AnnotationPlanRequestedAt, value); err != nil {
			return err
		}
		fmt.Fprintf(o.streams.ErrOut, "Asked ShareLink %s/%s for a plan: %s=%s\n", l.Namespace, name, sharev1.AnnotationPlanRequestedAt, value)
		if l, err = o.waitPlan(ctx, l, value, po.timeout); err != nil {
			return err
		}
	}
	if l.Status.Plan == nil {
		return fmt.Errorf("ShareLink %s has no plan yet: run kubectl share plan %s without --last", name, name)
	}
	if po.out != "" {
		return printStructured(o.streams.Out, po.out, l.Status.Plan)
	}
	printPlan(o.streams.Out, o.colors(o.streams.Out), l)
	return nil
}

// planPoll is how often the wait reads the link.
const planPoll = 500 * time.Millisecond

// waitPlan reads the link until its status says it answered value, it
// stalls, or timeout passes.
func (o *options) waitPlan(ctx context.Context, l *sharev1.ShareLink, value string, timeout time.Duration) (*sharev1.ShareLink, error) {
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	start := o.now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(planPoll)
	defer tick.Stop()
	var cur *sharev1.ShareLink
	for {
		now := &sharev1.ShareLink{}
		getCtx, cancel := context.WithTimeout(ctx, readTimeout)
		err := c.Get(getCtx, client.ObjectKeyFromObject(l), now)
		cancel()
		switch {
		case err == nil:
			cur = now
			if cur.Status.LastHandledPlanAt == value {
				return cur, nil
			}
			if st := condition(cur.Status.Conditions, sharev1.ConditionStalled); st != nil && st.Status == metav1.ConditionTrue && !st.LastTransitionTime.Time.Before(start.Add(-time.Second)) {
				return nil, fmt.Errorf("ShareLink %s is stalled and needs a person: %s: %s (kubectl share status %s)", l.Name, words(st.Reason), st.Message, l.Name)
			}
		case apierrors.IsNotFound(err):
			return nil, fmt.Errorf("ShareLink %s was deleted while waiting", l.Name)
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			msg := "the operator has not answered the request"
			if cur != nil {
				state, m := readyWords(cur.Status.Conditions)
				msg += fmt.Sprintf("; ShareLink %s is %s: %s", l.Name, state, m)
			}
			return nil, &exitError{code: exitTimeout, err: fmt.Errorf("timed out after %s: %s", o.now().Sub(start).Round(time.Second), msg)}
		case <-tick.C:
		}
	}
}

// printPlan tells the plan: when and from what it was computed, the
// counts, then an order a line with its changes below it.
func printPlan(w io.Writer, p palette, l *sharev1.ShareLink) {
	plan := l.Status.Plan
	mode := l.Spec.Mode
	if mode == "" {
		mode = sharev1.LinkModeLive
	}
	fmt.Fprintf(w, "Plan of ShareLink %s/%s (%s mode), computed %s from the provider's orders as of %s\n",
		l.Namespace, l.Name, p.bold(string(mode)), plan.ComputedTime.UTC().Format(time.RFC3339),
		time.Unix(plan.Watermark, 0).UTC().Format(time.RFC3339))
	tw := newTable(w)
	c := plan.Counts
	for _, row := range []struct {
		label string
		n     int32
	}{
		{"create", c.Create}, {"update", c.Update}, {"cancel", c.Cancel}, {"delete", c.Delete},
		{"adopt", c.Adopt}, {"unchanged", c.Unchanged}, {"refuse", c.Refused},
	} {
		n := fmt.Sprint(row.n)
		if row.label == "refuse" && row.n > 0 {
			n = p.bad(n)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", row.label, n)
	}
	_ = tw.Flush()
	if len(plan.Entries) > 0 {
		fmt.Fprintln(w)
		printPlanEntries(w, p, plan.Entries)
	}
	if plan.Truncated > 0 {
		fmt.Fprintf(w, "  … and %d more orders (status.plan lists the first %d)\n", plan.Truncated, sharev1.MaxPlanEntries)
	}
	fmt.Fprintln(w, planFooter(l))
}

func printPlanEntries(w io.Writer, p palette, entries []sharev1.PlanEntry) {
	width := 0
	for _, e := range entries {
		width = max(width, len([]rune(e.Number)))
	}
	for _, e := range entries {
		lines := entryLines(e)
		pad := strings.Repeat(" ", width-len([]rune(e.Number)))
		fmt.Fprintf(w, "  %s%s  %s %s\n", e.Number, pad, actionWord(p, e.Action), firstOr(lines, ""))
		for _, line := range lines[min(1, len(lines)):] {
			fmt.Fprintf(w, "  %s  %-9s %s\n", strings.Repeat(" ", width), "", line)
		}
	}
}

// entryLines says what the import would do to the order, a line per field.
func entryLines(e sharev1.PlanEntry) []string {
	var lines []string
	switch e.Action {
	case sharev1.PlanCreate:
		var parts []string
		if e.AssignTo != "" {
			who := "assigned to " + e.AssignTo
			if e.AssignRule != nil {
				who += fmt.Sprintf(" (assignRules[%d])", *e.AssignRule)
			}
			parts = append(parts, who)
		}
		if e.WorkType != "" {
			parts = append(parts, "work type "+e.WorkType)
		}
		if len(parts) > 0 {
			lines = append(lines, strings.Join(parts, ", "))
		}
	case sharev1.PlanRefuse:
		lines = append(lines, e.Reason)
	}
	for _, ch := range e.Changes {
		lines = append(lines, fmt.Sprintf("%s: %s → %s", ch.Field, quoted(ch.Old), quoted(ch.New)))
	}
	if e.MoreChanges > 0 {
		lines = append(lines, fmt.Sprintf("and %d more fields", e.MoreChanges))
	}
	return lines
}

// quoted shows a value, "" for none, so that a cleared field reads as one.
func quoted(s string) string { return fmt.Sprintf("%q", s) }

// actionWord is the action, padded to a column and coloured.
func actionWord(p palette, action string) string {
	padded := fmt.Sprintf("%-9s", action)
	switch action {
	case sharev1.PlanRefuse, sharev1.PlanDelete:
		return p.bad(padded)
	case sharev1.PlanCancel, sharev1.PlanUpdate:
		return p.warn(padded)
	}
	return p.good(padded)
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

// planFooter says that nothing was applied, and what would apply it.
func planFooter(l *sharev1.ShareLink) string {
	if l.Spec.Planning() {
		return fmt.Sprintf("Nothing was applied: ShareLink %s is in Plan mode. To apply, set spec.mode: Live (kubectl patch sharelink %s --type merge -p '{\"spec\":{\"mode\":\"Live\"}}').", l.Name, l.Name)
	}
	return fmt.Sprintf("Nothing was applied. The next full import of ShareLink %s applies this (kubectl share refresh %s --full --wait).", l.Name, l.Name)
}
