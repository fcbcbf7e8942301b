package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// linkCredentials are a link's secrets, read for one reconcile and never
// stored, logged or put into status.
type linkCredentials struct {
	Provider protocol.Credentials
	// PushKey is the integration's key in the vendor account.
	PushKey string
}

// fingerprint changes whenever what a connection check checks changes: any
// credential, either account (in canonical form) or the client code. A link
// validates its connection again only then. The URLs and the code cannot
// change under a link (admission refuses it), but they are what the check
// is of, and a fingerprint of the Secrets alone would say nothing of them.
func (c linkCredentials) fingerprint(id sharev1.LinkIdentity) string {
	h := sha256.New()
	for _, s := range []string{id.Provider, id.Account, id.ClientCode,
		c.Provider.Username, c.Provider.Password, c.Provider.Token, c.PushKey} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// secretError is a missing or unusable Secret: it needs a person.
type secretError struct {
	reason string
	msg    string
}

func (e *secretError) Error() string { return e.msg }

// readCredentials reads the link's Secrets by name through the API reader:
// the operator keeps no cache of Secret data.
func readCredentials(ctx context.Context, r client.Reader, link *sharev1.ShareLink) (linkCredentials, error) {
	provider, err := readSecret(ctx, r, link.Namespace, link.Spec.Provider.SecretRef.Name,
		sharev1.SecretKeyUsername, sharev1.SecretKeyPassword, sharev1.SecretKeyToken)
	if err != nil {
		return linkCredentials{}, err
	}
	account, err := readSecret(ctx, r, link.Namespace, link.Spec.Account.SecretRef.Name, sharev1.SecretKeyPushKey)
	if err != nil {
		return linkCredentials{}, err
	}
	return linkCredentials{
		Provider: protocol.NewCredentials(provider[0], provider[1], provider[2]),
		PushKey:  account[0],
	}, nil
}

// readSecret returns the values of keys, each required and non-empty. Errors
// name the Secret and the key, never a value. A value is used as the Secret
// holds it, spaces included (a password may end in one), less one trailing
// newline: `kubectl create secret --from-file` keeps the newline an editor
// or `echo` ends a file with, and no credential of the protocol ends in one.
func readSecret(ctx context.Context, r client.Reader, ns, name string, keys ...string) ([]string, error) {
	var s corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &secretError{reason: sharev1.ReasonSecretNotFound, msg: fmt.Sprintf("Secret %q not found", name)}
		}
		return nil, fmt.Errorf("reading Secret %q: %w", name, err)
	}
	values := make([]string, len(keys))
	var missing []string
	for i, k := range keys {
		values[i] = withoutFileNewline(string(s.Data[k]))
		if values[i] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, &secretError{
			reason: sharev1.ReasonInvalidSecret,
			msg:    fmt.Sprintf("Secret %q lacks %s", name, strings.Join(missing, ", ")),
		}
	}
	return values, nil
}

// withoutFileNewline drops one trailing "\n" or "\r\n".
func withoutFileNewline(v string) string {
	if v, ok := strings.CutSuffix(v, "\n"); ok {
		return strings.TrimSuffix(v, "\r")
	}
	return v
}
