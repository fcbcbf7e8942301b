package bench

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// managerDefaults reads the manager's default Kubernetes client limits
// (--kube-api-qps, --kube-api-burst) from its -help, so that the bench runs
// what a deployment gets, whatever the defaults are today.
func managerDefaults(t *testing.T, bin string) (qps, burst int) {
	t.Helper()
	// -help exits with a status of its own; the text is what counts.
	out, _ := exec.Command(bin, "-help").CombinedOutput()
	var err error
	if qps, err = flagDefault(string(out), "kube-api-qps"); err != nil {
		t.Fatal(err)
	}
	if burst, err = flagDefault(string(out), "kube-api-burst"); err != nil {
		t.Fatal(err)
	}
	progress("the manager's default Kubernetes client limits: %s", limits(qps, burst))
	return qps, burst
}

// flagDefault is the default of a numeric flag in the flag package's help
// text, truncated to an integer; a flag without "(default …)" has its zero
// value.
func flagDefault(help, name string) (int, error) {
	flagRE := regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + ` \w+\n(.*)$`)
	m := flagRE.FindStringSubmatch(help)
	if m == nil {
		return 0, fmt.Errorf("the manager's -help names no flag -%s", name)
	}
	d := regexp.MustCompile(`\(default (-?[0-9.]+)\)`).FindStringSubmatch(m[1])
	if d == nil {
		return 0, nil
	}
	v, err := strconv.ParseFloat(d[1], 64)
	if err != nil {
		return 0, fmt.Errorf("-%s: default %q: %w", name, d[1], err)
	}
	return int(v), nil
}

// limits names Kubernetes client limits as the tables show them: a
// negative QPS turns client-go's limiter off.
func limits(qps, burst int) string {
	if qps < 0 {
		return "client limiter off"
	}
	return fmt.Sprintf("%d/s, burst %d", qps, burst)
}
