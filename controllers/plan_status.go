package controllers

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// planConcerns are Ready's concerns in Plan mode: the plan stands for the
// import, which does not run.
var planConcerns = []string{sharev1.ConditionProviderReady, sharev1.ConditionAccountReady, sharev1.ConditionPlanned}

// concernsOf are the conditions Ready sums up for the link's mode.
func concernsOf(link *sharev1.ShareLink) []string {
	if link.Spec.Planning() {
		return planConcerns
	}
	return linkConcerns
}

// setReadyPlanned: a link in Plan mode whose plan is computed is as its
// spec asks (it shows, it does not apply): Ready True, reason Planned, so
// that kstatus reads Current and Argo CD Healthy, and kubectl get's Status
// column says the mode and what the plan would do.
func setReadyPlanned(link *sharev1.ShareLink) {
	sharev1.SetCondition(link, sharev1.ConditionReady, metav1.ConditionTrue, sharev1.ReasonPlanned, "Plan mode: "+planSummary(link.Status.Plan))
}

// setPlanned says the plan is computed, with its counts. In Plan mode the
// plan is the link's work, so its success clears the last error; a live
// link's import says its own.
func setPlanned(link *sharev1.ShareLink) {
	if link.Spec.Planning() {
		link.Status.LastError = ""
		link.Status.IntegrationState = sharev1.IntegrationIdle
	}
	sharev1.SetCondition(link, sharev1.ConditionPlanned, metav1.ConditionTrue, sharev1.ReasonSucceeded, planSummary(link.Status.Plan))
}

// setPlanRunning shows the plan's computation as work under way.
func setPlanRunning(link *sharev1.ShareLink) {
	const msg = "computing a plan of what a full import would do"
	sharev1.SetCondition(link, sharev1.ConditionReconciling, metav1.ConditionTrue, sharev1.ReasonProgressing, msg)
	setReadyProgressing(link, msg)
}

// planSummary is "a full import would create 3, update 1, adopt 2 (10
// unchanged); nothing applied".
func planSummary(p *sharev1.LinkPlan) string {
	if p == nil {
		return "no plan computed yet"
	}
	c := p.Counts
	var parts []string
	for _, n := range []struct {
		verb  string
		count int32
	}{
		{"create", c.Create}, {"update", c.Update}, {"cancel", c.Cancel}, {"delete", c.Delete},
		{"adopt", c.Adopt}, {"refuse", c.Refused},
	} {
		if n.count > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", n.verb, n.count))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("a full import would change nothing (%d unchanged)", c.Unchanged)
	}
	return fmt.Sprintf("a full import would %s (%d unchanged); nothing applied", strings.Join(parts, ", "), c.Unchanged)
}
