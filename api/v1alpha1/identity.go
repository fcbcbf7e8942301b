package v1alpha1

import (
	"errors"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"
)

// CanonicalAccountURL is the one form in which the operator compares account
// URLs: scheme and host in lower case, the scheme's default port (443 for
// https, 80 for http) dropped and any other port written without leading
// zeros, dot segments resolved, doubled and trailing slashes dropped,
// percent-encoding made uniform, and "/" for an empty path. The path keeps
// its case: two accounts may differ in the case of their path alone.
//
// It refuses what is not an account URL, as admission does: no absolute http
// or https URL, no host, a user name or password, a query or fragment,
// whitespace, a port outside 1–65535. Its errors never quote the URL, which
// may carry a password.
func CanonicalAccountURL(raw string) (string, error) {
	if strings.ContainsFunc(raw, unicode.IsSpace) {
		return "", errors.New("the URL contains whitespace")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL
		}
		return "", errors.New("not a URL: " + err.Error())
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("not an absolute http or https URL")
	}
	if u.User != nil {
		return "", errors.New("the URL carries a user name or password: credentials belong in the Secret")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#") {
		return "", errors.New("the URL carries a query or fragment: credentials belong in the Secret")
	}
	host := strings.ToLower(u.Hostname())
	if u.Opaque != "" || host == "" {
		return "", errors.New("the URL has no host")
	}
	defaultPort := map[string]int{"https": 443, "http": 80}
	port := ""
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", errors.New("the URL's port must be between 1 and 65535")
		}
		if n != defaultPort[scheme] {
			port = strconv.Itoa(n)
		}
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	clean := path.Clean("/" + u.Path)
	return scheme + "://" + host + (&url.URL{Path: clean}).EscapedPath(), nil
}

// LinkIdentity is what a ShareLink is: its provider account, its vendor
// account and its client code, the accounts in canonical form. The vendor
// account and the client code name one integration there: the projects of
// the link are CODE::number in that account. It is computed, never stored.
//
// +kubebuilder:object:generate=false
type LinkIdentity struct {
	Provider   string
	Account    string
	ClientCode string
}

// Identity is the link's identity; an account URL that is no account URL is
// an error naming the field.
func (s *ShareLinkSpec) Identity() (LinkIdentity, error) {
	provider, err := CanonicalAccountURL(s.Provider.URL)
	if err != nil {
		return LinkIdentity{}, errors.New("provider.url: " + err.Error())
	}
	account, err := CanonicalAccountURL(s.Account.URL)
	if err != nil {
		return LinkIdentity{}, errors.New("account.url: " + err.Error())
	}
	return LinkIdentity{Provider: provider, Account: account, ClientCode: s.ClientCode}, nil
}

// SameAccount reports whether the link would import from the account it
// imports into.
func (id LinkIdentity) SameAccount() bool { return id.Provider == id.Account }

// IntegrationKey names the integration the link feeds: its vendor account
// and client code. Two links with one key would write the same projects,
// whatever their providers, so no two links may share it. A canonical URL
// holds no space, so the key is unambiguous.
func (id LinkIdentity) IntegrationKey() string { return id.Account + " " + id.ClientCode }

// CarriesClientCode reports whether a work-order number already begins with
// the link's client code and "::", as a number that went through another
// integration of the same code does ("ACME::1001"): importing it as
// ProjectName would name it "ACME::ACME::1001". The code is compared exactly,
// as the service names projects, and something must follow the "::".
func CarriesClientCode(workOrderNumber, clientCode string) bool {
	prefix := clientCode + "::"
	return clientCode != "" && len(workOrderNumber) > len(prefix) && strings.HasPrefix(workOrderNumber, prefix)
}

// RequestedAt is the value of a requested-at annotation the operator acts
// on: empty when the annotation is absent, or longer than
// MaxRequestedAtLength. The value is copied into status, and CEL on a custom
// resource cannot see annotations to refuse a long one at admission.
func RequestedAt(annotations map[string]string, key string) string {
	v := annotations[key]
	if len(v) > MaxRequestedAtLength {
		return ""
	}
	return v
}
