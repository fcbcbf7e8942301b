package controllers

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// linkConcerns are the per-concern conditions Ready sums up, in the order a
// person should fix them.
var linkConcerns = []string{sharev1.ConditionProviderReady, sharev1.ConditionAccountReady, sharev1.ConditionImported}

// summarizeLink computes Ready from the other conditions and settles the
// kstatus conditions: Reconciling and Stalled are present only while true.
// observedGeneration advances when the generation was handled in full, which
// includes a stall (a person must act) but not a transient failure.
func summarizeLink(link *sharev1.ShareLink, reconcileErr error, now time.Time) {
	setRelayed(link, now)
	// Nothing runs once a reconcile ends: progress is only shown while it
	// does.
	link.Status.Progress = nil
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
// see relayOutcomeOf. Relayed is not one of Ready's concerns: a photo the
// provider refuses must not stop the link, nor the relay of the other
// items, which needs a Ready link.
func setRelayed(link *sharev1.ShareLink, now time.Time) { relayOutcomeOf(link, now).setOn(link) }

func setReadyFromConcerns(link *sharev1.ShareLink) {
	for _, typ := range concernsOf(link) {
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
	if link.Spec.Planning() {
		setReadyPlanned(link)
		return
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
	if c.Adopted > 0 {
		parts = append(parts, fmt.Sprintf("%d adopted", c.Adopted))
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
		if p.Status.Adopted {
			c.Adopted++
		}
	}
	return c
}

func readyCondition(conds []metav1.Condition) *metav1.Condition {
	return meta.FindStatusCondition(conds, sharev1.ConditionReady)
}

func equalStatus(a, b any) bool { return equality.Semantic.DeepEqual(a, b) }

// stall says that only a person can move the object on.
func stall(obj sharev1.Conditioned, reason, msg string) {
	sharev1.SetCondition(obj, sharev1.ConditionStalled, metav1.ConditionTrue, reason, msg)
}

// unstall takes back an earlier stall once its cause is gone.
func unstall(obj sharev1.Conditioned) {
	sharev1.RemoveCondition(obj, sharev1.ConditionStalled)
}

// The concern conditions when their check passes.
const (
	providerReadyMessage = "the provider account accepts the login"
	accountReadyMessage  = "the vendor account accepts the push key"
)

// setProviderReady says the provider account accepts the link's login.
func setProviderReady(link *sharev1.ShareLink) {
	sharev1.SetCondition(link, sharev1.ConditionProviderReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, providerReadyMessage)
}

// setAccountReady says the vendor account accepts the link's push key.
func setAccountReady(link *sharev1.ShareLink) {
	sharev1.SetCondition(link, sharev1.ConditionAccountReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, accountReadyMessage)
}

// setImported says the provider's orders are imported, naming how many the
// last pull refused.
func setImported(link *sharev1.ShareLink) {
	sharev1.SetCondition(link, sharev1.ConditionImported, metav1.ConditionTrue, sharev1.ReasonSucceeded, importedMessage(link))
}

// importedMessage is the Imported condition's message.
func importedMessage(link *sharev1.ShareLink) string {
	const msg = "the provider's orders are imported"
	if n := link.Status.RefusedOrders; n > 0 {
		return fmt.Sprintf("%s; the last pull refused %d (see status.recentFailures and the %s events)", msg, n, reasonOrdersRefused)
	}
	return msg
}

// setImportRunning shows the integration as running while an import goes
// on; a link with no Ready yet (a first import) reads Ready Unknown.
func setImportRunning(link *sharev1.ShareLink) {
	const msg = "importing the provider's orders"
	link.Status.IntegrationState = sharev1.IntegrationRunning
	sharev1.SetCondition(link, sharev1.ConditionReconciling, metav1.ConditionTrue, sharev1.ReasonProgressing, msg)
	setReadyProgressing(link, msg)
}

// setImportProgress shows a running import's progress: status.progress,
// Reconciling's message ("applied 4000 of 10000"), and Ready's while Ready
// is not known (a first import), so that kubectl get's Status column
// shows it.
func setImportProgress(link *sharev1.ShareLink, pr sharev1.ImportProgress) {
	link.Status.Progress = &pr
	link.Status.IntegrationState = sharev1.IntegrationRunning
	msg := progressMessage(pr)
	sharev1.SetCondition(link, sharev1.ConditionReconciling, metav1.ConditionTrue, sharev1.ReasonProgressing, msg)
	setReadyProgressing(link, msg)
}

// progressMessage is "applied 4000 of 10000, pulled 5000".
func progressMessage(pr sharev1.ImportProgress) string {
	msg := fmt.Sprintf("applied %d of %d", pr.Applied, pr.Total)
	if pr.Pulled > 0 {
		msg += fmt.Sprintf(", pulled %d", pr.Pulled)
	}
	return msg
}

// setReadyProgressing sets Ready Unknown (Progressing) with msg unless Ready
// is known: a link that is Ready, or failing, stays so while it imports.
func setReadyProgressing(link *sharev1.ShareLink, msg string) {
	if c := readyCondition(link.Status.Conditions); c != nil && c.Status != metav1.ConditionUnknown {
		return
	}
	sharev1.SetCondition(link, sharev1.ConditionReady, metav1.ConditionUnknown, sharev1.ReasonProgressing, msg)
}

// callFailure is a failed account call as the link's status tells it. The
// message is the protocol's error, which carries no credential.
type callFailure struct {
	kind    protocol.ErrorKind
	reason  string
	message string
}

// callFailureOf names a failed call to what ("provider account", "vendor
// account").
func callFailureOf(what string, err error) callFailure {
	kind := protocol.KindOf(err)
	return callFailure{kind: kind, reason: reasonOf(kind), message: what + ": " + err.Error()}
}

// stalls says whether only a person can fix the failure: bad credentials or
// a refusal, which retrying would only repeat.
func (f callFailure) stalls() bool {
	return f.kind == protocol.KindInvalidCredentials || f.kind == protocol.KindRefused
}

func reasonOf(kind protocol.ErrorKind) string {
	switch kind {
	case protocol.KindInvalidCredentials:
		return sharev1.ReasonInvalidCredentials
	case protocol.KindRefused:
		return sharev1.ReasonRefused
	case protocol.KindThrottled:
		return sharev1.ReasonThrottled
	default:
		return sharev1.ReasonUnreachable
	}
}

// setCallFailed records a failed call on the concern condType (ProviderReady,
// AccountReady or Imported), in lastError and recentFailures, and in the
// kstatus conditions of its kind: Stalled when it needs a person, Reconciling
// while a transient failure is retried with backoff. A throttled call
// leaves the integration pending, as the service's "pending".
func setCallFailed(link *sharev1.ShareLink, condType string, f callFailure, now time.Time) {
	link.Status.LastError = f.message
	link.Status.IntegrationState = sharev1.IntegrationError
	sharev1.SetCondition(link, condType, metav1.ConditionFalse, f.reason, f.message)
	link.Status.RecentFailures = pushFailure(link.Status.RecentFailures, sharev1.Failure{
		Time: metav1.NewTime(now), Reason: f.reason, Message: f.message,
	})
	switch {
	case f.stalls():
		stall(link, f.reason, f.message)
	case f.kind == protocol.KindThrottled:
		link.Status.IntegrationState = sharev1.IntegrationPending
	default:
		sharev1.SetCondition(link, sharev1.ConditionReconciling, metav1.ConditionTrue, f.reason, "retrying with backoff")
	}
}

// setClientCodeMismatch stalls a link whose push key opens an integration
// with another code: AccountReady False, until the credentials change.
func setClientCodeMismatch(link *sharev1.ShareLink, msg string) {
	link.Status.LastError = msg
	link.Status.IntegrationState = sharev1.IntegrationError
	sharev1.SetCondition(link, sharev1.ConditionAccountReady, metav1.ConditionFalse, sharev1.ReasonClientCodeMismatch, msg)
	stall(link, sharev1.ReasonClientCodeMismatch, msg)
}
