package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/accountserver"
)

func TestIndentTop(t *testing.T) {
	g := NewWithT(t)
	in := `{"a":[1,{"b":[],"c":{}}],"s":"x\"{[,:]}","d":{"e":{"f":{"g":{"h":[1,2]}}}}}`
	out := string(indentTop([]byte(in), 3))
	g.Expect(out).To(Equal(`{
  "a": [
    1,
    {
      "b": [],
      "c": {}
    }
  ],
  "s": "x\"{[,:]}",
  "d": {
    "e": {
      "f": {"g":{"h":[1,2]}}
    }
  }
}`))
	var back bytes.Buffer
	g.Expect(json.Compact(&back, []byte(out))).To(Succeed())
	g.Expect(back.String()).To(Equal(in))
	g.Expect(string(indentTop([]byte(`"x"`), 3))).To(Equal(`"x"`))
	g.Expect(string(indentTop([]byte(`[]`), 3))).To(Equal(`[]`))
}

// TestOutputOfDeepOrdersIsBounded: the command line once indented every
// level of what it printed, so an order carrying an attribute nested as
// deep as the server accepts printed its depth in spaces on every line. It
// indents the top levels only now: the output stays within a small
// multiple of the order's JSON.
func TestOutputOfDeepOrdersIsBounded(t *testing.T) {
	g := NewWithT(t)
	ts := accountserver.NewTestServer(t)
	c := cli{t: t, flags: []string{"--server", ts.URL, "--admin-token", ts.AdminToken}}
	c.ok("account", "create", "acme")
	deep := strings.Repeat("[", accountserver.MaxJSONDepth-1) + `"x"` + strings.Repeat("]", accountserver.MaxJSONDepth-1)
	c.ok("order", "create", "acme", "1001", "--address1", "1 Main St", "--city", "Springfield", "--state", "IL", "--zip", "62701",
		"--service", "Lawn Cut", "--attr", "deep="+deep)
	o, err := ts.GetOrder(context.Background(), "acme", "1001")
	g.Expect(err).NotTo(HaveOccurred())
	compact, err := json.Marshal(o)
	g.Expect(err).NotTo(HaveOccurred())
	for _, args := range [][]string{
		{"order", "show", "acme", "1001", "-o", "json"},
		{"order", "show", "acme", "1001"},
		{"list", "orders", "acme", "-o", "json"},
	} {
		out := c.ok(args...)
		g.Expect(len(out)).To(BeNumerically("<", 2*len(compact)), "%v printed %d bytes for %d of JSON:\n%s", args, len(out), len(compact), out)
		// What is deeper than the indented levels is printed as it is.
		g.Expect(out).To(ContainSubstring(strings.Repeat("[", 50) + `"x"` + strings.Repeat("]", 50)))
	}
	var back accountserver.Order
	c.json(&back, "order", "show", "acme", "1001")
	g.Expect(back.WorkOrder.Extra["deep"]).To(MatchJSON(deep))

	// Deeper than the server takes: refused, and the command says why.
	_, err = c.run("order", "create", "acme", "1002", "--address1", "1 Main St", "--city", "Springfield", "--state", "IL", "--zip", "62701",
		"--service", "Lawn Cut", "--attr", "deep=["+deep+"]")
	g.Expect(err).To(MatchError(ContainSubstring("nests deeper than 64 levels")))
}

// TestServeBoundsSlowClients: serve's flags set the body deadlines; a body
// sent a byte a second is answered 408 instead of holding the connection.
func TestServeBoundsSlowClients(t *testing.T) {
	g := NewWithT(t)
	help := c0(t, "serve", "--help")
	for _, flag := range []string{"--read-header-timeout", "--body-idle-timeout", "--min-body-rate", "--password-checks"} {
		g.Expect(help).To(ContainSubstring(flag))
	}

	dir := t.TempDir()
	var out, errOut syncBuffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--admin-token", "s3cret",
		"--body-idle-timeout", "300ms", "--min-body-rate", "1024", "--read-header-timeout", "2s"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		g.Eventually(done, 15*time.Second).Should(Receive(BeNil()))
	}()
	urlRE := regexp.MustCompile(`listening on (http://\S+)`)
	g.Eventually(out.String, 10*time.Second, 20*time.Millisecond).Should(MatchRegexp(urlRE.String()))
	u, err := url.Parse(urlRE.FindStringSubmatch(out.String())[1])
	g.Expect(err).NotTo(HaveOccurred())

	body := `{"name":"slowco"}`
	conn, err := net.Dial("tcp", u.Host)
	g.Expect(err).NotTo(HaveOccurred())
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /admin/accounts HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer s3cret\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", u.Host, len(body))
	g.Expect(err).NotTo(HaveOccurred())
	go func() {
		for i := range len(body) {
			time.Sleep(time.Second)
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	g.Expect(err).NotTo(HaveOccurred(), "no answer: the server still waits for the body")
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusRequestTimeout), "%s", msg)
	g.Expect(time.Since(start)).To(BeNumerically("<", 10*time.Second))

	// A head that never ends is cut by --read-header-timeout.
	conn2, err := net.Dial("tcp", u.Host)
	g.Expect(err).NotTo(HaveOccurred())
	defer conn2.Close()
	_, err = io.WriteString(conn2, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	g.Expect(err).NotTo(HaveOccurred())
	_ = conn2.SetReadDeadline(time.Now().Add(15 * time.Second))
	start = time.Now()
	_, err = io.ReadAll(conn2)
	g.Expect(err).NotTo(HaveOccurred(), "the server closes the connection")
	g.Expect(time.Since(start)).To(BeNumerically("<", 10*time.Second))
}

// c0 runs a command that needs no server and returns its output.
func c0(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("accountserver %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}
