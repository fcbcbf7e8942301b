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
// the operator creates and owns) and registers it with the push-key
// listener; a rotated key replaces the old one at once. Sets Stalled when a
// user-named Secret is missing or its key too short.
func (r *ShareLinkReconciler) reconcilePushKey(ctx context.Context, link *sharev1.ShareLink) (bool, error) {
	if r.PushKeys == nil {
		return true, nil
	}
	key, err := r.pushKey(ctx, link)
	var se *secretError
	switch {
	case errors.As(err, &se):
		r.PushKeys.Forget(client.ObjectKeyFromObject(link))
		stall(link, se.reason, "push key: "+se.msg)
		return false, nil
	case err != nil:
		return false, err
	}
	r.PushKeys.Set(client.ObjectKeyFromObject(link), key)
	link.Status.PushKey = &sharev1.PushKeyStatus{SecretName: link.PushKeySecretName(), Path: pushKeyPath}
	return true, nil
}

func (r *ShareLinkReconciler) pushKey(ctx context.Context, link *sharev1.ShareLink) (string, error) {
	if !link.OperatorOwnsPushKey() {
		values, err := readSecret(ctx, r.APIReader, link.Namespace, link.PushKeySecretName(), sharev1.SecretKeyPushKey)
		if err != nil {
			return "", err
		}
		if len(values[0]) < minPushKeyLen {
			return "", &secretError{reason: sharev1.ReasonInvalidSecret,
				msg: fmt.Sprintf("Secret %q: pushKey must have at least %d characters (128 bits)", link.PushKeySecretName(), minPushKeyLen)}
		}
		return values[0], nil
	}
	return r.ownedPushKey(ctx, link)
}

// ownedPushKey reads, or creates, the operator's Secret of the link. It is
// owned by the link, so it goes when the link goes; deleting it makes a new
// key, as re-creating an integration does in the service.
func (r *ShareLinkReconciler) ownedPushKey(ctx context.Context, link *sharev1.ShareLink) (string, error) {
	var s corev1.Secret
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: link.Namespace, Name: link.PushKeySecretName()}, &s)
	switch {
	case apierrors.IsNotFound(err):
		key, err := newPushKey()
		if err != nil {
			return "", err
		}
		s = corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: link.Namespace, Name: link.PushKeySecretName(),
				Labels: map[string]string{sharev1.LabelLink: link.Name}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{sharev1.SecretKeyPushKey: []byte(key)},
		}
		if u := r.bookmarkURL(key); u != "" {
			s.Data[secretKeyURL] = []byte(u)
		}
		if err := controllerutil.SetControllerReference(link, &s, r.Scheme()); err != nil {
			return "", err
		}
		if err := r.Create(ctx, &s); err != nil {
			return "", fmt.Errorf("creating the push-key Secret: %w", err)
		}
		return key, nil
	case err != nil:
		return "", fmt.Errorf("reading the push-key Secret: %w", err)
	}
	key := strings.TrimSpace(string(s.Data[sharev1.SecretKeyPushKey]))
	if len(key) < minPushKeyLen {
		return "", &secretError{reason: sharev1.ReasonInvalidSecret,
			msg: fmt.Sprintf("Secret %q: pushKey must have at least %d characters (128 bits); delete the Secret to get a new key", s.Name, minPushKeyLen)}
	}
	return key, nil
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
