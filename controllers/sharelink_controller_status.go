package controllers

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// linkConcerns are the per-concern conditions Ready sums up, in the order a
// person should fix them.
var linkConcerns = []string{sharev1.ConditionProviderReady, sharev1.ConditionAccountReady, sharev1.ConditionImported}

// summarizeLink computes Ready from the other conditions and settles the
// kstatus conditions: Reconciling and Stalled are present only while true.
// observedGeneration advances when the generation was handled in full, which
// includes a stall (a person must act) but not a transient failure.
func summarizeLink(link *sharev1.ShareLink, reconcileErr error) {
	setRelayed(link)
	stalled := meta.FindStatusCondition(link.Status.Conditions, sharev1.ConditionStalled)
	switch {
	case link.Spec.Suspend:
		// markSuspended set Ready.
	case stalled != nil && stalled.Status == metav1.ConditionTrue:
		sharev1.SetCondition(link, sharev1.ConditionReady, metav1.ConditionFalse, stalled.Reason, stalled.Message)
	default:
		setReadyFromConcerns(link)
	}
	if reconcileErr == nil {
		sharev1.RemoveCondition(link, sharev1.ConditionReconciling)
		link.Status.ObservedGeneration = link.Generation
	}
	if stalled != nil && stalled.Status != metav1.ConditionTrue {
		sharev1.RemoveCondition(link, sharev1.ConditionStalled)
	}
}

// setRelayed derives Relayed from status.relay, which the relay controller
// writes (it never writes conditions, so that one writer owns the list):
// True while no item failed, False RelayFailed otherwise. Relayed is not one
// of Ready's concerns: a photo the provider refuses must not stop the link,
// nor the relay of the other items, which needs a Ready link.
func setRelayed(link *sharev1.ShareLink) {
	if !link.Spec.RelayEnabled() {
		sharev1.RemoveCondition(link, sharev1.ConditionRelayed)
		return
	}
	if n := link.Status.Relay.Failed; n > 0 {
		sharev1.SetCondition(link, sharev1.ConditionRelayed, metav1.ConditionFalse, sharev1.ReasonRelayFailed, relayFailedMessage(n))
		return
	}
	sharev1.SetCondition(link, sharev1.ConditionRelayed, metav1.ConditionTrue, sharev1.ReasonSucceeded, "no item failed to relay")
}

func setReadyFromConcerns(link *sharev1.ShareLink) {
	for _, typ := range linkConcerns {
		c := meta.FindStatusCondition(link.Status.Conditions, typ)
		if c == nil {
			sharev1.SetCondition(link, sharev1.ConditionReady, metav1.ConditionUnknown, sharev1.ReasonProgressing, "connecting to the accounts")
			return
		}
		if c.Status != metav1.ConditionTrue {
			sharev1.SetCondition(link, sharev1.ConditionReady, metav1.ConditionFalse, c.Reason, c.Message)
			return
		}
	}
	sharev1.SetCondition(link, sharev1.ConditionReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, projectSummary(link.Status.Projects))
}

// projectSummary is Ready's message on a healthy link.
func projectSummary(c sharev1.ProjectCounts) string {
	parts := []string{fmt.Sprintf("%d active", c.Active)}
	if c.Cancelled > 0 {
		parts = append(parts, fmt.Sprintf("%d cancelled", c.Cancelled))
	}
	if c.Deleted > 0 {
		parts = append(parts, fmt.Sprintf("%d deleted", c.Deleted))
	}
	if c.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", c.Failed))
	}
	return fmt.Sprintf("%d projects: %s", c.Total, strings.Join(parts, ", "))
}

// markSuspended says the object is suspended; the generation counts as
// handled, since suspension is what was asked.
func markSuspended(obj sharev1.Conditioned, msg string) {
	// Ready True: the object is as its spec asks (suspended), so that
	// kstatus and Flux read it as Current and a pipeline waiting on it does
	// not time out; Argo CD's check reads the reason as Suspended.
	sharev1.SetCondition(obj, sharev1.ConditionReady, metav1.ConditionTrue, sharev1.ReasonSuspended, msg)
	sharev1.RemoveCondition(obj, sharev1.ConditionReconciling)
	sharev1.RemoveCondition(obj, sharev1.ConditionStalled)
}

// countProjects counts a link's projects by client status.
func countProjects(projects []*sharev1.SharedProject) sharev1.ProjectCounts {
	var c sharev1.ProjectCounts
	for _, p := range projects {
		c.Total++
		switch p.Status.ClientStatus {
		case sharev1.ClientStatusCancelled:
			c.Cancelled++
		case sharev1.ClientStatusDeleted:
			c.Deleted++
		default:
			c.Active++
		}
		if cond := meta.FindStatusCondition(p.Status.Conditions, sharev1.ConditionApplied); cond != nil && cond.Status == metav1.ConditionFalse {
			c.Failed++
		}
	}
	return c
}

// pushFailure adds a failure at the head of a bounded list.
func pushFailure(list []sharev1.Failure, f sharev1.Failure) []sharev1.Failure {
	list = append([]sharev1.Failure{f}, list...)
	if len(list) > sharev1.MaxRecentFailures {
		list = list[:sharev1.MaxRecentFailures]
	}
	return list
}

func readyCondition(conds []metav1.Condition) *metav1.Condition {
	return meta.FindStatusCondition(conds, sharev1.ConditionReady)
}

func equalStatus(a, b any) bool { return equality.Semantic.DeepEqual(a, b) }
