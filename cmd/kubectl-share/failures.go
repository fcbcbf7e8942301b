package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// Where a failure is recorded.
const (
	// failureLink: the link's status.recentFailures (import and apply
	// refusals, failed calls).
	failureLink = "link"
	// failureRelay: a project's status.relay.recentFailures.
	failureRelay = "relay"
	// failureApply: a project whose last apply the vendor account refused.
	failureApply = "apply"
)

// failureRow is one recorded failure.
type failureRow struct {
	Time metav1.Time `json:"time"`
	// Kind is link, relay or apply: where status records it.
	Kind string `json:"kind"`
	// Object is the ShareLink or SharedProject that records it.
	Object  string `json:"object"`
	Subject string `json:"subject,omitempty"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func linkFailures(l *sharev1.ShareLink) []failureRow {
	out := make([]failureRow, 0, len(l.Status.RecentFailures))
	for _, f := range l.Status.RecentFailures {
		out = append(out, failureRow{Time: f.Time, Kind: failureLink, Object: "ShareLink/" + l.Name,
			Subject: f.Subject, Reason: f.Reason, Message: f.Message})
	}
	return out
}

// projectFailures are a project's failed relay items and its refused apply.
func projectFailures(p *sharev1.SharedProject) []failureRow {
	var out []failureRow
	for _, f := range p.Status.Relay.RecentFailures {
		out = append(out, failureRow{Time: f.Time, Kind: failureRelay, Object: "SharedProject/" + p.Name,
			Subject: f.Subject, Reason: f.Reason, Message: f.Message})
	}
	if c := condition(p.Status.Conditions, sharev1.ConditionApplied); c != nil && c.Status == metav1.ConditionFalse &&
		c.Reason != sharev1.ReasonSuspended && c.Reason != sharev1.ReasonProgressing {
		out = append(out, failureRow{Time: c.LastTransitionTime, Kind: failureApply, Object: "SharedProject/" + p.Name,
			Subject: p.Spec.WorkOrderNumber, Reason: c.Reason, Message: c.Message})
	}
	return out
}

// failuresReport is every failure a link's status and its projects' record.
type failuresReport struct {
	Link      string       `json:"link"`
	Namespace string       `json:"namespace"`
	Failures  []failureRow `json:"failures"`
	// RelayFailed is the link's count of items the provider refused;
	// status keeps the details of each for a retention period only.
	RelayFailed int64 `json:"relayFailed"`
	// ProjectsFailed counts the link's projects whose last apply failed.
	ProjectsFailed int32 `json:"projectsFailed"`
}

func newFailuresCmd(o *options) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "failures LINK",
		Short: "List every failure a link and its projects record: relay items, refused applies, failed calls",
		Long: `failures lists every failure that a ShareLink and its SharedProjects record in
status, newest first, with its time, the object that records it, the subject
(a work-order number or an item uuid), the reason and the message:
  link   the link's status.recentFailures: orders the import or the vendor
         account refused, calls that failed
  relay  a project's status.relay.recentFailures: items the provider refused
  apply  a project whose last apply the vendor account refused

Status keeps each failure for 7 days, until a retry clears it (a project's
relay failures, once a retry of the project or the link is handled; an item
that relays leaves the list too), at most 20 on the link and 50 on each
project; the totals (relay failed, projects failed) count them all.

Retry failed relay items with kubectl share retry LINK --all-failed (or one
project); a refused apply is pushed again by a full import
(kubectl share refresh LINK --full).`,
		Example: `  kubectl share failures acme
  kubectl share failures acme -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			return o.failures(cmd.Context(), args[0], out)
		},
	}
	outputFlag(cmd, &out)
	return cmd
}

func (o *options) failures(ctx context.Context, name, out string) error {
	l, err := o.linkNamed(ctx, name)
	if err != nil {
		return err
	}
	r := failuresReport{Link: l.Name, Namespace: l.Namespace, Failures: linkFailures(l),
		RelayFailed: l.Status.Relay.Failed, ProjectsFailed: l.Status.Projects.Failed}
	err = o.eachProject(ctx, l.Namespace, projectQuery{link: l.Name}, func(p *sharev1.SharedProject) {
		r.Failures = append(r.Failures, projectFailures(p)...)
	})
	if err != nil {
		return err
	}
	r.Failures = dedupFailures(r.Failures)
	sort.SliceStable(r.Failures, func(i, j int) bool { return r.Failures[j].Time.Before(&r.Failures[i].Time) })
	if out != "" {
		return printStructured(o.streams.Out, out, r)
	}
	w := o.streams.Out
	p := o.colors(w)
	if len(r.Failures) == 0 {
		fmt.Fprintf(w, "No failures recorded for ShareLink %s/%s or its projects.\n", l.Namespace, name)
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "AGE\tKIND\tOBJECT\tSUBJECT\tREASON\tMESSAGE")
	now := o.now()
	for _, f := range r.Failures {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ago(&f.Time, now), f.Kind, f.Object, orDash(f.Subject),
			p.bad(f.Reason), truncate(f.Message, 120))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d items failed to relay in all; %d projects failed to apply. Status keeps each failure for %s or until a retry clears it, at most %d on the link and %d on each project.\n",
		r.RelayFailed, r.ProjectsFailed, retentionWords(sharev1.FailureRetention), sharev1.MaxLinkFailures, sharev1.MaxProjectFailures)
	fmt.Fprintf(w, "Retry the relay: kubectl share retry %s --all-failed (or one project); a refused apply goes again with kubectl share refresh %s --full\n", name, name)
	return nil
}

// retentionWords says a retention in days when it is a whole number of them.
func retentionWords(d time.Duration) string {
	if day := 24 * time.Hour; d >= day && d%day == 0 {
		if d == day {
			return "1 day"
		}
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

// dedupFailures drops a project's refused apply that the link's own list
// already tells (the link records each push refusal too).
func dedupFailures(in []failureRow) []failureRow {
	told := map[string]bool{}
	for _, f := range in {
		if f.Kind == failureLink {
			told[f.Subject+"\x00"+f.Message] = true
		}
	}
	out := in[:0]
	for _, f := range in {
		if f.Kind == failureApply && told[f.Subject+"\x00"+f.Message] {
			continue
		}
		out = append(out, f)
	}
	return out
}

func newRetryCmd(o *options) *cobra.Command {
	var allFailed bool
	cmd := &cobra.Command{
		Use:   "retry LINK (--all-failed | PROJECT)",
		Short: "Ask for another try of failed relay items: of the whole link, or of one project",
		Long: `retry sets the share.pruvan.io/retry-requested-at annotation: on the ShareLink
with --all-failed, so every failed item of the link relays again; or on one
SharedProject, named by its SharedProject name or its work-order number. The
operator records the value it handled in status.lastHandledRetryAt.

A refused apply is not a relay failure: a full import pushes every project
again (kubectl share refresh LINK --full).`,
		Example: `  kubectl share retry acme --all-failed
  kubectl share retry acme 1001
  kubectl share retry acme acme-1001-3f2a9c41d0`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case allFailed && len(args) == 2:
				return fmt.Errorf("give --all-failed or a PROJECT, not both")
			case !allFailed && len(args) == 1:
				return fmt.Errorf("give --all-failed to retry every failed item of %s, or a PROJECT (name or work-order number) to retry one", args[0])
			}
			project := ""
			if len(args) == 2 {
				project = args[1]
			}
			return o.retry(cmd.Context(), args[0], project)
		},
	}
	cmd.Flags().BoolVar(&allFailed, "all-failed", false, "retry every failed item of the link")
	return cmd
}

func (o *options) retry(ctx context.Context, linkName, project string) error {
	ns, err := o.namespace()
	if err != nil {
		return err
	}
	l, err := o.getLink(ctx, ns, linkName)
	if err != nil {
		return err
	}
	value := requestValue(o.now())
	var target client.Object = l
	failed := l.Status.Relay.Failed
	if project != "" {
		p, err := o.findProject(ctx, l, project)
		if err != nil {
			return err
		}
		target, failed = p, int64(p.Status.Relay.Failed)
	}
	if err := o.annotate(ctx, target, sharev1.AnnotationRetryRequestedAt, value); err != nil {
		return err
	}
	kind := "ShareLink"
	if project != "" {
		kind = "SharedProject"
	}
	fmt.Fprintf(o.streams.Out, "Asked %s %s/%s to retry its failed items (%d failed): %s=%s\n",
		kind, ns, target.GetName(), failed, sharev1.AnnotationRetryRequestedAt, value)
	if l.Spec.Suspend {
		fmt.Fprintf(o.streams.ErrOut, "warning: ShareLink %s is suspended: the retry runs once spec.suspend is false\n", l.Name)
	}
	return nil
}

// findProject finds one of the link's projects by SharedProject name or by
// work-order number.
func (o *options) findProject(ctx context.Context, l *sharev1.ShareLink, project string) (*sharev1.SharedProject, error) {
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	for _, name := range []string{project, sharev1.SharedProjectName(l.Name, project)} {
		p := &sharev1.SharedProject{}
		err := c.Get(ctx, client.ObjectKey{Namespace: l.Namespace, Name: name}, p)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, o.explain(fmt.Errorf("reading SharedProject %s: %w", name, err))
		}
		if p.Spec.LinkName != l.Name {
			return nil, fmt.Errorf("SharedProject %s belongs to ShareLink %s, not %s", p.Name, p.Spec.LinkName, l.Name)
		}
		return p, nil
	}
	return nil, fmt.Errorf("ShareLink %s has no project %q, by SharedProject name or work-order number (kubectl share projects %s lists them)",
		l.Name, project, l.Name)
}

// requestValue is a requested-at annotation value: a timestamp to the
// millisecond, well within the operator's 64 characters.
func requestValue(now time.Time) string { return now.UTC().Format("2006-01-02T15:04:05.000Z") }

// annotate sets one annotation with a merge patch, which needs no
// resourceVersion and leaves every other field alone.
func (o *options) annotate(ctx context.Context, obj client.Object, key, value string) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if err != nil {
		return err
	}
	if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return o.explain(fmt.Errorf("annotating %s: %w", obj.GetName(), err))
	}
	return nil
}
