package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// countingGets counts the Gets of full objects (not metadata) a client
// answers, by kind.
func countingGets(c client.WithWatch, counts map[string]int) client.Client {
	return interceptor.NewClient(c, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			switch obj.(type) {
			case *sharev1.ShareLink:
				counts["ShareLink"]++
			case *corev1.Secret:
				counts["Secret"]++
			}
			return c.Get(ctx, key, obj, opts...)
		},
	})
}

func readsScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := sharev1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// The link is read from the API server unless the cache holds the very
// version last read or written there.
func TestReadLinkFreshReadsTheCacheAtTheVersionLastSeen(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	link := credentialsLink()
	link.UID = "uid-1"
	base := fake.NewClientBuilder().WithScheme(readsScheme(t)).WithObjects(link).Build()
	api := map[string]int{}
	apiReader := countingGets(base, api)
	// The cache is a second fake holding a copy we can make lag behind.
	cacheClient := fake.NewClientBuilder().WithScheme(readsScheme(t)).WithObjects(link.DeepCopy()).Build()
	var reads linkReads
	key := client.ObjectKeyFromObject(link)

	got := &sharev1.ShareLink{}
	g.Expect(readLinkFresh(ctx, cacheClient, apiReader, key, got, reads.versionOf)).To(Succeed())
	g.Expect(api["ShareLink"]).To(Equal(1), "a link never read is read from the API server")

	// The cache has caught up with that version: no GET.
	cached := &sharev1.ShareLink{}
	g.Expect(cacheClient.Get(ctx, key, cached)).To(Succeed())
	reads.of(link.UID).version = cached.ResourceVersion
	g.Expect(readLinkFresh(ctx, cacheClient, apiReader, key, got, reads.versionOf)).To(Succeed())
	g.Expect(api["ShareLink"]).To(Equal(1), "a cached copy at the version last seen is as fresh as a GET")

	// Our own status write moved the link on; the cache has not seen it.
	reads.of(link.UID).version = "written-by-us"
	g.Expect(readLinkFresh(ctx, cacheClient, apiReader, key, got, reads.versionOf)).To(Succeed())
	g.Expect(api["ShareLink"]).To(Equal(2), "a cache behind our write is not trusted")
	g.Expect(reads.of(link.UID).version).To(Equal(got.ResourceVersion))

	reads.forget(link.UID)
	g.Expect(readLinkFresh(ctx, cacheClient, apiReader, key, got, reads.versionOf)).To(Succeed())
	g.Expect(api["ShareLink"]).To(Equal(3), "a forgotten link is read again")
}

// Credentials are read again exactly when a Secret's resourceVersion moved,
// and every time without a metadata reader.
func TestCachedCredentialsFollowTheSecretsVersions(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	login := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "login", Namespace: "ns"}, Data: map[string][]byte{
		sharev1.SecretKeyUsername: []byte("fieldco"), sharev1.SecretKeyPassword: []byte("pw-1"), sharev1.SecretKeyToken: []byte("tok"),
	}}
	key := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "key", Namespace: "ns"}, Data: map[string][]byte{
		sharev1.SecretKeyPushKey: []byte("push-key"),
	}}
	base := fake.NewClientBuilder().WithScheme(readsScheme(t)).WithObjects(login, key).Build()
	api := map[string]int{}
	reader := countingGets(base, api)
	link := credentialsLink()
	var c cachedCredentials

	creds, err := c.read(ctx, base, reader, link)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(creds.Provider.Password).To(Equal(protocol.PasswordDigest("pw-1")))
	g.Expect(api["Secret"]).To(Equal(2))

	_, err = c.read(ctx, base, reader, link)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(api["Secret"]).To(Equal(2), "unchanged Secrets are not read again")

	// A person rotates the password: its resourceVersion moves.
	login.Data[sharev1.SecretKeyPassword] = []byte("pw-2")
	g.Expect(base.Update(ctx, login)).To(Succeed())
	creds, err = c.read(ctx, base, reader, link)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(creds.Provider.Password).To(Equal(protocol.PasswordDigest("pw-2")))
	g.Expect(api["Secret"]).To(Equal(4))

	// A Secret that goes fails the read, and nothing stale is kept.
	g.Expect(base.Delete(ctx, key)).To(Succeed())
	_, err = c.read(ctx, base, reader, link)
	g.Expect(err).To(MatchError(`Secret "key" not found`))
	g.Expect(c.versions).To(BeEmpty())

	// Without a metadata reader, every call reads.
	var nometa cachedCredentials
	g.Expect(base.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "key", Namespace: "ns"}, Data: key.Data})).To(Succeed())
	before := api["Secret"]
	for range 2 {
		_, err = nometa.read(ctx, nil, reader, link)
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(api["Secret"]).To(Equal(before + 4))
}

// The push key is read from the API server again exactly when its Secret's
// resourceVersion moved or the link names another, and a key found invalid
// is not remembered.
func TestCheckedPushKeyFollowsTheSecretsVersion(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	link := credentialsLink()
	link.UID = "uid-1"
	ctl := true
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: link.PushKeySecretName(), Namespace: "ns",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "share.pruvan.io/v1alpha1", Kind: "ShareLink", Name: link.Name, UID: link.UID, Controller: &ctl}}},
		Data: map[string][]byte{sharev1.SecretKeyPushKey: []byte("0123456789abcdef0123456789abcdef")}}
	mine := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "my-key", Namespace: "ns"}, Data: secret.Data}
	base := fake.NewClientBuilder().WithScheme(readsScheme(t)).WithObjects(secret, mine).Build()
	api := map[string]int{}
	reader := countingGets(base, api)
	var c checkedPushKey

	g.Expect(c.check(ctx, base, reader, link)).To(Succeed())
	g.Expect(c.check(ctx, base, reader, link)).To(Succeed())
	g.Expect(api["Secret"]).To(Equal(1), "an unchanged Secret is not read again")

	// A person shortens the key: the Secret's version moves, and the check
	// fails until it is mended, reading each time.
	secret.Data = map[string][]byte{sharev1.SecretKeyPushKey: []byte("short")}
	g.Expect(base.Update(ctx, secret)).To(Succeed())
	for range 2 {
		g.Expect(c.check(ctx, base, reader, link)).To(MatchError(ContainSubstring("at least")))
	}
	g.Expect(api["Secret"]).To(Equal(3))

	// The link names a Secret of the user's own: that one is read.
	link.Spec.PushKey = &sharev1.PushKeySpec{SecretRef: &sharev1.LocalSecretReference{Name: "my-key"}}
	g.Expect(c.check(ctx, base, reader, link)).To(Succeed())
	g.Expect(c.check(ctx, base, reader, link)).To(Succeed())
	g.Expect(api["Secret"]).To(Equal(4))

	// Deleted: not found, whatever was remembered.
	g.Expect(base.Delete(ctx, mine)).To(Succeed())
	g.Expect(c.check(ctx, base, reader, link)).To(MatchError(ContainSubstring("not found")))

	// Without a metadata reader, every check reads.
	var nometa checkedPushKey
	link.Spec.PushKey = nil
	secret.Data = map[string][]byte{sharev1.SecretKeyPushKey: []byte("0123456789abcdef0123456789abcdef")}
	g.Expect(base.Update(ctx, secret)).To(Succeed())
	before := api["Secret"]
	for range 2 {
		g.Expect(nometa.check(ctx, nil, reader, link)).To(Succeed())
	}
	g.Expect(api["Secret"]).To(Equal(before + 2))
}
