package controllers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// pushKeyPath is the bookmark path; the key from the Secret follows it.
const pushKeyPath = "/api/?apiKey="

// minPushKeyLen is 128 bits in base64url.
const minPushKeyLen = 22

// secretKeyURL holds the full bookmark URL in an operator-made Secret when
// the listener's external URL is known.
const secretKeyURL = "url"

// reconcilePushKey makes sure the link has a bookmark key (the user's, or one
// the operator creates and owns) and shows where it is in status. The
// push-key registrar of every replica registers the key. Sets
// status.pushKey; Stalled (SecretNotFound, InvalidSecret) when the key
// Secret is missing, too short, or another link's.
func (r *ShareLinkReconciler) reconcilePushKey(ctx context.Context, run *linkRun) (stepResult, error) {
	if !r.PushKeys {
		return stepResult{}, nil
	}
	link := run.link
	err := r.reads.of(link.UID).pushKey.check(ctx, r.SecretMeta, r.APIReader, link)
	var se *secretError
	if errors.As(err, &se) && se.reason == sharev1.ReasonSecretNotFound && link.OperatorOwnsPushKey() {
		err = r.createPushKeySecret(ctx, link)
	}
	switch {
	case errors.As(err, &se):
		return stalledOn(link, se.reason, "push key: "+se.msg), nil
	case err != nil:
		return stepResult{}, err
	}
	link.Status.PushKey = &sharev1.PushKeyStatus{SecretName: link.PushKeySecretName(), Path: pushKeyPath}
	return stepResult{}, nil
}

// readPushKey reads a link's bookmark key without writing anything, so that
// every replica can: from the Secret the user named, or from the one the
// operator made for the link. A Secret that another ShareLink controls is
// that link's key: taking it over would take over its bookmark.
func readPushKey(ctx context.Context, reader client.Reader, link *sharev1.ShareLink) (string, error) {
	key, _, err := readPushKeySecret(ctx, reader, link)
	return key, err
}

// readPushKeySecret is readPushKey, with the resourceVersion of the Secret
// it read.
func readPushKeySecret(ctx context.Context, reader client.Reader, link *sharev1.ShareLink) (key, version string, err error) {
	name := link.PushKeySecretName()
	var s corev1.Secret
	if err := reader.Get(ctx, types.NamespacedName{Namespace: link.Namespace, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return "", "", &secretError{reason: sharev1.ReasonSecretNotFound, msg: fmt.Sprintf("Secret %q not found", name)}
		}
		return "", "", fmt.Errorf("reading the push-key Secret %q: %w", name, err)
	}
	key, err = validPushKey(&s, link)
	return key, s.ResourceVersion, err
}

// validPushKey is the key of a link's push-key Secret, or why it is not
// one the link may use.
func validPushKey(s *corev1.Secret, link *sharev1.ShareLink) (string, error) {
	name := s.Name
	if owner := metav1.GetControllerOf(s); owner != nil && owner.Kind == "ShareLink" && owner.UID != link.UID {
		return "", &secretError{reason: sharev1.ReasonInvalidSecret,
			msg: fmt.Sprintf("Secret %q is the bookmark key of ShareLink %q; each link needs a key of its own", name, owner.Name)}
	}
	if link.OperatorOwnsPushKey() && !metav1.IsControlledBy(s, link) {
		return "", &secretError{reason: sharev1.ReasonInvalidSecret,
			msg: fmt.Sprintf("Secret %q was not made by the operator for this link; name it in spec.pushKey.secretRef to use it, or delete it to get a new key", name)}
	}
	key := strings.TrimSpace(string(s.Data[sharev1.SecretKeyPushKey]))
	if len(key) < minPushKeyLen {
		hint := ""
		if link.OperatorOwnsPushKey() {
			hint = "; delete the Secret to get a new key"
		}
		return "", &secretError{reason: sharev1.ReasonInvalidSecret,
			msg: fmt.Sprintf("Secret %q: pushKey must have at least %d characters (128 bits)%s", name, minPushKeyLen, hint)}
	}
	return key, nil
}

// createPushKeySecret makes the operator's key Secret of the link. It is
// owned by the link, so it goes when the link goes; deleting it makes a new
// key, as re-creating an integration does in the service.
func (r *ShareLinkReconciler) createPushKeySecret(ctx context.Context, link *sharev1.ShareLink) error {
	key, err := newPushKey()
	if err != nil {
		return err
	}
	s := corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: link.Namespace, Name: link.PushKeySecretName(),
			Labels: map[string]string{sharev1.LabelLink: link.Name}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{sharev1.SecretKeyPushKey: []byte(key)},
	}
	if u := r.bookmarkURL(key); u != "" {
		s.Data[secretKeyURL] = []byte(u)
	}
	if err := controllerutil.SetControllerReference(link, &s, r.Scheme()); err != nil {
		return err
	}
	if err := r.Create(ctx, &s); err != nil {
		return fmt.Errorf("creating the push-key Secret: %w", err)
	}
	return nil
}

func (r *ShareLinkReconciler) bookmarkURL(key string) string {
	if r.PushKeyBaseURL == "" {
		return ""
	}
	return strings.TrimRight(r.PushKeyBaseURL, "/") + pushKeyPath + key
}

// newPushKey is 256 random bits, URL-safe.
func newPushKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// RequestRefresh is the push-key listener's trigger: it sets the refresh
// annotation, so a tap is handled and acknowledged in status exactly as a
// `kubectl annotate` is. While a requested refresh is still pending, further
// taps coalesce into it.
func RequestRefresh(c client.Client, now func() time.Time) func(ctx context.Context, link types.NamespacedName) error {
	return func(ctx context.Context, key types.NamespacedName) error {
		var link sharev1.ShareLink
		if err := c.Get(ctx, key, &link); err != nil {
			return err
		}
		if v := link.Annotations[sharev1.AnnotationRefreshRequestedAt]; v != "" && v != link.Status.LastHandledRefreshAt {
			return nil // one refresh is already on its way
		}
		patch := client.MergeFrom(link.DeepCopy())
		if link.Annotations == nil {
			link.Annotations = map[string]string{}
		}
		link.Annotations[sharev1.AnnotationRefreshRequestedAt] = now().UTC().Format(time.RFC3339Nano)
		return c.Patch(ctx, &link, patch)
	}
}
