package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

func credentialsLink() *sharev1.ShareLink {
	return &sharev1.ShareLink{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "ns"},
		Spec: sharev1.ShareLinkSpec{
			Provider:   sharev1.ProviderAccount{URL: "https://p.example.com/a/acme", SecretRef: sharev1.LocalSecretReference{Name: "login"}},
			Account:    sharev1.VendorAccount{URL: "https://v.example.com/a/fieldco", SecretRef: sharev1.LocalSecretReference{Name: "key"}},
			ClientCode: "ACME",
		},
	}
}

// A credential is used as the Secret holds it: a password may end in a
// space. Only one trailing newline goes, the one a file saved by an editor
// (or `echo pw > file`) gives `kubectl create secret --from-file` (issue #12).
func TestReadCredentialsKeepsWhatTheSecretHolds(t *testing.T) {
	tests := []struct {
		name                      string
		username, password, token string
		wantUser, wantPassword    string
		wantToken, wantMissing    string
	}{
		{name: "plain", username: "fieldco", password: "pw", token: "tok", wantUser: "fieldco", wantPassword: "pw", wantToken: "tok"},
		{name: "password ends in a space", username: "fieldco", password: "pw ", token: "tok", wantUser: "fieldco", wantPassword: "pw ", wantToken: "tok"},
		{name: "password starts with a space", username: "fieldco", password: " pw", token: "tok", wantUser: "fieldco", wantPassword: " pw", wantToken: "tok"},
		{name: "a file's newline", username: "fieldco\n", password: "pw\n", token: "tok\r\n", wantUser: "fieldco", wantPassword: "pw", wantToken: "tok"},
		{name: "only one newline goes", username: "fieldco", password: "pw \n\n", token: "tok", wantUser: "fieldco", wantPassword: "pw \n", wantToken: "tok"},
		{name: "a newline alone is empty", username: "fieldco", password: "\n", token: "tok", wantMissing: "password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			c := fake.NewClientBuilder().WithObjects(
				&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "login", Namespace: "ns"}, Data: map[string][]byte{
					sharev1.SecretKeyUsername: []byte(tc.username), sharev1.SecretKeyPassword: []byte(tc.password), sharev1.SecretKeyToken: []byte(tc.token),
				}},
				&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "key", Namespace: "ns"}, Data: map[string][]byte{
					sharev1.SecretKeyPushKey: []byte("push-key\n"),
				}},
			).Build()
			creds, err := readCredentials(context.Background(), c, credentialsLink())
			if tc.wantMissing != "" {
				g.Expect(err).To(MatchError(`Secret "login" lacks ` + tc.wantMissing))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(creds.Provider).To(Equal(protocol.NewCredentials(tc.wantUser, tc.wantPassword, tc.wantToken)))
			g.Expect(creds.PushKey).To(Equal("push-key"))
		})
	}
}

// The connection is checked again when anything it checks changes: a
// credential, either account or the client code; an account written
// another way is the same account.
func TestFingerprintCoversIdentity(t *testing.T) {
	g := NewWithT(t)
	creds := linkCredentials{Provider: protocol.NewCredentials("fieldco", "pw", "tok"), PushKey: "key"}
	id := func(mutate func(*sharev1.ShareLinkSpec)) sharev1.LinkIdentity {
		l := credentialsLink()
		if mutate != nil {
			mutate(&l.Spec)
		}
		i, err := l.Spec.Identity()
		g.Expect(err).NotTo(HaveOccurred())
		return i
	}
	base := creds.fingerprint(id(nil))
	g.Expect(creds.fingerprint(id(func(s *sharev1.ShareLinkSpec) { s.Provider.URL = "HTTPS://P.example.com/a/acme/" }))).To(Equal(base))
	for name, m := range map[string]func(*sharev1.ShareLinkSpec){
		"provider": func(s *sharev1.ShareLinkSpec) { s.Provider.URL = "https://p.example.com/a/other" },
		"account":  func(s *sharev1.ShareLinkSpec) { s.Account.URL = "https://v.example.com/a/other" },
		"code":     func(s *sharev1.ShareLinkSpec) { s.ClientCode = "OTHER" },
	} {
		g.Expect(creds.fingerprint(id(m))).NotTo(Equal(base), name)
	}
	other := creds
	other.PushKey = "key2"
	g.Expect(other.fingerprint(id(nil))).NotTo(Equal(base))
}
