package v1alpha1

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestCanonicalAccountURL(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"https://provider.example.com/a/p5", "https://provider.example.com/a/p5"},
		{"https://provider.example.com/a/p5/", "https://provider.example.com/a/p5"},
		{"HTTPS://PROVIDER.Example.COM/a/p5", "https://provider.example.com/a/p5"},
		{"https://provider.example.com:443/a/p5", "https://provider.example.com/a/p5"},
		{"http://provider.example.com:80/a/p5", "http://provider.example.com/a/p5"},
		{"http://provider.example.com:443/a/p5", "http://provider.example.com:443/a/p5"},
		{"https://provider.example.com:80/a/p5", "https://provider.example.com:80/a/p5"},
		{"https://provider.example.com:08443/a/p5", "https://provider.example.com:8443/a/p5"},
		{"https://provider.example.com/a/./x/../p5", "https://provider.example.com/a/p5"},
		{"https://provider.example.com/a//p5//", "https://provider.example.com/a/p5"},
		{"https://provider.example.com/a/%70%35", "https://provider.example.com/a/p5"},
		{"https://provider.example.com/a/field%20co", "https://provider.example.com/a/field%20co"},
		{"https://provider.example.com", "https://provider.example.com/"},
		{"https://provider.example.com/", "https://provider.example.com/"},
		{"https://provider.example.com/..", "https://provider.example.com/"},
		{"http://127.0.0.1:8080/a/acme", "http://127.0.0.1:8080/a/acme"},
		{"https://[::1]:443/a/acme/", "https://[::1]/a/acme"},
		{"https://[::1]:8443/a/acme", "https://[::1]:8443/a/acme"},
		// The path keeps its case: accounts named in the path may differ
		// in case alone.
		{"https://provider.example.com/a/P5", "https://provider.example.com/a/P5"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			g := NewWithT(t)
			got, err := CanonicalAccountURL(tc.in)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
			again, err := CanonicalAccountURL(got)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(again).To(Equal(got), "canonical twice is canonical once")
		})
	}
}

func TestCanonicalAccountURLRefuses(t *testing.T) {
	const password = "s3cretPassw0rd"
	tests := []struct {
		in, want string
	}{
		{"", "not an absolute http or https URL"},
		{"provider.example.com/a/p5", "not an absolute http or https URL"},
		{"ftp://provider.example.com/a/p5", "not an absolute http or https URL"},
		{"https:///a/p5", "has no host"},
		{"https://fieldco:" + password + "@provider.example.com/a/p5", "carries a user name or password"},
		{"https://provider.example.com/a/p5?apiKey=" + password, "carries a query or fragment"},
		{"https://provider.example.com/a/p5#" + password, "carries a query or fragment"},
		{"https://provider.example.com:99999/a/p5", "port"},
		{"https://provider.example.com:0/a/p5", "port"},
		{"https://provider.example.com/a/p5?", "carries a query or fragment"},
		{"https://provider.example.com/a/p5 ", "whitespace"},
		{"https://provider example.com/a/p5", "whitespace"},
		{"https://provider.example.com:https/a/p5", "invalid port"},
		{"https://fieldco:" + password + "@provider.example.com:x/", "invalid port"},
		{"https://fieldco:" + password + "@provider.example.com/%zz", "invalid URL escape"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			g := NewWithT(t)
			_, err := CanonicalAccountURL(tc.in)
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
			g.Expect(err.Error()).NotTo(ContainSubstring(password), "an error quotes a credential")
		})
	}
}

func TestLinkIdentity(t *testing.T) {
	g := NewWithT(t)
	spec := func(provider, account, code string) *ShareLinkSpec {
		return &ShareLinkSpec{Provider: ProviderAccount{URL: provider}, Account: VendorAccount{URL: account}, ClientCode: code}
	}
	a, err := spec("https://p.example.com/a/acme", "https://v.example.com/a/fieldco", "ACME").Identity()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(a).To(Equal(LinkIdentity{Provider: "https://p.example.com/a/acme", Account: "https://v.example.com/a/fieldco", ClientCode: "ACME"}))
	g.Expect(a.SameAccount()).To(BeFalse())

	// The same link written another way is the same identity.
	b, err := spec("HTTPS://P.example.com:443/a/acme/", "https://v.example.com/a/./fieldco", "ACME").Identity()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(b).To(Equal(a))
	g.Expect(b.IntegrationKey()).To(Equal(a.IntegrationKey()))

	// Another provider into the same integration claims the integration.
	c, _ := spec("https://other.example.com/a/x", "https://v.example.com/a/fieldco/", "ACME").Identity()
	g.Expect(c).NotTo(Equal(a))
	g.Expect(c.IntegrationKey()).To(Equal(a.IntegrationKey()))

	// Another code or another vendor account is another integration.
	d, _ := spec("https://p.example.com/a/acme", "https://v.example.com/a/fieldco", "ACME2").Identity()
	g.Expect(d.IntegrationKey()).NotTo(Equal(a.IntegrationKey()))
	e, _ := spec("https://p.example.com/a/acme", "https://v.example.com/a/other", "ACME").Identity()
	g.Expect(e.IntegrationKey()).NotTo(Equal(a.IntegrationKey()))

	// A link that imports from itself.
	self, err := spec("https://p.example.com/a/p5", "https://p.example.com/a/x/../p5/", "P5").Identity()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(self.SameAccount()).To(BeTrue())

	_, err = spec("https://p.example.com/a/p5", "mailto:ops@example.com", "P5").Identity()
	g.Expect(err).To(MatchError(HavePrefix("account.url: ")))
	_, err = spec("p5", "https://p.example.com/a/p5", "P5").Identity()
	g.Expect(err).To(MatchError(HavePrefix("provider.url: ")))
}

func TestCarriesClientCode(t *testing.T) {
	tests := []struct {
		number, code string
		want         bool
	}{
		{"1001", "ACME", false},
		{"ACME::1001", "ACME", true},
		{"ACME::ACME::1001", "ACME", true},
		{"ACME::", "ACME", false}, // nothing after the code: not a project of it
		{"ACME:1001", "ACME", false},
		{"ACME1001", "ACME", false},
		{"acme::1001", "ACME", false}, // codes are compared exactly, as the service names projects
		{"P::1001", "P", true},
		{"P6::1", "P", false},
		{"XACME::1", "ACME", false},
		{" ACME::1", "ACME", false},
		{"ACME::1", "", false},
		{"::1", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.code+" "+tc.number, func(t *testing.T) {
			NewWithT(t).Expect(CarriesClientCode(tc.number, tc.code)).To(Equal(tc.want))
		})
	}
}

func TestRequestedAt(t *testing.T) {
	g := NewWithT(t)
	ann := map[string]string{
		AnnotationRefreshRequestedAt:    "2026-07-30T12:34:56.123456789Z",
		AnnotationFullImportRequestedAt: strings.Repeat("9", MaxRequestedAtLength+1),
		AnnotationRetryRequestedAt:      strings.Repeat("9", MaxRequestedAtLength),
	}
	g.Expect(RequestedAt(ann, AnnotationRefreshRequestedAt)).To(Equal("2026-07-30T12:34:56.123456789Z"))
	g.Expect(RequestedAt(ann, AnnotationFullImportRequestedAt)).To(BeEmpty(), "too long to copy into status")
	g.Expect(RequestedAt(ann, AnnotationRetryRequestedAt)).To(HaveLen(MaxRequestedAtLength))
	g.Expect(RequestedAt(nil, AnnotationRefreshRequestedAt)).To(BeEmpty())
}

func TestSharedProjectNameOfLongestInputs(t *testing.T) {
	g := NewWithT(t)
	// The longest link name admission lets through and the longest number
	// a SharedProject holds.
	name := SharedProjectName(strings.Repeat("l", 63), strings.Repeat("9", 128))
	g.Expect(len(name)).To(BeNumerically("<=", 253))
	g.Expect(dnsSubdomain.MatchString(name)).To(BeTrue(), name)
	g.Expect(name).NotTo(Equal(SharedProjectName(strings.Repeat("l", 63), strings.Repeat("9", 127))))
}
