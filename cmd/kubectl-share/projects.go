package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// clientStatusActive selects every project the provider still assigns.
const clientStatusActive = "Active"

// fieldClientStatus is the SharedProject CRD's selectable field
// (selectableFields), so the API server selects by client status.
const fieldClientStatus = "status.clientStatus"

// projectQuery selects projects of one link.
//
// The API server selects both: the link by label (share.pruvan.io/link),
// the client status by the selectable field status.clientStatus, the status
// last applied (a project not applied yet has none and counts as active, as
// the link's counts do). On a cluster that cannot select by the field,
// eachProject matches it after the list instead.
type projectQuery struct {
	link         string
	clientStatus string
}

// selector is what the API server selects by.
func (q projectQuery) selector() *client.ListOptions {
	return &client.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{sharev1.LabelLink: q.link}),
		FieldSelector: clientStatusSelector(q.clientStatus),
	}
}

// clientStatusSelector is the field selector of a --client-status value, nil
// for none. Active is every status but Cancelled and Deleted; those three
// are matched in any case, since field selectors compare exactly; any other
// status is the provider's own, compared as the provider spells it.
func clientStatusSelector(status string) fields.Selector {
	switch {
	case status == "":
		return nil
	case strings.EqualFold(status, clientStatusActive):
		return fields.AndSelectors(
			fields.OneTermNotEqualSelector(fieldClientStatus, sharev1.ClientStatusCancelled),
			fields.OneTermNotEqualSelector(fieldClientStatus, sharev1.ClientStatusDeleted))
	case strings.EqualFold(status, sharev1.ClientStatusCancelled):
		status = sharev1.ClientStatusCancelled
	case strings.EqualFold(status, sharev1.ClientStatusDeleted):
		status = sharev1.ClientStatusDeleted
	}
	return fields.OneTermEqualSelector(fieldClientStatus, status)
}

// matches guards against a project labelled for another link.
func (q projectQuery) matches(p *sharev1.SharedProject) bool {
	return p.Spec.LinkName == q.link
}

// clientStatusOf is the client status last applied, or the provider's when
// the project is not applied yet.
func clientStatusOf(p *sharev1.SharedProject) string {
	if p.Status.Created {
		return p.Status.ClientStatus
	}
	if p.Spec.Upstream != nil {
		return p.Spec.Upstream.ClientStatus
	}
	return ""
}

// listPage bounds one list call, so a link of 10,000 projects is read in
// pages rather than in one answer.
const listPage = 500

// eachProject calls fn for each project the query selects, page by page.
func (o *options) eachProject(ctx context.Context, ns string, q projectQuery, fn func(*sharev1.SharedProject)) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	sel := q.selector()
	// here selects what the API server could not: the client status, on a
	// cluster older than selectable fields (before Kubernetes 1.31, or a CRD
	// installed without them).
	var here fields.Selector
	cont := ""
	for {
		var list sharev1.SharedProjectList
		err := c.List(ctx, &list, client.InNamespace(ns), sel, client.Limit(listPage), client.Continue(cont))
		if err != nil && sel.FieldSelector != nil && cont == "" && isUnsupportedField(err) {
			here, sel.FieldSelector = sel.FieldSelector, nil
			continue
		}
		if err != nil {
			return o.explain(fmt.Errorf("listing the SharedProjects of %s: %w", q.link, err))
		}
		for i := range list.Items {
			p := &list.Items[i]
			if q.matches(p) && (here == nil || here.Matches(fields.Set{fieldClientStatus: p.Status.ClientStatus})) {
				fn(p)
			}
		}
		if cont = list.Continue; cont == "" {
			return nil
		}
	}
}

// isUnsupportedField is the API server's answer to a field selector on a
// field the CRD does not declare selectable.
func isUnsupportedField(err error) bool {
	return apierrors.IsBadRequest(err) && strings.Contains(err.Error(), "field label not supported")
}

// projectLine is one project as projects lists it.
type projectLine struct {
	Name            string       `json:"name"`
	WorkOrderNumber string       `json:"workOrderNumber"`
	Project         string       `json:"project,omitempty"`
	ClientStatus    string       `json:"clientStatus"`
	Ready           string       `json:"ready"`
	Message         string       `json:"message,omitempty"`
	LastAppliedTime *metav1.Time `json:"lastAppliedTime,omitempty"`
	RelayFailed     int32        `json:"relayFailed,omitempty"`
	Suspended       bool         `json:"suspended,omitempty"`
}

func newProjectsCmd(o *options) *cobra.Command {
	var out, clientStatus string
	cmd := &cobra.Command{
		Use:   "projects LINK",
		Short: "List a link's projects with their client status and last apply",
		Long: `projects lists the SharedProjects of a ShareLink: the vendor-side project, the
client status last applied, Ready and its message, and when the project was
last written to the vendor account.

--client-status selects one client status: Cancelled, Deleted, Active for
every project the provider still assigns (any status but Cancelled and
Deleted, and projects not applied yet), or the provider's own status as the
provider spells it (Assigned, ...). Cancelled, Deleted and Active match in
any case. The API server selects, by the SharedProject's selectable field
status.clientStatus (the status last applied), so plain kubectl can too:
  kubectl get sharedprojects --field-selector status.clientStatus=Cancelled`,
		Example: `  kubectl share projects acme
  kubectl share projects acme --client-status Cancelled
  kubectl share projects acme --client-status Active -o yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			return o.projects(cmd.Context(), projectQuery{link: args[0], clientStatus: clientStatus}, out)
		},
	}
	outputFlag(cmd, &out)
	cmd.Flags().StringVar(&clientStatus, "client-status", "", "only projects of this client status, selected by the API server (Cancelled, Deleted, Active for any other, or the provider's own)")
	return cmd
}

func (o *options) projects(ctx context.Context, q projectQuery, out string) error {
	ns, err := o.namespace()
	if err != nil {
		return err
	}
	if _, err := o.getLink(ctx, ns, q.link); err != nil {
		return err
	}
	var lines []projectLine
	var conds [][]metav1.Condition
	err = o.eachProject(ctx, ns, q, func(p *sharev1.SharedProject) {
		ready, msg := readyWords(p.Status.Conditions)
		lines = append(lines, projectLine{
			Name: p.Name, WorkOrderNumber: p.Spec.WorkOrderNumber, Project: p.Status.Project,
			ClientStatus: clientStatusOf(p), Ready: ready, Message: msg,
			LastAppliedTime: p.Status.LastAppliedTime, RelayFailed: p.Status.Relay.Failed, Suspended: p.Spec.Suspend,
		})
		conds = append(conds, p.Status.Conditions)
	})
	if err != nil {
		return err
	}
	idx := make([]int, len(lines))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lines[idx[a]].WorkOrderNumber < lines[idx[b]].WorkOrderNumber })
	sorted := make([]projectLine, len(lines))
	sortedConds := make([][]metav1.Condition, len(lines))
	for i, j := range idx {
		sorted[i], sortedConds[i] = lines[j], conds[j]
	}
	if out != "" {
		return printStructured(o.streams.Out, out, sorted)
	}
	if len(sorted) == 0 {
		what := "projects"
		if q.clientStatus != "" {
			what = "projects with client status " + q.clientStatus
		}
		fmt.Fprintf(o.streams.ErrOut, "ShareLink %s/%s has no %s.\n", ns, q.link, what)
		return nil
	}
	p := o.colors(o.streams.Out)
	tw := newTable(o.streams.Out)
	fmt.Fprintln(tw, "NUMBER\tPROJECT\tCLIENT STATUS\tREADY\tLAST APPLIED\tNAME\tMESSAGE")
	now := o.now()
	for i, l := range sorted {
		msg := l.Message
		if l.Suspended {
			msg = "suspended; " + msg
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.WorkOrderNumber, orDash(l.Project), orDash(l.ClientStatus),
			p.ready(sortedConds[i]), ago(l.LastAppliedTime, now), l.Name, truncate(msg, 80))
	}
	return tw.Flush()
}
