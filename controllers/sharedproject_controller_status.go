package controllers

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// setProjectRefused says the vendor account refused the project's order:
// Applied and Ready False, and Stalled, since sending it again would only
// be refused again. The generation counts as handled.
func setProjectRefused(p *sharev1.SharedProject, msg string) {
	sharev1.SetCondition(p, sharev1.ConditionApplied, metav1.ConditionFalse, sharev1.ReasonRefused, msg)
	sharev1.SetCondition(p, sharev1.ConditionReady, metav1.ConditionFalse, sharev1.ReasonRefused, msg)
	stall(p, sharev1.ReasonRefused, msg)
	p.Status.ObservedGeneration = p.Generation
}

// setProjectApplied records that the vendor account holds the project's
// order, pushed with the given hash at now: its project name, client status
// and the check-in the link asks for, Applied and Ready True. It returns
// the conditions' message.
func setProjectApplied(p *sharev1.SharedProject, link *sharev1.ShareLinkSpec, hash string, now time.Time) string {
	if p.Status.AppliedHash != hash || p.Status.LastAppliedTime == nil {
		at := metav1.NewTime(now)
		p.Status.LastAppliedTime = &at
	}
	p.Status.Project = link.ProjectName(p.Spec.WorkOrderNumber)
	p.Status.Created = true
	p.Status.AppliedHash = hash
	p.Status.ClientStatus = p.Spec.Upstream.ClientStatus
	p.Status.ObservedGeneration = p.Generation
	if link.CheckInEnabled() {
		if p.Status.CheckIn == nil {
			p.Status.CheckIn = &sharev1.CheckInStatus{}
		}
		p.Status.CheckIn.Required = true
	}
	msg := fmt.Sprintf("applied to %s", p.Status.Project)
	if !sharev1.IsActiveClientStatus(p.Status.ClientStatus) {
		msg += " (" + p.Status.ClientStatus + " by the provider)"
	}
	sharev1.SetCondition(p, sharev1.ConditionApplied, metav1.ConditionTrue, sharev1.ReasonSucceeded, msg)
	sharev1.SetCondition(p, sharev1.ConditionReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, msg)
	sharev1.RemoveCondition(p, sharev1.ConditionStalled)
	sharev1.RemoveCondition(p, sharev1.ConditionReconciling)
	return msg
}
